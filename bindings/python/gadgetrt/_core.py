"""Pythonic wrapper over the C API (see the package docstring for an overview)."""

from __future__ import annotations

import atexit
import ctypes
import itertools
import json as _json
import struct
import threading
import weakref
from collections import deque
from contextlib import contextmanager
from ctypes import POINTER, byref, c_size_t, c_uint64, c_void_p
from dataclasses import dataclass, field
from enum import IntEnum
from os import PathLike, fspath
from typing import Any, Callable, Iterable, Iterator, Optional, Sequence, Union

from . import _ffi
from ._ffi import lib
from .errors import (
    BadStateError,
    BusyError,
    ErrorCode,
    GadgetError,
    InsufficientSizeError,
    InvalidArgumentError,
    NotFoundError,
    WrongKindError,
    error_from_code,
)

# ---------------------------------------------------------------------------------------
# Constants
# ---------------------------------------------------------------------------------------


class Kind(IntEnum):
    """Field kinds (``GRT_KIND_*``)."""

    INVALID = 0
    BOOL = 1
    INT8 = 2
    INT16 = 3
    INT32 = 4
    INT64 = 5
    UINT8 = 6
    UINT16 = 7
    UINT32 = 8
    UINT64 = 9
    FLOAT32 = 10
    FLOAT64 = 11
    STRING = 12
    CSTRING = 13
    BYTES = 14


#: Flag of array kinds (``GRT_KIND_ARRAY_OF``): ``ARRAY_OF | Kind.UINT32`` is a fixed-size
#: array of uint32 from an eBPF struct. :meth:`Event.field_kind` returns such kinds as ints.
ARRAY_OF = 0x10000000

# struct format of each scalar element kind of an array field (native byte order).
_ELEM_FMT = {1: "?", 2: "b", 3: "h", 4: "i", 5: "q", 6: "B", 7: "H", 8: "I", 9: "Q", 10: "f", 11: "d"}


def _kind(k: int) -> "Kind | int":
    """``Kind`` for single-value kinds, the raw int for array kinds (``ARRAY_OF | elem``)."""
    try:
        return Kind(k)
    except ValueError:
        return k if k & ARRAY_OF else Kind.INVALID


class State(IntEnum):
    """Gadget lifecycle states (``GRT_STATE_*``)."""

    CREATED = 0
    INITIALIZED = 1
    STARTED = 2
    STOPPED = 3
    FAILED = 4


class DataSourceType(IntEnum):
    """``GRT_DS_*``."""

    SINGLE = 1
    ARRAY = 2


class LogLevel(IntEnum):
    """``GRT_LOG_*``."""

    ERROR = 1
    WARN = 2
    INFO = 3
    DEBUG = 4
    TRACE = 5


#: ``grt_event_format`` modes (``GRT_OUTPUT_*``), like ``ig run -o <mode>``.
OUTPUT_JSON = 1
OUTPUT_JSONPRETTY = 2
OUTPUT_YAML = 3
OUTPUT_COLUMNS = 4

_OUTPUT_NAMES = {"json": OUTPUT_JSON, "jsonpretty": OUTPUT_JSONPRETTY, "yaml": OUTPUT_YAML, "columns": OUTPUT_COLUMNS}

#: Subscription priority of ``ig run``'s output (``GRT_PRIORITY_OUTPUT``): a callback
#: subscribed at it sees packets after the formatters, filter (9000), sort (9500) and
#: limiter (9600).
PRIORITY_OUTPUT = 10000

_SIGNED = {Kind.INT8, Kind.INT16, Kind.INT32, Kind.INT64}
_UNSIGNED = {Kind.UINT8, Kind.UINT16, Kind.UINT32, Kind.UINT64}
_FLOAT = {Kind.FLOAT32, Kind.FLOAT64}
_TEXT = {Kind.STRING, Kind.CSTRING}


class StopDispatch(Exception):
    """Raise inside an event callback to stop dispatching quietly.

    The remaining events stay queued and :meth:`Gadget.poll` returns normally.
    """


# ---------------------------------------------------------------------------------------
# Helpers
# ---------------------------------------------------------------------------------------


def _enc(s: Union[str, bytes, PathLike, None]) -> Optional[bytes]:
    if s is None:
        return None
    s = fspath(s) if not isinstance(s, (str, bytes)) else s
    return s if isinstance(s, bytes) else s.encode("utf-8")


def _take_error(err) -> Optional[GadgetError]:
    """Converts an owned ``grt_error *`` into an exception (or None) and frees it."""
    if not err:
        return None
    code = lib.grt_error_code(err)
    msg = (lib.grt_error_message(err) or b"").decode("utf-8", "replace")
    lib.grt_error_free(err)
    return error_from_code(code, msg)


def _check(err) -> None:
    exc = _take_error(err)
    if exc is not None:
        raise exc


def _read_buffer(call: Callable[[Any, int, Any], Any], initial: int = 256) -> bytes:
    """Runs a ``(buf, cap, out_len)`` style call, growing the buffer once if needed."""
    cap = initial
    for _ in range(4):
        buf = ctypes.create_string_buffer(cap)
        n = c_size_t(0)
        exc = _take_error(call(buf, cap, byref(n)))
        if exc is None:
            return buf.raw[: n.value]
        if not isinstance(exc, InsufficientSizeError) or n.value <= cap:
            raise exc
        cap = n.value
    raise InsufficientSizeError(ErrorCode.INSUFFICIENT_SIZE, "buffer kept growing")


def _borrowed(ptr: c_void_p, n: c_size_t) -> bytes:
    return ctypes.string_at(ptr.value, n.value) if n.value else b""




class _Managed:
    """Owns one library handle: ``close()`` is idempotent, context-manager aware and safe
    against concurrent use (the pointer is freed only once no call is using it)."""

    _free_fn: Callable[[Any], None]

    def __init__(self, ptr):
        self._ptr = ptr
        self._lock = threading.Lock()
        self._users = 0
        self._closed = False
        _LIVE.add(self)

    @contextmanager
    def _use(self):
        with self._lock:
            if self._closed:
                raise BadStateError(ErrorCode.BAD_STATE, f"{type(self).__name__} is closed")
            self._users += 1
            ptr = self._ptr
        try:
            yield ptr
        finally:
            self._release()

    def _release(self) -> None:
        with self._lock:
            self._users -= 1
            if not (self._closed and self._users == 0 and self._ptr is not None):
                return
            ptr, self._ptr = self._ptr, None
        self._free(ptr)

    def _free(self, ptr) -> None:  # pragma: no cover - overridden
        raise NotImplementedError

    def _before_deferred_close(self, ptr) -> None:
        """Called by close() when another thread still uses the handle."""

    @property
    def closed(self) -> bool:
        return self._closed

    def close(self) -> None:
        """Releases the handle. Idempotent. If another thread is inside a call on this
        object, the handle is released when that call returns."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            busy = self._users > 0
            self._users += 1
            ptr = self._ptr
        try:
            if busy and ptr is not None:
                self._before_deferred_close(ptr)
        finally:
            self._release()

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __del__(self) -> None:
        try:
            self.close()
        except Exception:  # pragma: no cover - interpreter shutdown
            pass


_LIVE: "weakref.WeakSet[_Managed]" = weakref.WeakSet()


@atexit.register
def _close_all() -> None:
    # Gadgets before runtimes, while the interpreter (and the trampolines) still work.
    objs = list(_LIVE)
    for o in sorted(objs, key=lambda o: 0 if isinstance(o, Gadget) else 1):
        try:
            o.close()
        except Exception:  # pragma: no cover
            pass


# ---------------------------------------------------------------------------------------
# Userdata slab and module-level trampolines (kept alive for the life of the module)
# ---------------------------------------------------------------------------------------

_SLAB: dict[int, Any] = {}
_SLAB_IDS = itertools.count(1)
_SLAB_LOCK = threading.Lock()


def _slab_put(obj: Any) -> int:
    with _SLAB_LOCK:
        key = next(_SLAB_IDS)
        _SLAB[key] = obj
    return key


def _slab_pop(key: int) -> Any:
    with _SLAB_LOCK:
        return _SLAB.pop(key, None)


def _userdata_free(userdata):  # grt_userdata_free_fn
    try:
        if userdata:
            _slab_pop(userdata)
    except BaseException:  # pragma: no cover - must never unwind into C
        pass


def _event_trampoline(userdata, ev_ptr):  # grt_event_fn
    try:
        sub = _SLAB.get(userdata)
        if sub is None:
            return 0
        return sub._dispatch(ev_ptr)
    except BaseException:  # pragma: no cover - _dispatch already catches everything
        return -1


def _log_trampoline(userdata, params):  # grt_log_fn
    try:
        sink = _SLAB.get(userdata)
        if sink is None or not params:
            return
        p = params.contents
        gadget = ctypes.string_at(p.gadget, p.gadget_len).decode("utf-8", "replace") if p.gadget_len else ""
        msg = ctypes.string_at(p.message, p.message_len).decode("utf-8", "replace") if p.message_len else ""
        try:
            level = LogLevel(p.level)
        except ValueError:
            level = p.level
        sink(level, gadget, msg)
    except BaseException as e:  # a logger must not unwind into C (it may run on any thread)
        try:
            Runtime.last_log_exception = e
        except BaseException:  # pragma: no cover
            pass


_EVENT_FN = _ffi.grt_event_fn(_event_trampoline)
_FREE_FN = _ffi.grt_userdata_free_fn(_userdata_free)
_LOG_FN = _ffi.grt_log_fn(_log_trampoline)


# ---------------------------------------------------------------------------------------
# Library-level info
# ---------------------------------------------------------------------------------------


def version() -> str:
    """The library version, e.g. ``"0.1.0"``."""
    return lib.grt_version().decode()


def abi_version() -> int:
    return lib.grt_abi_version()


def gadget_api_version() -> int:
    return lib.grt_gadget_api_version()


def has_feature(name: str) -> bool:
    b = _enc(name)
    return lib.grt_has_feature(b, len(b)) == 1


def set_container_discovery_option(key: str, value: str) -> None:
    """Sets a process-wide container discovery option by ``ig run``'s flag name
    (``runtimes``, ``docker-socketpath``, ``containerd-socketpath``, ``containerd-namespace``,
    ``podman-socketpath``); discovery started afterwards uses it. An empty value restores the
    default; an unknown key or runtime raises ``ParamError``."""
    k, v = _enc(key), _enc(value)
    _check(lib.grt_set_container_discovery_option(k, len(k), v, len(v)))


# ---------------------------------------------------------------------------------------
# Events
# ---------------------------------------------------------------------------------------

FieldRef = Union[int, str]


class Event:
    """An event, borrowed for the duration of one callback.

    Use it only inside the callback; afterwards every method raises ``BadStateError``. Call
    :meth:`snapshot` (or :meth:`to_dict` / :meth:`json`) to keep the data.
    """

    __slots__ = ("_ptr",)

    def __init__(self, ptr):
        self._ptr = ptr

    def _p(self):
        if self._ptr is None:
            raise BadStateError(ErrorCode.BAD_STATE, "event used outside its callback")
        return self._ptr

    def _invalidate(self) -> None:
        self._ptr = None

    @property
    def datasource(self) -> str:
        p, n = c_void_p(), c_size_t()
        _check(lib.grt_event_datasource(self._p(), byref(p), byref(n)))
        return _borrowed(p, n).decode("utf-8", "replace")

    def __len__(self) -> int:
        return lib.grt_event_len(self._p())

    @property
    def is_array(self) -> bool:
        return lib.grt_event_is_array(self._p()) == 1

    @property
    def field_count(self) -> int:
        return lib.grt_event_field_count(self._p())

    def field_index(self, name: str) -> int:
        b = _enc(name)
        out = c_size_t()
        _check(lib.grt_event_field_index(self._p(), b, len(b), byref(out)))
        return out.value

    def field_name(self, index: int) -> str:
        p, n = c_void_p(), c_size_t()
        _check(lib.grt_event_field_name(self._p(), index, byref(p), byref(n)))
        return _borrowed(p, n).decode("utf-8", "replace")

    def field_names(self) -> list[str]:
        return [self.field_name(i) for i in range(self.field_count)]

    def field_kind(self, field: FieldRef) -> "Kind | int":
        """The field's ``Kind``; array fields give the int ``ARRAY_OF | element kind``."""
        idx = self.field_index(field) if isinstance(field, str) else field
        return _kind(lib.grt_event_field_kind(self._p(), idx))

    # -- typed getters -------------------------------------------------------------------

    def _scalar(self, suffix: str, ctype, field: FieldRef, elem: int):
        out = ctype()
        if not _ffi.HAVE_TYPED_GETTERS:  # pragma: no cover - fallback for old headers/libs
            return self._json_value(field, elem)
        if isinstance(field, str):
            b = _enc(field)
            fn = getattr(lib, f"grt_event_get_{suffix}_by_name")
            _check(fn(self._p(), elem, b, len(b), byref(out)))
        else:
            fn = getattr(lib, f"grt_event_get_{suffix}")
            _check(fn(self._p(), elem, field, byref(out)))
        return out.value

    def _json_value(self, field: FieldRef, elem: int):  # pragma: no cover - fallback only
        name = field if isinstance(field, str) else self.field_name(field)
        v = _json.loads(self.json())
        if isinstance(v, list):
            v = v[elem]
        for part in name.split("."):
            v = v[part]
        return v

    def get_u64(self, field: FieldRef, elem: int = 0) -> int:
        """Unsigned view of an integer or bool field (negative values: ``WrongKindError``)."""
        return self._scalar("u64", ctypes.c_uint64, field, elem)

    def get_i64(self, field: FieldRef, elem: int = 0) -> int:
        return self._scalar("i64", ctypes.c_int64, field, elem)

    def get_f64(self, field: FieldRef, elem: int = 0) -> float:
        return float(self._scalar("f64", ctypes.c_double, field, elem))

    def get_bool(self, field: FieldRef, elem: int = 0) -> bool:
        return bool(self._scalar("bool", ctypes.c_uint8, field, elem))

    def get_bytes(self, field: FieldRef, elem: int = 0) -> bytes:
        """A copy of a string, cstring or bytes field."""
        p, n = c_void_p(), c_size_t()
        if isinstance(field, str):
            b = _enc(field)
            _check(lib.grt_event_get_bytes_by_name(self._p(), elem, b, len(b), byref(p), byref(n)))
        else:
            _check(lib.grt_event_get_bytes(self._p(), elem, field, byref(p), byref(n)))
        return _borrowed(p, n)

    def get_str(self, field: FieldRef, elem: int = 0) -> str:
        return self.get_bytes(field, elem).decode("utf-8", "replace")

    def get_array(self, field: FieldRef, elem: int = 0) -> list:
        """The elements of an array field (``ARRAY_OF | kind``) as a list of bool/int/float."""
        kind = int(self.field_kind(field))
        fmt = _ELEM_FMT.get(kind & ~ARRAY_OF) if kind & ARRAY_OF else None
        if fmt is None:
            raise WrongKindError(ErrorCode.WRONG_KIND, f"field {field!r} is not an array field (kind {kind:#x})")
        raw = self.get_bytes(field, elem)
        size = struct.calcsize("=" + fmt)
        return [v[0] for v in struct.iter_unpack("=" + fmt, raw[: len(raw) - len(raw) % size])]

    def get(self, field: FieldRef, elem: int = 0) -> Any:
        """The value converted by kind: bool, int, float, str (string/cstring), bytes, or a
        list for array fields."""
        kind = self.field_kind(field)
        if not isinstance(kind, Kind):
            return self.get_array(field, elem)
        if kind == Kind.BOOL:
            return self.get_bool(field, elem)
        if kind in _SIGNED:
            return self.get_i64(field, elem)
        if kind in _UNSIGNED:
            return self.get_u64(field, elem)
        if kind in _FLOAT:
            return self.get_f64(field, elem)
        if kind in _TEXT:
            return self.get_str(field, elem)
        if kind == Kind.BYTES:
            return self.get_bytes(field, elem)
        raise WrongKindError(ErrorCode.WRONG_KIND, f"field {field!r} has kind {kind!r}")

    def __getitem__(self, name: FieldRef) -> Any:
        return self.get(name)

    # -- whole-event views ---------------------------------------------------------------

    def to_dict(self, elem: int = 0) -> dict[str, Any]:
        """Record ``elem`` as ``{field name: value}`` (flat, dotted names kept). Container
        fields without a value of their own (kind ``INVALID``, e.g. ``k8s``) are left out."""
        return {
            self.field_name(i): self.get(i, elem)
            for i in range(self.field_count)
            if self.field_kind(i) != Kind.INVALID
        }

    def records(self) -> list[dict[str, Any]]:
        """Every record (one for single events)."""
        return [self.to_dict(i) for i in range(len(self))]

    def json(self) -> str:
        """The event exactly as ``ig run -o json`` prints it (without the newline): dotted
        names nested, keys sorted, bytes as lowercase hex, hidden fields included, array
        events as one JSON array."""
        p = self._p()
        return _read_buffer(lambda b, c, n: lib.grt_event_to_json(p, b, c, n), 1024).decode("utf-8")

    def json_into(self, buf: bytearray) -> int:
        """Writes the event's JSON (as :meth:`json`) into ``buf``, a ``bytearray`` reused from
        event to event, and returns its length: the JSON is ``buf[:n]`` (read it through a
        ``memoryview`` to avoid a copy). ``buf`` grows when too small, so in steady state no
        buffer is allocated per event."""
        p = self._p()
        n = c_size_t(0)
        for _ in range(4):
            if len(buf) == 0:
                buf.extend(bytes(1024))
            cbuf = (ctypes.c_char * len(buf)).from_buffer(buf)
            exc = _take_error(lib.grt_event_to_json(p, cbuf, len(buf), byref(n)))
            del cbuf  # release the export so buf may be resized
            if exc is None:
                return n.value
            if not isinstance(exc, InsufficientSizeError) or n.value <= len(buf):
                raise exc
            buf.extend(bytes(n.value - len(buf)))
        raise InsufficientSizeError(ErrorCode.INSUFFICIENT_SIZE, "buffer kept growing")

    def format(self, mode: "int | str", fields: Optional[str] = None) -> str:
        """The event as ``ig run -o <mode>`` prints it. ``mode`` is one of ``OUTPUT_JSON``,
        ``OUTPUT_JSONPRETTY``, ``OUTPUT_YAML``, ``OUTPUT_COLUMNS`` (or ``"json"``, ...).
        ``fields`` selects columns like ``--fields`` (``"f1,f2"``, ``"+f"``, ``"-f"``;
        ``None``/``""`` = the default columns) and only matters for columns. Unknown
        modes or fields raise ``InvalidArgumentError``."""
        if isinstance(mode, str):
            try:
                mode = _OUTPUT_NAMES[mode]
            except KeyError:
                raise InvalidArgumentError(ErrorCode.INVALID_ARGUMENT, f"unknown output mode {mode!r}") from None
        p = self._p()
        f = _enc(fields) or None  # "" -> NULL, 0: the default columns
        flen = len(f) if f else 0
        return _read_buffer(lambda b, c, n: lib.grt_event_format(p, mode, f, flen, b, c, n), 1024).decode("utf-8")

    def columns_header(self, fields: Optional[str] = None) -> str:
        """The columns header line (no newline) for this event's data source and ``fields``
        (as in :meth:`format`)."""
        p = self._p()
        f = _enc(fields) or None
        flen = len(f) if f else 0
        return _read_buffer(lambda b, c, n: lib.grt_event_columns_header(p, f, flen, b, c, n), 256).decode("utf-8")

    def snapshot(self) -> "EventSnapshot":
        """A copy that outlives the callback."""
        names = self.field_names()
        kinds = [self.field_kind(i) for i in range(len(names))]
        return EventSnapshot(
            datasource=self.datasource,
            is_array=self.is_array,
            fields=list(zip(names, kinds)),
            records=self.records(),
            json_text=self.json(),
        )

    def __repr__(self) -> str:
        if self._ptr is None:
            return "<gadgetrt.Event (expired)>"
        return f"<gadgetrt.Event {self.datasource} len={len(self)}>"


@dataclass
class EventSnapshot:
    """A copied event: safe to keep after the callback returned."""

    datasource: str
    is_array: bool
    fields: list[tuple[str, Kind]]
    records: list[dict[str, Any]]
    json_text: str = field(repr=False, default="")

    def __len__(self) -> int:
        return len(self.records)

    def to_dict(self, elem: int = 0) -> dict[str, Any]:
        return dict(self.records[elem])

    def get(self, name: FieldRef, elem: int = 0) -> Any:
        if isinstance(name, int):
            name = self.fields[name][0]
        try:
            return self.records[elem][name]
        except KeyError:
            raise NotFoundError(ErrorCode.NOT_FOUND, f"field {name!r} not found") from None

    def __getitem__(self, name: FieldRef) -> Any:
        return self.get(name)

    def json(self) -> str:
        return self.json_text


# ---------------------------------------------------------------------------------------
# Packets
# ---------------------------------------------------------------------------------------


class Packet:
    """A packet being built for a host data source (see :meth:`Gadget.new_packet`).

    Owned by one thread at a time; consumed by :meth:`Gadget.emit` or freed by
    :meth:`close`.
    """

    def __init__(self, ptr, datasource: str, fields: dict[str, tuple[int, Kind]]):
        self._ptr = ptr
        self.datasource = datasource
        self._fields = fields

    def _p(self):
        if self._ptr is None:
            raise BadStateError(ErrorCode.ALREADY_USED, "packet already emitted or freed")
        return self._ptr

    def _take(self):
        p = self._p()
        self._ptr = None
        return p

    def close(self) -> None:
        p, self._ptr = self._ptr, None
        if p is not None:
            lib.grt_packet_free(p)

    def __del__(self) -> None:
        try:
            self.close()
        except Exception:  # pragma: no cover
            pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def append(self) -> int:
        """Appends a zeroed element to an array packet; returns its index."""
        out = c_size_t()
        _check(lib.grt_packet_append(self._p(), byref(out)))
        return out.value

    def _field(self, field: FieldRef) -> tuple[int, Kind]:
        if isinstance(field, int):
            for idx, kind in self._fields.values():
                if idx == field:
                    return idx, kind
            return field, Kind.INVALID
        try:
            return self._fields[field]
        except KeyError:
            raise NotFoundError(ErrorCode.NOT_FOUND, f"field {field!r} not in {self.datasource!r}") from None

    def set_u64(self, field: FieldRef, value: int, elem: int = 0) -> None:
        _check(lib.grt_packet_set_u64(self._p(), elem, self._field(field)[0], value))

    def set_i64(self, field: FieldRef, value: int, elem: int = 0) -> None:
        _check(lib.grt_packet_set_i64(self._p(), elem, self._field(field)[0], value))

    def set_f64(self, field: FieldRef, value: float, elem: int = 0) -> None:
        _check(lib.grt_packet_set_f64(self._p(), elem, self._field(field)[0], value))

    def set_bytes(self, field: FieldRef, value: bytes, elem: int = 0) -> None:
        _check(lib.grt_packet_set_bytes(self._p(), elem, self._field(field)[0], value, len(value)))

    def set_string(self, field: FieldRef, value: str, elem: int = 0) -> None:
        b = _enc(value)
        _check(lib.grt_packet_set_string(self._p(), elem, self._field(field)[0], b, len(b)))

    def set(self, field: FieldRef, value: Any, elem: int = 0) -> None:
        """Sets a field, choosing the setter from the value's Python type and field kind."""
        _, kind = self._field(field)
        if isinstance(value, bool):
            self.set_u64(field, int(value), elem)
        elif isinstance(value, int):
            (self.set_i64 if value < 0 else self.set_u64)(field, value, elem)
        elif isinstance(value, float):
            self.set_f64(field, value, elem)
        elif isinstance(value, str):
            if kind == Kind.BYTES or kind == Kind.CSTRING:
                self.set_bytes(field, value.encode(), elem)
            else:
                self.set_string(field, value, elem)
        elif isinstance(value, (bytes, bytearray, memoryview)):
            self.set_bytes(field, bytes(value), elem)
        else:
            raise InvalidArgumentError(ErrorCode.INVALID_ARGUMENT, f"cannot set {type(value).__name__}")

    def update(self, values: dict[str, Any], elem: int = 0) -> "Packet":
        for k, v in values.items():
            self.set(k, v, elem)
        return self


# ---------------------------------------------------------------------------------------
# Gadget
# ---------------------------------------------------------------------------------------


@dataclass
class Stats:
    delivered: int
    dropped_queue_full: int
    guest_traps: int
    dropped_nested: int
    lost_samples: int
    queued: int


@dataclass
class FieldInfo:
    name: str
    index: int
    kind: Kind
    hidden: bool
    parent: Optional[int]
    tags: list[str]


class _DispatchState:
    """Per-gadget state shared with subscriptions (never references the Gadget itself, so
    an unclosed Gadget can still be garbage-collected)."""

    def __init__(self):
        self.poll_lock = threading.Lock()
        self.pending: Optional[BaseException] = None
        self.stopped_by_us = False
        self.dispatched = 0
        self.poll_thread: Optional[int] = None


class Subscription:
    """An embedder subscription; :meth:`unsubscribe` removes it."""

    def __init__(self, gadget: "Gadget", sub_id: int, datasource: str):
        self._gadget = weakref.ref(gadget)
        self.id = sub_id
        self.datasource = datasource
        self._active = True

    def unsubscribe(self) -> None:
        if not self._active:
            return
        self._active = False
        g = self._gadget()
        if g is not None and not g.closed:
            g.unsubscribe(self.id)


class _Sub:
    __slots__ = ("state", "callback")

    def __init__(self, state: _DispatchState, callback: Callable[[Event], Any]):
        self.state = state
        self.callback = callback

    def _dispatch(self, ev_ptr) -> int:
        st = self.state
        if st.pending is not None or st.stopped_by_us:
            return -1
        ev = Event(ev_ptr)
        try:
            self.callback(ev)
            st.dispatched += 1
            return 0
        except StopDispatch:
            st.dispatched += 1
            st.stopped_by_us = True
            return -1
        except BaseException as e:  # never let it unwind into C: re-raised by poll()
            st.pending = e
            st.stopped_by_us = True
            return -1
        finally:
            ev._invalidate()


class Gadget(_Managed):
    """A gadget instance. Create it with :meth:`Runtime.open_path` / :meth:`Runtime.load_path`
    (or the ``*_bytes`` variants). Use as a context manager or call :meth:`close`."""

    def __init__(self, ptr, name: str = ""):
        super().__init__(ptr)
        self.name = name
        self._dispatch = _DispatchState()

    def _free(self, ptr) -> None:
        lib.grt_gadget_free(ptr)

    def _before_deferred_close(self, ptr) -> None:
        # Wake a poll blocked in another thread; it releases the handle when it returns.
        st = self._dispatch
        if not st.poll_lock.locked() or st.poll_thread == threading.get_ident():
            return  # nobody is waiting, or close() was called from inside a callback
        exc = _take_error(lib.grt_gadget_stop(ptr))
        del exc

    # -- lifecycle -----------------------------------------------------------------------

    def init(self) -> None:
        with self._use() as p:
            _check(lib.grt_gadget_init(p))

    def start(self) -> None:
        with self._use() as p:
            _check(lib.grt_gadget_start(p))

    def stop(self) -> None:
        with self._use() as p:
            _check(lib.grt_gadget_stop(p))

    @property
    def state(self) -> State:
        with self._use() as p:
            return State(lib.grt_gadget_state(p))

    # -- params, config, description -----------------------------------------------------

    def set_param(self, key: str, value: str) -> None:
        k, v = _enc(key), _enc(value)
        with self._use() as p:
            _check(lib.grt_gadget_set_param(p, k, len(k), v, len(v)))

    def set_filter(self, expr: str) -> None:
        """IG's ``-F`` rules (param ``filter``): ``field==value,field~regex,field>=n``, ...
        Use ``set_param("filter.<ds>", expr)`` for one data source. Invalid rules make
        :meth:`start` raise ``ParamError``."""
        self.set_param("filter", expr)

    def set_sort(self, spec: str) -> None:
        """IG's ``--sort`` (param ``sort``): ``"f1,-f2"``, for array data sources."""
        self.set_param("sort", spec)

    def set_max_entries(self, n: "int | str") -> None:
        """IG's ``--max-entries`` (param ``max-entries``): an int for every array data
        source, or the string form ``"ds:10,ds2:5"``."""
        self.set_param("max-entries", str(n))

    def get_param(self, key: str) -> str:
        k = _enc(key)
        with self._use() as p:
            return _read_buffer(lambda b, c, n: lib.grt_gadget_get_param(p, k, len(k), b, c, n)).decode()

    def config(self, path: str) -> str:
        """The config value at a dotted path (scalars as text, maps/lists as JSON)."""
        k = _enc(path)
        with self._use() as p:
            return _read_buffer(lambda b, c, n: lib.grt_gadget_get_config(p, k, len(k), b, c, n)).decode()

    def set_mntns_filter(self, ids: Optional[Iterable[int]]) -> None:
        """Keeps only events of these mount namespaces; ``None`` disables filtering."""
        with self._use() as p:
            if ids is None:
                _check(lib.grt_gadget_set_mntns_filter(p, None, 0, 0))
                return
            ids = list(ids)
            arr = (c_uint64 * len(ids))(*ids)
            _check(lib.grt_gadget_set_mntns_filter(p, arr, len(ids), 1))

    def describe(self) -> dict:
        """The gadget description (data sources, fields, params) as a dict."""
        with self._use() as p:
            raw = _read_buffer(lambda b, c, n: lib.grt_gadget_describe_json(p, b, c, n), 4096)
        return _json.loads(raw)

    def datasources(self) -> list[str]:
        with self._use() as p:
            n = c_size_t()
            _check(lib.grt_gadget_datasource_count(p, byref(n)))
            return [
                _read_buffer(lambda b, c, o, i=i: lib.grt_gadget_datasource_name(p, i, b, c, o)).decode()
                for i in range(n.value)
            ]

    def fields(self, datasource: str) -> list[FieldInfo]:
        ds = _enc(datasource)
        out = []
        with self._use() as p:
            n = c_size_t()
            _check(lib.grt_gadget_field_count(p, ds, len(ds), byref(n)))
            for i in range(n.value):
                name = _read_buffer(lambda b, c, o: lib.grt_gadget_field_name(p, ds, len(ds), i, b, c, o)).decode()
                info = _ffi.grt_field_info(size=ctypes.sizeof(_ffi.grt_field_info))
                _check(lib.grt_gadget_field_info(p, ds, len(ds), i, byref(info)))
                tags = _read_buffer(lambda b, c, o: lib.grt_gadget_field_tags(p, ds, len(ds), i, b, c, o)).decode()
                parent = None if info.parent == ctypes.c_size_t(-1).value else info.parent
                out.append(
                    FieldInfo(name, i, _kind(info.kind), bool(info.hidden), parent, [t for t in tags.split("\n") if t])
                )
        return out

    def field_index(self, datasource: str, name: str) -> int:
        ds, nm = _enc(datasource), _enc(name)
        out = c_size_t()
        with self._use() as p:
            _check(lib.grt_gadget_field_index(p, ds, len(ds), nm, len(nm), byref(out)))
        return out.value

    def field_annotation(self, datasource: str, field: FieldRef, key: str) -> str:
        idx = self.field_index(datasource, field) if isinstance(field, str) else field
        ds, k = _enc(datasource), _enc(key)
        with self._use() as p:
            return _read_buffer(
                lambda b, c, o: lib.grt_gadget_field_annotation(p, ds, len(ds), idx, k, len(k), b, c, o)
            ).decode()

    # -- host data sources and packets ---------------------------------------------------

    def add_datasource(self, name: str, type: DataSourceType = DataSourceType.SINGLE) -> None:
        b = _enc(name)
        with self._use() as p:
            _check(lib.grt_gadget_add_datasource(p, b, len(b), int(type)))

    def add_field(self, datasource: str, name: str, kind: Kind, tags: Iterable[str] = ()) -> int:
        """Adds a field to a data source and returns its index."""
        ds, nm = _enc(datasource), _enc(name)
        out = c_size_t()
        with self._use() as p:
            _check(lib.grt_gadget_add_field(p, ds, len(ds), nm, len(nm), int(kind), byref(out)))
        for t in tags:
            self.add_field_tag(datasource, name, t)
        return out.value

    def add_field_tag(self, datasource: str, name: str, tag: str) -> None:
        ds, nm, tg = _enc(datasource), _enc(name), _enc(tag)
        with self._use() as p:
            _check(lib.grt_gadget_add_field_tag(p, ds, len(ds), nm, len(nm), tg, len(tg)))

    def new_packet(self, datasource: str, values: Optional[dict[str, Any]] = None) -> Packet:
        """A new packet for ``datasource``; ``values`` (optional) are set on record 0."""
        fields = {f.name: (f.index, f.kind) for f in self.fields(datasource)}
        ds = _enc(datasource)
        out = POINTER(_ffi.grt_packet)()
        with self._use() as p:
            _check(lib.grt_gadget_new_packet(p, ds, len(ds), byref(out)))
        pkt = Packet(out, datasource, fields)
        if values:
            pkt.update(values)
        return pkt

    def emit(self, packet: Packet) -> None:
        """Emits (and consumes) a packet."""
        with self._use() as p:
            _check(lib.grt_gadget_emit(p, packet._take()))

    # -- subscriptions and dispatch ------------------------------------------------------

    def subscribe(self, datasource: str, callback: Callable[[Event], Any], priority: int = 0) -> Subscription:
        """Calls ``callback(event)`` for each packet of ``datasource``, inside :meth:`poll`.

        An exception in the callback stops dispatching; :meth:`poll` re-raises it (the other
        events stay queued). Raise :class:`StopDispatch` to stop quietly.
        """
        ds = _enc(datasource)
        if not callable(callback):
            raise InvalidArgumentError(ErrorCode.INVALID_ARGUMENT, "callback is not callable")
        out = c_uint64()
        with self._use() as p:
            key = _slab_put(_Sub(self._dispatch, callback))
            # The library owns `key` from here on (also on error) and calls _FREE_FN once.
            _check(lib.grt_gadget_subscribe(p, ds, len(ds), priority, _EVENT_FN, key, _FREE_FN, byref(out)))
        return Subscription(self, out.value, datasource)

    def unsubscribe(self, sub_id: Union[int, Subscription]) -> None:
        if isinstance(sub_id, Subscription):
            sub_id._active = False
            sub_id = sub_id.id
        with self._use() as p:
            _check(lib.grt_gadget_unsubscribe(p, sub_id))

    def _run_dispatch(self, call: Callable[[Any], int]) -> int:
        st = self._dispatch
        if not st.poll_lock.acquire(blocking=False):
            raise BusyError(ErrorCode.BUSY, "another thread is polling this gadget")
        try:
            st.pending, st.stopped_by_us, st.dispatched = None, False, 0
            st.poll_thread = threading.get_ident()
            with self._use() as p:
                n = call(p)
            exc, stopped, count = st.pending, st.stopped_by_us, st.dispatched
            st.pending = None
        finally:
            st.poll_thread = None
            st.poll_lock.release()
        if exc is not None:
            try:
                raise exc
            finally:
                del exc
        if n < 0:
            if stopped:  # our trampoline returned -1 (StopDispatch)
                return count
            raise error_from_code(-n, f"grt_gadget_poll returned {n}")
        return n

    def poll(self, timeout: Optional[float] = None) -> int:
        """Waits up to ``timeout`` seconds (``None``: forever, 0: no wait) for events, then
        dispatches them to the subscribed callables on this thread. Returns the number
        dispatched. Re-raises the first exception raised by a callback."""
        if timeout is None:
            ms = -1
        else:
            ms = max(0, min(int(timeout * 1000), 2**31 - 1))
        return self._run_dispatch(lambda p: lib.grt_gadget_poll(p, ms))

    def consume(self) -> int:
        """Dispatches queued events without waiting; see :meth:`poll`."""
        return self._run_dispatch(lambda p: lib.grt_gadget_consume(p))

    def event_fd(self) -> int:
        """An fd readable while events are queued (owned by the gadget: do not close)."""
        with self._use() as p:
            return lib.grt_gadget_event_fd(p)

    def stats(self) -> Stats:
        s = _ffi.grt_gadget_stats(size=ctypes.sizeof(_ffi.grt_gadget_stats))
        with self._use() as p:
            _check(lib.grt_gadget_get_stats(p, byref(s)))
        return Stats(s.delivered, s.dropped_queue_full, s.guest_traps, s.dropped_nested, s.lost_samples, s.queued)

    def datasource_lost(self, datasource: str) -> int:
        ds = _enc(datasource)
        out = c_uint64()
        with self._use() as p:
            _check(lib.grt_gadget_datasource_lost(p, ds, len(ds), byref(out)))
        return out.value

    def events(
        self,
        timeout: Optional[float] = None,
        datasources: Optional[Iterable[str]] = None,
        priority: int = 2**31 - 1,
        poll_interval: float = 0.1,
    ) -> Iterator[EventSnapshot]:
        """Subscribes now (so call it before :meth:`start`) and returns an iterator of
        copied events from ``datasources`` (default: every data source known now).

        Iteration ends when the gadget has stopped and its queue is empty, when ``timeout``
        seconds pass without an event (``None``: no idle limit), or when the gadget is
        closed. Closing the iterator (or leaving a ``for`` loop early) unsubscribes.
        """
        names = list(datasources) if datasources is not None else self.datasources()
        buf: deque[EventSnapshot] = deque()
        subs = [self.subscribe(ds, lambda ev: buf.append(ev.snapshot()), priority) for ds in names]
        return self._event_iter(buf, subs, timeout, poll_interval)

    def _event_iter(self, buf, subs, timeout, poll_interval):
        import time

        try:
            idle_since = time.monotonic()
            while True:
                while buf:
                    yield buf.popleft()
                    idle_since = time.monotonic()
                if self.closed:
                    return
                wait = poll_interval
                if timeout is not None:
                    left = timeout - (time.monotonic() - idle_since)
                    if left <= 0:
                        return
                    wait = min(wait, left)
                try:
                    self.poll(wait)
                except BadStateError:
                    if self.closed:
                        return
                    raise
                if not buf and self.state in (State.STOPPED, State.FAILED) and self.stats().queued == 0:
                    return
        finally:
            for s in subs:
                try:
                    s.unsubscribe()
                except GadgetError:
                    pass

    def __repr__(self) -> str:
        st = "closed" if self.closed else self.state.name.lower()
        return f"<gadgetrt.Gadget {self.name!r} {st}>"


# ---------------------------------------------------------------------------------------
# Runtime
# ---------------------------------------------------------------------------------------

Logger = Callable[[LogLevel, str, str], None]


class Runtime(_Managed):
    """A gadgetrt runtime (wasm engine + host imports + options).

    Args:
        memory_pages: linear-memory cap per gadget in 64 KiB pages (default 256).
        log_level: most verbose :class:`LogLevel` passed to ``logger`` (default INFO).
        queue_capacity: event queue capacity per gadget (default 65536).
        call_timeout_ms / stop_timeout_ms: guest call deadlines.
        start_deadline_ms / stop_deadline_ms: overall deadlines of start and stop
            (defaults 30 s and 45 s), whatever the guest does.
        disable_cache / cache_dir: compiled-module cache.
        logger: ``logger(level, gadget_name, message)``; may be called from any thread.
            Exceptions it raises are swallowed (stored in ``Runtime.last_log_exception``).
        disable_container_discovery: this runtime's gadgets ignore built-in container
            discovery (Docker) and see only the containers added with :meth:`add_container`.
        min_ring_bytes: smallest size of an eBPF tracer's ring buffer (0: default 4 MiB);
            rings declared smaller are created with this size; 4096 keeps the gadgets' sizes.
    """

    last_log_exception: Optional[BaseException] = None

    def __init__(
        self,
        *,
        memory_pages: int = 0,
        log_level: Optional[LogLevel] = None,
        queue_capacity: int = 0,
        call_timeout_ms: int = 0,
        stop_timeout_ms: int = 0,
        start_deadline_ms: int = 0,
        stop_deadline_ms: int = 0,
        disable_cache: bool = False,
        cache_dir: Optional[str] = None,
        logger: Optional[Logger] = None,
        disable_container_discovery: bool = False,
        min_ring_bytes: int = 0,
    ):
        if log_level is not None and not 1 <= int(log_level) <= 5:
            raise InvalidArgumentError(ErrorCode.INVALID_ARGUMENT, f"invalid log level {log_level}")
        opts = _ffi.grt_runtime_options()
        opts.size = ctypes.sizeof(_ffi.grt_runtime_options)
        opts.memory_pages = memory_pages
        opts.log_level = int(log_level) if log_level is not None else 0
        opts.queue_capacity = queue_capacity
        opts.call_timeout_ms = call_timeout_ms
        opts.stop_timeout_ms = stop_timeout_ms
        opts.start_deadline_ms = start_deadline_ms
        opts.stop_deadline_ms = stop_deadline_ms
        opts.min_ring_bytes = min_ring_bytes
        opts.disable_cache = 1 if disable_cache else 0
        opts.disable_container_discovery = 1 if disable_container_discovery else 0
        cd = _enc(cache_dir)
        if cd is not None:
            opts.cache_dir = cd
            opts.cache_dir_len = len(cd)
        key = 0
        if logger is not None:
            key = _slab_put(logger)
            opts.log_fn = _LOG_FN
            opts.log_userdata = key
            opts.log_userdata_free = _FREE_FN
        out = POINTER(_ffi.grt_runtime)()
        exc = _take_error(lib.grt_runtime_new(byref(opts), byref(out)))
        if exc is not None:
            if key:
                # No runtime exists, so the library will never call the finalizer later;
                # drop our entry if it did not run already.
                _slab_pop(key)
            super().__init__(None)
            self._closed = True
            raise exc
        super().__init__(out)

    def _free(self, ptr) -> None:
        lib.grt_runtime_free(ptr)

    def add_container(
        self,
        id: str,
        *,
        name: str = "",
        runtime: str = "",
        image: str = "",
        image_id: str = "",
        image_digest: str = "",
        pid: int = 0,
        mntns: int = 0,
        netns: int = 0,
        started_at_ns: int = 0,
        k8s_node: str = "",
        k8s_namespace: str = "",
        k8s_pod: str = "",
        k8s_container: str = "",
        k8s_pod_labels: Optional[dict[str, str]] = None,
        k8s_owner_kind: str = "",
        k8s_owner_name: str = "",
    ) -> None:
        """Adds (or replaces, by ``id``) a container for this runtime's gadgets: its events
        carry the ``runtime.*`` and ``k8s.*`` fields, the container selectors
        (``containername``, ``k8s-*``) match it and the ``containers`` data source reports
        it, in running gadgets too. With ``pid``, zero ``mntns``/``netns``/``started_at_ns``
        are read from ``/proc/<pid>``."""
        info = _ffi.grt_container_info()
        info.size = ctypes.sizeof(_ffi.grt_container_info)
        labels = ",".join(f"{k}={v}" for k, v in (k8s_pod_labels or {}).items())
        keep = []
        for field, value in [
            ("id", id),
            ("name", name),
            ("runtime", runtime),
            ("image", image),
            ("image_id", image_id),
            ("image_digest", image_digest),
            ("k8s_node", k8s_node),
            ("k8s_namespace", k8s_namespace),
            ("k8s_pod", k8s_pod),
            ("k8s_container", k8s_container),
            ("k8s_pod_labels", labels),
            ("k8s_owner_kind", k8s_owner_kind),
            ("k8s_owner_name", k8s_owner_name),
        ]:
            b = value.encode()
            keep.append(b)
            if b:
                setattr(info, field, b)
                setattr(info, field + "_len", len(b))
        info.pid = pid
        info.mntns = mntns
        info.netns = netns
        info.started_at_ns = started_at_ns
        with self._use() as p:
            _check(lib.grt_runtime_add_container(p, byref(info)))

    def remove_container(self, id: str) -> None:
        """Removes a container added with :meth:`add_container` (:class:`NotFoundError` if
        there is none with this id)."""
        b = id.encode()
        with self._use() as p:
            _check(lib.grt_runtime_remove_container(p, b, len(b)))

    def _open(self, fn, a: bytes, b: Optional[bytes], name: str) -> Gadget:
        out = POINTER(_ffi.grt_gadget)()
        with self._use() as p:
            _check(fn(p, a, len(a) if a is not None else 0, b, len(b) if b is not None else 0, byref(out)))
        return Gadget(out, name)

    def open_path(self, path: Union[str, PathLike], reference: Optional[str] = None) -> Gadget:
        """Opens a gadget (``.wasm`` file, directory with ``program.wasm`` + ``gadget.yaml``,
        or OCI layout/tar) without running guest code."""
        return self._open(lib.grt_gadget_open_path, _enc(path), _enc(reference), fspath(path))

    def load_path(self, path: Union[str, PathLike], reference: Optional[str] = None) -> Gadget:
        """:meth:`open_path` + :meth:`Gadget.init`."""
        return self._open(lib.grt_gadget_load_path, _enc(path), _enc(reference), fspath(path))

    def _open_ref(self, fn, reference: str, options: Optional["ImageOptions"]) -> Gadget:
        r = _enc(reference) or b""
        out = POINTER(_ffi.grt_gadget)()
        opts, _keep = _image_options(options)
        with self._use() as p:
            _check(fn(p, r, len(r), opts, byref(out)))
        return Gadget(out, reference)

    def open_ref(self, reference: str, options: Optional["ImageOptions"] = None) -> Gadget:
        """Opens a gadget by image reference without running guest code, like ``ig run REF``:
        normalised like IG (``trace_open`` -> ``ghcr.io/inspektor-gadget/gadget/trace_open:latest``),
        taken from the local image store or pulled (``options.pull``), and its signature
        verified unless ``options.verify`` is false (:class:`SignatureError` when missing or
        wrong)."""
        return self._open_ref(lib.grt_gadget_open_ref, reference, options)

    def load_ref(self, reference: str, options: Optional["ImageOptions"] = None) -> Gadget:
        """:meth:`open_ref` + :meth:`Gadget.init`."""
        return self._open_ref(lib.grt_gadget_load_ref, reference, options)

    def open_bytes(self, wasm: bytes, name: str = "") -> Gadget:
        n = _enc(name)
        out = POINTER(_ffi.grt_gadget)()
        with self._use() as p:
            _check(lib.grt_gadget_open_bytes(p, n, len(n), bytes(wasm), len(wasm), byref(out)))
        return Gadget(out, name)

    def load_bytes(self, wasm: bytes, name: str = "") -> Gadget:
        n = _enc(name)
        out = POINTER(_ffi.grt_gadget)()
        with self._use() as p:
            _check(lib.grt_gadget_load_bytes(p, n, len(n), bytes(wasm), len(wasm), byref(out)))
        return Gadget(out, name)


# ---------------------------------------------------------------------------------------
# Images by reference: the local image store and registries
# ---------------------------------------------------------------------------------------

PULL_MISSING = 0
PULL_ALWAYS = 1
PULL_NEVER = 2
_PULL = {"missing": PULL_MISSING, "always": PULL_ALWAYS, "never": PULL_NEVER}


@dataclass
class ImageOptions:
    """Options for images by reference (``grt_image_options``); the defaults are the default
    store, pull when missing and signatures verified with Inspektor Gadget's public key.

    ``pull`` is ``"missing"``, ``"always"`` or ``"never"`` (``ig run --pull``); ``verify=False``
    runs unsigned images (``--verify-image=false``); ``public_keys`` are PEM ECDSA P-256 keys
    that replace IG's key (``--public-keys``); ``auth_file`` a docker-style config (its
    ``credHelpers``/``credsStore`` helpers are run); ``insecure_registries`` are reached over
    plain HTTP (loopback registries always are); ``username``/``password`` take precedence over
    the auth file."""

    store_dir: Optional[Union[str, PathLike]] = None
    pull: str = "missing"
    verify: bool = True
    public_keys: Sequence[str] = ()
    auth_file: Optional[Union[str, PathLike]] = None
    insecure_registries: Sequence[str] = ()
    username: str = ""
    password: str = ""


def _image_options(o: Optional[ImageOptions]):
    """A ``grt_image_options`` pointer for ``o`` (None -> NULL) and the bytes it borrows."""
    if o is None:
        return None, []
    if o.pull not in _PULL:
        raise ValueError(f"pull must be 'missing', 'always' or 'never', not {o.pull!r}")
    c = _ffi.grt_image_options()
    c.size = ctypes.sizeof(_ffi.grt_image_options)
    c.pull_policy = _PULL[o.pull]
    c.disable_verify = 0 if o.verify else 1
    keep = [c]
    for field, value in [
        ("store_dir", _enc(o.store_dir) or b""),
        ("public_keys", "\n".join(o.public_keys).encode()),
        ("auth_file", _enc(o.auth_file) or b""),
        ("insecure_registries", ",".join(o.insecure_registries).encode()),
        ("username", o.username.encode()),
        ("password", o.password.encode()),
    ]:
        keep.append(value)
        if value:
            setattr(c, field, value)
            setattr(c, field + "_len", len(value))
    return byref(c), keep


def pull_image(reference: str, options: Optional[ImageOptions] = None) -> str:
    """Pulls an image (and its signature) into the store, then verifies the signature unless
    ``options.verify`` is false. Returns the image digest (``sha256:...``)."""
    r = _enc(reference) or b""
    opts, _keep = _image_options(options)
    return _read_buffer(lambda buf, cap, n: lib.grt_image_pull(opts, r, len(r), buf, cap, n), 128).decode()


def remove_image(reference: str, options: Optional[ImageOptions] = None) -> None:
    """Removes an image from the store (:class:`NotFoundError` if absent)."""
    r = _enc(reference) or b""
    opts, _keep = _image_options(options)
    _check(lib.grt_image_remove(opts, r, len(r)))


def list_images(options: Optional[ImageOptions] = None) -> list[dict]:
    """The store's images: ``[{"reference", "digest", "created"}]``."""
    opts, _keep = _image_options(options)
    return _json.loads(_read_buffer(lambda buf, cap, n: lib.grt_image_list_json(opts, buf, cap, n), 4096))
