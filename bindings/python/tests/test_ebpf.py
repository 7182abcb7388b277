"""The binding over a real eBPF gadget (tests/bpf/trace_open.bpf.c): needs root, like the
Rust eBPF tests; CI runs as root."""

import os
import shutil
import subprocess
import uuid

import gadgetrt
from gadgetrt import ARRAY_OF, Kind

from conftest import REPO


def _trace_open_gadget(tmp_path):
    """A gadget directory holding tests/bpf/trace_open.bpf.o, built for the test."""
    assert os.geteuid() == 0, "the eBPF binding test must run as root (CI does)"
    out = tmp_path / "bpf"
    subprocess.run(["bash", str(REPO / "tests" / "bpf" / "build.sh"), str(out)], check=True)
    gdir = tmp_path / "gadget"
    gdir.mkdir()
    shutil.copy(out / "trace_open.bpf.o", gdir / "program.bpf.o")
    return gdir


def test_ebpf_tracer_scalar_and_array_fields(rt, tmp_path):
    gdir = _trace_open_gadget(tmp_path)
    path = f"/tmp/gadgetrt-py-{uuid.uuid4().hex}"
    got = []

    def on_open(ev: gadgetrt.Event):
        if ev.get_str("fname") != path:
            return
        try:
            ev.get_array("u16v")
            array_on_scalar = "no error"
        except gadgetrt.WrongKindError:
            array_on_scalar = "WrongKindError"
        got.append(
            {
                "kinds": (ev.field_kind("u16v"), ev.field_kind("s32v"), ev.field_kind("ports")),
                "scalars": (ev["u16v"], ev["s32v"]),
                "ports": ev["ports"],
                "deltas": ev.get_array("deltas"),
                "ports_raw": ev.get_bytes("ports"),
                "dict": ev.to_dict(),
                "json": ev.json(),
                "array_on_scalar": array_on_scalar,
            }
        )

    with rt.load_path(gdir) as g:
        g.set_param("pid", str(os.getpid()))
        g.subscribe("open", on_open)
        g.start()
        for _ in range(100):
            if got:
                break
            try:
                os.close(os.open(path, os.O_RDONLY))
            except FileNotFoundError:
                pass
            g.poll(0.05)
    assert got, "no open event for our path"
    e = got[0]
    assert e["kinds"] == (Kind.UINT16, Kind.INT32, ARRAY_OF | Kind.UINT16)
    assert e["scalars"] == (0xFFFE, -4)
    assert e["ports"] == [80, 443, 65535]
    assert e["deltas"] == [-7, 9]
    assert e["ports_raw"] == bytes([80, 0, 0xBB, 1, 0xFF, 0xFF])
    assert e["dict"]["ports"] == [80, 443, 65535] and e["dict"]["proc.pid"] == os.getpid()
    assert '"ports":[80,443,65535]' in e["json"] and '"deltas":[-7,9]' in e["json"]
    assert e["array_on_scalar"] == "WrongKindError"


def _ring_sizes():
    """max_entries of the BPF ring buffers (map_type 27) this process holds, from fdinfo."""
    sizes = []
    for fd in os.listdir("/proc/self/fdinfo"):
        try:
            with open(f"/proc/self/fdinfo/{fd}") as f:
                info = dict(l.split(":", 1) for l in f.read().splitlines() if ":" in l)
        except OSError:
            continue
        if info.get("map_type", "").strip() == "27":
            sizes.append(int(info["max_entries"]))
    return sorted(sizes)


def test_min_ring_bytes_sizes_the_tracer_ring(tmp_path):
    """trace_open.bpf.c declares IG's 256 KiB ring: 4 MiB by default, as declared with 4096."""
    gdir = _trace_open_gadget(tmp_path)
    seen = {}
    for label, kw in (("default", {}), ("page", {"min_ring_bytes": 4096}), ("2m", {"min_ring_bytes": 2 << 20})):
        before = _ring_sizes()
        with gadgetrt.Runtime(disable_cache=True, **kw) as r, r.load_path(gdir) as g:
            g.start()
            now = _ring_sizes()
            for s in before:
                now.remove(s)
            seen[label] = sorted(set(now))  # a map may be held through several fds
            g.stop()
    assert seen == {"default": [4 << 20], "page": [256 << 10], "2m": [2 << 20]}, seen
