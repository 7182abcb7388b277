// Tests of the C++ wrapper (bindings/cpp/gadgetrt.hpp): exceptions never cross the C
// boundary but are rethrown by poll(), bool callbacks stop dispatch, RAII frees everything
// exactly once, typed getters, packets, errors with codes.
#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "gadgetrt.hpp"

using namespace std::chrono_literals;

static int failures = 0;
#define CHECK(c)                                                                       \
    do {                                                                               \
        if (!(c)) {                                                                    \
            std::fprintf(stderr, "FAIL %s:%d: %s\n", __FILE__, __LINE__, #c);          \
            failures++;                                                                \
        }                                                                              \
    } while (0)

template <typename F> static uint32_t error_code(F &&f) {
    try {
        f();
    } catch (const gadgetrt::Error &e) {
        return e.code();
    }
    return 0;
}

struct Boom : std::runtime_error {
    using std::runtime_error::runtime_error;
};

static_assert(gadgetrt::is_array(static_cast<gadgetrt::Kind>(GRT_KIND_ARRAY_OF | GRT_KIND_UINT16)));
static_assert(!gadgetrt::is_array(gadgetrt::Kind::Uint16));
static_assert(gadgetrt::array_elem(static_cast<gadgetrt::Kind>(GRT_KIND_ARRAY_OF | GRT_KIND_INT32)) ==
              gadgetrt::Kind::Int32);

int main(int argc, char **argv) {
    std::string dir = argc > 1 ? argv[1] : GADGET_DIR;
    std::string demo = dir + "/demo.wasm";
    if (FILE *f = std::fopen(demo.c_str(), "rb")) {
        std::fclose(f);
    } else {
        std::fprintf(stderr, "SKIP: %s missing\n", demo.c_str());
        return 77;
    }

    std::atomic<int> log_lines{0};
    gadgetrt::RuntimeOptions opts;
    opts.log = [&](const gadgetrt::LogMessage &m) {
        if (m.message.find("emitting 5 ticks") != std::string_view::npos) log_lines++;
        throw std::runtime_error("log callbacks may throw; the wrapper swallows it");
    };
    gadgetrt::Runtime rt(std::move(opts));
    gadgetrt::Runtime rt_copy = rt; // shared handle

    CHECK(error_code([&] { rt.load(dir + "/does-not-exist.wasm"); }) == GRT_ERR_NOT_FOUND);
    try {
        rt.load(dir + "/does-not-exist.wasm");
        CHECK(false);
    } catch (const gadgetrt::Error &e) {
        // The error text names the code (grt_error_code_name).
        CHECK(std::strcmp(e.name(), "NOT_FOUND") == 0);
        const std::string what = e.what();
        CHECK(what.size() > 12 && what.compare(what.size() - 12, 12, " [NOT_FOUND]") == 0);
        CHECK(what.compare(0, e.message().size(), e.message()) == 0);
    }
    CHECK(error_code([&] { rt.load_bytes("junk", "junk", 4); }) == GRT_ERR_WASM_LOAD);
    // Container discovery options by ig's flag names.
    gadgetrt::set_container_discovery_option("runtimes", "docker,containerd");
    CHECK(error_code([&] { gadgetrt::set_container_discovery_option("runtimes", "nosuchruntime"); }) == GRT_ERR_PARAM);
    CHECK(error_code([&] { gadgetrt::set_container_discovery_option("no-such-option", "x"); }) == GRT_ERR_PARAM);
    gadgetrt::set_container_discovery_option("runtimes", "");

    // 1. A throwing callback: dispatch stops, poll rethrows, the rest stays queued.
    {
        gadgetrt::Gadget g = rt_copy.load(demo);
        CHECK(g.state() == gadgetrt::State::Initialized);
        CHECK(g.datasources() == std::vector<std::string>{"ticks"});
        CHECK(g.field_info("ticks", g.field_index("ticks", "seq")).kind == gadgetrt::Kind::Uint64);
        std::vector<uint64_t> seqs;
        g.subscribe("ticks", [&](const gadgetrt::EventView &ev) {
            uint64_t s = ev.u64("seq");
            if (s == 2) throw Boom("boom at 2");
            seqs.push_back(s);
            CHECK(ev.u64(ev.field_index("seq")) == s);
            CHECK(ev.str("message") == "hello from wasm #" + std::to_string(s));
            CHECK(ev.datasource() == "ticks");
            if (s == 1) CHECK(ev.json() == R"({"message":"hello from wasm #1","seq":1})"); // IG: keys sorted
            // errors inside a callback are ordinary exceptions (caught here)
            CHECK(error_code([&] { ev.boolean("seq"); }) == GRT_ERR_WRONG_KIND);
        });
        g.start();
        bool thrown = false;
        try {
            g.poll(1000ms);
        } catch (const Boom &e) {
            thrown = std::strcmp(e.what(), "boom at 2") == 0;
        }
        CHECK(thrown);
        CHECK(seqs == std::vector<uint64_t>{1});
        CHECK(g.stats().queued == 3);
        CHECK(g.consume() == 3);
        CHECK((seqs == std::vector<uint64_t>{1, 3, 4, 5}));
        CHECK(g.stats().delivered == 5);
        g.stop();
        CHECK(g.state() == gadgetrt::State::Stopped);
    }
    CHECK(log_lines.load() == 1);

    // 2. A bool callback returning false stops dispatch without an exception.
    {
        gadgetrt::Gadget g = rt.load(demo);
        int calls = 0;
        uint64_t id = g.subscribe("ticks", 5, [&](const gadgetrt::EventView &) { return ++calls != 2; });
        CHECK(id != 0);
        g.start();
        CHECK(g.poll(1000ms) == 2);
        CHECK(g.consume() == 3);
        CHECK(calls == 5);
        g.unsubscribe(id);
        CHECK(error_code([&] { g.unsubscribe(id); }) == GRT_ERR_NOT_FOUND);
    }

    // 3. Host data sources and packets; moved-from objects; finalizers of captured state.
    {
        auto alive = std::make_shared<int>(0);
        std::weak_ptr<int> watch = alive;
        gadgetrt::Gadget g = rt.open(demo);
        g.add_datasource("host", gadgetrt::DataSourceType::Array);
        size_t fv = g.add_field("host", "v", gadgetrt::Kind::Int32);
        size_t fs = g.add_field("host", "s", gadgetrt::Kind::String);
        g.add_field_tag("host", "v", "tag_v");
        CHECK(g.field_tags("host", fv) == std::vector<std::string>{"tag_v"});
        g.init();
        std::vector<int64_t> got;
        g.subscribe("host", [&, alive](const gadgetrt::EventView &ev) {
            CHECK(ev.is_array());
            for (size_t i = 0; i < ev.size(); i++) got.push_back(ev.i64("v", i));
            CHECK(ev.str(fs, 1) == "second");
        });
        alive.reset();
        CHECK(!watch.expired()); // the gadget holds the callback
        gadgetrt::Packet p = g.new_packet("host");
        p.set_i64(p.append(), fv, -7);
        size_t e1 = p.append();
        p.set_i64(e1, fv, 9).set_string(e1, fs, "second");
        CHECK(error_code([&] { p.set_string(e1, fs, std::string("\xff", 1)); }) == GRT_ERR_INVALID_UTF8);
        gadgetrt::Packet q = std::move(p);
        CHECK(!p);
        CHECK(error_code([&] { g.emit(std::move(p)); }) == GRT_ERR_ALREADY_USED);
        g.emit(std::move(q));
        CHECK(g.poll(1000ms) == 1);
        CHECK((got == std::vector<int64_t>{-7, 9}));
        gadgetrt::Gadget moved = std::move(g);
        CHECK(!g);
        CHECK(moved.event_fd() >= 0);
        moved = gadgetrt::Gadget(); // frees the gadget -> the callback (and `alive`) is destroyed
        CHECK(watch.expired());
    }

    // 4. poll() on a busy gadget throws Error(BUSY) in the second thread.
    {
        gadgetrt::Gadget g = rt.load(demo);
        g.subscribe("ticks", [](const gadgetrt::EventView &) {});
        std::atomic<bool> started{false};
        std::thread t([&] {
            started = true;
            g.poll(400ms);
        });
        while (!started) std::this_thread::yield();
        std::this_thread::sleep_for(100ms);
        CHECK(error_code([&] { g.poll(0ms); }) == GRT_ERR_BUSY);
        t.join();
    }

    // 5. format()/columns_header() and the operators (errno formatter, filter, sort,
    //    max-entries) on embedder data sources of a minimal wasm gadget (no eBPF).
    {
        static const unsigned char mini[] = {
            0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, 0x01, 0x05, 0x01, 0x60, 0x00, 0x01, 0x7e, 0x03,
            0x02, 0x01, 0x00, 0x05, 0x03, 0x01, 0x00, 0x01, 0x07, 0x1d, 0x02, 0x06, 'm',  'e',  'm',  'o',
            'r',  'y',  0x02, 0x00, 0x10, 'g',  'a',  'd',  'g',  'e',  't',  'A',  'P',  'I',  'V',  'e',
            'r',  's',  'i',  'o',  'n',  0x00, 0x00, 0x0a, 0x06, 0x01, 0x04, 0x00, 0x42, 0x01, 0x0b};
        static_assert(gadgetrt::priority_output == 10000);
        static_assert(static_cast<uint32_t>(gadgetrt::OutputMode::Columns) == 4);
        auto pad = [](std::string s, size_t w) {
            s.resize(std::max(s.size(), w), ' ');
            return s;
        };
        {
            gadgetrt::Gadget g = rt.open_bytes("fmt", mini, sizeof mini);
            g.add_datasource("ev");
            size_t comm = g.add_field("ev", "comm", gadgetrt::Kind::String);
            size_t pid = g.add_field("ev", "pid", gadgetrt::Kind::Uint32);
            size_t eraw = g.add_field("ev", "error_raw", gadgetrt::Kind::Uint32);
            g.add_field_tag("ev", "error_raw", "type:gadget_errno");
            size_t data = g.add_field("ev", "data", gadgetrt::Kind::Bytes);
            g.init();
            g.set_filter("pid==7");
            CHECK(g.param("filter") == "pid==7");
            int seen = 0;
            std::string json, fjson, row, hdr, row_sel, hdr_sel, err, reused;
            uint32_t bad_field = 0, bad_mode = 0;
            g.subscribe("ev", gadgetrt::priority_output, [&](const gadgetrt::EventView &ev) {
                seen++;
                CHECK(ev.u64("pid") == 7);
                err = std::string(ev.str("error"));
                json = ev.json();
                fjson = ev.format(gadgetrt::OutputMode::Json);
                row = ev.format(gadgetrt::OutputMode::Columns);
                hdr = ev.columns_header();
                row_sel = ev.format(gadgetrt::OutputMode::Columns, "pid,error_raw");
                hdr_sel = ev.columns_header("pid,error_raw");
                reused.reserve(4096);
                const void *before = reused.data();
                ev.format(gadgetrt::OutputMode::Yaml, {}, reused);
                CHECK(reused.data() == before); // capacity reused, no reallocation
                CHECK(reused == "---\ncomm: cat\ndata: cafe\nerror: ENOENT\nerror_raw: 2\npid: 7\n");
                bad_field = error_code([&] { ev.format(gadgetrt::OutputMode::Columns, "nope"); });
                bad_mode = error_code([&] { ev.format(static_cast<gadgetrt::OutputMode>(99)); });
            });
            g.start();
            for (uint32_t p : {5u, 7u, 9u}) {
                gadgetrt::Packet pk = g.new_packet("ev");
                pk.set_string(0, comm, "cat").set_u64(0, pid, p).set_u64(0, eraw, 2).set_bytes(0, data, "\xca\xfe", 2);
                g.emit(std::move(pk));
            }
            while (g.poll(200ms) > 0) {}
            CHECK(seen == 1);
            CHECK(err == "ENOENT");
            const std::string want = R"({"comm":"cat","data":"cafe","error":"ENOENT","error_raw":2,"pid":7})";
            CHECK(json == want);
            CHECK(fjson == want + "\n");
            CHECK(hdr == pad("COMM", 16) + " " + pad("PID", 16) + " " + pad("ERROR", 12) + " " + pad("DATA", 16));
            CHECK(row == pad("cat", 16) + " " + pad("7", 16) + " " + pad("ENOENT", 12) + " " + pad("<2 bytes>", 16) + "\n");
            CHECK(hdr_sel == pad("PID", 16) + " " + pad("ERROR_RAW", 16));
            CHECK(row_sel == pad("7", 16) + " " + pad("2", 16) + "\n");
            CHECK(bad_field == GRT_ERR_INVALID_ARGUMENT);
            CHECK(bad_mode == GRT_ERR_INVALID_ARGUMENT);
        }
        {
            gadgetrt::Gadget g = rt.open_bytes("badfilter", mini, sizeof mini);
            g.add_datasource("ev");
            g.add_field("ev", "pid", gadgetrt::Kind::Uint32);
            g.init();
            g.set_filter("pid=>7");
            CHECK(error_code([&] { g.start(); }) == GRT_ERR_PARAM);
        }
        {
            gadgetrt::Gadget g = rt.open_bytes("sort", mini, sizeof mini);
            g.add_datasource("top", gadgetrt::DataSourceType::Array);
            size_t comm = g.add_field("top", "comm", gadgetrt::Kind::String);
            size_t cpu = g.add_field("top", "cpu", gadgetrt::Kind::Uint32);
            g.init();
            g.set_sort("-cpu");
            g.set_max_entries(3);
            CHECK(g.param("max-entries") == "3");
            std::string json;
            g.subscribe("top", gadgetrt::priority_output, [&](const gadgetrt::EventView &ev) { json = ev.json(); });
            g.start();
            gadgetrt::Packet pk = g.new_packet("top");
            const std::pair<const char *, uint32_t> rows[] = {{"a", 10}, {"b", 50}, {"c", 30}, {"d", 40}, {"e", 5}};
            for (auto &r : rows) {
                size_t el = pk.append();
                pk.set_string(el, comm, r.first).set_u64(el, cpu, r.second);
            }
            g.emit(std::move(pk));
            while (g.poll(200ms) > 0) {}
            CHECK(json == R"([{"comm":"b","cpu":50},{"comm":"d","cpu":40},{"comm":"c","cpu":30}])");
        }
    }

    if (failures) {
        std::fprintf(stderr, "test_cpp: %d check(s) FAILED\n", failures);
        return 1;
    }
    std::printf("test_cpp: all checks passed\n");
    return 0;
}
