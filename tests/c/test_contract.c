/*
 * Contract tests of the C API (shared/spec/c-api-house-style.md rules 6-10, 14-20):
 * NULL arguments, _free(NULL), error codes and messages, caller buffers, UTF-8 checks,
 * extensible options, poll timeout, concurrent poll, callback stop, event fd, userdata
 * finalizers, a guest that makes the host write out of bounds.
 *
 * Usage: test_contract [GADGET_DIR]
 */
#include <poll.h>
#include <pthread.h>
#include <unistd.h>

#include "test_util.h"

static int g_demo_available = 0;

static const grt_gadget *open_gadget(const grt_runtime *rt, const char *name, int init) {
    char path[4096];
    gadget_path(name, path, sizeof path);
    const grt_gadget *g = NULL;
    grt_error *e = init ? grt_gadget_load_path(rt, path, strlen(path), NULL, 0, &g)
                        : grt_gadget_open_path(rt, path, strlen(path), NULL, 0, &g);
    if (!OK(e)) DIE("cannot open %s", path);
    return g;
}

/* Is fd readable right now? */
static int fd_readable(int fd, int timeout_ms) {
    struct pollfd p = {.fd = fd, .events = POLLIN};
    int r = poll(&p, 1, timeout_ms);
    return r > 0 && (p.revents & POLLIN);
}

static int32_t count_cb(void *userdata, const grt_event *ev) {
    (void)ev;
    ++*(int *)userdata;
    return 0;
}

static void count_free(void *userdata) { ++*(int *)userdata; }

/* ----------------------------------------------------------------------------------------- */

static void test_versions_and_features(void) {
    printf("-- versions, features, error accessors\n");
    char want[32];
    snprintf(want, sizeof want, "%d.%d.%d", GRT_VERSION_MAJOR, GRT_VERSION_MINOR, GRT_VERSION_PATCH);
    if (strcmp(grt_version(), want) != 0) FAIL("grt_version() %s, header %s", grt_version(), want);
    CHECK_EQ_U(grt_abi_version(), GRT_ABI_VERSION);
    CHECK_EQ_U(grt_gadget_api_version(), 1);
    CHECK_EQ_I(grt_has_feature(S("wasm")), 1);
    CHECK_EQ_I(grt_has_feature(S("no-such-feature")), 0);
    CHECK_EQ_I(grt_has_feature(NULL, 0), -1);
    CHECK_EQ_I(grt_has_feature("\xff", 1), -1);
    CHECK_EQ_U(grt_error_code(NULL), 0);
    CHECK(grt_error_message(NULL) != NULL && grt_error_message(NULL)[0] == '\0');
}

static void test_free_null(void) {
    printf("-- _free(NULL)\n");
    grt_error_free(NULL);
    grt_runtime_free(NULL);
    grt_gadget_free(NULL);
    grt_packet_free(NULL);
}

/* NULL in every pointer position that is not documented as optional. */
static void test_null_arguments(const grt_runtime *rt) {
    printf("-- NULL arguments\n");
    const grt_runtime *rt2 = NULL;
    ERR(GRT_ERR_NULL_PARAMETER, grt_runtime_new(NULL, NULL));
    if (OK(grt_runtime_new(NULL, &rt2))) grt_runtime_free(rt2); /* NULL opts = defaults */

    const grt_gadget *g = NULL;
    char path[4096];
    gadget_path("demo", path, sizeof path);
    size_t pl = strlen(path);
    ERR(GRT_ERR_NULL_PARAMETER, grt_gadget_open_path(NULL, path, pl, NULL, 0, &g));
    ERR(GRT_ERR_NULL_PARAMETER, grt_gadget_open_path(rt, NULL, 5, NULL, 0, &g));
    ERR(GRT_ERR_NULL_PARAMETER, grt_gadget_open_path(rt, NULL, 0, NULL, 0, &g));
    ERR(GRT_ERR_NULL_PARAMETER, grt_gadget_open_path(rt, path, pl, NULL, 3, &g));
    ERR(GRT_ERR_NULL_PARAMETER, grt_gadget_open_path(rt, path, pl, NULL, 0, NULL));
    ERR(GRT_ERR_NULL_PARAMETER, grt_gadget_load_path(NULL, path, pl, NULL, 0, &g));
    ERR(GRT_ERR_NULL_PARAMETER, grt_gadget_load_path(rt, path, pl, NULL, 0, NULL));
    ERR(GRT_ERR_NULL_PARAMETER, grt_gadget_open_bytes(NULL, NULL, 0, (const uint8_t *)"x", 1, &g));
    ERR(GRT_ERR_NULL_PARAMETER, grt_gadget_open_bytes(rt, NULL, 0, NULL, 10, &g));
    ERR(GRT_ERR_NULL_PARAMETER, grt_gadget_open_bytes(rt, NULL, 4, (const uint8_t *)"x", 1, &g));
    ERR(GRT_ERR_NULL_PARAMETER, grt_gadget_open_bytes(rt, NULL, 0, (const uint8_t *)"x", 1, NULL));
    ERR(GRT_ERR_NULL_PARAMETER, grt_gadget_load_bytes(rt, NULL, 0, NULL, 10, &g));
    CHECK(g == NULL); /* out-params untouched on error */

    ERR(GRT_ERR_NULL_PARAMETER, grt_gadget_init(NULL));
    ERR(GRT_ERR_NULL_PARAMETER, grt_gadget_start(NULL));
    ERR(GRT_ERR_NULL_PARAMETER, grt_gadget_stop(NULL));
    CHECK_EQ_U(grt_gadget_state(NULL), GRT_STATE_FAILED);

    /* A real gadget for the per-argument checks. */
    if (!g_demo_available) return;
    g = open_gadget(rt, "demo", 1);
    char buf[64];
    size_t n = 0;
    uint64_t u = 0;
    ERR(GRT_ERR_NULL_PARAMETER, grt_gadget_set_param(NULL, S("k"), S("v")));
    ERR(GRT_ERR_NULL_PARAMETER, grt_gadget_set_param(g, NULL, 3, S("v")));
    ERR(GRT_ERR_NULL_PARAMETER, grt_gadget_set_param(g, S("k"), NULL, 3));
    ERR(GRT_ERR_NULL_PARAMETER, grt_gadget_get_param(NULL, S("k"), buf, sizeof buf, &n));
    ERR(GRT_ERR_NULL_PARAMETER, grt_gadget_get_config(NULL, S("k"), buf, sizeof buf, &n));
    ERR(GRT_ERR_NULL_PARAMETER, grt_gadget_set_mntns_filter(NULL, NULL, 0, 0));
    ERR(GRT_ERR_NULL_PARAMETER, grt_gadget_set_mntns_filter(g, NULL, 3, 1));
    ERR(GRT_ERR_NULL_PARAMETER, grt_gadget_describe_json(NULL, buf, sizeof buf, &n));
    ERR(GRT_ERR_NULL_PARAMETER, grt_gadget_describe_json(g, NULL, 100000, &n)); /* buf NULL, cap > 0 */
    ERR(GRT_ERR_NULL_PARAMETER, grt_gadget_datasource_count(NULL, &n));
    ERR(GRT_ERR_NULL_PARAMETER, grt_gadget_datasource_count(g, NULL));
    ERR(GRT_ERR_NULL_PARAMETER, grt_gadget_datasource_name(NULL, 0, buf, sizeof buf, &n));
    ERR(GRT_ERR_NULL_PARAMETER, grt_gadget_field_count(NULL, S("ticks"), &n));
    ERR(GRT_ERR_NULL_PARAMETER, grt_gadget_field_count(g, NULL, 5, &n));
    ERR(GRT_ERR_NULL_PARAMETER, grt_gadget_field_count(g, NULL, 0, &n));
    ERR(GRT_ERR_NULL_PARAMETER, grt_gadget_field_count(g, S("ticks"), NULL));
    ERR(GRT_ERR_NULL_PARAMETER, grt_gadget_field_index(NULL, S("ticks"), S("seq"), &n));
    ERR(GRT_ERR_NULL_PARAMETER, grt_gadget_field_index(g, S("ticks"), NULL, 3, &n));
    ERR(GRT_ERR_NULL_PARAMETER, grt_gadget_field_index(g, S("ticks"), S("seq"), NULL));
    ERR(GRT_ERR_NULL_PARAMETER, grt_gadget_field_name(NULL, S("ticks"), 0, buf, sizeof buf, &n));
    ERR(GRT_ERR_NULL_PARAMETER, grt_gadget_field_info(NULL, S("ticks"), 0, NULL));
    ERR(GRT_ERR_NULL_PARAMETER, grt_gadget_field_info(g, S("ticks"), 0, NULL));
    ERR(GRT_ERR_NULL_PARAMETER, grt_gadget_field_tags(NULL, S("ticks"), 0, buf, sizeof buf, &n));
    ERR(GRT_ERR_NULL_PARAMETER, grt_gadget_field_annotation(NULL, S("ticks"), 0, S("k"), buf, sizeof buf, &n));
    ERR(GRT_ERR_NULL_PARAMETER, grt_gadget_field_annotation(g, S("ticks"), 0, NULL, 3, buf, sizeof buf, &n));
    ERR(GRT_ERR_NULL_PARAMETER, grt_gadget_add_datasource(NULL, S("x"), GRT_DS_SINGLE));
    ERR(GRT_ERR_NULL_PARAMETER, grt_gadget_add_datasource(g, NULL, 0, GRT_DS_SINGLE));
    ERR(GRT_ERR_NULL_PARAMETER, grt_gadget_add_field(NULL, S("ticks"), S("f"), GRT_KIND_UINT8, NULL));
    ERR(GRT_ERR_NULL_PARAMETER, grt_gadget_add_field(g, S("ticks"), NULL, 0, GRT_KIND_UINT8, NULL));
    ERR(GRT_ERR_NULL_PARAMETER, grt_gadget_add_field_tag(NULL, S("ticks"), S("seq"), S("t")));
    ERR(GRT_ERR_NULL_PARAMETER, grt_gadget_add_field_tag(g, S("ticks"), S("seq"), NULL, 2));
    ERR(GRT_ERR_NULL_PARAMETER, grt_gadget_unsubscribe(NULL, 1));
    CHECK_EQ_I(grt_gadget_poll(NULL, 0), -GRT_ERR_NULL_PARAMETER);
    CHECK_EQ_I(grt_gadget_poll(NULL, -1), -GRT_ERR_NULL_PARAMETER); /* no wait forever on NULL */
    CHECK_EQ_I(grt_gadget_consume(NULL), -GRT_ERR_NULL_PARAMETER);
    CHECK_EQ_I(grt_gadget_event_fd(NULL), -1);
    grt_gadget_stats st = GRT_GADGET_STATS_INIT;
    ERR(GRT_ERR_NULL_PARAMETER, grt_gadget_get_stats(NULL, &st));
    ERR(GRT_ERR_NULL_PARAMETER, grt_gadget_get_stats(g, NULL));
    ERR(GRT_ERR_NULL_PARAMETER, grt_gadget_datasource_lost(NULL, S("ticks"), &u));
    ERR(GRT_ERR_NULL_PARAMETER, grt_gadget_datasource_lost(g, S("ticks"), NULL));

    /* Subscribe: NULL gadget / ds / callback -> error, and the userdata finalizer still runs once. */
    int freed = 0, calls = 0;
    ERR(GRT_ERR_NULL_PARAMETER, grt_gadget_subscribe(NULL, S("ticks"), 0, count_cb, &freed, count_free, NULL));
    CHECK_EQ_I(freed, 1);
    ERR(GRT_ERR_NULL_PARAMETER, grt_gadget_subscribe(g, NULL, 5, 0, count_cb, &freed, count_free, NULL));
    CHECK_EQ_I(freed, 2);
    ERR(GRT_ERR_NULL_PARAMETER, grt_gadget_subscribe(g, S("ticks"), 0, NULL, &freed, count_free, NULL));
    CHECK_EQ_I(freed, 3);
    (void)calls;

    /* Packets. */
    grt_packet *p = NULL;
    ERR(GRT_ERR_NULL_PARAMETER, grt_gadget_new_packet(NULL, S("ticks"), &p));
    ERR(GRT_ERR_NULL_PARAMETER, grt_gadget_new_packet(g, NULL, 5, &p));
    ERR(GRT_ERR_NULL_PARAMETER, grt_gadget_new_packet(g, S("ticks"), NULL));
    ERR(GRT_ERR_NULL_PARAMETER, grt_gadget_emit(g, NULL));
    ERR(GRT_ERR_NULL_PARAMETER, grt_packet_append(NULL, NULL));
    ERR(GRT_ERR_NULL_PARAMETER, grt_packet_set_u64(NULL, 0, 0, 1));
    ERR(GRT_ERR_NULL_PARAMETER, grt_packet_set_i64(NULL, 0, 0, 1));
    ERR(GRT_ERR_NULL_PARAMETER, grt_packet_set_f64(NULL, 0, 0, 1.0));
    ERR(GRT_ERR_NULL_PARAMETER, grt_packet_set_bytes(NULL, 0, 0, NULL, 0));
    ERR(GRT_ERR_NULL_PARAMETER, grt_packet_set_string(NULL, 0, 0, NULL, 0));
    if (OK(grt_gadget_new_packet(g, S("ticks"), &p))) {
        size_t imsg = 0;
        OK(grt_gadget_field_index(g, S("ticks"), S("message"), &imsg));
        ERR(GRT_ERR_NULL_PARAMETER, grt_packet_set_bytes(p, 0, imsg, NULL, 3));
        ERR(GRT_ERR_NULL_PARAMETER, grt_packet_set_string(p, 0, imsg, NULL, 3));
        OK(grt_packet_set_string(p, 0, imsg, NULL, 0)); /* NULL with length 0 is the empty string */
        /* emit with a NULL gadget still consumes the packet (no leak under ASan/LSan) */
        ERR(GRT_ERR_NULL_PARAMETER, grt_gadget_emit(NULL, p));
    }

    /* Event accessors with a NULL event. */
    const char *s;
    size_t sl;
    const uint8_t *b;
    int64_t i64;
    double f64;
    uint8_t bo;
    ERR(GRT_ERR_NULL_PARAMETER, grt_event_datasource(NULL, &s, &sl));
    CHECK_EQ_U(grt_event_len(NULL), 0);
    CHECK_EQ_I(grt_event_is_array(NULL), 0);
    CHECK_EQ_U(grt_event_field_count(NULL), 0);
    CHECK_EQ_U(grt_event_field_kind(NULL, 0), GRT_KIND_INVALID);
    ERR(GRT_ERR_NULL_PARAMETER, grt_event_field_index(NULL, S("seq"), &n));
    ERR(GRT_ERR_NULL_PARAMETER, grt_event_field_name(NULL, 0, &s, &sl));
    ERR(GRT_ERR_NULL_PARAMETER, grt_event_get_bytes(NULL, 0, 0, &b, &sl));
    ERR(GRT_ERR_NULL_PARAMETER, grt_event_get_bytes_by_name(NULL, 0, S("seq"), &b, &sl));
    ERR(GRT_ERR_NULL_PARAMETER, grt_event_get_u64(NULL, 0, 0, &u));
    ERR(GRT_ERR_NULL_PARAMETER, grt_event_get_i64(NULL, 0, 0, &i64));
    ERR(GRT_ERR_NULL_PARAMETER, grt_event_get_f64_by_name(NULL, 0, S("seq"), &f64));
    ERR(GRT_ERR_NULL_PARAMETER, grt_event_get_bool(NULL, 0, 0, &bo));
    ERR(GRT_ERR_NULL_PARAMETER, grt_event_to_json(NULL, buf, sizeof buf, &n));
    ERR(GRT_ERR_NULL_PARAMETER, grt_event_format(NULL, GRT_OUTPUT_JSON, NULL, 0, buf, sizeof buf, &n));
    ERR(GRT_ERR_NULL_PARAMETER, grt_event_columns_header(NULL, NULL, 0, buf, sizeof buf, &n));
    grt_gadget_free(g);
}

/* NULL out-pointers on a live event (inside the callback). */
static int32_t null_event_args_cb(void *userdata, const grt_event *ev) {
    ++*(int *)userdata;
    const char *s;
    size_t sl;
    const uint8_t *b;
    size_t n;
    ERR(GRT_ERR_NULL_PARAMETER, grt_event_datasource(ev, NULL, &sl));
    ERR(GRT_ERR_NULL_PARAMETER, grt_event_datasource(ev, &s, NULL));
    ERR(GRT_ERR_NULL_PARAMETER, grt_event_field_index(ev, NULL, 3, &n));
    ERR(GRT_ERR_NULL_PARAMETER, grt_event_field_index(ev, S("v"), NULL));
    ERR(GRT_ERR_NULL_PARAMETER, grt_event_field_name(ev, 0, NULL, &sl));
    ERR(GRT_ERR_NULL_PARAMETER, grt_event_get_bytes(ev, 0, 1, NULL, &sl));
    ERR(GRT_ERR_NULL_PARAMETER, grt_event_get_bytes(ev, 0, 1, &b, NULL));
    ERR(GRT_ERR_NULL_PARAMETER, grt_event_get_u64(ev, 0, 0, NULL));
    ERR(GRT_ERR_NULL_PARAMETER, grt_event_get_u64_by_name(ev, 0, NULL, 3, NULL));
    ERR(GRT_ERR_NULL_PARAMETER, grt_event_get_bool_by_name(ev, 0, S("v"), NULL));
    ERR(GRT_ERR_NULL_PARAMETER, grt_event_to_json(ev, NULL, 1000, &n));
    /* Insufficient size with out_len NULL: still an error, no crash. */
    char c2[2];
    ERR(GRT_ERR_INSUFFICIENT_SIZE, grt_event_to_json(ev, c2, sizeof c2, NULL));
    ERR(GRT_ERR_NULL_PARAMETER, grt_event_format(ev, GRT_OUTPUT_JSON, NULL, 0, NULL, 1000, &n));
    ERR(GRT_ERR_NULL_PARAMETER, grt_event_format(ev, GRT_OUTPUT_COLUMNS, NULL, 3, c2, sizeof c2, &n));
    ERR(GRT_ERR_INVALID_UTF8, grt_event_format(ev, GRT_OUTPUT_COLUMNS, "\xc3\x28", 2, c2, sizeof c2, &n));
    ERR(GRT_ERR_INVALID_ARGUMENT, grt_event_format(ev, 0, NULL, 0, c2, sizeof c2, &n));
    ERR(GRT_ERR_INVALID_ARGUMENT, grt_event_format(ev, 12345, NULL, 0, c2, sizeof c2, &n));
    ERR(GRT_ERR_INSUFFICIENT_SIZE, grt_event_format(ev, GRT_OUTPUT_YAML, NULL, 0, c2, sizeof c2, NULL));
    ERR(GRT_ERR_NULL_PARAMETER, grt_event_columns_header(ev, NULL, 0, NULL, 1000, &n));
    ERR(GRT_ERR_NULL_PARAMETER, grt_event_columns_header(ev, NULL, 3, c2, sizeof c2, &n));
    ERR(GRT_ERR_INSUFFICIENT_SIZE, grt_event_columns_header(ev, NULL, 0, c2, sizeof c2, NULL));
    ERR(GRT_ERR_INVALID_UTF8, grt_event_field_index(ev, "\xc3\x28", 2, &n));
    return 0;
}

/* ----------------------------------------------------------------------------------------- */

static void test_errors(const grt_runtime *rt) {
    printf("-- error codes and messages\n");
    const grt_gadget *g = NULL;
    ERR(GRT_ERR_NOT_FOUND, grt_gadget_open_path(rt, S("/nonexistent/gadgetrt/none.wasm"), NULL, 0, &g));
    ERR(GRT_ERR_NOT_FOUND, grt_gadget_load_path(rt, S("/nonexistent/gadgetrt/none.wasm"), NULL, 0, &g));

    /* Bad wasm bytes, from memory and from a file. */
    static const uint8_t junk[] = "\0asm\x01\0\0\0this is not a wasm module";
    ERR(GRT_ERR_WASM_LOAD, grt_gadget_open_bytes(rt, S("junk"), junk, sizeof junk, &g));
    ERR(GRT_ERR_WASM_LOAD, grt_gadget_load_bytes(rt, NULL, 0, (const uint8_t *)"hello", 5, &g));
    char tmp[] = "/tmp/gadgetrt-junk-XXXXXX.wasm";
    int fd = mkstemps(tmp, 5);
    if (fd >= 0) {
        if (write(fd, junk, sizeof junk) != (ssize_t)sizeof junk) FAIL("write %s", tmp);
        close(fd);
        ERR(GRT_ERR_WASM_LOAD, grt_gadget_load_path(rt, tmp, strlen(tmp), NULL, 0, &g));
        unlink(tmp);
    } else {
        FAIL("mkstemps: %s", strerror(errno));
    }
    CHECK(g == NULL);

    /* Invalid UTF-8 in text inputs. */
    ERR(GRT_ERR_INVALID_UTF8, grt_gadget_open_path(rt, "/tmp/\xff\xfe.wasm", 11, NULL, 0, &g));
    ERR(GRT_ERR_INVALID_UTF8, grt_gadget_open_bytes(rt, "\xc3\x28", 2, junk, sizeof junk, &g));

    if (!g_demo_available) return;
    g = open_gadget(rt, "demo", 1);
    ERR(GRT_ERR_INVALID_UTF8, grt_gadget_add_datasource(g, "\xc3\x28", 2, GRT_DS_SINGLE));
    ERR(GRT_ERR_INVALID_UTF8, grt_gadget_field_count(g, "ti\xffks", 5, &(size_t){0}));
    ERR(GRT_ERR_INVALID_UTF8, grt_gadget_set_param(g, S("k"), "\x80", 1));

    /* Unknown names. */
    size_t n = 0;
    int freed = 0;
    ERR(GRT_ERR_NOT_FOUND, grt_gadget_subscribe(g, S("no_such_ds"), 0, count_cb, &freed, count_free, NULL));
    CHECK_EQ_I(freed, 1); /* userdata owned by the gadget also on error */
    ERR(GRT_ERR_NOT_FOUND, grt_gadget_field_count(g, S("no_such_ds"), &n));
    ERR(GRT_ERR_NOT_FOUND, grt_gadget_field_index(g, S("ticks"), S("no_such_field"), &n));
    ERR(GRT_ERR_NOT_FOUND, grt_gadget_field_name(g, S("ticks"), 99, NULL, 0, &n));
    ERR(GRT_ERR_NOT_FOUND, grt_gadget_datasource_name(g, 99, NULL, 0, &n));
    ERR(GRT_ERR_NOT_FOUND, grt_gadget_unsubscribe(g, 987654));
    ERR(GRT_ERR_NOT_FOUND, grt_gadget_get_config(g, S("no.such.key"), NULL, 0, &n));
    ERR(GRT_ERR_NOT_FOUND, grt_gadget_field_annotation(g, S("ticks"), 0, S("no-such-annotation"), NULL, 0, &n));
    grt_packet *p = NULL;
    ERR(GRT_ERR_NOT_FOUND, grt_gadget_new_packet(g, S("no_such_ds"), &p));
    /* demo has no gadget.yaml, so its params are open (any key is accepted); an unset one is NOT_FOUND. */
    ERR(GRT_ERR_NOT_FOUND, grt_gadget_get_param(g, S("no-such-param"), NULL, 0, &n));

    /* Caller buffers: INSUFFICIENT_SIZE reports the needed size; the exact size works. */
    char buf[8] = "XXXXXXX";
    size_t need = 0;
    ERR(GRT_ERR_INSUFFICIENT_SIZE, grt_gadget_datasource_name(g, 0, buf, 2, &need));
    CHECK_EQ_U(need, 5); /* "ticks" */
    CHECK(buf[2] == 'X');
    size_t got = 0;
    if (OK(grt_gadget_datasource_name(g, 0, buf, need, &got))) CHECK(got == 5 && memcmp(buf, "ticks", 5) == 0);
    ERR(GRT_ERR_INSUFFICIENT_SIZE, grt_gadget_describe_json(g, NULL, 0, &need));
    CHECK(need > 10);
    char *json = malloc(need + 1);
    if (json && OK(grt_gadget_describe_json(g, json, need, &got))) {
        CHECK_EQ_U(got, need);
        json[got] = '\0';
        CHECK(json[0] == '{' && strstr(json, "\"ticks\"") && strstr(json, "\"seq\""));
    }
    free(json);
    ERR(GRT_ERR_INSUFFICIENT_SIZE, grt_gadget_field_name(g, S("ticks"), 0, buf, 1, &need));
    CHECK_EQ_U(need, 3); /* "seq" */

    /* Lifecycle state. */
    ERR(GRT_ERR_BAD_STATE, grt_gadget_init(g));
    ERR(GRT_ERR_INVALID_ARGUMENT, grt_gadget_add_datasource(g, S("badtype"), 42));

    /* Packet errors. */
    size_t imsg = 0, iseq = 0;
    OK(grt_gadget_field_index(g, S("ticks"), S("message"), &imsg));
    OK(grt_gadget_field_index(g, S("ticks"), S("seq"), &iseq));
    if (OK(grt_gadget_new_packet(g, S("ticks"), &p))) {
        ERR(GRT_ERR_INVALID_UTF8, grt_packet_set_string(p, 0, imsg, "\xe2\x82", 2));
        ERR(GRT_ERR_WRONG_KIND, grt_packet_set_string(p, 0, iseq, S("x")));
        ERR(GRT_ERR_WRONG_KIND, grt_packet_set_u64(p, 0, imsg, 1));
        ERR(GRT_ERR_NOT_FOUND, grt_packet_set_u64(p, 0, 99, 1));
        ERR(GRT_ERR_INVALID_ARGUMENT, grt_packet_set_u64(p, 1, iseq, 1));
        grt_packet_free(p);
    }
    grt_gadget_free(g);
}

/* ----------------------------------------------------------------------------------------- */

static void noop_log(void *userdata, const grt_log_params *p) {
    (void)userdata;
    (void)p;
}

static void test_error_code_names(void) {
    printf("-- grt_error_code_name\n");
    static const struct { uint32_t code; const char *name; } names[] = {
        {0, "OK"},
        {GRT_ERR_NULL_PARAMETER, "NULL_PARAMETER"}, {GRT_ERR_INVALID_ARGUMENT, "INVALID_ARGUMENT"},
        {GRT_ERR_INVALID_UTF8, "INVALID_UTF8"}, {GRT_ERR_INSUFFICIENT_SIZE, "INSUFFICIENT_SIZE"},
        {GRT_ERR_NOT_FOUND, "NOT_FOUND"}, {GRT_ERR_WRONG_KIND, "WRONG_KIND"}, {GRT_ERR_BAD_STATE, "BAD_STATE"},
        {GRT_ERR_BUSY, "BUSY"}, {GRT_ERR_PANIC, "PANIC"}, {GRT_ERR_ALREADY_USED, "ALREADY_USED"},
        {GRT_ERR_IO, "IO"}, {GRT_ERR_WASM_LOAD, "WASM_LOAD"}, {GRT_ERR_GUEST, "GUEST"}, {GRT_ERR_ABI, "ABI"},
        {GRT_ERR_IMAGE, "IMAGE"}, {GRT_ERR_EBPF, "EBPF"}, {GRT_ERR_PARAM, "PARAM"}, {GRT_ERR_TIMEOUT, "TIMEOUT"},
        {GRT_ERR_UNSUPPORTED, "UNSUPPORTED"}, {GRT_ERR_INTERNAL, "INTERNAL"},
        {GRT_ERR_SIGNATURE, "SIGNATURE"}, {22, "UNKNOWN"}, {1000, "UNKNOWN"}, {UINT32_MAX, "UNKNOWN"},
    };
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        const char *n = grt_error_code_name(names[i].code);
        CHECK(n != NULL);
        if (n && strcmp(n, names[i].name) != 0) FAIL("grt_error_code_name(%u) = %s, want %s", names[i].code, n, names[i].name);
        /* Static: the same pointer every time. */
        CHECK(grt_error_code_name(names[i].code) == n);
    }
    /* The name of a real error's code. */
    grt_error *e = grt_runtime_new(NULL, NULL);
    CHECK(e != NULL);
    if (e) CHECK(strcmp(grt_error_code_name(grt_error_code(e)), "NULL_PARAMETER") == 0);
    grt_error_free(e);
}

static void test_options(void) {
    printf("-- extensible options struct\n");
    /* A struct "from the future": our fields followed by unknown ones. */
    struct {
        grt_runtime_options o;
        uint64_t extra[4];
    } big;
    const grt_runtime *rt = NULL;
    int freed = 0;

    memset(&big, 0, sizeof big);
    big.o.size = sizeof big; /* unknown tail all zero: accepted */
    if (OK(grt_runtime_new(&big.o, &rt))) grt_runtime_free(rt);

    memset(&big, 0, sizeof big);
    big.o.size = sizeof big;
    big.extra[2] = 1; /* non-zero unknown tail: rejected */
    big.o.log_fn = (grt_log_fn)NULL;
    ERR(GRT_ERR_INVALID_ARGUMENT, grt_runtime_new(&big.o, &rt));

    /* Rejected options still own the log userdata: the finalizer runs once. */
    memset(&big, 0, sizeof big);
    big.o.size = sizeof big;
    big.extra[3] = 7;
    big.o.log_fn = noop_log;
    big.o.log_userdata = &freed;
    big.o.log_userdata_free = count_free;
    ERR(GRT_ERR_INVALID_ARGUMENT, grt_runtime_new(&big.o, &rt));
    if (freed != 1) FAIL("log userdata finalizer ran %d times after a rejected grt_runtime_new, expected 1", freed);

    /* Same for an invalid value inside a well-formed struct. */
    freed = 0;
    grt_runtime_options bad = GRT_RUNTIME_OPTIONS_INIT;
    bad.log_level = 99;
    bad.log_fn = noop_log;
    bad.log_userdata = &freed;
    bad.log_userdata_free = count_free;
    ERR(GRT_ERR_INVALID_ARGUMENT, grt_runtime_new(&bad, &rt));
    if (freed != 1) FAIL("log userdata finalizer ran %d times after a rejected log_level, expected 1", freed);

    /* And on success: exactly once, at grt_runtime_free. */
    freed = 0;
    grt_runtime_options good = GRT_RUNTIME_OPTIONS_INIT;
    good.log_fn = noop_log;
    good.log_userdata = &freed;
    good.log_userdata_free = count_free;
    if (OK(grt_runtime_new(&good, &rt))) {
        CHECK_EQ_I(freed, 0);
        grt_runtime_free(rt);
        CHECK_EQ_I(freed, 1);
    }

    grt_runtime_options o = GRT_RUNTIME_OPTIONS_INIT;
    o.size = 0; /* not initialised */
    ERR(GRT_ERR_INVALID_ARGUMENT, grt_runtime_new(&o, &rt));

    /* An older, smaller struct (only size + memory_pages + log_level) is accepted. */
    grt_runtime_options small = GRT_RUNTIME_OPTIONS_INIT;
    small.size = offsetof(grt_runtime_options, queue_capacity);
    small.queue_capacity = 0xdead; /* beyond the declared size: ignored */
    if (OK(grt_runtime_new(&small, &rt))) grt_runtime_free(rt);

    o = (grt_runtime_options)GRT_RUNTIME_OPTIONS_INIT;
    o.log_level = 99;
    ERR(GRT_ERR_INVALID_ARGUMENT, grt_runtime_new(&o, &rt));

    o = (grt_runtime_options)GRT_RUNTIME_OPTIONS_INIT;
    o.cache_dir = "\xff\xfe";
    o.cache_dir_len = 2;
    rt = NULL;
    ERR(GRT_ERR_INVALID_UTF8, grt_runtime_new(&o, &rt));
    CHECK(rt == NULL); /* out-param untouched on error */
}

/* ----------------------------------------------------------------------------------------- */

static void test_poll_timeout(const grt_runtime *rt) {
    printf("-- poll timeout\n");
    const grt_gadget *g = open_gadget(rt, "demo", 1);
    int n = 0;
    OK(grt_gadget_subscribe(g, S("ticks"), 0, count_cb, &n, NULL, NULL));
    double t0 = now_ms();
    int64_t r = grt_gadget_poll(g, 50);
    double dt = now_ms() - t0;
    CHECK_EQ_I(r, 0);
    if (dt < 49.0 || dt > 1000.0) FAIL("poll(50) took %.1f ms", dt);
    printf("   poll(50) with no events: %.1f ms\n", dt);
    t0 = now_ms();
    CHECK_EQ_I(grt_gadget_poll(g, 0), 0);
    CHECK_EQ_I(grt_gadget_consume(g), 0);
    dt = now_ms() - t0;
    if (dt > 20.0) FAIL("poll(0)+consume took %.1f ms", dt);
    grt_gadget_free(g);
}

/* ----------------------------------------------------------------------------------------- */

typedef struct {
    const grt_gadget *g;
    int32_t timeout;
    int64_t result;
    double elapsed;
    volatile int started;
} poll_thread_arg;

static void *poll_thread(void *p) {
    poll_thread_arg *a = (poll_thread_arg *)p;
    a->started = 1;
    double t0 = now_ms();
    a->result = grt_gadget_poll(a->g, a->timeout);
    a->elapsed = now_ms() - t0;
    return NULL;
}

static void test_concurrent_poll(const grt_runtime *rt) {
    printf("-- concurrent poll -> BUSY; emit wakes the poller\n");
    const grt_gadget *g = open_gadget(rt, "demo", 0);
    size_t iv = 0;
    OK(grt_gadget_add_datasource(g, S("host"), GRT_DS_SINGLE));
    OK(grt_gadget_add_field(g, S("host"), S("v"), GRT_KIND_UINT64, &iv));
    OK(grt_gadget_init(g));
    int n = 0;
    OK(grt_gadget_subscribe(g, S("host"), 0, count_cb, &n, NULL, NULL));

    poll_thread_arg a = {.g = g, .timeout = 5000};
    pthread_t th;
    if (pthread_create(&th, NULL, poll_thread, &a) != 0) DIE("pthread_create");
    while (!a.started) usleep(1000);
    usleep(100 * 1000); /* let it block inside grt_gadget_poll */
    CHECK_EQ_I(grt_gadget_poll(g, 0), -GRT_ERR_BUSY);
    CHECK_EQ_I(grt_gadget_consume(g), -GRT_ERR_BUSY);
    CHECK_EQ_I(grt_gadget_poll(g, 10), -GRT_ERR_BUSY);

    /* An emit from this thread wakes the poller long before its timeout. */
    grt_packet *p = NULL;
    if (OK(grt_gadget_new_packet(g, S("host"), &p))) {
        OK(grt_packet_set_u64(p, 0, iv, 42));
        OK(grt_gadget_emit(g, p));
    }
    pthread_join(th, NULL);
    CHECK_EQ_I(a.result, 1);
    CHECK_EQ_I(n, 1);
    if (a.elapsed > 3000) FAIL("poller was not woken by emit (%.0f ms)", a.elapsed);
    /* The other thread is done: polling works again here. */
    CHECK_EQ_I(grt_gadget_poll(g, 0), 0);
    grt_gadget_free(g);
}

/* ----------------------------------------------------------------------------------------- */

typedef struct {
    int calls;
    int stop_at;
    int32_t stop_with;
} stop_ctx;

static int32_t stop_cb(void *userdata, const grt_event *ev) {
    (void)ev;
    stop_ctx *c = (stop_ctx *)userdata;
    c->calls++;
    return c->calls == c->stop_at ? c->stop_with : 0;
}

static void test_callback_stop(const grt_runtime *rt) {
    printf("-- negative callback result stops dispatch and propagates\n");
    const grt_gadget *g = open_gadget(rt, "demo", 1);
    stop_ctx c = {.stop_at = 2, .stop_with = -42};
    OK(grt_gadget_subscribe(g, S("ticks"), 0, stop_cb, &c, NULL, NULL));
    OK(grt_gadget_start(g)); /* gadgetStart emits 5 events synchronously */
    int fd = grt_gadget_event_fd(g);
    CHECK(fd >= 0);
    CHECK(fd_readable(fd, 1000));
    CHECK_EQ_I(grt_gadget_poll(g, 1000), -42);
    CHECK_EQ_I(c.calls, 2);
    grt_gadget_stats st = GRT_GADGET_STATS_INIT;
    if (OK(grt_gadget_get_stats(g, &st))) {
        CHECK_EQ_U(st.delivered, 2);
        CHECK_EQ_U(st.queued, 3);
    }
    /* The 3 remaining events stay queued, so the event fd must still be readable. */
    if (!fd_readable(fd, 0)) FAIL("event fd not readable while 3 events remain queued after a callback stop");
    CHECK_EQ_I(grt_gadget_consume(g), 3);
    CHECK_EQ_I(c.calls, 5);
    CHECK(!fd_readable(fd, 0));
    CHECK_EQ_I(grt_gadget_consume(g), 0);
    grt_gadget_free(g);
}

/* ----------------------------------------------------------------------------------------- */

static void test_event_fd(const grt_runtime *rt) {
    printf("-- event fd readable when an event is queued\n");
    const grt_gadget *g = open_gadget(rt, "demo", 0);
    size_t iv = 0;
    OK(grt_gadget_add_datasource(g, S("host"), GRT_DS_SINGLE));
    OK(grt_gadget_add_field(g, S("host"), S("v"), GRT_KIND_UINT64, &iv));
    OK(grt_gadget_init(g));
    int fd = grt_gadget_event_fd(g);
    CHECK(fd >= 0);
    CHECK_EQ_I(grt_gadget_event_fd(g), fd); /* stable */
    int n = 0;
    OK(grt_gadget_subscribe(g, S("host"), 0, null_event_args_cb, &n, NULL, NULL));
    CHECK(!fd_readable(fd, 0));
    for (int k = 0; k < 3; k++) {
        grt_packet *p = NULL;
        if (OK(grt_gadget_new_packet(g, S("host"), &p))) {
            OK(grt_packet_set_u64(p, 0, iv, (uint64_t)k));
            OK(grt_gadget_emit(g, p));
        }
    }
    if (!fd_readable(fd, 1000)) FAIL("event fd not readable after emit");
    CHECK_EQ_I(grt_gadget_consume(g), 3);
    CHECK_EQ_I(n, 3);
    CHECK(!fd_readable(fd, 0)); /* drained */
    grt_gadget_free(g);
}

/* ----------------------------------------------------------------------------------------- */

typedef struct {
    pthread_mutex_t mu;
    char text[32768];
    size_t len;
    int freed;
} log_sink;

static void log_cb(void *userdata, const grt_log_params *p) {
    log_sink *s = (log_sink *)userdata;
    pthread_mutex_lock(&s->mu);
    int w = snprintf(s->text + s->len, sizeof s->text - s->len, "%u %.*s\n", p->level, (int)p->message_len,
                     p->message ? p->message : "");
    if (w > 0 && s->len + (size_t)w < sizeof s->text) s->len += (size_t)w;
    pthread_mutex_unlock(&s->mu);
}

static void log_free(void *userdata) { ((log_sink *)userdata)->freed++; }

static void test_finalizers(void) {
    printf("-- userdata finalizers run exactly once\n");
    static log_sink logs = {.mu = PTHREAD_MUTEX_INITIALIZER};
    grt_runtime_options o = GRT_RUNTIME_OPTIONS_INIT;
    o.log_fn = log_cb;
    o.log_userdata = &logs;
    o.log_userdata_free = log_free;
    const grt_runtime *rt = NULL;
    if (!OK(grt_runtime_new(&o, &rt))) return;
    const grt_gadget *g = open_gadget(rt, "demo", 1);

    int a = 0, b = 0, c = 0, calls = 0;
    uint64_t ida = 0, idb = 0;
    OK(grt_gadget_subscribe(g, S("ticks"), 0, count_cb, &calls, NULL, NULL)); /* NULL finalizer allowed */
    OK(grt_gadget_subscribe(g, S("ticks"), 1, count_cb, &a, count_free, &ida));
    OK(grt_gadget_subscribe(g, S("ticks"), 2, count_cb, &b, count_free, &idb));
    OK(grt_gadget_subscribe(g, S("ticks"), 3, count_cb, &c, count_free, NULL));
    CHECK(ida != 0 && idb != 0 && ida != idb);
    OK(grt_gadget_unsubscribe(g, ida));
    CHECK_EQ_I(a, 1);
    ERR(GRT_ERR_NOT_FOUND, grt_gadget_unsubscribe(g, ida)); /* second unsubscribe: no second finalizer */
    CHECK_EQ_I(a, 1);
    CHECK_EQ_I(b, 0);
    CHECK_EQ_I(c, 0);

    /* Runtime freed first: gadgets keep it alive, so its log finalizer waits for them. */
    grt_runtime_free(rt);
    CHECK_EQ_I(logs.freed, 0);
    grt_gadget_free(g);
    CHECK_EQ_I(a, 1);
    CHECK_EQ_I(b, 1);
    CHECK_EQ_I(c, 1);
    CHECK_EQ_I(logs.freed, 1);
}

/* ----------------------------------------------------------------------------------------- */

typedef struct {
    const grt_gadget *g; /* the thread's own reference */
    volatile int go;
    int64_t polled;
} ref_thread_arg;

static void *ref_thread(void *p) {
    ref_thread_arg *a = (ref_thread_arg *)p;
    while (!a->go) usleep(1000);
    /* The main thread freed its reference: ours keeps the gadget alive. */
    a->polled = grt_gadget_poll(a->g, 1000);
    grt_gadget_free(a->g); /* the last reference: stops and frees the gadget */
    return NULL;
}

static void test_references(void) {
    printf("-- grt_*_ref: each reference is freed once; the last free frees the object\n");
    CHECK(grt_runtime_ref(NULL) == NULL);
    CHECK(grt_gadget_ref(NULL) == NULL);
    static log_sink logs = {.mu = PTHREAD_MUTEX_INITIALIZER};
    grt_runtime_options o = GRT_RUNTIME_OPTIONS_INIT;
    o.log_fn = log_cb;
    o.log_userdata = &logs;
    o.log_userdata_free = log_free;
    const grt_runtime *rt = NULL;
    if (!OK(grt_runtime_new(&o, &rt))) return;
    const grt_runtime *rt2 = grt_runtime_ref(rt);
    CHECK(rt2 == rt);
    grt_runtime_free(rt);
    CHECK_EQ_I(logs.freed, 0);
    const grt_gadget *g = open_gadget(rt2, "demo", 1);
    grt_runtime_free(rt2); /* the gadget holds the runtime now */
    CHECK_EQ_I(logs.freed, 0);

    int calls = 0;
    OK(grt_gadget_subscribe(g, S("ticks"), 0, count_cb, &calls, count_free, NULL));
    OK(grt_gadget_start(g)); /* gadgetStart emits 5 events synchronously */
    ref_thread_arg a = {.g = grt_gadget_ref(g)};
    CHECK(a.g == g);
    pthread_t th;
    if (pthread_create(&th, NULL, ref_thread, &a) != 0) DIE("pthread_create");
    grt_gadget_free(g); /* not the last reference: nothing is freed */
    CHECK_EQ_I(calls, 0);
    a.go = 1;
    pthread_join(th, NULL);
    CHECK_EQ_I(a.polled, 5);
    CHECK_EQ_I(calls, 5 + 1); /* 5 events, then the finalizer's count */
    CHECK_EQ_I(logs.freed, 1);
}

/* ----------------------------------------------------------------------------------------- */

static void test_baderrptr(void) {
    printf("-- baderrptr.wasm fails cleanly with GRT_ERR_GUEST\n");
    require_gadget("baderrptr");
    static log_sink logs = {.mu = PTHREAD_MUTEX_INITIALIZER};
    grt_runtime_options o = GRT_RUNTIME_OPTIONS_INIT;
    o.log_fn = log_cb;
    o.log_userdata = &logs;
    o.log_userdata_free = log_free;
    o.log_level = GRT_LOG_TRACE;
    const grt_runtime *rt = NULL;
    if (!OK(grt_runtime_new(&o, &rt))) return;
    char path[4096];
    gadget_path("baderrptr", path, sizeof path);
    const grt_gadget *g = NULL;
    grt_error *e = grt_gadget_load_path(rt, path, strlen(path), NULL, 0, &g);
    if (e == NULL) {
        FAIL("baderrptr loaded without error");
        grt_gadget_free(g);
    } else {
        printf("   error %u: %s\n", grt_error_code(e), grt_error_message(e));
        CHECK_EQ_U(grt_error_code(e), GRT_ERR_GUEST);
        grt_error_free(e);
    }
    if (strstr(logs.text, "this should never be reached")) FAIL("the guest's own panic ran; log:\n%s", logs.text);
    /* The process lives and the runtime is still usable. */
    if (g_demo_available) {
        const grt_gadget *d = open_gadget(rt, "demo", 1);
        CHECK_EQ_U(grt_gadget_state(d), GRT_STATE_INITIALIZED);
        grt_gadget_free(d);
    }
    grt_runtime_free(rt);
    CHECK_EQ_I(logs.freed, 1);
}

/* ---- containers supplied by the embedder -------------------------------------------------- */

typedef struct {
    int created, deleted;
    uint64_t mntns;
    char name[64];
} ctr_ctx;

static int32_t containers_cb(void *userdata, const grt_event *ev) {
    ctr_ctx *c = (ctr_ctx *)userdata;
    const uint8_t *ty = NULL, *name = NULL;
    size_t tyn = 0, namen = 0;
    if (!OK(grt_event_get_bytes_by_name(ev, 0, S("event_type"), &ty, &tyn))) return 0;
    if (!OK(grt_event_get_bytes_by_name(ev, 0, S("name"), &name, &namen))) return 0;
    if (namen != strlen(c->name) || memcmp(name, c->name, namen) != 0) return 0;
    if (tyn == 7 && memcmp(ty, "CREATED", 7) == 0) {
        ++c->created;
        OK(grt_event_get_u64_by_name(ev, 0, S("mntns_id"), &c->mntns));
    } else if (tyn == 7 && memcmp(ty, "DELETED", 7) == 0) {
        ++c->deleted;
    }
    return 0;
}

/* grt_runtime_add_container / _remove_container: argument checks, and a gadget whose
 * gadget.yaml enables the `containers` data source reports the container (CREATED at start,
 * DELETED on removal). No container runtime or root needed: the "container" is this process. */
static void test_embedder_containers(void) {
    printf("-- embedder-supplied containers\n");
    /* Process-wide discovery options, by ig's flag names. */
    ERR(GRT_ERR_PARAM, grt_set_container_discovery_option(S("bogus"), S("x")));
    ERR(GRT_ERR_PARAM, grt_set_container_discovery_option(S("runtimes"), S("docker,rkt")));
    ERR(GRT_ERR_NULL_PARAMETER, grt_set_container_discovery_option(NULL, 3, S("none")));
    OK(grt_set_container_discovery_option(S("runtimes"), S("none")));
    OK(grt_set_container_discovery_option(S("docker-socketpath"), S("/run/docker.sock")));
    OK(grt_set_container_discovery_option(S("runtimes"), NULL, 0)); /* back to the default */
    OK(grt_set_container_discovery_option(S("docker-socketpath"), NULL, 0));
    grt_runtime_options o = GRT_RUNTIME_OPTIONS_INIT;
    o.disable_container_discovery = 1;
    const grt_runtime *rt = NULL;
    if (!OK(grt_runtime_new(&o, &rt))) return;

    grt_container_info ci = GRT_CONTAINER_INFO_INIT;
    ERR(GRT_ERR_NULL_PARAMETER, grt_runtime_add_container(NULL, &ci));
    ERR(GRT_ERR_NULL_PARAMETER, grt_runtime_add_container(rt, NULL));
    ERR(GRT_ERR_INVALID_ARGUMENT, grt_runtime_add_container(rt, &ci)); /* no id */
    ci.size = 0;
    ERR(GRT_ERR_INVALID_ARGUMENT, grt_runtime_add_container(rt, &ci)); /* size not set */
    ci.size = sizeof ci;
    ci.id = "c-id";
    ci.id_len = 4;
    ERR(GRT_ERR_INVALID_ARGUMENT, grt_runtime_add_container(rt, &ci)); /* neither pid nor namespaces */
    ci.id = "\xff";
    ci.id_len = 1;
    ci.pid = (uint32_t)getpid();
    ERR(GRT_ERR_INVALID_UTF8, grt_runtime_add_container(rt, &ci));
    ci.k8s_pod_labels = "nokv";
    ci.k8s_pod_labels_len = 4;
    ci.id = "c-id";
    ci.id_len = 4;
    ERR(GRT_ERR_INVALID_ARGUMENT, grt_runtime_add_container(rt, &ci)); /* labels not k=v */
    ci.k8s_pod_labels = "app=web,tier=db";
    ci.k8s_pod_labels_len = strlen(ci.k8s_pod_labels);
    ctr_ctx ctx = {0};
    snprintf(ctx.name, sizeof ctx.name, "c-test-%d", (int)getpid());
    ci.name = ctx.name;
    ci.name_len = strlen(ctx.name);
    ci.k8s_container = "app";
    ci.k8s_container_len = 3;
    OK(grt_runtime_add_container(rt, &ci));

    /* demo.wasm + a gadget.yaml with enable-containers-datasource. */
    char dir[] = "/tmp/grt-c-containers-XXXXXX", path[4200], wasm[4096];
    if (!mkdtemp(dir)) DIE("mkdtemp");
    snprintf(path, sizeof path, "%s/program.wasm", dir);
    if (symlink(gadget_path("demo", wasm, sizeof wasm), path) != 0) DIE("symlink %s", wasm);
    snprintf(path, sizeof path, "%s/gadget.yaml", dir);
    FILE *f = fopen(path, "w");
    if (!f) DIE("fopen %s", path);
    fputs("name: demo\nannotations:\n  enable-containers-datasource: true\n", f);
    fclose(f);
    const grt_gadget *g = NULL;
    if (OK(grt_gadget_load_path(rt, dir, strlen(dir), NULL, 0, &g))) {
        OK(grt_gadget_set_param(g, S("containername"), ctx.name, strlen(ctx.name)));
        OK(grt_gadget_subscribe(g, S("containers"), 0, containers_cb, &ctx, NULL, NULL));
        OK(grt_gadget_start(g));
        for (int i = 0; i < 100 && ctx.created == 0; i++) grt_gadget_poll(g, 20);
        CHECK_EQ_I(ctx.created, 1);
        struct stat st;
        if (stat("/proc/self/ns/mnt", &st) == 0) CHECK_EQ_U(ctx.mntns, (uint64_t)st.st_ino); /* from /proc/<pid> */
        OK(grt_runtime_remove_container(rt, S("c-id")));
        ERR(GRT_ERR_NOT_FOUND, grt_runtime_remove_container(rt, S("c-id")));
        for (int i = 0; i < 100 && ctx.deleted == 0; i++) grt_gadget_poll(g, 20);
        CHECK_EQ_I(ctx.deleted, 1);
        OK(grt_gadget_stop(g));
        grt_gadget_free(g);
    }
    ERR(GRT_ERR_NULL_PARAMETER, grt_runtime_remove_container(NULL, S("c-id")));
    snprintf(path, sizeof path, "%s/program.wasm", dir);
    unlink(path);
    snprintf(path, sizeof path, "%s/gadget.yaml", dir);
    unlink(path);
    rmdir(dir);
    grt_runtime_free(rt);
}

int main(int argc, char **argv) {
    if (argc > 1) g_gadget_dir = argv[1];
    setvbuf(stdout, NULL, _IONBF, 0);
    char p[4096];
    struct stat st;
    g_demo_available = stat(gadget_path("demo", p, sizeof p), &st) == 0;

    test_versions_and_features();
    test_free_null();
    test_error_code_names();
    test_options();
    const grt_runtime *rt = NULL;
    if (!OK(grt_runtime_new(NULL, &rt))) return 1;
    test_null_arguments(rt);
    test_errors(rt);
    if (!g_demo_available) {
        grt_runtime_free(rt);
        fprintf(stderr, "SKIP: %s missing; gadget-based contract tests skipped\n", p);
        return g_failures ? 1 : 77;
    }
    test_poll_timeout(rt);
    test_concurrent_poll(rt);
    test_callback_stop(rt);
    test_event_fd(rt);
    grt_runtime_free(rt);
    test_embedder_containers();
    test_finalizers();
    test_references();
    test_baderrptr();
    return finish("test_contract");
}
