"""Error texts carry the code's name from the library (grt_error_code_name)."""

import gadgetrt
from gadgetrt import _ffi
from gadgetrt.errors import ErrorCode, GadgetError


def test_library_names_every_code():
    for code in ErrorCode:
        assert _ffi.lib.grt_error_code_name(int(code)).decode() == code.name
    assert _ffi.lib.grt_error_code_name(0) == b"OK"
    assert _ffi.lib.grt_error_code_name(max(ErrorCode) + 1) == b"UNKNOWN"
    assert _ffi.lib.grt_error_code_name(0xFFFFFFFF) == b"UNKNOWN"


def test_error_text_names_the_code(rt):
    try:
        rt.load_path("/nonexistent/gadgetrt/none.wasm")
    except gadgetrt.NotFoundError as e:
        assert e.code_name == "NOT_FOUND"
        assert str(e) == f"{e.message} [NOT_FOUND]"
    else:
        raise AssertionError("no error")
    assert str(GadgetError(999, "x")) == "x [UNKNOWN(999)]"
