// gadgetrt.hpp — header-only C++17 RAII wrapper over the gadgetrt C API (include/gadgetrt.h).
//
//   gadgetrt::Runtime rt;                                   // checks the ABI version
//   gadgetrt::Gadget g = rt.load("demo.wasm");              // open + gadgetInit
//   g.subscribe("ticks", [](const gadgetrt::EventView& ev) { std::cout << ev.json() << '\n'; });
//   g.start();
//   g.poll(std::chrono::milliseconds(100));                 // callbacks run here, on this thread
//
// Rules carried over from the C API:
// - Errors are thrown as gadgetrt::Error (code() is a GRT_ERR_* value).
// - Event callbacks run only inside poll()/consume(), on the calling thread. An exception
//   thrown by a callback never crosses the C boundary: it is caught, dispatch stops (the
//   remaining events stay queued) and poll()/consume() rethrows it after the C call returned.
//   A callback may also return `false` to stop dispatch without an exception.
// - Log callbacks may run on any thread; exceptions thrown by them are swallowed.
// - Runtime is a cheap shared handle (copyable). Gadget and Packet are move-only.
//   A Gadget keeps its runtime alive; do not destroy a Gadget from inside its own callback.
// - EventView and every string_view obtained from it are valid only during the callback.
#ifndef GADGETRT_HPP
#define GADGETRT_HPP

#include "gadgetrt.h"

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <exception>
#include <functional>
#include <limits>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

namespace gadgetrt {

// ---------------------------------------------------------------------------------------------
// Errors
// ---------------------------------------------------------------------------------------------

/// An error from the library; code() is a GRT_ERR_* value.
class Error : public std::runtime_error {
public:
    /// what() is "<message> [<NAME>]", NAME from grt_error_code_name (e.g. NOT_FOUND).
    Error(uint32_t code, const std::string &message)
        : std::runtime_error(message + " [" + grt_error_code_name(code) + "]"), code_(code), message_(message) {}
    uint32_t code() const noexcept { return code_; }
    /// The code's name without the GRT_ERR_ prefix ("UNKNOWN" for codes this library does not know).
    const char *name() const noexcept { return grt_error_code_name(code_); }
    /// The library's message alone.
    const std::string &message() const noexcept { return message_; }

private:
    uint32_t code_;
    std::string message_;
};

namespace detail {

/// Throws (and frees) a non-NULL grt_error.
inline void check(grt_error *err) {
    if (err == nullptr) return;
    Error e(grt_error_code(err), grt_error_message(err));
    grt_error_free(err);
    throw e;
}

/// Calls f(buf, cap, &len) into `s`, reusing its capacity and growing it when needed
/// (caller-buffer convention); `s` holds exactly the output afterwards.
template <typename F> void read_into(std::string &s, F &&f) {
    s.resize(std::max<size_t>(s.capacity(), 128));
    for (;;) {
        size_t len = 0;
        grt_error *err = f(&s[0], s.size(), &len);
        if (err != nullptr && grt_error_code(err) == GRT_ERR_INSUFFICIENT_SIZE && len > s.size()) {
            grt_error_free(err);
            s.resize(len);
            continue;
        }
        if (err != nullptr) s.clear();
        check(err);
        s.resize(len);
        return;
    }
}

/// read_into a new string.
template <typename F> std::string read_string(F &&f) {
    std::string s;
    read_into(s, std::forward<F>(f));
    return s;
}

inline int32_t to_timeout(std::chrono::milliseconds t) {
    if (t.count() < 0) return -1;
    if (t.count() > std::numeric_limits<int32_t>::max()) return -1; // "forever" in practice
    return static_cast<int32_t>(t.count());
}

/// Per-thread dispatch frame: poll()/consume() push one; callbacks record into the innermost.
struct PollFrame {
    std::exception_ptr error;
    bool stopped = false;
    size_t dispatched = 0;
    PollFrame *prev = nullptr;
};

inline PollFrame *&current_frame() noexcept {
    thread_local PollFrame *frame = nullptr;
    return frame;
}

} // namespace detail

// ---------------------------------------------------------------------------------------------
// Enums and small structs
// ---------------------------------------------------------------------------------------------

enum class Kind : uint32_t {
    Invalid = GRT_KIND_INVALID,
    Bool = GRT_KIND_BOOL,
    Int8 = GRT_KIND_INT8,
    Int16 = GRT_KIND_INT16,
    Int32 = GRT_KIND_INT32,
    Int64 = GRT_KIND_INT64,
    Uint8 = GRT_KIND_UINT8,
    Uint16 = GRT_KIND_UINT16,
    Uint32 = GRT_KIND_UINT32,
    Uint64 = GRT_KIND_UINT64,
    Float32 = GRT_KIND_FLOAT32,
    Float64 = GRT_KIND_FLOAT64,
    String = GRT_KIND_STRING,
    CString = GRT_KIND_CSTRING,
    Bytes = GRT_KIND_BYTES,
    /// Flag of array kinds (`ArrayOf | Uint32`): fixed-size arrays from eBPF structs; read
    /// them with Event::get_bytes (native-endian elements back to back).
    ArrayOf = GRT_KIND_ARRAY_OF,
};

/// Whether `k` is an array kind, and its element kind.
constexpr bool is_array(Kind k) noexcept { return (static_cast<uint32_t>(k) & GRT_KIND_ARRAY_OF) != 0; }
constexpr Kind array_elem(Kind k) noexcept { return static_cast<Kind>(static_cast<uint32_t>(k) & ~GRT_KIND_ARRAY_OF); }

enum class State : uint32_t {
    Created = GRT_STATE_CREATED,
    Initialized = GRT_STATE_INITIALIZED,
    Started = GRT_STATE_STARTED,
    Stopped = GRT_STATE_STOPPED,
    Failed = GRT_STATE_FAILED,
};

enum class DataSourceType : uint32_t { Single = GRT_DS_SINGLE, Array = GRT_DS_ARRAY };

enum class LogLevel : uint32_t {
    Error = GRT_LOG_ERROR,
    Warn = GRT_LOG_WARN,
    Info = GRT_LOG_INFO,
    Debug = GRT_LOG_DEBUG,
    Trace = GRT_LOG_TRACE,
};

/// One log message; the views are valid only during the log callback.
struct LogMessage {
    LogLevel level;
    std::string_view gadget;
    std::string_view message;
};

/// Log sink. May be called from any thread; must be thread-safe. Exceptions are swallowed.
using LogFn = std::function<void(const LogMessage &)>;

struct RuntimeOptions {
    uint32_t memory_pages = 0;       ///< 64 KiB pages per gadget (0: default 256)
    LogLevel log_level = LogLevel::Info;
    uint32_t queue_capacity = 0;     ///< events per gadget queue (0: default)
    std::chrono::milliseconds call_timeout{0}; ///< 0: default
    std::chrono::milliseconds stop_timeout{0}; ///< 0: default
    std::chrono::milliseconds start_deadline{0}; ///< whole start (0: default 30 s)
    std::chrono::milliseconds stop_deadline{0};  ///< whole stop (0: default 45 s)
    bool disable_cache = false;
    std::string cache_dir;           ///< empty: default
    LogFn log;                       ///< empty: logs discarded
    bool disable_container_discovery = false; ///< see only containers added with add_container()
    uint64_t min_ring_bytes = 0;     ///< smallest tracer ring buffer (0: default 4 MiB; 4096: as declared)
};

/// A container the embedder knows (Runtime::add_container). `id` is required; with `pid`,
/// zero `mntns`/`netns`/`started_at_ns` are read from /proc/<pid>.
struct ContainerInfo {
    std::string id, name, runtime, image, image_id, image_digest;
    uint32_t pid = 0;
    uint64_t mntns = 0, netns = 0;
    int64_t started_at_ns = 0;
    std::string k8s_node, k8s_namespace, k8s_pod, k8s_container;
    std::vector<std::pair<std::string, std::string>> k8s_pod_labels;
    std::string k8s_owner_kind, k8s_owner_name;
};

/// When an image reference is pulled (`ig run --pull`).
enum class PullPolicy : uint32_t {
    Missing = GRT_PULL_MISSING, ///< default: only when not in the store
    Always = GRT_PULL_ALWAYS,
    Never = GRT_PULL_NEVER,
};

/// Options for images by reference (grt_image_options). Defaults: the default store, pull when
/// missing, signatures verified with Inspektor Gadget's public key.
struct ImageOptions {
    std::string store_dir;                    ///< empty: $GADGETRT_IMAGE_STORE or the default store
    PullPolicy pull = PullPolicy::Missing;
    bool verify = true;                       ///< false: run unsigned images (--verify-image=false)
    std::vector<std::string> public_keys;     ///< PEM ECDSA P-256 keys; empty: IG's key (replaced when given)
    std::string auth_file;                    ///< docker-style config (credHelpers/credsStore run)
    std::vector<std::string> insecure_registries; ///< plain HTTP (loopback registries always are)
    std::string username, password;           ///< both set: used instead of the auth file
};

namespace detail {
/// A grt_image_options view of `o`, borrowing `keys`/`insecure` (joined strings kept by the caller).
inline grt_image_options image_options(const ImageOptions &o, std::string &keys, std::string &insecure) {
    grt_image_options c = GRT_IMAGE_OPTIONS_INIT;
    auto set = [](const std::string &s, const char **p, size_t *n) {
        *p = s.data();
        *n = s.size();
    };
    for (const auto &k : o.public_keys) keys += k + "\n";
    for (const auto &r : o.insecure_registries) insecure += (insecure.empty() ? "" : ",") + r;
    set(o.store_dir, &c.store_dir, &c.store_dir_len);
    c.pull_policy = static_cast<uint32_t>(o.pull);
    c.disable_verify = o.verify ? 0 : 1;
    set(keys, &c.public_keys, &c.public_keys_len);
    set(o.auth_file, &c.auth_file, &c.auth_file_len);
    set(insecure, &c.insecure_registries, &c.insecure_registries_len);
    set(o.username, &c.username, &c.username_len);
    set(o.password, &c.password, &c.password_len);
    return c;
}
} // namespace detail

/// Pulls an image (and its signature) into the store, then verifies the signature unless
/// `opts.verify` is false (GRT_ERR_SIGNATURE when missing or wrong). Returns the digest.
inline std::string pull_image(std::string_view reference, const ImageOptions &opts = {}) {
    std::string keys, insecure;
    grt_image_options c = detail::image_options(opts, keys, insecure);
    char buf[128];
    size_t n = 0;
    detail::check(grt_image_pull(&c, reference.data(), reference.size(), buf, sizeof buf, &n));
    return std::string(buf, n);
}

/// Removes an image from the store (GRT_ERR_NOT_FOUND when absent).
inline void remove_image(std::string_view reference, const ImageOptions &opts = {}) {
    std::string keys, insecure;
    grt_image_options c = detail::image_options(opts, keys, insecure);
    detail::check(grt_image_remove(&c, reference.data(), reference.size()));
}

/// The store's images as JSON: `[{"reference", "digest", "created"}]`.
inline std::string list_images_json(const ImageOptions &opts = {}) {
    std::string keys, insecure;
    grt_image_options c = detail::image_options(opts, keys, insecure);
    std::string out(4096, '\0');
    for (;;) {
        size_t n = 0;
        grt_error *e = grt_image_list_json(&c, out.data(), out.size(), &n);
        if (!e) {
            out.resize(n);
            return out;
        }
        if (grt_error_code(e) != GRT_ERR_INSUFFICIENT_SIZE) detail::check(e);
        grt_error_free(e);
        out.assign(n, '\0');
    }
}

struct FieldInfo {
    Kind kind;
    bool hidden;
    size_t parent; ///< SIZE_MAX for root fields
};

using Stats = ::grt_gadget_stats;

/// Library version string and ABI checks.
inline std::string_view version() noexcept { return grt_version(); }
inline bool has_feature(std::string_view name) noexcept { return grt_has_feature(name.data(), name.size()) == 1; }

/// Process-wide container discovery option by `ig run`'s flag name (`runtimes`,
/// `docker-socketpath`, `containerd-socketpath`, `containerd-namespace`, `podman-socketpath`);
/// an empty value restores the default. Throws `gadgetrt::Error` (GRT_ERR_PARAM) for an
/// unknown key or runtime.
inline void set_container_discovery_option(std::string_view key, std::string_view value) {
    detail::check(grt_set_container_discovery_option(key.data(), key.size(), value.data(), value.size()));
}

/// `EventView::format` modes (`GRT_OUTPUT_*`), like `ig run -o <mode>`.
enum class OutputMode : uint32_t {
    Json = GRT_OUTPUT_JSON,             ///< compact JSON + newline
    JsonPretty = GRT_OUTPUT_JSONPRETTY, ///< indented JSON + newline
    Yaml = GRT_OUTPUT_YAML,             ///< one `---` document per record
    Columns = GRT_OUTPUT_COLUMNS,       ///< one text row per record + newline (header: columns_header)
};

/// Subscription priority of `ig run`'s output: a callback subscribed at it sees packets after
/// the formatters, filter (9000), sort (9500) and limiter (9600).
inline constexpr int32_t priority_output = GRT_PRIORITY_OUTPUT;

// ---------------------------------------------------------------------------------------------
// EventView (borrowed; valid during the callback only)
// ---------------------------------------------------------------------------------------------

class EventView {
public:
    explicit EventView(const grt_event *ev) noexcept : ev_(ev) {}

    std::string_view datasource() const {
        const char *p = nullptr;
        size_t n = 0;
        detail::check(grt_event_datasource(ev_, &p, &n));
        return {p, n};
    }
    /// Number of records (1 for single packets, the element count for arrays).
    size_t size() const noexcept { return grt_event_len(ev_); }
    bool is_array() const noexcept { return grt_event_is_array(ev_) != 0; }
    size_t field_count() const noexcept { return grt_event_field_count(ev_); }
    size_t field_index(std::string_view name) const {
        size_t i = 0;
        detail::check(grt_event_field_index(ev_, name.data(), name.size(), &i));
        return i;
    }
    std::string_view field_name(size_t index) const {
        const char *p = nullptr;
        size_t n = 0;
        detail::check(grt_event_field_name(ev_, index, &p, &n));
        return {p, n};
    }
    Kind field_kind(size_t index) const noexcept { return static_cast<Kind>(grt_event_field_kind(ev_, index)); }

    // Typed getters: by field index or by name; `elem` selects the record of an array packet.
    uint64_t u64(size_t field, size_t elem = 0) const {
        uint64_t v = 0;
        detail::check(grt_event_get_u64(ev_, elem, field, &v));
        return v;
    }
    uint64_t u64(std::string_view field, size_t elem = 0) const {
        uint64_t v = 0;
        detail::check(grt_event_get_u64_by_name(ev_, elem, field.data(), field.size(), &v));
        return v;
    }
    int64_t i64(size_t field, size_t elem = 0) const {
        int64_t v = 0;
        detail::check(grt_event_get_i64(ev_, elem, field, &v));
        return v;
    }
    int64_t i64(std::string_view field, size_t elem = 0) const {
        int64_t v = 0;
        detail::check(grt_event_get_i64_by_name(ev_, elem, field.data(), field.size(), &v));
        return v;
    }
    double f64(size_t field, size_t elem = 0) const {
        double v = 0;
        detail::check(grt_event_get_f64(ev_, elem, field, &v));
        return v;
    }
    double f64(std::string_view field, size_t elem = 0) const {
        double v = 0;
        detail::check(grt_event_get_f64_by_name(ev_, elem, field.data(), field.size(), &v));
        return v;
    }
    bool boolean(size_t field, size_t elem = 0) const {
        uint8_t v = 0;
        detail::check(grt_event_get_bool(ev_, elem, field, &v));
        return v != 0;
    }
    bool boolean(std::string_view field, size_t elem = 0) const {
        uint8_t v = 0;
        detail::check(grt_event_get_bool_by_name(ev_, elem, field.data(), field.size(), &v));
        return v != 0;
    }
    /// String, cstring or bytes field (borrowed).
    std::string_view str(size_t field, size_t elem = 0) const {
        const uint8_t *p = nullptr;
        size_t n = 0;
        detail::check(grt_event_get_bytes(ev_, elem, field, &p, &n));
        return {reinterpret_cast<const char *>(p), n};
    }
    std::string_view str(std::string_view field, size_t elem = 0) const {
        const uint8_t *p = nullptr;
        size_t n = 0;
        detail::check(grt_event_get_bytes_by_name(ev_, elem, field.data(), field.size(), &p, &n));
        return {reinterpret_cast<const char *>(p), n};
    }
    std::string_view bytes(size_t field, size_t elem = 0) const { return str(field, elem); }
    std::string_view bytes(std::string_view field, size_t elem = 0) const { return str(field, elem); }

    /// The event exactly as `ig run -o json` prints it (no newline): keys sorted, bytes as
    /// lowercase hex, hidden fields included, array packets as one JSON array.
    std::string json() const {
        return detail::read_string([&](char *b, size_t c, size_t *n) { return grt_event_to_json(ev_, b, c, n); });
    }
    /// The event as `ig run -o <mode>` prints it. `fields` selects columns like `--fields`
    /// ("f1,f2", "+f", "-f"; empty = the default columns) and only matters for Columns.
    std::string format(OutputMode mode, std::string_view fields = {}) const {
        std::string out;
        format(mode, fields, out);
        return out;
    }
    /// format() into `out`, reusing its capacity (allocation-free once it is large enough).
    void format(OutputMode mode, std::string_view fields, std::string &out) const {
        const char *fp = fields.empty() ? nullptr : fields.data(); // empty -> NULL, 0: defaults
        detail::read_into(out, [&](char *b, size_t c, size_t *n) {
            return grt_event_format(ev_, static_cast<uint32_t>(mode), fp, fields.size(), b, c, n);
        });
    }
    /// The columns header line (no newline) for this event's data source and `fields`.
    std::string columns_header(std::string_view fields = {}) const {
        const char *fp = fields.empty() ? nullptr : fields.data();
        return detail::read_string(
            [&](char *b, size_t c, size_t *n) { return grt_event_columns_header(ev_, fp, fields.size(), b, c, n); });
    }

    const grt_event *get() const noexcept { return ev_; }

private:
    const grt_event *ev_;
};

/// Event callback: return void, or bool (`false` stops dispatch; the rest stays queued).
using EventFn = std::function<bool(const EventView &)>;

// ---------------------------------------------------------------------------------------------
// Packet (move-only; consumed by Gadget::emit)
// ---------------------------------------------------------------------------------------------

class Packet {
public:
    Packet() noexcept = default;
    explicit Packet(grt_packet *p) noexcept : p_(p) {}
    Packet(Packet &&o) noexcept : p_(std::exchange(o.p_, nullptr)) {}
    Packet &operator=(Packet &&o) noexcept {
        if (this != &o) {
            grt_packet_free(p_);
            p_ = std::exchange(o.p_, nullptr);
        }
        return *this;
    }
    Packet(const Packet &) = delete;
    Packet &operator=(const Packet &) = delete;
    ~Packet() { grt_packet_free(p_); }

    /// Appends a zeroed element (array packets); returns its index.
    size_t append() {
        size_t i = 0;
        detail::check(grt_packet_append(need(), &i));
        return i;
    }
    Packet &set_u64(size_t elem, size_t field, uint64_t v) {
        detail::check(grt_packet_set_u64(need(), elem, field, v));
        return *this;
    }
    Packet &set_i64(size_t elem, size_t field, int64_t v) {
        detail::check(grt_packet_set_i64(need(), elem, field, v));
        return *this;
    }
    Packet &set_f64(size_t elem, size_t field, double v) {
        detail::check(grt_packet_set_f64(need(), elem, field, v));
        return *this;
    }
    Packet &set_bytes(size_t elem, size_t field, const void *data, size_t len) {
        detail::check(grt_packet_set_bytes(need(), elem, field, static_cast<const uint8_t *>(data), len));
        return *this;
    }
    Packet &set_string(size_t elem, size_t field, std::string_view s) {
        detail::check(grt_packet_set_string(need(), elem, field, s.data(), s.size()));
        return *this;
    }

    explicit operator bool() const noexcept { return p_ != nullptr; }
    grt_packet *get() const noexcept { return p_; }
    /// Gives up ownership (e.g. to pass it to grt_gadget_emit yourself).
    grt_packet *release() noexcept { return std::exchange(p_, nullptr); }

private:
    grt_packet *need() const {
        if (p_ == nullptr) throw Error(GRT_ERR_ALREADY_USED, "packet was moved from or emitted");
        return p_;
    }
    grt_packet *p_ = nullptr;
};

// ---------------------------------------------------------------------------------------------
// Gadget (move-only)
// ---------------------------------------------------------------------------------------------

class Runtime;

class Gadget {
public:
    Gadget() noexcept = default;
    /// Adopts a reference (e.g. from grt_gadget_open_path).
    explicit Gadget(const grt_gadget *g) noexcept : g_(g) {}
    Gadget(Gadget &&o) noexcept : g_(std::exchange(o.g_, nullptr)) {}
    Gadget &operator=(Gadget &&o) noexcept {
        if (this != &o) {
            grt_gadget_free(g_);
            g_ = std::exchange(o.g_, nullptr);
        }
        return *this;
    }
    Gadget(const Gadget &) = delete;
    Gadget &operator=(const Gadget &) = delete;
    ~Gadget() { grt_gadget_free(g_); }

    explicit operator bool() const noexcept { return g_ != nullptr; }
    const grt_gadget *get() const noexcept { return g_; }

    // Lifecycle --------------------------------------------------------------------------------
    void init() const { detail::check(grt_gadget_init(g_)); }
    void start() const { detail::check(grt_gadget_start(g_)); }
    void stop() const { detail::check(grt_gadget_stop(g_)); }
    State state() const noexcept { return static_cast<State>(grt_gadget_state(g_)); }

    // Params and config ------------------------------------------------------------------------
    void set_param(std::string_view key, std::string_view value) const {
        detail::check(grt_gadget_set_param(g_, key.data(), key.size(), value.data(), value.size()));
    }
    /// IG's `-F` rules (param "filter"): "field==value,field~regex,field>=n"; invalid rules make
    /// start() throw GRT_ERR_PARAM. Use set_param("filter.<ds>", expr) for one data source.
    void set_filter(std::string_view expr) const { set_param("filter", expr); }
    /// IG's `--sort` (param "sort"): "f1,-f2", for array data sources.
    void set_sort(std::string_view spec) const { set_param("sort", spec); }
    /// IG's `--max-entries` (param "max-entries") for every array data source.
    void set_max_entries(long long n) const { set_param("max-entries", std::to_string(n)); }
    /// The string form, e.g. "ds:10,ds2:5".
    void set_max_entries(std::string_view spec) const { set_param("max-entries", spec); }
    std::string param(std::string_view key) const {
        return detail::read_string(
            [&](char *b, size_t c, size_t *n) { return grt_gadget_get_param(g_, key.data(), key.size(), b, c, n); });
    }
    std::string config(std::string_view path) const {
        return detail::read_string(
            [&](char *b, size_t c, size_t *n) { return grt_gadget_get_config(g_, path.data(), path.size(), b, c, n); });
    }
    void set_mntns_filter(const std::vector<uint64_t> &ids) const {
        detail::check(grt_gadget_set_mntns_filter(g_, ids.data(), ids.size(), 1));
    }
    void clear_mntns_filter() const { detail::check(grt_gadget_set_mntns_filter(g_, nullptr, 0, 0)); }
    std::string describe_json() const {
        return detail::read_string([&](char *b, size_t c, size_t *n) { return grt_gadget_describe_json(g_, b, c, n); });
    }

    // Data sources and fields ------------------------------------------------------------------
    std::vector<std::string> datasources() const {
        size_t n = 0;
        detail::check(grt_gadget_datasource_count(g_, &n));
        std::vector<std::string> out;
        out.reserve(n);
        for (size_t i = 0; i < n; i++)
            out.push_back(detail::read_string(
                [&](char *b, size_t c, size_t *len) { return grt_gadget_datasource_name(g_, i, b, c, len); }));
        return out;
    }
    size_t field_count(std::string_view ds) const {
        size_t n = 0;
        detail::check(grt_gadget_field_count(g_, ds.data(), ds.size(), &n));
        return n;
    }
    size_t field_index(std::string_view ds, std::string_view name) const {
        size_t i = 0;
        detail::check(grt_gadget_field_index(g_, ds.data(), ds.size(), name.data(), name.size(), &i));
        return i;
    }
    std::string field_name(std::string_view ds, size_t index) const {
        return detail::read_string([&](char *b, size_t c, size_t *n) {
            return grt_gadget_field_name(g_, ds.data(), ds.size(), index, b, c, n);
        });
    }
    FieldInfo field_info(std::string_view ds, size_t index) const {
        grt_field_info fi = GRT_FIELD_INFO_INIT;
        detail::check(grt_gadget_field_info(g_, ds.data(), ds.size(), index, &fi));
        return FieldInfo{static_cast<Kind>(fi.kind), fi.hidden != 0, fi.parent};
    }
    std::vector<std::string> field_tags(std::string_view ds, size_t index) const {
        std::string all = detail::read_string([&](char *b, size_t c, size_t *n) {
            return grt_gadget_field_tags(g_, ds.data(), ds.size(), index, b, c, n);
        });
        std::vector<std::string> out;
        size_t pos = 0;
        while (pos < all.size()) {
            size_t nl = all.find('\n', pos);
            if (nl == std::string::npos) nl = all.size();
            out.emplace_back(all, pos, nl - pos);
            pos = nl + 1;
        }
        return out;
    }
    void add_datasource(std::string_view name, DataSourceType type = DataSourceType::Single) const {
        detail::check(grt_gadget_add_datasource(g_, name.data(), name.size(), static_cast<uint32_t>(type)));
    }
    size_t add_field(std::string_view ds, std::string_view name, Kind kind) const {
        size_t i = 0;
        detail::check(grt_gadget_add_field(g_, ds.data(), ds.size(), name.data(), name.size(),
                                           static_cast<uint32_t>(kind), &i));
        return i;
    }
    void add_field_tag(std::string_view ds, std::string_view name, std::string_view tag) const {
        detail::check(
            grt_gadget_add_field_tag(g_, ds.data(), ds.size(), name.data(), name.size(), tag.data(), tag.size()));
    }

    // Events -----------------------------------------------------------------------------------

    /// Subscribes `fn` (void or bool (const EventView&)) to data source `ds`; returns the
    /// subscription id. The callable is owned by the gadget until unsubscribe() or destruction.
    template <typename F> uint64_t subscribe(std::string_view ds, int32_t priority, F &&fn) const {
        using R = std::invoke_result_t<F &, const EventView &>;
        EventFn wrapped;
        if constexpr (std::is_void_v<R>) {
            wrapped = [f = std::forward<F>(fn)](const EventView &ev) mutable {
                f(ev);
                return true;
            };
        } else {
            static_assert(std::is_convertible_v<R, bool>, "callback must return void or bool");
            wrapped = [f = std::forward<F>(fn)](const EventView &ev) mutable { return static_cast<bool>(f(ev)); };
        }
        auto *ud = new EventFn(std::move(wrapped));
        uint64_t id = 0;
        // The gadget owns `ud` from here on, also on error (the finalizer deletes it).
        detail::check(grt_gadget_subscribe(g_, ds.data(), ds.size(), priority, &Gadget::trampoline, ud,
                                           &Gadget::delete_fn, &id));
        return id;
    }
    template <typename F> uint64_t subscribe(std::string_view ds, F &&fn) const {
        return subscribe(ds, 0, std::forward<F>(fn));
    }
    void unsubscribe(uint64_t id) const { detail::check(grt_gadget_unsubscribe(g_, id)); }

    /// Waits up to `timeout` (negative: forever) and dispatches queued events on this thread.
    /// Returns the number of callbacks run. Rethrows the first exception a callback threw.
    size_t poll(std::chrono::milliseconds timeout) const { return dispatch(detail::to_timeout(timeout)); }
    /// Dispatches queued events without waiting.
    size_t consume() const { return dispatch(0); }
    /// eventfd readable while events are queued (owned by the gadget: do not close it).
    int event_fd() const noexcept { return grt_gadget_event_fd(g_); }

    Stats stats() const {
        Stats s = GRT_GADGET_STATS_INIT;
        detail::check(grt_gadget_get_stats(g_, &s));
        return s;
    }

    // Packets ----------------------------------------------------------------------------------
    Packet new_packet(std::string_view ds) const {
        grt_packet *p = nullptr;
        detail::check(grt_gadget_new_packet(g_, ds.data(), ds.size(), &p));
        return Packet(p);
    }
    /// Emits and consumes the packet (also on error).
    void emit(Packet &&p) const {
        grt_packet *raw = p.release();
        if (raw == nullptr) throw Error(GRT_ERR_ALREADY_USED, "packet was moved from or emitted");
        detail::check(grt_gadget_emit(g_, raw));
    }

private:
    size_t dispatch(int32_t timeout_ms) const {
        detail::PollFrame frame;
        detail::PollFrame *&cur = detail::current_frame();
        frame.prev = cur;
        cur = &frame;
        int64_t r = grt_gadget_poll(g_, timeout_ms);
        cur = frame.prev;
        if (frame.error) std::rethrow_exception(frame.error);
        if (frame.stopped) return frame.dispatched;
        if (r < 0) {
            uint32_t code = static_cast<uint32_t>(-r);
            throw Error(code, code == GRT_ERR_BUSY ? "another thread is polling this gadget"
                                                   : "grt_gadget_poll failed with error " + std::to_string(code));
        }
        return static_cast<size_t>(r);
    }

    static int32_t trampoline(void *userdata, const grt_event *ev) noexcept {
        detail::PollFrame *frame = detail::current_frame();
        try {
            bool go_on = (*static_cast<EventFn *>(userdata))(EventView(ev));
            if (frame) frame->dispatched++;
            if (!go_on) {
                if (frame) frame->stopped = true;
                return -1;
            }
            return 0;
        } catch (...) {
            if (frame) {
                frame->dispatched++;
                frame->error = std::current_exception();
            }
            return -1;
        }
    }
    static void delete_fn(void *userdata) noexcept { delete static_cast<EventFn *>(userdata); }

    const grt_gadget *g_ = nullptr;
};

// ---------------------------------------------------------------------------------------------
// Runtime (shared handle)
// ---------------------------------------------------------------------------------------------

class Runtime {
public:
    /// A runtime with default options.
    Runtime() { create(nullptr); }
    explicit Runtime(RuntimeOptions opts) {
        check_abi();
        grt_runtime_options o = GRT_RUNTIME_OPTIONS_INIT;
        o.memory_pages = opts.memory_pages;
        o.log_level = static_cast<uint32_t>(opts.log_level);
        o.queue_capacity = opts.queue_capacity;
        o.call_timeout_ms = static_cast<uint32_t>(opts.call_timeout.count());
        o.stop_timeout_ms = static_cast<uint32_t>(opts.stop_timeout.count());
        o.start_deadline_ms = static_cast<uint32_t>(opts.start_deadline.count());
        o.stop_deadline_ms = static_cast<uint32_t>(opts.stop_deadline.count());
        o.disable_cache = opts.disable_cache ? 1 : 0;
        o.disable_container_discovery = opts.disable_container_discovery ? 1 : 0;
        o.min_ring_bytes = opts.min_ring_bytes;
        if (!opts.cache_dir.empty()) {
            o.cache_dir = opts.cache_dir.data();
            o.cache_dir_len = opts.cache_dir.size();
        }
        if (opts.log) {
            o.log_fn = &Runtime::log_trampoline;
            o.log_userdata = new LogFn(std::move(opts.log));
            o.log_userdata_free = &Runtime::log_delete;
        }
        create(&o);
    }

    /// Checks that the loaded library implements the ABI this header was written for.
    static void check_abi() {
        if (grt_abi_version() != GRT_ABI_VERSION)
            throw Error(GRT_ERR_UNSUPPORTED, "libgadgetrt ABI " + std::to_string(grt_abi_version()) +
                                                 " does not match gadgetrt.h ABI " + std::to_string(GRT_ABI_VERSION));
    }

    /// Opens a gadget (.wasm file, directory or OCI layout) without running guest code.
    Gadget open(const std::string &path, std::string_view reference = {}) const {
        const grt_gadget *g = nullptr;
        detail::check(grt_gadget_open_path(rt_.get(), path.data(), path.size(), reference.data(), reference.size(), &g));
        return Gadget(g);
    }
    /// open() + init().
    Gadget load(const std::string &path, std::string_view reference = {}) const {
        const grt_gadget *g = nullptr;
        detail::check(grt_gadget_load_path(rt_.get(), path.data(), path.size(), reference.data(), reference.size(), &g));
        return Gadget(g);
    }
    /// Opens a gadget by image reference without running guest code, like `ig run REF`: from the
    /// local store or pulled (opts.pull), signature verified unless opts.verify is false.
    Gadget open_ref(std::string_view reference, const ImageOptions &opts = {}) const {
        std::string keys, insecure;
        grt_image_options c = detail::image_options(opts, keys, insecure);
        const grt_gadget *g = nullptr;
        detail::check(grt_gadget_open_ref(rt_.get(), reference.data(), reference.size(), &c, &g));
        return Gadget(g);
    }
    /// open_ref() + init().
    Gadget load_ref(std::string_view reference, const ImageOptions &opts = {}) const {
        std::string keys, insecure;
        grt_image_options c = detail::image_options(opts, keys, insecure);
        const grt_gadget *g = nullptr;
        detail::check(grt_gadget_load_ref(rt_.get(), reference.data(), reference.size(), &c, &g));
        return Gadget(g);
    }
    Gadget open_bytes(std::string_view name, const void *wasm, size_t len) const {
        const grt_gadget *g = nullptr;
        detail::check(grt_gadget_open_bytes(rt_.get(), name.data(), name.size(), static_cast<const uint8_t *>(wasm), len, &g));
        return Gadget(g);
    }
    Gadget load_bytes(std::string_view name, const void *wasm, size_t len) const {
        const grt_gadget *g = nullptr;
        detail::check(grt_gadget_load_bytes(rt_.get(), name.data(), name.size(), static_cast<const uint8_t *>(wasm), len, &g));
        return Gadget(g);
    }

    /// Adds (or replaces, by id) a container for this runtime's gadgets: enrichment
    /// (runtime.*, k8s.*), selectors (containername, k8s-*) and the containers data source.
    void add_container(const ContainerInfo &c) const {
        grt_container_info i = GRT_CONTAINER_INFO_INIT;
        auto set = [](const std::string &s, const char **p, size_t *n) {
            *p = s.data();
            *n = s.size();
        };
        std::string labels;
        for (const auto &kv : c.k8s_pod_labels) {
            if (!labels.empty()) labels += ',';
            labels += kv.first + "=" + kv.second;
        }
        set(c.id, &i.id, &i.id_len);
        set(c.name, &i.name, &i.name_len);
        set(c.runtime, &i.runtime, &i.runtime_len);
        set(c.image, &i.image, &i.image_len);
        set(c.image_id, &i.image_id, &i.image_id_len);
        set(c.image_digest, &i.image_digest, &i.image_digest_len);
        set(c.k8s_node, &i.k8s_node, &i.k8s_node_len);
        set(c.k8s_namespace, &i.k8s_namespace, &i.k8s_namespace_len);
        set(c.k8s_pod, &i.k8s_pod, &i.k8s_pod_len);
        set(c.k8s_container, &i.k8s_container, &i.k8s_container_len);
        set(labels, &i.k8s_pod_labels, &i.k8s_pod_labels_len);
        set(c.k8s_owner_kind, &i.k8s_owner_kind, &i.k8s_owner_kind_len);
        set(c.k8s_owner_name, &i.k8s_owner_name, &i.k8s_owner_name_len);
        i.pid = c.pid;
        i.mntns = c.mntns;
        i.netns = c.netns;
        i.started_at_ns = c.started_at_ns;
        detail::check(grt_runtime_add_container(rt_.get(), &i));
    }
    /// Removes a container added with add_container() (throws GRT_ERR_NOT_FOUND if none).
    void remove_container(std::string_view id) const {
        detail::check(grt_runtime_remove_container(rt_.get(), id.data(), id.size()));
    }

    const grt_runtime *get() const noexcept { return rt_.get(); }

private:
    void create(const grt_runtime_options *o) {
        if (o == nullptr) check_abi();
        const grt_runtime *rt = nullptr;
        detail::check(grt_runtime_new(o, &rt)); // owns the log userdata from here on, also on error
        rt_.reset(rt, [](const grt_runtime *r) { grt_runtime_free(r); });
    }
    static void log_trampoline(void *userdata, const grt_log_params *p) noexcept {
        try {
            LogMessage m{static_cast<LogLevel>(p->level), std::string_view(p->gadget ? p->gadget : "", p->gadget_len),
                         std::string_view(p->message ? p->message : "", p->message_len)};
            (*static_cast<LogFn *>(userdata))(m);
        } catch (...) {
            // Log callbacks may run on internal threads: nowhere to rethrow; drop the exception.
        }
    }
    static void log_delete(void *userdata) noexcept { delete static_cast<LogFn *>(userdata); }

    std::shared_ptr<const grt_runtime> rt_;
};

} // namespace gadgetrt

#endif // GADGETRT_HPP
