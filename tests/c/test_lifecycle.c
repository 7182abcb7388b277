/*
 * Full gadget lifecycles through the C API, with value checks against the contracts in
 * tests/gadgets/go/README.md: demo.wasm (guest data source, log line, 5 events, JSON,
 * stats), fields.wasm (host data source, 13 kinds set by the guest, read back by the
 * embedder) and dataarray.wasm (array packet edited and extended by the guest).
 *
 * Usage: test_lifecycle [GADGET_DIR]
 */
#include <pthread.h>

#include "test_util.h"

/* ----------------------------------------------------------------------------------------- */
/* Log sink (called on whatever thread logs: must be thread-safe)                            */
/* ----------------------------------------------------------------------------------------- */

typedef struct {
    pthread_mutex_t mu;
    char text[65536]; /* "<level>|<gadget>|<message>\n"... (truncated when full) */
    size_t len;
    int lines;
    int freed;
} log_sink;

static void log_cb(void *userdata, const grt_log_params *p) {
    log_sink *s = (log_sink *)userdata;
    pthread_mutex_lock(&s->mu);
    if (p->size < sizeof(grt_log_params)) {
        FAIL("log params size %zu < %zu", p->size, sizeof(grt_log_params));
    }
    int n = snprintf(s->text + s->len, sizeof s->text - s->len, "%u|%.*s|%.*s\n", p->level, (int)p->gadget_len,
                     p->gadget ? p->gadget : "", (int)p->message_len, p->message ? p->message : "");
    if (n > 0 && s->len + (size_t)n < sizeof s->text) s->len += (size_t)n;
    s->lines++;
    pthread_mutex_unlock(&s->mu);
}

static void log_free(void *userdata) { ((log_sink *)userdata)->freed++; }

static int log_contains(log_sink *s, const char *needle) {
    pthread_mutex_lock(&s->mu);
    int r = strstr(s->text, needle) != NULL;
    pthread_mutex_unlock(&s->mu);
    return r;
}

/* Polls until *counter >= want or timeout_ms passed. Returns the total dispatched. */
static int64_t poll_until(const grt_gadget *g, const int *counter, int want, int timeout_ms) {
    double deadline = now_ms() + timeout_ms;
    int64_t total = 0;
    while (*counter < want && now_ms() < deadline) {
        int64_t r = grt_gadget_poll(g, 100);
        if (r < 0) {
            FAIL("grt_gadget_poll returned %lld", (long long)r);
            break;
        }
        total += r;
    }
    return total;
}

/* ----------------------------------------------------------------------------------------- */
/* demo.wasm                                                                                 */
/* ----------------------------------------------------------------------------------------- */

typedef struct {
    int n;
    uint64_t seq[8];
    char msg[8][64];
    char json[256];
    size_t json_len;
    int freed;
} demo_ctx;

static int32_t demo_cb(void *userdata, const grt_event *ev) {
    demo_ctx *c = (demo_ctx *)userdata;
    if (c->n >= 8) {
        FAIL("too many events");
        return -1;
    }
    int i = c->n++;

    const char *ds;
    size_t ds_len;
    if (OK(grt_event_datasource(ev, &ds, &ds_len))) CHECK(bytes_eq(ds, ds_len, "ticks"));
    CHECK_EQ_U(grt_event_len(ev), 1);
    CHECK_EQ_I(grt_event_is_array(ev), 0);
    CHECK_EQ_U(grt_event_field_count(ev), 2);

    size_t iseq = 99, imsg = 99;
    OK(grt_event_field_index(ev, S("seq"), &iseq));
    OK(grt_event_field_index(ev, S("MESSAGE"), &imsg)); /* case-insensitive fallback */
    CHECK_EQ_U(grt_event_field_kind(ev, iseq), GRT_KIND_UINT64);
    CHECK_EQ_U(grt_event_field_kind(ev, imsg), GRT_KIND_STRING);
    CHECK_EQ_U(grt_event_field_kind(ev, 1000), GRT_KIND_INVALID);
    const char *fname;
    size_t fname_len;
    if (OK(grt_event_field_name(ev, imsg, &fname, &fname_len))) CHECK(bytes_eq(fname, fname_len, "message"));

    /* Typed getters by index and by name must agree. */
    uint64_t seq = 0, seq2 = 0;
    int64_t sseq = 0;
    double fseq = 0;
    OK(grt_event_get_u64(ev, 0, iseq, &seq));
    OK(grt_event_get_u64_by_name(ev, 0, S("seq"), &seq2));
    OK(grt_event_get_i64(ev, 0, iseq, &sseq));
    OK(grt_event_get_f64_by_name(ev, 0, S("seq"), &fseq));
    CHECK_EQ_U(seq2, seq);
    CHECK_EQ_I(sseq, (int64_t)seq);
    CHECK(fseq == (double)seq);
    c->seq[i] = seq;

    const uint8_t *p = NULL, *p2 = NULL;
    size_t len = 0, len2 = 0;
    OK(grt_event_get_bytes(ev, 0, imsg, &p, &len));
    OK(grt_event_get_bytes_by_name(ev, 0, S("message"), &p2, &len2));
    CHECK(len == len2 && len < sizeof c->msg[i] && memcmp(p, p2, len) == 0);
    if (len < sizeof c->msg[i]) {
        memcpy(c->msg[i], p, len);
        c->msg[i][len] = '\0';
    }

    /* Wrong kinds / out of range. */
    uint8_t b;
    ERR(GRT_ERR_WRONG_KIND, grt_event_get_bool(ev, 0, iseq, &b));
    ERR(GRT_ERR_WRONG_KIND, grt_event_get_u64(ev, 0, imsg, &seq));
    ERR(GRT_ERR_WRONG_KIND, grt_event_get_bytes(ev, 0, iseq, &p, &len));
    ERR(GRT_ERR_NOT_FOUND, grt_event_get_u64_by_name(ev, 0, S("nope"), &seq));
    ERR(GRT_ERR_NOT_FOUND, grt_event_get_u64(ev, 0, 7, &seq));
    ERR(GRT_ERR_INVALID_ARGUMENT, grt_event_get_u64(ev, 1, iseq, &seq));

    /* JSON: size query, then render the first event. */
    if (i == 0) {
        size_t need = 0;
        ERR(GRT_ERR_INSUFFICIENT_SIZE, grt_event_to_json(ev, NULL, 0, &need));
        CHECK(need > 0 && need < sizeof c->json);
        size_t got = 0;
        char small[4];
        ERR(GRT_ERR_INSUFFICIENT_SIZE, grt_event_to_json(ev, small, sizeof small, &got));
        CHECK_EQ_U(got, need);
        if (OK(grt_event_to_json(ev, c->json, sizeof c->json - 1, &c->json_len))) {
            CHECK_EQ_U(c->json_len, need);
            c->json[c->json_len] = '\0';
        }
    }
    return 0;
}

static void demo_free(void *userdata) { ((demo_ctx *)userdata)->freed++; }

static void test_demo(void) {
    printf("-- demo.wasm\n");
    require_gadget("demo");
    static log_sink logs = {.mu = PTHREAD_MUTEX_INITIALIZER};
    grt_runtime_options opts = GRT_RUNTIME_OPTIONS_INIT;
    opts.log_fn = log_cb;
    opts.log_userdata = &logs;
    opts.log_userdata_free = log_free;
    opts.log_level = GRT_LOG_DEBUG;
    const grt_runtime *rt = NULL;
    if (!OK(grt_runtime_new(&opts, &rt))) DIE("no runtime");

    char path[4096];
    gadget_path("demo", path, sizeof path);
    const grt_gadget *g = NULL;
    if (!OK(grt_gadget_load_path(rt, path, strlen(path), NULL, 0, &g))) DIE("demo load failed:\n%s", logs.text);
    CHECK_EQ_U(grt_gadget_state(g), GRT_STATE_INITIALIZED);

    /* Introspection of the guest-created data source. */
    size_t nds = 0;
    OK(grt_gadget_datasource_count(g, &nds));
    CHECK_EQ_U(nds, 1);
    char name[64];
    size_t name_len = 0;
    if (OK(grt_gadget_datasource_name(g, 0, name, sizeof name, &name_len))) CHECK(bytes_eq(name, name_len, "ticks"));
    size_t nf = 0;
    OK(grt_gadget_field_count(g, S("ticks"), &nf));
    CHECK_EQ_U(nf, 2);
    size_t iseq = 99;
    OK(grt_gadget_field_index(g, S("ticks"), S("seq"), &iseq));
    grt_field_info fi = GRT_FIELD_INFO_INIT;
    if (OK(grt_gadget_field_info(g, S("ticks"), iseq, &fi))) {
        CHECK_EQ_U(fi.kind, GRT_KIND_UINT64);
        CHECK_EQ_U(fi.parent, SIZE_MAX);
    }

    static demo_ctx ctx;
    uint64_t sub_id = 0;
    OK(grt_gadget_subscribe(g, S("ticks"), 0, demo_cb, &ctx, demo_free, &sub_id));
    CHECK(sub_id != 0);

    double t0 = now_ms();
    OK(grt_gadget_start(g));
    CHECK_EQ_U(grt_gadget_state(g), GRT_STATE_STARTED);
    int64_t n = poll_until(g, &ctx.n, 5, 10000);
    printf("   5 events in %.1f ms after start\n", now_ms() - t0);
    CHECK_EQ_I(n, 5);
    CHECK_EQ_I(ctx.n, 5);
    for (int i = 0; i < 5 && i < ctx.n; i++) {
        char want[64];
        snprintf(want, sizeof want, "hello from wasm #%d", i + 1);
        CHECK_EQ_U(ctx.seq[i], (uint64_t)(i + 1));
        if (strcmp(ctx.msg[i], want) != 0) FAIL("event %d message '%s', expected '%s'", i, ctx.msg[i], want);
    }
    const char *want_json = "{\"message\":\"hello from wasm #1\",\"seq\":1}"; /* IG: keys sorted */
    if (strcmp(ctx.json, want_json) != 0) FAIL("JSON '%s', expected '%s'", ctx.json, want_json);

    grt_gadget_stats st = GRT_GADGET_STATS_INIT;
    if (OK(grt_gadget_get_stats(g, &st))) {
        CHECK_EQ_U(st.size, sizeof st);
        CHECK_EQ_U(st.delivered, 5);
        CHECK_EQ_U(st.queued, 0);
        CHECK_EQ_U(st.dropped_queue_full, 0);
        CHECK_EQ_U(st.guest_traps, 0);
    }

    /* The log line from gadgetStart (guest Infof) reached the embedder's sink. */
    if (!log_contains(&logs, "demo: emitting 5 ticks")) FAIL("log line missing; log:\n%s", logs.text);
    char lvl_line[128];
    snprintf(lvl_line, sizeof lvl_line, "%u|", GRT_LOG_INFO);
    CHECK(log_contains(&logs, lvl_line));

    OK(grt_gadget_stop(g));
    CHECK_EQ_U(grt_gadget_state(g), GRT_STATE_STOPPED);
    /* Stopped and empty: poll returns at once with 0. */
    double t1 = now_ms();
    CHECK_EQ_I(grt_gadget_poll(g, 5000), 0);
    CHECK(now_ms() - t1 < 1000);

    CHECK_EQ_I(ctx.freed, 0);
    grt_runtime_free(rt); /* the gadget keeps the runtime alive */
    CHECK_EQ_I(logs.freed, 0);
    grt_gadget_free(g);
    CHECK_EQ_I(ctx.freed, 1);
    CHECK_EQ_I(logs.freed, 1);
}

/* ----------------------------------------------------------------------------------------- */
/* fields.wasm                                                                               */
/* ----------------------------------------------------------------------------------------- */

typedef struct {
    int n;
} fields_ctx;

static void check_i64(const grt_event *ev, const char *name, int64_t want) {
    int64_t v = 0;
    if (OK(grt_event_get_i64_by_name(ev, 0, name, strlen(name), &v)) && v != want)
        FAIL("%s = %lld, expected %lld", name, (long long)v, (long long)want);
}

static void check_u64(const grt_event *ev, const char *name, uint64_t want) {
    uint64_t v = 0;
    if (OK(grt_event_get_u64_by_name(ev, 0, name, strlen(name), &v)) && v != want)
        FAIL("%s = %llu, expected %llu", name, (unsigned long long)v, (unsigned long long)want);
}

static void check_f64(const grt_event *ev, const char *name, double want) {
    double v = 0;
    if (OK(grt_event_get_f64_by_name(ev, 0, name, strlen(name), &v)) && v != want)
        FAIL("%s = %.17g, expected %.17g", name, v, want);
}

static void check_bytes(const grt_event *ev, const char *name, const void *want, size_t want_len) {
    const uint8_t *p = NULL;
    size_t len = 0;
    if (OK(grt_event_get_bytes_by_name(ev, 0, name, strlen(name), &p, &len)) &&
        (len != want_len || memcmp(p, want, len) != 0))
        FAIL("%s = '%.*s' (%zu bytes), expected %zu bytes", name, (int)len, (const char *)p, len, want_len);
}

static int32_t fields_cb(void *userdata, const grt_event *ev) {
    fields_ctx *c = (fields_ctx *)userdata;
    c->n++;
    uint8_t b = 0;
    if (OK(grt_event_get_bool_by_name(ev, 0, S("field_bool"), &b))) CHECK_EQ_U(b, 1);
    check_i64(ev, "field_int8", -123);
    check_i64(ev, "field_int16", -25647);
    check_i64(ev, "field_int32", -535245564);
    check_i64(ev, "field_int64", -1234567890);
    check_u64(ev, "field_uint8", 56);
    check_u64(ev, "field_uint16", 12345);
    check_u64(ev, "field_uint32", 1234567890);
    check_u64(ev, "field_uint64", 1234567890123456ULL);
    check_f64(ev, "field_float32", (double)3.14159f);
    check_f64(ev, "field_float64", 3.14159265359);
    check_bytes(ev, "field_string", "Hello, World!", 13);
    check_bytes(ev, "field_bytes", "\x01\x02\x03\x04\x05", 5);
    check_bytes(ev, "host_field", "LOCALHOST", 9);
    check_u64(ev, "host_in", 7);
    check_u64(ev, "field_echo", 21);

    /* Cross-kind views: signed view of unsigned, unsigned view of a negative is WRONG_KIND. */
    uint64_t u;
    ERR(GRT_ERR_WRONG_KIND, grt_event_get_u64_by_name(ev, 0, S("field_int8"), &u));
    int64_t i = 0;
    if (OK(grt_event_get_i64_by_name(ev, 0, S("field_uint16"), &i))) CHECK_EQ_I(i, 12345);
    ERR(GRT_ERR_WRONG_KIND, grt_event_get_bool_by_name(ev, 0, S("field_uint8"), &b));
    double d;
    ERR(GRT_ERR_WRONG_KIND, grt_event_get_f64_by_name(ev, 0, S("field_string"), &d));
    return 0;
}

static void test_fields(void) {
    printf("-- fields.wasm\n");
    require_gadget("fields");
    static log_sink logs = {.mu = PTHREAD_MUTEX_INITIALIZER};
    grt_runtime_options opts = GRT_RUNTIME_OPTIONS_INIT;
    opts.log_fn = log_cb;
    opts.log_userdata = &logs;
    const grt_runtime *rt = NULL;
    if (!OK(grt_runtime_new(&opts, &rt))) DIE("no runtime");
    char path[4096];
    gadget_path("fields", path, sizeof path);
    const grt_gadget *g = NULL;
    if (!OK(grt_gadget_open_path(rt, path, strlen(path), NULL, 0, &g))) DIE("open fields");
    CHECK_EQ_U(grt_gadget_state(g), GRT_STATE_CREATED);

    /* Host data source, created before init (gadgetInit looks it up). */
    size_t i_host_field = 99, i_host_in = 99;
    OK(grt_gadget_add_datasource(g, S("myds"), GRT_DS_SINGLE));
    OK(grt_gadget_add_field(g, S("myds"), S("host_field"), GRT_KIND_STRING, &i_host_field));
    OK(grt_gadget_add_field_tag(g, S("myds"), S("host_field"), S("host_tag")));
    OK(grt_gadget_add_field(g, S("myds"), S("host_in"), GRT_KIND_UINT32, &i_host_in));
    CHECK(i_host_field != i_host_in);
    if (!OK(grt_gadget_init(g))) DIE("fields init failed; log:\n%s", logs.text);
    CHECK_EQ_U(grt_gadget_state(g), GRT_STATE_INITIALIZED);

    /* Schema after gadgetInit: every field with its kind and tag. */
    static const struct {
        const char *name;
        uint32_t kind;
        const char *tag;
    } want[] = {
        {"field_bool", GRT_KIND_BOOL, "tag_bool"},          {"field_int8", GRT_KIND_INT8, "tag_int8"},
        {"field_int16", GRT_KIND_INT16, "tag_int16"},       {"field_int32", GRT_KIND_INT32, "tag_int32"},
        {"field_int64", GRT_KIND_INT64, "tag_int64"},       {"field_uint8", GRT_KIND_UINT8, "tag_uint8"},
        {"field_uint16", GRT_KIND_UINT16, "tag_uint16"},    {"field_uint32", GRT_KIND_UINT32, "tag_uint32"},
        {"field_uint64", GRT_KIND_UINT64, "tag_uint64"},    {"field_float32", GRT_KIND_FLOAT32, "tag_float32"},
        {"field_float64", GRT_KIND_FLOAT64, "tag_float64"}, {"field_string", GRT_KIND_STRING, "tag_string"},
        {"field_bytes", GRT_KIND_BYTES, "tag_bytes"},       {"host_field", GRT_KIND_STRING, "host_tag"},
        {"field_echo", GRT_KIND_UINT32, "tag_echo"},
    };
    for (size_t k = 0; k < sizeof want / sizeof want[0]; k++) {
        size_t idx = 0;
        if (!OK(grt_gadget_field_index(g, S("myds"), want[k].name, strlen(want[k].name), &idx))) continue;
        grt_field_info fi = GRT_FIELD_INFO_INIT;
        if (OK(grt_gadget_field_info(g, S("myds"), idx, &fi)) && fi.kind != want[k].kind)
            FAIL("%s kind %u, expected %u", want[k].name, fi.kind, want[k].kind);
        char tags[256];
        size_t tl = 0;
        if (OK(grt_gadget_field_tags(g, S("myds"), idx, tags, sizeof tags - 1, &tl))) {
            tags[tl] = '\0';
            int found = 0;
            for (char *t = strtok(tags, "\n"); t; t = strtok(NULL, "\n")) found |= strcmp(t, want[k].tag) == 0;
            if (!found) FAIL("%s lacks tag %s", want[k].name, want[k].tag);
        }
    }
    size_t nf = 0;
    OK(grt_gadget_field_count(g, S("myds"), &nf));
    CHECK_EQ_U(nf, 16); /* 2 host + 13 kinds + echo */

    static fields_ctx ctx;
    OK(grt_gadget_subscribe(g, S("myds"), 50000, fields_cb, &ctx, NULL, NULL));
    if (!OK(grt_gadget_start(g))) DIE("fields start failed; log:\n%s", logs.text);

    grt_packet *p = NULL;
    if (OK(grt_gadget_new_packet(g, S("myds"), &p))) {
        OK(grt_packet_set_u64(p, 0, i_host_in, 7));
        OK(grt_gadget_emit(g, p)); /* consumes p */
    }
    poll_until(g, &ctx.n, 1, 10000);
    OK(grt_gadget_stop(g));
    CHECK_EQ_I(ctx.n, 1);
    grt_gadget_stats st = GRT_GADGET_STATS_INIT;
    if (OK(grt_gadget_get_stats(g, &st))) {
        CHECK_EQ_U(st.delivered, 1);
        if (st.guest_traps != 0) FAIL("guest_traps = %llu; log:\n%s", (unsigned long long)st.guest_traps, logs.text);
    }
    grt_gadget_free(g);
    grt_runtime_free(rt);
}

/* ----------------------------------------------------------------------------------------- */
/* dataarray.wasm                                                                            */
/* ----------------------------------------------------------------------------------------- */

typedef struct {
    int n;
    size_t len;
    int is_array;
    uint64_t foo[32];
} array_ctx;

static int32_t array_cb(void *userdata, const grt_event *ev) {
    array_ctx *c = (array_ctx *)userdata;
    c->n++;
    c->is_array = grt_event_is_array(ev);
    c->len = grt_event_len(ev);
    size_t ifoo = 0;
    if (!OK(grt_event_field_index(ev, S("foo"), &ifoo))) return 0;
    for (size_t i = 0; i < c->len && i < 32; i++) {
        uint64_t v = 0, v2 = 0;
        OK(grt_event_get_u64(ev, i, ifoo, &v));
        OK(grt_event_get_u64_by_name(ev, i, S("foo"), &v2));
        CHECK_EQ_U(v2, v);
        c->foo[i] = v;
    }
    uint64_t v;
    ERR(GRT_ERR_INVALID_ARGUMENT, grt_event_get_u64(ev, c->len, ifoo, &v));
    char json[2048];
    size_t jl = 0;
    if (OK(grt_event_to_json(ev, json, sizeof json - 1, &jl))) {
        json[jl] = '\0';
        /* one object per element */
        int objs = 0;
        for (size_t i = 0; i < jl; i++) objs += json[i] == '{';
        CHECK_EQ_I(objs, 15);
        CHECK(json[0] == '[' && json[jl - 1] == ']');
        CHECK(strstr(json, "{\"foo\":1272429}") != NULL); /* element 3: 424143 * 3 */
    }
    return 0;
}

static void test_dataarray(void) {
    printf("-- dataarray.wasm\n");
    require_gadget("dataarray");
    const grt_runtime *rt = NULL;
    if (!OK(grt_runtime_new(NULL, &rt))) DIE("no runtime");
    char path[4096];
    gadget_path("dataarray", path, sizeof path);
    const grt_gadget *g = NULL;
    if (!OK(grt_gadget_open_path(rt, path, strlen(path), NULL, 0, &g))) DIE("open dataarray");
    size_t ifoo = 99;
    OK(grt_gadget_add_datasource(g, S("myds"), GRT_DS_ARRAY));
    OK(grt_gadget_add_field(g, S("myds"), S("foo"), GRT_KIND_UINT32, &ifoo));
    if (!OK(grt_gadget_init(g))) DIE("dataarray init failed");
    static array_ctx ctx;
    OK(grt_gadget_subscribe(g, S("myds"), 50000, array_cb, &ctx, NULL, NULL));
    OK(grt_gadget_start(g));

    grt_packet *p = NULL;
    if (OK(grt_gadget_new_packet(g, S("myds"), &p))) {
        for (size_t i = 0; i < 10; i++) {
            size_t idx = 99;
            OK(grt_packet_append(p, &idx));
            CHECK_EQ_U(idx, i);
            OK(grt_packet_set_u64(p, idx, ifoo, 424143));
        }
        ERR(GRT_ERR_INVALID_ARGUMENT, grt_packet_set_u64(p, 10, ifoo, 1)); /* element out of range */
        OK(grt_gadget_emit(g, p));
    }
    poll_until(g, &ctx.n, 1, 10000);
    OK(grt_gadget_stop(g));
    CHECK_EQ_I(ctx.n, 1);
    CHECK_EQ_I(ctx.is_array, 1);
    CHECK_EQ_U(ctx.len, 15);
    for (size_t i = 0; i < 15 && i < ctx.len; i++)
        if (ctx.foo[i] != 424143ULL * i) FAIL("element %zu foo = %llu, expected %llu", i, (unsigned long long)ctx.foo[i], 424143ULL * i);
    grt_gadget_stats st = GRT_GADGET_STATS_INIT;
    if (OK(grt_gadget_get_stats(g, &st))) CHECK_EQ_U(st.guest_traps, 0);
    grt_gadget_free(g);
    grt_runtime_free(rt);
}

int main(int argc, char **argv) {
    if (argc > 1) g_gadget_dir = argv[1];
    setvbuf(stdout, NULL, _IONBF, 0);
    printf("gadgetrt %s (ABI %u)\n", grt_version(), grt_abi_version());
    test_demo();
    test_fields();
    test_dataarray();
    return finish("test_lifecycle");
}
