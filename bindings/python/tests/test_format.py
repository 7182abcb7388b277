"""grt_event_format / grt_event_columns_header and the built-in operators (errno formatter,
filter, sort, max-entries) on an embedder data source of a minimal wasm gadget (no eBPF)."""

import pytest

import gadgetrt
from gadgetrt import DataSourceType, Kind

# (module (memory (export "memory") 1) (func (export "gadgetAPIVersion") (result i64) i64.const 1))
MINI_WASM = (
    b"\x00asm\x01\x00\x00\x00"
    b"\x01\x05\x01\x60\x00\x01\x7e"
    b"\x03\x02\x01\x00"
    b"\x05\x03\x01\x00\x01"
    b"\x07\x1d\x02\x06memory\x02\x00\x10gadgetAPIVersion\x00\x00"
    b"\x0a\x06\x01\x04\x00\x42\x01\x0b"
)

WANT_JSON = '{"comm":"cat","data":"cafe","error":"ENOENT","error_raw":2,"pid":7}'


def open_fmt(rt) -> gadgetrt.Gadget:
    """Data source ev: comm, pid, error_raw (type:gadget_errno -> `error`), data (bytes).
    Created on the opened gadget before init: the operators instantiate at init."""
    g = rt.open_bytes(MINI_WASM, "fmt")
    g.add_datasource("ev")
    g.add_field("ev", "comm", Kind.STRING)
    g.add_field("ev", "pid", Kind.UINT32)
    g.add_field("ev", "error_raw", Kind.UINT32)
    g.add_field_tag("ev", "error_raw", "type:gadget_errno")
    g.add_field("ev", "data", Kind.BYTES)
    g.init()
    return g


def drain(g):
    while g.poll(0.2):
        pass


def test_constants():
    assert (gadgetrt.OUTPUT_JSON, gadgetrt.OUTPUT_JSONPRETTY, gadgetrt.OUTPUT_YAML, gadgetrt.OUTPUT_COLUMNS) == (1, 2, 3, 4)
    assert gadgetrt.PRIORITY_OUTPUT == 10000


def test_format_filter_and_errno(rt):
    with open_fmt(rt) as g:
        g.set_filter("pid==7")
        assert g.get_param("filter") == "pid==7"
        got = []

        def cb(ev: gadgetrt.Event):
            out = {
                "pid": ev.get_u64("pid"),
                "error": ev.get_str("error"),
                "json": ev.json(),
                "fmt_json": ev.format(gadgetrt.OUTPUT_JSON),
                "fmt_json_name": ev.format("json"),
                "pretty": ev.format(gadgetrt.OUTPUT_JSONPRETTY),
                "yaml": ev.format(gadgetrt.OUTPUT_YAML),
                "row": ev.format(gadgetrt.OUTPUT_COLUMNS),
                "row_empty": ev.format(gadgetrt.OUTPUT_COLUMNS, ""),
                "header": ev.columns_header(),
                "row_sel": ev.format(gadgetrt.OUTPUT_COLUMNS, "pid,error_raw"),
                "header_sel": ev.columns_header("pid,error_raw"),
                "header_minus": ev.columns_header("-data"),
            }
            with pytest.raises(gadgetrt.InvalidArgumentError):
                ev.format(gadgetrt.OUTPUT_COLUMNS, "nope")
            with pytest.raises(gadgetrt.InvalidArgumentError):
                ev.format(99)
            with pytest.raises(gadgetrt.InvalidArgumentError):
                ev.format("xml")
            got.append(out)

        g.subscribe("ev", cb, priority=gadgetrt.PRIORITY_OUTPUT)
        g.start()
        for pid, errno, data in [(5, 2, b"\xca\xfe"), (7, 2, b"\xca\xfe"), (9, 0, b"")]:
            g.emit(g.new_packet("ev", {"comm": "cat", "pid": pid, "error_raw": errno, "data": data}))
        drain(g)

    assert len(got) == 1, got  # the filter dropped pid 5 and 9
    o = got[0]
    assert o["pid"] == 7 and o["error"] == "ENOENT"
    assert o["json"] == WANT_JSON
    assert o["fmt_json"] == o["fmt_json_name"] == WANT_JSON + "\n"
    assert o["pretty"] == (
        '{\n  "comm": "cat",\n  "data": "cafe",\n  "error": "ENOENT",\n  "error_raw": 2,\n  "pid": 7\n}\n'
    )
    assert o["yaml"] == "---\ncomm: cat\ndata: cafe\nerror: ENOENT\nerror_raw: 2\npid: 7\n"
    # IG's columns: default width 16 (error: errorString template, 12), one space between
    # columns, trailing padding kept, header upper-cased, error_raw hidden, `error` ordered
    # with its input.
    assert o["header"] == f"{'COMM':<16} {'PID':<16} {'ERROR':<12} {'DATA':<16}"
    assert o["row"] == f"{'cat':<16} {'7':<16} {'ENOENT':<12} {'<2 bytes>':<16}\n"
    assert o["row_empty"] == o["row"]
    assert o["header_sel"] == f"{'PID':<16} {'ERROR_RAW':<16}"
    assert o["row_sel"] == f"{'7':<16} {'2':<16}\n"
    assert o["header_minus"] == f"{'COMM':<16} {'PID':<16} {'ERROR':<12}"


def test_format_outside_callback_raises(rt):
    with open_fmt(rt) as g:
        kept = []
        g.subscribe("ev", kept.append, priority=gadgetrt.PRIORITY_OUTPUT)
        g.start()
        g.emit(g.new_packet("ev", {"comm": "x", "pid": 1, "error_raw": 0, "data": b""}))
        drain(g)
    with pytest.raises(gadgetrt.BadStateError):
        kept[0].format(gadgetrt.OUTPUT_JSON)
    with pytest.raises(gadgetrt.BadStateError):
        kept[0].columns_header()


def test_invalid_filter_fails_at_start(rt):
    with open_fmt(rt) as g:
        g.set_filter("pid=>7")
        with pytest.raises(gadgetrt.ParamError):
            g.start()


def test_sort_and_max_entries(rt):
    with rt.open_bytes(MINI_WASM, "sort") as g:
        g.add_datasource("top", DataSourceType.ARRAY)
        g.add_field("top", "comm", Kind.STRING)
        g.add_field("top", "cpu", Kind.UINT32)
        g.init()
        g.set_sort("-cpu")
        g.set_max_entries(3)
        assert g.get_param("max-entries") == "3"
        got = []
        g.subscribe("top", lambda ev: got.append((ev.records(), ev.json())), priority=gadgetrt.PRIORITY_OUTPUT)
        g.start()
        pkt = g.new_packet("top")
        for comm, cpu in [("a", 10), ("b", 50), ("c", 30), ("d", 40), ("e", 5)]:
            el = pkt.append()
            pkt.set("comm", comm, el)
            pkt.set("cpu", cpu, el)
        g.emit(pkt)
        drain(g)
    assert len(got) == 1
    recs, text = got[0]
    assert [(r["comm"], r["cpu"]) for r in recs] == [("b", 50), ("d", 40), ("c", 30)]
    assert text == '[{"comm":"b","cpu":50},{"comm":"d","cpu":40},{"comm":"c","cpu":30}]'


def test_sort_unknown_field_fails_at_start(rt):
    with rt.open_bytes(MINI_WASM, "sort") as g:
        g.add_datasource("top", DataSourceType.ARRAY)
        g.add_field("top", "cpu", Kind.UINT32)
        g.init()
        g.set_sort("nope")
        with pytest.raises(gadgetrt.ParamError):
            g.start()
