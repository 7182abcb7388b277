import gc
import select
import shutil
import struct
import threading
import time

import pytest

import gadgetrt
from gadgetrt import Kind, _core


def slab_size() -> int:
    return len(_core._SLAB)


# --------------------------------------------------------------------------- demo


def test_library_info():
    assert gadgetrt.abi_version() == 1
    assert gadgetrt.version().count(".") == 2
    assert gadgetrt.gadget_api_version() == 1
    assert gadgetrt.has_feature("wasm")
    assert not gadgetrt.has_feature("no-such-feature")


def test_demo_events_iterator(rt, gadgets):
    with rt.load_path(gadgets / "demo.wasm") as g:
        assert g.state == gadgetrt.State.INITIALIZED
        assert g.datasources() == ["ticks"]
        events = g.events(timeout=2.0)  # subscribe before start
        g.start()
        got = []
        for ev in events:
            got.append(ev)
            if len(got) == 5:
                break
    assert [e.datasource for e in got] == ["ticks"] * 5
    assert [e.to_dict() for e in got] == [{"seq": n, "message": f"hello from wasm #{n}"} for n in range(1, 6)]
    assert got[0].fields == [("seq", Kind.UINT64), ("message", Kind.STRING)]
    assert got[2]["seq"] == 3 and got[2].get(1) == "hello from wasm #3"
    assert got[4].json() == '{"message":"hello from wasm #5","seq":5}'  # IG: keys sorted


def test_demo_subscribe_and_poll_typed_getters(rt, gadgets):
    with rt.load_path(gadgets / "demo.wasm") as g:
        seen = []
        jbuf = bytearray(8)

        def cb(ev: gadgetrt.Event):
            assert ev.datasource == "ticks"
            assert len(ev) == 1 and not ev.is_array
            assert ev.field_names() == ["seq", "message"]
            i = ev.field_index("seq")
            assert ev.field_kind(i) == Kind.UINT64
            assert ev.get_u64(i) == ev.get_u64("seq") == ev.get_i64("seq") == int(ev.get_f64("seq"))
            with pytest.raises(gadgetrt.WrongKindError):
                ev.get_bool("seq")
            with pytest.raises(gadgetrt.WrongKindError):
                ev.get_bytes("seq")
            with pytest.raises(gadgetrt.NotFoundError):
                ev.get_u64("nope")
            # json_into writes the same JSON into a reused buffer (small: it must grow once).
            m = ev.json_into(jbuf)
            assert bytes(jbuf[:m]).decode() == ev.json()
            seen.append((ev.get_u64("seq"), ev.get_str("message"), ev.get_bytes(1), ev.json()))

        sub = g.subscribe("ticks", cb, priority=10)
        assert sub.id > 0
        g.start()
        n = 0
        deadline = time.monotonic() + 5
        while n < 5 and time.monotonic() < deadline:
            n += g.poll(0.5)
        assert n == 5
        assert [s[0] for s in seen] == [1, 2, 3, 4, 5]
        assert [s[1] for s in seen] == [f"hello from wasm #{i}" for i in range(1, 6)]
        assert seen[0][2] == b"hello from wasm #1"
        assert seen[0][3] == '{"message":"hello from wasm #1","seq":1}'
        st = g.stats()
        assert st.delivered == 5 and st.queued == 0
        g.stop()
        assert g.state == gadgetrt.State.STOPPED
        assert g.poll(1.0) == 0  # returns early: stopped and empty


def test_event_fd_and_consume(rt, gadgets):
    with rt.load_path(gadgets / "demo.wasm") as g:
        seqs = []
        g.subscribe("ticks", lambda ev: seqs.append(ev.get_u64("seq")))
        fd = g.event_fd()
        assert fd >= 0
        assert select.select([fd], [], [], 0)[0] == []
        g.start()
        assert select.select([fd], [], [], 2)[0] == [fd]
        assert g.consume() == 5
        assert seqs == [1, 2, 3, 4, 5]


def test_logger_receives_guest_logs(gadgets):
    logs = []
    with gadgetrt.Runtime(logger=lambda lvl, gadget, msg: logs.append((lvl, gadget, msg))) as rt:
        with rt.load_path(gadgets / "demo.wasm") as g:
            g.start()
    assert (gadgetrt.LogLevel.INFO, "demo", "demo: emitting 5 ticks") in logs


def test_describe(rt, gadgets):
    with rt.open_path(gadgets / "demo.wasm") as g:
        d = g.describe()
    assert d["name"] == "demo"
    # Data sources are created by gadgetInit, so an opened (not initialised) gadget has none.
    with rt.load_path(gadgets / "demo.wasm") as g:
        d = g.describe()
        ds = d["datasources"][0]
        assert ds["name"] == "ticks" and ds["type"] == "single"
        assert [(f["name"], f["kind_id"]) for f in ds["fields"]] == [("seq", 9), ("message", 12)]
        assert [(f.name, f.kind) for f in g.fields("ticks")] == [("seq", Kind.UINT64), ("message", Kind.STRING)]
        assert g.field_annotation("ticks", "seq", "columns.width") == "16"


# --------------------------------------------------------------------------- host contracts

FIELDS_EXPECTED = {
    "field_bool": (Kind.BOOL, "tag_bool", True),
    "field_int8": (Kind.INT8, "tag_int8", -123),
    "field_int16": (Kind.INT16, "tag_int16", -25647),
    "field_int32": (Kind.INT32, "tag_int32", -535245564),
    "field_int64": (Kind.INT64, "tag_int64", -1234567890),
    "field_uint8": (Kind.UINT8, "tag_uint8", 56),
    "field_uint16": (Kind.UINT16, "tag_uint16", 12345),
    "field_uint32": (Kind.UINT32, "tag_uint32", 1234567890),
    "field_uint64": (Kind.UINT64, "tag_uint64", 1234567890123456),
    "field_float32": (Kind.FLOAT32, "tag_float32", struct.unpack("<f", struct.pack("<f", 3.14159))[0]),
    "field_float64": (Kind.FLOAT64, "tag_float64", 3.14159265359),
    "field_string": (Kind.STRING, "tag_string", "Hello, World!"),
    "field_bytes": (Kind.BYTES, "tag_bytes", b"\x01\x02\x03\x04\x05"),
    "host_field": (Kind.STRING, "host_tag", "LOCALHOST"),
    "field_echo": (Kind.UINT32, "tag_echo", 21),
}


def test_fields_contract(rt, gadgets):
    with rt.open_path(gadgets / "fields.wasm") as g:
        g.add_datasource("myds", gadgetrt.DataSourceType.SINGLE)
        g.add_field("myds", "host_field", Kind.STRING, tags=["host_tag"])
        host_in = g.add_field("myds", "host_in", Kind.UINT32)
        g.init()
        calls = []
        g.subscribe("myds", lambda ev: calls.append(ev.snapshot()), priority=50000)
        g.start()
        pkt = g.new_packet("myds")
        pkt.set_u64(host_in, 7)
        g.emit(pkt)
        with pytest.raises(gadgetrt.BadStateError):
            pkt.set_u64(host_in, 8)  # consumed by emit
        assert g.poll(2.0) == 1
        assert g.stats().guest_traps == 0
        fields = {f.name: f for f in g.fields("myds")}
    assert len(calls) == 1
    ev = calls[0]
    assert ev.get("host_in") == 7
    for name, (kind, tag, value) in FIELDS_EXPECTED.items():
        assert fields[name].kind == kind, name
        assert tag in fields[name].tags, name
        assert dict(ev.fields)[name] == kind, name
        assert ev.get(name) == value, name


def test_dataarray_contract(rt, gadgets):
    with rt.open_path(gadgets / "dataarray.wasm") as g:
        g.add_datasource("myds", gadgetrt.DataSourceType.ARRAY)
        foo = g.add_field("myds", "foo", Kind.UINT32)
        g.init()
        got = []

        def cb(ev):
            assert ev.is_array
            got.append([ev.get_u64(foo, elem=i) for i in range(len(ev))])

        g.subscribe("myds", cb, priority=50000)
        g.start()
        pkt = g.new_packet("myds")
        for _ in range(10):
            i = pkt.append()
            pkt.set("foo", 424143, elem=i)
        g.emit(pkt)
        assert g.poll(2.0) == 1
    assert got == [[424143 * i for i in range(15)]]


def test_dataemit_contract(rt, gadgets):
    with rt.open_path(gadgets / "dataemit.wasm") as g:
        g.add_datasource("old_ds", gadgetrt.DataSourceType.ARRAY)
        g.add_field("old_ds", "foo", Kind.UINT32)
        g.init()
        bars = []
        g.subscribe("new_ds", lambda ev: bars.append(ev.get_u64("bar")), priority=50000)
        g.start()
        pkt = g.new_packet("old_ds")
        for v in (1, 2):
            pkt.set("foo", v, elem=pkt.append())
        g.emit(pkt)
        g.poll(2.0)
    assert bars == [10]


@pytest.fixture
def params_dir(gadgets, tmp_path):
    shutil.copy(gadgets / "params.wasm", tmp_path / "program.wasm")
    shutil.copy(gadgets / "params.gadget.yaml", tmp_path / "gadget.yaml")
    return tmp_path


def test_params_contract(rt, params_dir):
    with rt.load_path(params_dir) as g:
        params = {p["key"]: p for p in g.describe()["params"]}
        p = params["param-key"]
        assert p["description"] == "param-description"
        assert p["defaultValue"] == "param-default-value"
        assert p["typeHint"] == "param-type-hint"
        assert p["title"] == "param-title"
        assert p["alias"] == "param-alias"
        assert p["isMandatory"] is True
        with pytest.raises(gadgetrt.ParamError):
            g.set_param("no-such-param", "x")
        g.set_param("param-key", "param-value")
        assert g.get_param("param-key") == "param-value"
        g.start()
        assert g.state == gadgetrt.State.STARTED


def test_params_missing_value_fails(rt, params_dir):
    with rt.load_path(params_dir) as g:
        with pytest.raises(gadgetrt.GadgetError) as ei:
            g.start()
        assert ei.value.code in (gadgetrt.ErrorCode.PARAM, gadgetrt.ErrorCode.GUEST)


def test_config_contract(rt, gadgets):
    with rt.load_path(gadgets / "config.wasm") as g:
        assert g.config("foo.bar.zas") == "myvalue"
        assert g.config("foo.bar") == '{"zas":"myvalue"}'
        with pytest.raises(gadgetrt.NotFoundError):
            g.config("no.such.key")


def test_filtering_contract(rt, gadgets):
    with rt.load_path(gadgets / "filtering.wasm") as g:
        g.set_mntns_filter([777])
        g.start()
    with rt.load_path(gadgets / "filtering.wasm") as g:
        with pytest.raises(gadgetrt.GuestError):
            g.start()  # no filter: 555 is not discarded


# --------------------------------------------------------------------------- errors


def test_error_nonexistent_path(rt):
    with pytest.raises(gadgetrt.NotFoundError) as ei:
        rt.load_path("/nonexistent/gadget.wasm")
    e = ei.value
    assert isinstance(e, gadgetrt.GadgetError) and isinstance(e, LookupError)
    assert e.code == gadgetrt.ErrorCode.NOT_FOUND == 5
    assert "/nonexistent/gadget.wasm" in e.message


def test_error_baderrptr_is_guest_error(gadgets):
    logs = []
    with gadgetrt.Runtime(logger=lambda *a: logs.append(a), log_level=gadgetrt.LogLevel.DEBUG) as rt:
        with pytest.raises(gadgetrt.GuestError) as ei:
            rt.load_path(gadgets / "baderrptr.wasm")
    assert ei.value.code == 13
    assert not any("this should never be reached" in m for _, _, m in logs)


def test_error_codes_and_messages(rt, gadgets):
    with rt.load_path(gadgets / "demo.wasm") as g:
        with pytest.raises(gadgetrt.NotFoundError):
            g.subscribe("no_such_ds", lambda ev: None)
        with pytest.raises(gadgetrt.BadStateError):
            g.init()  # already initialised
        with pytest.raises(gadgetrt.NotFoundError):
            g.fields("nope")
    with pytest.raises(gadgetrt.WasmLoadError):
        rt.load_bytes(b"not wasm", name="junk")
    with pytest.raises(gadgetrt.BadStateError):
        g.start()  # closed
    e = gadgetrt.error_from_code(17, "m")
    assert type(e) is gadgetrt.ParamError and e.code == 17 and str(e) == "m [PARAM]"
    assert type(gadgetrt.error_from_code(999, "x")) is gadgetrt.GadgetError


def test_load_bytes(rt, gadgets):
    wasm = (gadgets / "demo.wasm").read_bytes()
    with rt.load_bytes(wasm, name="demo-bytes") as g:
        assert g.datasources() == ["ticks"]


# --------------------------------------------------------------------------- callbacks


def test_exception_in_callback_is_reraised_by_poll(rt, gadgets):
    before = slab_size()
    with rt.load_path(gadgets / "demo.wasm") as g:
        seen = []

        def cb(ev):
            seen.append(ev.get_u64("seq"))
            if seen[-1] == 2:
                raise ValueError("boom")

        g.subscribe("ticks", cb)
        g.start()
        with pytest.raises(ValueError, match="boom"):
            g.poll(2.0)
        assert seen == [1, 2]
        assert g.stats().queued == 3  # dispatch stopped; the rest stay queued
        assert g.poll(2.0) == 3
        assert seen == [1, 2, 3, 4, 5]
    assert slab_size() == before


def test_base_exception_in_callback(rt, gadgets):
    with rt.load_path(gadgets / "demo.wasm") as g:
        g.subscribe("ticks", lambda ev: (_ for _ in ()).throw(KeyboardInterrupt()))
        g.start()
        with pytest.raises(KeyboardInterrupt):
            g.consume()
        assert g.stats().queued == 4


def test_stop_dispatch(rt, gadgets):
    with rt.load_path(gadgets / "demo.wasm") as g:
        seen = []

        def cb(ev):
            seen.append(ev.get_u64("seq"))
            if len(seen) == 3:
                raise gadgetrt.StopDispatch

        g.subscribe("ticks", cb)
        g.start()
        assert g.poll(1.0) == 3
        assert g.poll(1.0) == 2


def test_event_is_invalid_after_callback(rt, gadgets):
    with rt.load_path(gadgets / "demo.wasm") as g:
        kept = []
        g.subscribe("ticks", kept.append)
        g.start()
        g.poll(1.0)
    assert len(kept) == 5
    with pytest.raises(gadgetrt.BadStateError):
        kept[0].get_u64("seq")
    assert "expired" in repr(kept[0])


def test_unsubscribe_runs_finalizer(rt, gadgets):
    with rt.load_path(gadgets / "demo.wasm") as g:
        before = slab_size()
        sub = g.subscribe("ticks", lambda ev: None)
        assert slab_size() == before + 1
        sub.unsubscribe()
        sub.unsubscribe()  # idempotent
        assert slab_size() == before


# --------------------------------------------------------------------------- lifetimes


def test_close_with_events_in_flight(gadgets):
    before = slab_size()
    rt = gadgetrt.Runtime()
    g = rt.load_path(gadgets / "demo.wasm")
    g.subscribe("ticks", lambda ev: pytest.fail("must not be called"))
    g.start()
    assert g.stats().queued == 5
    rt.close()  # runtime first: gadgets keep it alive
    g.close()
    g.close()  # idempotent
    assert g.closed
    assert slab_size() == before  # subscription finalizer ran exactly once
    with pytest.raises(gadgetrt.BadStateError):
        g.poll(0)


def test_gc_without_close(gadgets):
    before = slab_size()

    def run():
        rt = gadgetrt.Runtime()
        g = rt.load_path(gadgets / "demo.wasm")
        g.subscribe("ticks", lambda ev: None)
        g.start()

    run()
    gc.collect()
    assert slab_size() == before


def test_close_from_other_thread_wakes_poll(rt, gadgets):
    g = rt.load_path(gadgets / "demo.wasm")
    g.subscribe("ticks", lambda ev: None)
    g.start()
    assert g.poll(1.0) == 5
    result = []
    t = threading.Thread(target=lambda: result.append(g.poll(None)))
    t.start()
    time.sleep(0.2)
    g.close()
    t.join(5)
    assert not t.is_alive()
    assert result == [0]
    assert g._ptr is None  # freed once the poll returned


def test_close_inside_callback(rt, gadgets):
    g = rt.load_path(gadgets / "demo.wasm")
    g.subscribe("ticks", lambda ev: g.close())
    g.start()
    g.poll(1.0)
    assert g.closed and g._ptr is None


def test_concurrent_poll_is_busy(rt, gadgets):
    with rt.load_path(gadgets / "demo.wasm") as g:
        entered = threading.Event()
        release = threading.Event()

        def cb(ev):
            entered.set()
            release.wait(5)

        g.subscribe("ticks", cb)
        g.start()
        t = threading.Thread(target=lambda: g.poll(1.0))
        t.start()
        assert entered.wait(5)
        with pytest.raises(gadgetrt.BusyError):
            g.poll(0)
        release.set()
        t.join(5)


def test_events_iterator_ends_when_stopped(rt, gadgets):
    with rt.load_path(gadgets / "demo.wasm") as g:
        it = g.events()
        g.start()
        g.stop()
        assert [e["seq"] for e in it] == [1, 2, 3, 4, 5]


def test_events_iterator_close_unsubscribes(rt, gadgets):
    with rt.load_path(gadgets / "demo.wasm") as g:
        before = slab_size()
        it = g.events(timeout=1.0)
        assert slab_size() == before + 1
        g.start()
        assert next(it)["seq"] == 1
        it.close()
        assert slab_size() == before
