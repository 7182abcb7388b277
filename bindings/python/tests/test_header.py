"""The ctypes declarations must match include/gadgetrt.h exactly (staleness check)."""

import re
from ctypes import POINTER, c_char, c_char_p, c_double, c_int32, c_int64, c_size_t, c_uint8, c_uint32, c_uint64, c_void_p
from pathlib import Path

import pytest

from gadgetrt import _ffi

REPO = Path(__file__).resolve().parents[3]
HEADER = REPO / "include" / "gadgetrt.h"

SCALARS = {
    "void": None,
    "size_t": c_size_t,
    "uint8_t": c_uint8,
    "uint32_t": c_uint32,
    "int32_t": c_int32,
    "int64_t": c_int64,
    "uint64_t": c_uint64,
    "double": c_double,
}
OPAQUE = {
    "grt_error": _ffi.grt_error,
    "grt_event": _ffi.grt_event,
    "grt_gadget": _ffi.grt_gadget,
    "grt_packet": _ffi.grt_packet,
    "grt_runtime": _ffi.grt_runtime,
    "grt_field_info": _ffi.grt_field_info,
    "grt_gadget_stats": _ffi.grt_gadget_stats,
    "grt_runtime_options": _ffi.grt_runtime_options,
    "grt_container_info": _ffi.grt_container_info,
    "grt_image_options": _ffi.grt_image_options,
}
TYPEDEFS = {
    "grt_event_fn": _ffi.grt_event_fn,
    "grt_userdata_free_fn": _ffi.grt_userdata_free_fn,
    "grt_log_fn": _ffi.grt_log_fn,
}


def ctype_for(c: str):
    """Maps a C type (as written in the header) to the ctypes type the bindings must use."""
    c = re.sub(r"\s+", " ", c).strip()
    stars = c.count("*")
    base = c.replace("*", "").replace("const", "").replace("struct", "").strip()
    const = c.startswith("const")
    if stars == 0:
        if base in SCALARS:
            return SCALARS[base]
        if base in TYPEDEFS:
            return TYPEDEFS[base]
        raise AssertionError(f"unmapped C type {c!r}")
    if base in OPAQUE:
        t = OPAQUE[base]
        for _ in range(stars):
            t = POINTER(t)
        return t
    if stars == 1:
        if base == "void":
            return c_void_p
        if base == "char":
            return c_char_p if const else POINTER(c_char)
        if base == "uint8_t" and const:
            return c_char_p  # byte input (ptr+len)
        if base in SCALARS:
            return POINTER(SCALARS[base])  # out-param or array input
    if stars == 2 and base in ("char", "uint8_t") and const:
        return POINTER(c_void_p)  # borrowed output pointer
    raise AssertionError(f"unmapped C type {c!r}")


def split_param(p: str) -> str:
    """'const struct grt_gadget *g' -> 'const struct grt_gadget *'."""
    p = p.strip()
    m = re.match(r"^(.*?[\s\*])(\w+)$", p)
    assert m, p
    return m.group(1)


def parse_header(text: str) -> dict:
    text = re.sub(r"/\*.*?\*/", "", text, flags=re.S)
    text = re.sub(r"//[^\n]*", "", text)
    m = re.search(r'extern "C" \{\s*#endif(.*?)#ifdef __cplusplus\s*\}', text, re.S)
    assert m, "cannot find the extern \"C\" block"
    body = "\n".join(line for line in m.group(1).splitlines() if not line.lstrip().startswith("#"))
    out = {}
    for decl in body.split(";"):
        decl = " ".join(decl.split())
        if not decl:
            continue
        fm = re.match(r"^(.*?)\b(grt_\w+)\s*\((.*)\)$", decl)
        assert fm, f"unparsed declaration: {decl!r}"
        ret, name, params = fm.groups()
        params = params.strip()
        args = [] if params in ("", "void") else [split_param(p) for p in params.split(",")]
        out[name] = (ret.strip(), args)
    return out


@pytest.fixture(scope="module")
def header():
    return parse_header(HEADER.read_text())


def test_header_parses(header):
    assert len(header) > 50
    assert "grt_gadget_poll" in header


def test_every_header_function_is_declared(header):
    declared = {**_ffi.FUNCTIONS, **_ffi.EXTRA_FUNCTIONS}
    missing = sorted(set(header) - set(declared))
    assert not missing, f"functions in gadgetrt.h without ctypes declarations: {missing}"


@pytest.mark.parametrize("name", sorted(parse_header(HEADER.read_text())))
def test_types_match_header(header, name):
    ret, args = header[name]
    res_decl, args_decl = {**_ffi.EXTRA_FUNCTIONS, **_ffi.FUNCTIONS}[name]
    assert res_decl == ctype_for(ret), f"{name}: restype {res_decl} != {ret!r}"
    want = [ctype_for(a) for a in args]
    assert len(args_decl) == len(want), f"{name}: {len(args_decl)} argtypes, header has {len(want)}"
    for i, (have, exp) in enumerate(zip(args_decl, want)):
        assert have == exp, f"{name}: arg {i} is {have}, header says {args[i]!r} ({exp})"


@pytest.mark.parametrize("name", sorted(_ffi.FUNCTIONS))
def test_loaded_function_has_declared_types(name):
    fn = getattr(_ffi.lib, name)
    res, args = _ffi.FUNCTIONS[name]
    assert fn.restype == res
    assert list(fn.argtypes) == list(args)


def test_declared_functions_are_in_header(header):
    """FUNCTIONS mirrors the header exactly; EXTRA_FUNCTIONS holds only what the header lacks."""
    assert not sorted(set(_ffi.FUNCTIONS) - set(header)), "FUNCTIONS lists names absent from the header"
    in_both = sorted(set(_ffi.EXTRA_FUNCTIONS) & set(header))
    assert not in_both, f"move {in_both} from EXTRA_FUNCTIONS to FUNCTIONS: the header has them now"


def test_extra_functions_exported():
    """The typed getters the header lacks must at least be exported by the library."""
    missing = [n for n in _ffi.EXTRA_FUNCTIONS if not hasattr(_ffi.lib, n)]
    assert not missing, missing
    assert _ffi.HAVE_TYPED_GETTERS


def test_struct_layouts_match_header():
    text = HEADER.read_text()
    for cname, cls in [
        ("grt_field_info", _ffi.grt_field_info),
        ("grt_gadget_stats", _ffi.grt_gadget_stats),
        ("grt_log_params", _ffi.grt_log_params),
        ("grt_runtime_options", _ffi.grt_runtime_options),
        ("grt_container_info", _ffi.grt_container_info),
    ]:
        m = re.search(r"typedef struct %s \{(.*?)\} %s;" % (cname, cname), text, re.S)
        assert m, cname
        body = re.sub(r"/\*.*?\*/", "", m.group(1), flags=re.S)
        fields = []
        for line in body.split(";"):
            line = line.strip()
            if line:
                fields.append(line.split()[-1].lstrip("*"))
        assert fields == [f[0] for f in cls._fields_], f"{cname}: {fields}"


def test_abi_version():
    assert _ffi.lib.grt_abi_version() == _ffi.ABI_VERSION
    text = HEADER.read_text()
    assert re.search(r"#define GRT_ABI_VERSION %d\b" % _ffi.ABI_VERSION, text)


def test_constants_match_header():
    import gadgetrt
    from gadgetrt import ErrorCode, Kind

    text = HEADER.read_text()
    consts = dict((k, int(v)) for k, v in re.findall(r"#define (GRT_\w+) (\d+)\s*$", text, re.M))
    for e in ErrorCode:
        assert consts[f"GRT_ERR_{e.name}"] == e.value
    for k in Kind:
        assert consts[f"GRT_KIND_{k.name}"] == k.value
    for s in gadgetrt.State:
        assert consts[f"GRT_STATE_{s.name}"] == s.value
    for l in gadgetrt.LogLevel:
        assert consts[f"GRT_LOG_{l.name}"] == l.value
    assert consts["GRT_DS_SINGLE"] == gadgetrt.DataSourceType.SINGLE
    assert consts["GRT_DS_ARRAY"] == gadgetrt.DataSourceType.ARRAY
    for name in ("JSON", "JSONPRETTY", "YAML", "COLUMNS"):
        assert consts[f"GRT_OUTPUT_{name}"] == getattr(gadgetrt, f"OUTPUT_{name}")
    assert consts["GRT_PRIORITY_OUTPUT"] == gadgetrt.PRIORITY_OUTPUT
    codes = {v for k, v in consts.items() if k.startswith("GRT_ERR_")}
    assert codes == {e.value for e in ErrorCode}, "a GRT_ERR_ code has no ErrorCode member"
    assert set(gadgetrt.errors.ERRORS_BY_CODE) == codes
