/*
 * grt_event_format / grt_event_columns_header, GRT_PRIORITY_OUTPUT and the built-in operators
 * (errno formatter, filter, sort, max-entries) through the C API. The gadget is a minimal wasm
 * module (only gadgetAPIVersion) opened with grt_gadget_open_bytes; the test adds its own data
 * sources before grt_gadget_init (the operators instantiate at init over the data sources present
 * then) and emits the packets itself, so no eBPF and no test-gadget build is needed.
 */
#include "test_util.h"

/* (module (memory (export "memory") 1) (func (export "gadgetAPIVersion") (result i64) i64.const 1)) */
static const uint8_t MINI[] = {
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, 0x01, 0x05, 0x01, 0x60, 0x00, 0x01, 0x7e, 0x03,
    0x02, 0x01, 0x00, 0x05, 0x03, 0x01, 0x00, 0x01, 0x07, 0x1d, 0x02, 0x06, 'm',  'e',  'm',  'o',
    'r',  'y',  0x02, 0x00, 0x10, 'g',  'a',  'd',  'g',  'e',  't',  'A',  'P',  'I',  'V',  'e',
    'r',  's',  'i',  'o',  'n',  0x00, 0x00, 0x0a, 0x06, 0x01, 0x04, 0x00, 0x42, 0x01, 0x0b};

#define WANT_JSON "{\"comm\":\"cat\",\"data\":\"cafe\",\"error\":\"ENOENT\",\"error_raw\":2,\"pid\":7}"

static size_t slen(const char *s) { return s ? strlen(s) : 0; }

struct fmt_ctx {
    int seen;
    uint64_t pid;
    char err[32];
    char json[256], fjson[256], pretty[256], yaml[256], row[256], hdr[256], row_sel[128], hdr_sel[128];
};

/* Renders into a NUL-terminated buffer; returns 1 on success. */
#define FMT(ev, mode, fields, dst)                                                                  \
    do {                                                                                            \
        size_t _n = 0;                                                                              \
        if (OK(grt_event_format((ev), (mode), (fields), slen(fields), (dst),       \
                                sizeof(dst) - 1, &_n)))                                             \
            (dst)[_n] = '\0';                                                                       \
    } while (0)
#define HDR(ev, fields, dst)                                                                        \
    do {                                                                                            \
        size_t _n = 0;                                                                              \
        if (OK(grt_event_columns_header((ev), (fields), slen(fields), (dst),       \
                                        sizeof(dst) - 1, &_n)))                                     \
            (dst)[_n] = '\0';                                                                       \
    } while (0)

static int32_t fmt_cb(void *ud, const grt_event *ev) {
    struct fmt_ctx *c = ud;
    c->seen++;
    OK(grt_event_get_u64_by_name(ev, 0, S("pid"), &c->pid));
    const uint8_t *p;
    size_t n;
    if (OK(grt_event_get_bytes_by_name(ev, 0, S("error"), &p, &n)) && n < sizeof c->err) {
        memcpy(c->err, p, n);
        c->err[n] = '\0';
    }
    size_t need = 0;
    ERR(GRT_ERR_INSUFFICIENT_SIZE, grt_event_to_json(ev, NULL, 0, &need));
    CHECK_EQ_U(need, strlen(WANT_JSON));
    if (OK(grt_event_to_json(ev, c->json, sizeof c->json - 1, &n))) c->json[n] = '\0';
    /* Size query: out_len is written on GRT_ERR_INSUFFICIENT_SIZE too. */
    need = 0;
    ERR(GRT_ERR_INSUFFICIENT_SIZE, grt_event_format(ev, GRT_OUTPUT_COLUMNS, NULL, 0, NULL, 0, &need));
    FMT(ev, GRT_OUTPUT_JSON, NULL, c->fjson);
    FMT(ev, GRT_OUTPUT_JSONPRETTY, NULL, c->pretty);
    FMT(ev, GRT_OUTPUT_YAML, NULL, c->yaml);
    FMT(ev, GRT_OUTPUT_COLUMNS, NULL, c->row);
    CHECK_EQ_U(strlen(c->row), need);
    HDR(ev, NULL, c->hdr);
    FMT(ev, GRT_OUTPUT_COLUMNS, "pid,error_raw", c->row_sel);
    HDR(ev, "pid,error_raw", c->hdr_sel);
    char tmp[64];
    ERR(GRT_ERR_INVALID_ARGUMENT, grt_event_format(ev, GRT_OUTPUT_COLUMNS, S("nope"), tmp, sizeof tmp, &n));
    ERR(GRT_ERR_INVALID_ARGUMENT, grt_event_columns_header(ev, S("nope"), tmp, sizeof tmp, &n));
    ERR(GRT_ERR_INVALID_ARGUMENT, grt_event_format(ev, 99, NULL, 0, tmp, sizeof tmp, &n));
    return 0;
}

static const grt_gadget *open_mini(const grt_runtime *rt, const char *name) {
    const grt_gadget *g = NULL;
    if (!OK(grt_gadget_open_bytes(rt, name, strlen(name), MINI, sizeof MINI, &g))) DIE("open_bytes(mini)");
    return g;
}

static void drain(const grt_gadget *g) {
    while (grt_gadget_poll(g, 200) > 0) {
    }
}

static void test_format_filter(const grt_runtime *rt) {
    printf("-- errno formatter, filter, json/jsonpretty/yaml/columns\n");
    const grt_gadget *g = open_mini(rt, "fmt");
    size_t comm, pid, eraw, data;
    OK(grt_gadget_add_datasource(g, S("ev"), GRT_DS_SINGLE));
    OK(grt_gadget_add_field(g, S("ev"), S("comm"), GRT_KIND_STRING, &comm));
    OK(grt_gadget_add_field(g, S("ev"), S("pid"), GRT_KIND_UINT32, &pid));
    OK(grt_gadget_add_field(g, S("ev"), S("error_raw"), GRT_KIND_UINT32, &eraw));
    OK(grt_gadget_add_field_tag(g, S("ev"), S("error_raw"), S("type:gadget_errno")));
    OK(grt_gadget_add_field(g, S("ev"), S("data"), GRT_KIND_BYTES, &data));
    if (!OK(grt_gadget_init(g))) DIE("init");
    OK(grt_gadget_set_param(g, S("filter"), S("pid==7")));
    struct fmt_ctx c;
    memset(&c, 0, sizeof c);
    OK(grt_gadget_subscribe(g, S("ev"), GRT_PRIORITY_OUTPUT, fmt_cb, &c, NULL, NULL));
    if (!OK(grt_gadget_start(g))) DIE("start");
    const uint32_t pids[] = {5, 7, 9};
    for (size_t i = 0; i < 3; i++) {
        grt_packet *p = NULL;
        if (!OK(grt_gadget_new_packet(g, S("ev"), &p))) continue;
        OK(grt_packet_set_string(p, 0, comm, S("cat")));
        OK(grt_packet_set_u64(p, 0, pid, pids[i]));
        OK(grt_packet_set_u64(p, 0, eraw, 2));
        OK(grt_packet_set_bytes(p, 0, data, (const uint8_t *)"\xca\xfe", 2));
        OK(grt_gadget_emit(g, p));
    }
    drain(g);
    CHECK_EQ_I(c.seen, 1); /* pid 5 and 9 filtered out */
    CHECK_EQ_U(c.pid, 7);
    if (strcmp(c.err, "ENOENT") != 0) FAIL("error = '%s'", c.err);
    if (strcmp(c.json, WANT_JSON) != 0) FAIL("json '%s'", c.json);
    if (strcmp(c.fjson, WANT_JSON "\n") != 0) FAIL("format json '%s'", c.fjson);
    const char *pretty =
        "{\n  \"comm\": \"cat\",\n  \"data\": \"cafe\",\n  \"error\": \"ENOENT\",\n  \"error_raw\": 2,\n  \"pid\": 7\n}\n";
    if (strcmp(c.pretty, pretty) != 0) FAIL("jsonpretty '%s'", c.pretty);
    if (strcmp(c.yaml, "---\ncomm: cat\ndata: cafe\nerror: ENOENT\nerror_raw: 2\npid: 7\n") != 0)
        FAIL("yaml '%s'", c.yaml);
    /* IG columns: width 16 (error: errorString, 12), one space between, trailing padding kept. */
    char want[256];
    snprintf(want, sizeof want, "%-16s %-16s %-12s %-16s", "COMM", "PID", "ERROR", "DATA");
    if (strcmp(c.hdr, want) != 0) FAIL("header '%s', want '%s'", c.hdr, want);
    snprintf(want, sizeof want, "%-16s %-16s %-12s %-16s\n", "cat", "7", "ENOENT", "<2 bytes>");
    if (strcmp(c.row, want) != 0) FAIL("row '%s', want '%s'", c.row, want);
    snprintf(want, sizeof want, "%-16s %-16s", "PID", "ERROR_RAW");
    if (strcmp(c.hdr_sel, want) != 0) FAIL("header(pid,error_raw) '%s'", c.hdr_sel);
    snprintf(want, sizeof want, "%-16s %-16s\n", "7", "2");
    if (strcmp(c.row_sel, want) != 0) FAIL("row(pid,error_raw) '%s'", c.row_sel);
    grt_gadget_free(g);

    /* Invalid filter rules are accepted by set_param and rejected at start. */
    g = open_mini(rt, "badfilter");
    OK(grt_gadget_add_datasource(g, S("ev"), GRT_DS_SINGLE));
    OK(grt_gadget_add_field(g, S("ev"), S("pid"), GRT_KIND_UINT32, &pid));
    OK(grt_gadget_init(g));
    OK(grt_gadget_set_param(g, S("filter"), S("pid=>7")));
    ERR(GRT_ERR_PARAM, grt_gadget_start(g));
    grt_gadget_free(g);
}

struct sort_ctx {
    int seen;
    char json[512];
};

static int32_t sort_cb(void *ud, const grt_event *ev) {
    struct sort_ctx *c = ud;
    size_t n = 0;
    c->seen++;
    CHECK_EQ_I(grt_event_is_array(ev), 1);
    if (OK(grt_event_to_json(ev, c->json, sizeof c->json - 1, &n))) c->json[n] = '\0';
    return 0;
}

static void test_sort_limit(const grt_runtime *rt) {
    printf("-- sort and max-entries on an array data source\n");
    const grt_gadget *g = open_mini(rt, "sort");
    size_t comm, cpu;
    OK(grt_gadget_add_datasource(g, S("top"), GRT_DS_ARRAY));
    OK(grt_gadget_add_field(g, S("top"), S("comm"), GRT_KIND_STRING, &comm));
    OK(grt_gadget_add_field(g, S("top"), S("cpu"), GRT_KIND_UINT32, &cpu));
    if (!OK(grt_gadget_init(g))) DIE("init");
    OK(grt_gadget_set_param(g, S("sort"), S("-cpu")));
    OK(grt_gadget_set_param(g, S("max-entries"), S("3")));
    struct sort_ctx c;
    memset(&c, 0, sizeof c);
    OK(grt_gadget_subscribe(g, S("top"), GRT_PRIORITY_OUTPUT, sort_cb, &c, NULL, NULL));
    if (!OK(grt_gadget_start(g))) DIE("start");
    grt_packet *p = NULL;
    if (OK(grt_gadget_new_packet(g, S("top"), &p))) {
        const char *names[] = {"a", "b", "c", "d", "e"};
        const uint32_t vals[] = {10, 50, 30, 40, 5};
        for (size_t i = 0; i < 5; i++) {
            size_t el = 0;
            OK(grt_packet_append(p, &el));
            OK(grt_packet_set_string(p, el, comm, names[i], 1));
            OK(grt_packet_set_u64(p, el, cpu, vals[i]));
        }
        OK(grt_gadget_emit(g, p));
    }
    drain(g);
    CHECK_EQ_I(c.seen, 1);
    const char *want = "[{\"comm\":\"b\",\"cpu\":50},{\"comm\":\"d\",\"cpu\":40},{\"comm\":\"c\",\"cpu\":30}]";
    if (strcmp(c.json, want) != 0) FAIL("sorted/limited '%s', want '%s'", c.json, want);
    grt_gadget_free(g);
}

int main(int argc, char **argv) {
    (void)argc;
    (void)argv;
    const grt_runtime *rt = NULL;
    grt_runtime_options o = GRT_RUNTIME_OPTIONS_INIT;
    if (!OK(grt_runtime_new(&o, &rt))) DIE("runtime");
    test_format_filter(rt);
    test_sort_limit(rt);
    grt_runtime_free(rt);
    return finish("test_format");
}
