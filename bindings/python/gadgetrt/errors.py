"""Exceptions raised by gadgetrt. Each ``GRT_ERR_*`` code maps to one subclass."""

from __future__ import annotations

from enum import IntEnum


class ErrorCode(IntEnum):
    """Stable error codes (``GRT_ERR_*``)."""

    NULL_PARAMETER = 1
    INVALID_ARGUMENT = 2
    INVALID_UTF8 = 3
    INSUFFICIENT_SIZE = 4
    NOT_FOUND = 5
    WRONG_KIND = 6
    BAD_STATE = 7
    BUSY = 8
    PANIC = 9
    ALREADY_USED = 10
    IO = 11
    WASM_LOAD = 12
    GUEST = 13
    ABI = 14
    IMAGE = 15
    EBPF = 16
    PARAM = 17
    TIMEOUT = 18
    UNSUPPORTED = 19
    INTERNAL = 20
    SIGNATURE = 21


class GadgetError(Exception):
    """An error reported by libgadgetrt (or by the wrapper, with a matching code).

    ``code`` is the numeric ``GRT_ERR_*`` value (an :class:`ErrorCode` when known) and
    ``message`` the library's message.
    """

    code: int = 0

    def __init__(self, code: int, message: str = ""):
        try:
            code = ErrorCode(code)
        except ValueError:
            pass
        self.code = code
        self.message = message
        super().__init__(code, message)

    @property
    def code_name(self) -> str:
        """The code's name from the library (``grt_error_code_name``) without the
        ``GRT_ERR_`` prefix, e.g. ``"NOT_FOUND"``; ``"UNKNOWN(<n>)"`` for codes this library
        version does not know."""
        from ._ffi import lib  # the library is loaded by then: errors come from it

        name = (lib.grt_error_code_name(int(self.code) & 0xFFFFFFFF) or b"UNKNOWN").decode("ascii")
        return f"UNKNOWN({int(self.code)})" if name == "UNKNOWN" else name

    def __str__(self) -> str:
        name = self.code_name
        return f"{self.message} [{name}]" if self.message else name

    def __repr__(self) -> str:
        return f"{type(self).__name__}({int(self.code)!r}, {self.message!r})"


class NullParameterError(GadgetError):
    code = ErrorCode.NULL_PARAMETER


class InvalidArgumentError(GadgetError, ValueError):
    code = ErrorCode.INVALID_ARGUMENT


class InvalidUtf8Error(GadgetError, ValueError):
    code = ErrorCode.INVALID_UTF8


class InsufficientSizeError(GadgetError):
    code = ErrorCode.INSUFFICIENT_SIZE


class NotFoundError(GadgetError, LookupError):
    code = ErrorCode.NOT_FOUND


class WrongKindError(GadgetError, TypeError):
    code = ErrorCode.WRONG_KIND


class BadStateError(GadgetError):
    code = ErrorCode.BAD_STATE


class BusyError(GadgetError):
    code = ErrorCode.BUSY


class PanicError(GadgetError):
    code = ErrorCode.PANIC


class AlreadyUsedError(GadgetError):
    code = ErrorCode.ALREADY_USED


class IOError_(GadgetError, OSError):
    code = ErrorCode.IO


class WasmLoadError(GadgetError):
    code = ErrorCode.WASM_LOAD


class GuestError(GadgetError):
    code = ErrorCode.GUEST


class AbiError(GadgetError):
    code = ErrorCode.ABI


class ImageError(GadgetError):
    code = ErrorCode.IMAGE


class EbpfError(GadgetError):
    code = ErrorCode.EBPF


class ParamError(GadgetError):
    code = ErrorCode.PARAM


class TimeoutError_(GadgetError, TimeoutError):
    code = ErrorCode.TIMEOUT


class UnsupportedError(GadgetError):
    code = ErrorCode.UNSUPPORTED


class InternalError(GadgetError):
    code = ErrorCode.INTERNAL


class SignatureError(GadgetError):
    """An image's signature is missing or does not verify with the given public keys."""

    code = ErrorCode.SIGNATURE


ERRORS_BY_CODE: dict[int, type[GadgetError]] = {
    cls.code: cls
    for cls in (
        NullParameterError,
        InvalidArgumentError,
        InvalidUtf8Error,
        InsufficientSizeError,
        NotFoundError,
        WrongKindError,
        BadStateError,
        BusyError,
        PanicError,
        AlreadyUsedError,
        IOError_,
        WasmLoadError,
        GuestError,
        AbiError,
        ImageError,
        EbpfError,
        ParamError,
        TimeoutError_,
        UnsupportedError,
        InternalError,
        SignatureError,
    )
}


def error_from_code(code: int, message: str = "") -> GadgetError:
    """The exception instance of the right subclass for ``code``."""
    return ERRORS_BY_CODE.get(code, GadgetError)(code, message)
