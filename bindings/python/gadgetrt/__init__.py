"""gadgetrt — run Inspektor Gadget-style gadgets (wasm + eBPF) from Python.

A thin ctypes wrapper over ``libgadgetrt.so`` (see ``_ffi.py`` for how the library is
found). Typical use::

    import gadgetrt

    with gadgetrt.Runtime() as rt, rt.load_path("demo.wasm") as g:
        events = g.events(timeout=1.0)   # subscribe before start
        g.start()
        for ev in events:
            print(ev.to_dict())

Event callbacks (:meth:`Gadget.subscribe`) run only inside :meth:`Gadget.poll` /
:meth:`Gadget.consume`, on the calling thread. An exception raised by a callback never
crosses into C: dispatch stops and ``poll`` re-raises it.
"""

from ._core import (
    ARRAY_OF,
    DataSourceType,
    Event,
    EventSnapshot,
    FieldInfo,
    Gadget,
    ImageOptions,
    Kind,
    LogLevel,
    OUTPUT_COLUMNS,
    OUTPUT_JSON,
    OUTPUT_JSONPRETTY,
    OUTPUT_YAML,
    PRIORITY_OUTPUT,
    Packet,
    Runtime,
    State,
    Stats,
    StopDispatch,
    Subscription,
    abi_version,
    gadget_api_version,
    has_feature,
    set_container_discovery_option,
    list_images,
    pull_image,
    remove_image,
    version,
)
from ._ffi import ABI_VERSION, LIB_PATH
from .errors import *  # noqa: F401,F403
from .errors import ErrorCode, GadgetError, error_from_code

__all__ = [
    "ImageOptions",
    "list_images",
    "pull_image",
    "remove_image",
    "ABI_VERSION",
    "ARRAY_OF",
    "LIB_PATH",
    "DataSourceType",
    "ErrorCode",
    "Event",
    "EventSnapshot",
    "FieldInfo",
    "Gadget",
    "GadgetError",
    "Kind",
    "LogLevel",
    "OUTPUT_COLUMNS",
    "OUTPUT_JSON",
    "OUTPUT_JSONPRETTY",
    "OUTPUT_YAML",
    "PRIORITY_OUTPUT",
    "Packet",
    "Runtime",
    "State",
    "Stats",
    "StopDispatch",
    "Subscription",
    "abi_version",
    "error_from_code",
    "gadget_api_version",
    "has_feature",
    "set_container_discovery_option",
    "version",
    "NullParameterError",
    "InvalidArgumentError",
    "InvalidUtf8Error",
    "InsufficientSizeError",
    "NotFoundError",
    "WrongKindError",
    "BadStateError",
    "BusyError",
    "PanicError",
    "AlreadyUsedError",
    "IOError_",
    "WasmLoadError",
    "GuestError",
    "AbiError",
    "ImageError",
    "EbpfError",
    "ParamError",
    "TimeoutError_",
    "UnsupportedError",
    "InternalError",
    "SignatureError",
]

__version__ = "0.1.0"
