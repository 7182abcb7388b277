"""Low-level ctypes bindings for libgadgetrt (one declaration per C function).

Every function of ``include/gadgetrt.h`` is declared in :data:`FUNCTIONS` with its exact
``restype`` and ``argtypes``; ``tests/test_header.py`` parses the header and fails when a
function is missing or its types disagree. Nothing here is public API.

Library lookup order (first hit wins), always by absolute path:

1. ``$GADGETRT_LIB`` — a path to the shared library (or a directory containing it); when set,
   nothing else is tried;
2. the package directory: an installed wheel bundles ``libgadgetrt.so`` next to this file
   (``pip install ./bindings/python`` builds it with cargo, see ``setup.py``);
3. only when running from a source checkout (``<repo>/Cargo.toml`` exists): ``<repo>/target/release``.

No shared or system-wide directory is searched, so an installed package never picks up
another checkout's build.

At import the library's ``grt_abi_version()`` must equal :data:`ABI_VERSION`, otherwise an
``ImportError`` explains what was found.
"""

from __future__ import annotations

import ctypes
import os
from ctypes import (
    CFUNCTYPE,
    POINTER,
    Structure,
    c_char,
    c_char_p,
    c_double,
    c_int32,
    c_int64,
    c_size_t,
    c_uint8,
    c_uint32,
    c_uint64,
    c_void_p,
)
from pathlib import Path

ABI_VERSION = 1
LIB_NAME = "libgadgetrt.so"


# ---------------------------------------------------------------------------------------
# Opaque handle types and repr(C) structs
# ---------------------------------------------------------------------------------------


class grt_error(Structure):
    """Opaque."""


class grt_event(Structure):
    """Opaque."""


class grt_gadget(Structure):
    """Opaque."""


class grt_packet(Structure):
    """Opaque."""


class grt_runtime(Structure):
    """Opaque."""


class grt_field_info(Structure):
    _fields_ = [
        ("size", c_size_t),
        ("kind", c_uint32),
        ("hidden", c_uint32),
        ("parent", c_size_t),
    ]


class grt_gadget_stats(Structure):
    _fields_ = [
        ("size", c_size_t),
        ("delivered", c_uint64),
        ("dropped_queue_full", c_uint64),
        ("guest_traps", c_uint64),
        ("dropped_nested", c_uint64),
        ("lost_samples", c_uint64),
        ("queued", c_uint64),
    ]


class grt_log_params(Structure):
    _fields_ = [
        ("size", c_size_t),
        ("level", c_uint32),
        ("gadget", c_void_p),
        ("gadget_len", c_size_t),
        ("message", c_void_p),
        ("message_len", c_size_t),
    ]


grt_event_fn = CFUNCTYPE(c_int32, c_void_p, POINTER(grt_event))
grt_userdata_free_fn = CFUNCTYPE(None, c_void_p)
grt_log_fn = CFUNCTYPE(None, c_void_p, POINTER(grt_log_params))


class grt_runtime_options(Structure):
    _fields_ = [
        ("size", c_size_t),
        ("memory_pages", c_uint32),
        ("log_level", c_uint32),
        ("queue_capacity", c_uint32),
        ("call_timeout_ms", c_uint32),
        ("stop_timeout_ms", c_uint32),
        ("disable_cache", c_uint32),
        ("cache_dir", c_char_p),
        ("cache_dir_len", c_size_t),
        ("log_fn", grt_log_fn),
        ("log_userdata", c_void_p),
        ("log_userdata_free", grt_userdata_free_fn),
        ("map_bytes", c_uint64),
        ("host_bytes", c_uint64),
        ("queue_bytes", c_uint64),
        ("module_bytes", c_uint64),
        ("map_count", c_uint32),
        ("tables", c_uint32),
        ("table_elements", c_uint32),
        ("module_functions", c_uint32),
        ("compile_timeout_ms", c_uint32),
        ("field_value_bytes", c_uint32),
        ("datasources", c_uint32),
        ("cascade_packets", c_uint32),
        ("disable_container_discovery", c_uint32),
        ("start_deadline_ms", c_uint32),
        ("stop_deadline_ms", c_uint32),
        ("min_ring_bytes", c_uint64),
    ]


class grt_container_info(Structure):
    _fields_ = [
        ("size", c_size_t),
        ("id", c_char_p),
        ("id_len", c_size_t),
        ("name", c_char_p),
        ("name_len", c_size_t),
        ("runtime", c_char_p),
        ("runtime_len", c_size_t),
        ("image", c_char_p),
        ("image_len", c_size_t),
        ("image_id", c_char_p),
        ("image_id_len", c_size_t),
        ("image_digest", c_char_p),
        ("image_digest_len", c_size_t),
        ("pid", c_uint32),
        ("mntns", c_uint64),
        ("netns", c_uint64),
        ("started_at_ns", c_int64),
        ("k8s_node", c_char_p),
        ("k8s_node_len", c_size_t),
        ("k8s_namespace", c_char_p),
        ("k8s_namespace_len", c_size_t),
        ("k8s_pod", c_char_p),
        ("k8s_pod_len", c_size_t),
        ("k8s_container", c_char_p),
        ("k8s_container_len", c_size_t),
        ("k8s_pod_labels", c_char_p),
        ("k8s_pod_labels_len", c_size_t),
        ("k8s_owner_kind", c_char_p),
        ("k8s_owner_kind_len", c_size_t),
        ("k8s_owner_name", c_char_p),
        ("k8s_owner_name_len", c_size_t),
    ]


class grt_image_options(Structure):
    _fields_ = [
        ("size", c_size_t),
        ("store_dir", c_char_p),
        ("store_dir_len", c_size_t),
        ("pull_policy", c_uint32),
        ("disable_verify", c_uint32),
        ("public_keys", c_char_p),
        ("public_keys_len", c_size_t),
        ("auth_file", c_char_p),
        ("auth_file_len", c_size_t),
        ("insecure_registries", c_char_p),
        ("insecure_registries_len", c_size_t),
        ("username", c_char_p),
        ("username_len", c_size_t),
        ("password", c_char_p),
        ("password_len", c_size_t),
    ]


# ---------------------------------------------------------------------------------------
# Function table: name -> (restype, argtypes)
# ---------------------------------------------------------------------------------------
#
# C type -> ctypes conventions (the header test uses the same table):
#   const char *         -> c_char_p        (ptr+len text input, or NUL-terminated return)
#   char *               -> POINTER(c_char) (caller buffer)
#   const uint8_t *      -> c_char_p        (ptr+len byte input)
#   const char ** / const uint8_t ** -> POINTER(c_void_p) (borrowed output pointer)
#   const struct grt_x * / struct grt_x * -> POINTER(grt_x)

_P = POINTER
_err = _P(grt_error)
_ev = _P(grt_event)
_g = _P(grt_gadget)
_rt = _P(grt_runtime)
_pkt = _P(grt_packet)

FUNCTIONS: dict[str, tuple[object, list[object]]] = {
    # library
    "grt_version": (c_char_p, []),
    "grt_abi_version": (c_uint32, []),
    "grt_gadget_api_version": (c_uint32, []),
    "grt_has_feature": (c_int32, [c_char_p, c_size_t]),
    # errors
    "grt_error_code": (c_uint32, [_err]),
    "grt_error_message": (c_char_p, [_err]),
    "grt_error_free": (None, [_err]),
    "grt_error_code_name": (c_char_p, [c_uint32]),
    # events
    "grt_event_datasource": (_err, [_ev, _P(c_void_p), _P(c_size_t)]),
    "grt_event_len": (c_size_t, [_ev]),
    "grt_event_is_array": (c_int32, [_ev]),
    "grt_event_field_count": (c_size_t, [_ev]),
    "grt_event_field_index": (_err, [_ev, c_char_p, c_size_t, _P(c_size_t)]),
    "grt_event_field_name": (_err, [_ev, c_size_t, _P(c_void_p), _P(c_size_t)]),
    "grt_event_field_kind": (c_uint32, [_ev, c_size_t]),
    "grt_event_get_bytes": (_err, [_ev, c_size_t, c_size_t, _P(c_void_p), _P(c_size_t)]),
    "grt_event_get_bytes_by_name": (
        _err,
        [_ev, c_size_t, c_char_p, c_size_t, _P(c_void_p), _P(c_size_t)],
    ),
    "grt_event_to_json": (_err, [_ev, _P(c_char), c_size_t, _P(c_size_t)]),
    "grt_event_format": (
        _err,
        [_ev, c_uint32, c_char_p, c_size_t, _P(c_char), c_size_t, _P(c_size_t)],
    ),
    "grt_event_columns_header": (
        _err,
        [_ev, c_char_p, c_size_t, _P(c_char), c_size_t, _P(c_size_t)],
    ),
    # gadgets: open/load/lifecycle
    "grt_gadget_open_path": (_err, [_rt, c_char_p, c_size_t, c_char_p, c_size_t, _P(_g)]),
    "grt_gadget_load_path": (_err, [_rt, c_char_p, c_size_t, c_char_p, c_size_t, _P(_g)]),
    "grt_gadget_open_bytes": (_err, [_rt, c_char_p, c_size_t, c_char_p, c_size_t, _P(_g)]),
    "grt_gadget_load_bytes": (_err, [_rt, c_char_p, c_size_t, c_char_p, c_size_t, _P(_g)]),
    "grt_gadget_init": (_err, [_g]),
    "grt_gadget_start": (_err, [_g]),
    "grt_gadget_stop": (_err, [_g]),
    "grt_gadget_free": (None, [_g]),
    "grt_gadget_ref": (_g, [_g]),
    "grt_gadget_state": (c_uint32, [_g]),
    # params, config, filter, description
    "grt_gadget_set_param": (_err, [_g, c_char_p, c_size_t, c_char_p, c_size_t]),
    "grt_gadget_get_param": (
        _err,
        [_g, c_char_p, c_size_t, _P(c_char), c_size_t, _P(c_size_t)],
    ),
    "grt_gadget_get_config": (
        _err,
        [_g, c_char_p, c_size_t, _P(c_char), c_size_t, _P(c_size_t)],
    ),
    "grt_gadget_set_mntns_filter": (_err, [_g, _P(c_uint64), c_size_t, c_uint32]),
    "grt_gadget_describe_json": (_err, [_g, _P(c_char), c_size_t, _P(c_size_t)]),
    # schema
    "grt_gadget_datasource_count": (_err, [_g, _P(c_size_t)]),
    "grt_gadget_datasource_name": (_err, [_g, c_size_t, _P(c_char), c_size_t, _P(c_size_t)]),
    "grt_gadget_field_count": (_err, [_g, c_char_p, c_size_t, _P(c_size_t)]),
    "grt_gadget_field_index": (_err, [_g, c_char_p, c_size_t, c_char_p, c_size_t, _P(c_size_t)]),
    "grt_gadget_field_name": (
        _err,
        [_g, c_char_p, c_size_t, c_size_t, _P(c_char), c_size_t, _P(c_size_t)],
    ),
    "grt_gadget_field_info": (_err, [_g, c_char_p, c_size_t, c_size_t, _P(grt_field_info)]),
    "grt_gadget_field_tags": (
        _err,
        [_g, c_char_p, c_size_t, c_size_t, _P(c_char), c_size_t, _P(c_size_t)],
    ),
    "grt_gadget_field_annotation": (
        _err,
        [_g, c_char_p, c_size_t, c_size_t, c_char_p, c_size_t, _P(c_char), c_size_t, _P(c_size_t)],
    ),
    # host data sources
    "grt_gadget_add_datasource": (_err, [_g, c_char_p, c_size_t, c_uint32]),
    "grt_gadget_add_field": (
        _err,
        [_g, c_char_p, c_size_t, c_char_p, c_size_t, c_uint32, _P(c_size_t)],
    ),
    "grt_gadget_add_field_tag": (
        _err,
        [_g, c_char_p, c_size_t, c_char_p, c_size_t, c_char_p, c_size_t],
    ),
    # subscriptions and dispatch
    "grt_gadget_subscribe": (
        _err,
        [_g, c_char_p, c_size_t, c_int32, grt_event_fn, c_void_p, grt_userdata_free_fn, _P(c_uint64)],
    ),
    "grt_gadget_unsubscribe": (_err, [_g, c_uint64]),
    "grt_gadget_poll": (c_int64, [_g, c_int32]),
    "grt_gadget_consume": (c_int64, [_g]),
    "grt_gadget_event_fd": (c_int32, [_g]),
    "grt_gadget_get_stats": (_err, [_g, _P(grt_gadget_stats)]),
    "grt_gadget_datasource_lost": (_err, [_g, c_char_p, c_size_t, _P(c_uint64)]),
    # packets
    "grt_gadget_new_packet": (_err, [_g, c_char_p, c_size_t, _P(_pkt)]),
    "grt_gadget_emit": (_err, [_g, _pkt]),
    "grt_packet_free": (None, [_pkt]),
    "grt_packet_append": (_err, [_pkt, _P(c_size_t)]),
    "grt_packet_set_u64": (_err, [_pkt, c_size_t, c_size_t, c_uint64]),
    "grt_packet_set_i64": (_err, [_pkt, c_size_t, c_size_t, c_int64]),
    "grt_packet_set_f64": (_err, [_pkt, c_size_t, c_size_t, c_double]),
    "grt_packet_set_bytes": (_err, [_pkt, c_size_t, c_size_t, c_char_p, c_size_t]),
    "grt_packet_set_string": (_err, [_pkt, c_size_t, c_size_t, c_char_p, c_size_t]),
    # runtime
    "grt_runtime_new": (_err, [_P(grt_runtime_options), _P(_rt)]),
    "grt_runtime_free": (None, [_rt]),
    "grt_runtime_ref": (_rt, [_rt]),
    "grt_runtime_add_container": (_err, [_rt, _P(grt_container_info)]),
    "grt_runtime_remove_container": (_err, [_rt, c_char_p, c_size_t]),
    "grt_set_container_discovery_option": (_err, [c_char_p, c_size_t, c_char_p, c_size_t]),
    # images by reference
    "grt_gadget_open_ref": (_err, [_rt, c_char_p, c_size_t, _P(grt_image_options), _P(_g)]),
    "grt_gadget_load_ref": (_err, [_rt, c_char_p, c_size_t, _P(grt_image_options), _P(_g)]),
    "grt_image_pull": (
        _err,
        [_P(grt_image_options), c_char_p, c_size_t, _P(c_char), c_size_t, _P(c_size_t)],
    ),
    "grt_image_remove": (_err, [_P(grt_image_options), c_char_p, c_size_t]),
    "grt_image_list_json": (_err, [_P(grt_image_options), _P(c_char), c_size_t, _P(c_size_t)]),
    # typed event getters
    "grt_event_get_u64": (_err, [_ev, c_size_t, c_size_t, _P(c_uint64)]),
    "grt_event_get_u64_by_name": (_err, [_ev, c_size_t, c_char_p, c_size_t, _P(c_uint64)]),
    "grt_event_get_i64": (_err, [_ev, c_size_t, c_size_t, _P(c_int64)]),
    "grt_event_get_i64_by_name": (_err, [_ev, c_size_t, c_char_p, c_size_t, _P(c_int64)]),
    "grt_event_get_f64": (_err, [_ev, c_size_t, c_size_t, _P(c_double)]),
    "grt_event_get_f64_by_name": (_err, [_ev, c_size_t, c_char_p, c_size_t, _P(c_double)]),
    "grt_event_get_bool": (_err, [_ev, c_size_t, c_size_t, _P(c_uint8)]),
    "grt_event_get_bool_by_name": (_err, [_ev, c_size_t, c_char_p, c_size_t, _P(c_uint8)]),
}

# Functions the library exports beyond the header (none today; kept for forward compatibility).
EXTRA_FUNCTIONS: dict[str, tuple[object, list[object]]] = {}


# ---------------------------------------------------------------------------------------
# Loading
# ---------------------------------------------------------------------------------------


def _candidates() -> list[Path]:
    out: list[Path] = []
    env = os.environ.get("GADGETRT_LIB")
    if env:
        p = Path(env)
        out.append(p / LIB_NAME if p.is_dir() else p)
        return out  # an explicit override is authoritative
    here = Path(__file__).resolve().parent
    out.append(here / LIB_NAME)
    # <repo>/bindings/python/gadgetrt/_ffi.py -> <repo>/target/release (uninstalled use)
    repo = here.parent.parent.parent
    if (repo / "Cargo.toml").is_file():
        out.append(repo / "target" / "release" / LIB_NAME)
    return out


def _load() -> tuple[ctypes.CDLL, Path]:
    tried = []
    for cand in _candidates():
        if not cand.is_file():
            tried.append(f"{cand} (missing)")
            continue
        try:
            return ctypes.CDLL(str(cand)), cand
        except OSError as e:  # pragma: no cover - depends on the machine
            tried.append(f"{cand} ({e})")
    raise ImportError(
        "gadgetrt: cannot find libgadgetrt.so; install the package from a wheel that bundles it "
        "(pip install ./bindings/python) or set GADGETRT_LIB=/path/to/libgadgetrt.so. Tried: "
        + "; ".join(tried)
    )


def _declare(lib: ctypes.CDLL) -> set[str]:
    for name, (res, args) in FUNCTIONS.items():
        try:
            fn = getattr(lib, name)
        except AttributeError as e:
            raise ImportError(f"gadgetrt: {LIB_PATH} does not export {name} (stale library?)") from e
        fn.restype = res
        fn.argtypes = args
    extras = set()
    for name, (res, args) in EXTRA_FUNCTIONS.items():
        fn = getattr(lib, name, None)
        if fn is None:
            continue
        fn.restype = res
        fn.argtypes = args
        extras.add(name)
    return extras


lib, LIB_PATH = _load()

try:
    lib.grt_abi_version.restype = c_uint32
    lib.grt_abi_version.argtypes = []
    _abi = lib.grt_abi_version()
except AttributeError as e:  # pragma: no cover
    raise ImportError(f"gadgetrt: {LIB_PATH} has no grt_abi_version(); not a gadgetrt library") from e
if _abi != ABI_VERSION:
    raise ImportError(
        f"gadgetrt: {LIB_PATH} implements C ABI version {_abi}, but this package needs version "
        f"{ABI_VERSION}; install a matching libgadgetrt.so or point GADGETRT_LIB at one"
    )

_declare(lib)
HAVE_TYPED_GETTERS: bool = True
