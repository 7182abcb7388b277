#!/usr/bin/env python3
"""Check that wasm gadget modules fit the `ig` ABI (shared/spec/wasm-abi.md, sections 0 and 2).

Usage: check_wasm.py [-v] [--lifecycle gadgetInit,gadgetStart] FILE.wasm...

For each module it checks:
  - every import comes from `ig` or `wasi_snapshot_preview1`, names a known function and
    has exactly the spec (or WASI preview1) signature; no memory/table/global imports;
  - it exports `memory` (at most 256 initial pages), `gadgetAPIVersion` () -> i64,
    `dataSourceCallback` (i64, i32, i32) -> (), `_initialize` () -> () if present,
    no `_start`, and every present lifecycle export (gadgetInit, gadgetPreStart,
    gadgetStart, gadgetStop, gadgetPostStop) is () -> i32;
  - with --lifecycle, the lifecycle exports are exactly the listed ones.
Prints a short summary per file; exits 1 if any check fails, 2 on a parse error.
Standard library only.
"""

import argparse
import sys

I32, I64, F32, F64 = 0x7F, 0x7E, 0x7D, 0x7C
VALTYPES = {I32: "i32", I64: "i64", F32: "f32", F64: "f64", 0x7B: "v128", 0x70: "funcref", 0x6F: "externref"}


def sig(params, results):
    return (tuple(params), tuple(results))


i, l = I32, I64  # short names for the tables below

# Section 0 of the spec: the 41 `ig` imports.
IG = {
    "gadgetLog": sig([i, l], []),
    "gadgetShouldLog": sig([i], [i]),
    "newDataSource": sig([l, i], [i]),
    "getDataSource": sig([l], [i]),
    "dataSourceSubscribe": sig([i, i, i, l], [i]),
    "dataSourceGetField": sig([i, l], [i]),
    "dataSourceAddField": sig([i, l, i], [i]),
    "dataSourceNewPacketSingle": sig([i], [i]),
    "dataSourceNewPacketArray": sig([i], [i]),
    "dataSourceEmitAndRelease": sig([i, i], [i]),
    "dataSourceRelease": sig([i, i], [i]),
    "dataSourceUnreference": sig([i], [i]),
    "dataSourceIsReferenced": sig([i], [i]),
    "dataArrayNew": sig([i], [i]),
    "dataArrayAppend": sig([i, i], [i]),
    "dataArrayRelease": sig([i, i], [i]),
    "dataArrayLen": sig([i], [i]),
    "dataArrayGet": sig([i, i], [i]),
    "fieldGetScalar": sig([i, i, i, i], [l]),
    "fieldGetBuffer": sig([i, i, i, l], [i]),
    "fieldSet": sig([i, i, i, l], [i]),
    "fieldAddTag": sig([i, l], [i]),
    "getParamValue": sig([l, l], [i]),
    "setConfig": sig([l, l, i], [i]),
    "newMap": sig([l, i, i, i, i], [i]),
    "getMap": sig([l], [i]),
    "mapLookup": sig([i, l, l], [i]),
    "mapUpdate": sig([i, l, l, l], [i]),
    "mapDelete": sig([i, l], [i]),
    "mapRelease": sig([i], [i]),
    "releaseHandle": sig([i], [i]),
    "getSyscallName": sig([i, l], [i]),
    "getSyscallID": sig([l], [i]),
    "getSyscallDeclaration": sig([l, l], [i]),
    "newPerfReader": sig([i, i, i], [i]),
    "perfReaderPause": sig([i], [i]),
    "perfReaderResume": sig([i], [i]),
    "perfReaderRead": sig([i, l], [i]),
    "perfReaderClose": sig([i], [i]),
    "kallsymsSymbolExists": sig([l], [i]),
    "shouldDiscardMntnsID": sig([l], [i]),
}
assert len(IG) == 41

# WASI preview1 (wasi_snapshot_preview1), from the witx definitions.
WASI = {
    "args_get": sig([i, i], [i]),
    "args_sizes_get": sig([i, i], [i]),
    "environ_get": sig([i, i], [i]),
    "environ_sizes_get": sig([i, i], [i]),
    "clock_res_get": sig([i, i], [i]),
    "clock_time_get": sig([i, l, i], [i]),
    "fd_advise": sig([i, l, l, i], [i]),
    "fd_allocate": sig([i, l, l], [i]),
    "fd_close": sig([i], [i]),
    "fd_datasync": sig([i], [i]),
    "fd_fdstat_get": sig([i, i], [i]),
    "fd_fdstat_set_flags": sig([i, i], [i]),
    "fd_fdstat_set_rights": sig([i, l, l], [i]),
    "fd_filestat_get": sig([i, i], [i]),
    "fd_filestat_set_size": sig([i, l], [i]),
    "fd_filestat_set_times": sig([i, l, l, i], [i]),
    "fd_pread": sig([i, i, i, l, i], [i]),
    "fd_prestat_get": sig([i, i], [i]),
    "fd_prestat_dir_name": sig([i, i, i], [i]),
    "fd_pwrite": sig([i, i, i, l, i], [i]),
    "fd_read": sig([i, i, i, i], [i]),
    "fd_readdir": sig([i, i, i, l, i], [i]),
    "fd_renumber": sig([i, i], [i]),
    "fd_seek": sig([i, l, i, i], [i]),
    "fd_sync": sig([i], [i]),
    "fd_tell": sig([i, i], [i]),
    "fd_write": sig([i, i, i, i], [i]),
    "path_create_directory": sig([i, i, i], [i]),
    "path_filestat_get": sig([i, i, i, i, i], [i]),
    "path_filestat_set_times": sig([i, i, i, i, l, l, i], [i]),
    "path_link": sig([i, i, i, i, i, i, i], [i]),
    "path_open": sig([i, i, i, i, i, l, l, i, i], [i]),
    "path_readlink": sig([i, i, i, i, i, i], [i]),
    "path_remove_directory": sig([i, i, i], [i]),
    "path_rename": sig([i, i, i, i, i, i], [i]),
    "path_symlink": sig([i, i, i, i, i], [i]),
    "path_unlink_file": sig([i, i, i], [i]),
    "poll_oneoff": sig([i, i, i, i], [i]),
    "proc_exit": sig([i], []),
    "proc_raise": sig([i], [i]),
    "sched_yield": sig([], [i]),
    "random_get": sig([i, i], [i]),
    "sock_accept": sig([i, i, i], [i]),
    "sock_recv": sig([i, i, i, i, i, i], [i]),
    "sock_send": sig([i, i, i, i, i], [i]),
    "sock_shutdown": sig([i, i], [i]),
}

MODULES = {"ig": IG, "wasi_snapshot_preview1": WASI}

REQUIRED_EXPORTS = {
    "gadgetAPIVersion": sig([], [l]),
    "dataSourceCallback": sig([l, i, i], []),
}
LIFECYCLE = ["gadgetInit", "gadgetPreStart", "gadgetStart", "gadgetStop", "gadgetPostStop"]
MAX_PAGES = 256


class ParseError(Exception):
    pass


class Reader:
    def __init__(self, data, pos=0, end=None):
        self.data = data
        self.pos = pos
        self.end = len(data) if end is None else end

    def byte(self):
        if self.pos >= self.end:
            raise ParseError("unexpected end of data at offset %d" % self.pos)
        b = self.data[self.pos]
        self.pos += 1
        return b

    def uleb(self):
        result = shift = 0
        while True:
            b = self.byte()
            result |= (b & 0x7F) << shift
            shift += 7
            if not b & 0x80:
                return result
            if shift > 35:
                raise ParseError("LEB128 too long at offset %d" % self.pos)

    def bytes(self, n):
        if self.pos + n > self.end:
            raise ParseError("unexpected end of data at offset %d" % self.pos)
        b = self.data[self.pos:self.pos + n]
        self.pos += n
        return b

    def name(self):
        return self.bytes(self.uleb()).decode("utf-8")

    def limits(self):
        flags = self.uleb()
        mn = self.uleb()
        mx = self.uleb() if flags & 1 else None
        return mn, mx


def fmt_sig(s):
    p, r = s
    return "(%s) -> (%s)" % (", ".join(VALTYPES.get(t, hex(t)) for t in p), ", ".join(VALTYPES.get(t, hex(t)) for t in r))


def parse(data):
    if data[:4] != b"\0asm":
        raise ParseError("not a wasm module (bad magic)")
    if data[4:8] != b"\x01\0\0\0":
        raise ParseError("unsupported wasm version")
    r = Reader(data, 8)
    types, imports, funcs, memories, exports = [], [], [], [], []
    while r.pos < r.end:
        sid = r.byte()
        size = r.uleb()
        s = Reader(data, r.pos, r.pos + size)
        r.pos += size
        if sid == 1:  # type
            for _ in range(s.uleb()):
                form = s.byte()
                if form != 0x60:
                    raise ParseError("unsupported type form 0x%x" % form)
                params = [s.byte() for _ in range(s.uleb())]
                results = [s.byte() for _ in range(s.uleb())]
                types.append(sig(params, results))
        elif sid == 2:  # import
            for _ in range(s.uleb()):
                mod, name, kind = s.name(), s.name(), s.byte()
                if kind == 0:
                    desc = s.uleb()
                elif kind == 1:
                    s.byte()
                    desc = s.limits()
                elif kind == 2:
                    desc = s.limits()
                elif kind == 3:
                    desc = (s.byte(), s.byte())
                else:
                    raise ParseError("bad import kind %d" % kind)
                imports.append((mod, name, kind, desc))
        elif sid == 3:  # function
            funcs = [s.uleb() for _ in range(s.uleb())]
        elif sid == 5:  # memory
            memories = [s.limits() for _ in range(s.uleb())]
        elif sid == 7:  # export
            for _ in range(s.uleb()):
                exports.append((s.name(), s.byte(), s.uleb()))
    return types, imports, funcs, memories, exports


def check(path, lifecycle, verbose):
    with open(path, "rb") as f:
        data = f.read()
    types, imports, funcs, memories, exports = parse(data)
    errors = []

    func_types = []  # function index space: imports first
    for mod, name, kind, desc in imports:
        if kind != 0:
            errors.append("import %s.%s: not a function (kind %d)" % (mod, name, kind))
            continue
        s = types[desc]
        func_types.append(s)
        table = MODULES.get(mod)
        if table is None:
            errors.append("import %s.%s: module %r not allowed" % (mod, name, mod))
        elif name not in table:
            errors.append("import %s.%s: unknown function" % (mod, name))
        elif table[name] != s:
            errors.append("import %s.%s: signature %s, expected %s" % (mod, name, fmt_sig(s), fmt_sig(table[name])))
    func_types.extend(types[t] for t in funcs)

    exp = {}
    for name, kind, idx in exports:
        exp[name] = (kind, idx)

    def export_sig(name):
        kind, idx = exp[name]
        if kind != 0:
            return None
        return func_types[idx]

    # memory
    if "memory" not in exp or exp["memory"][0] != 2:
        errors.append("no memory export named `memory`")
    elif memories:
        mn, mx = memories[exp["memory"][1]] if exp["memory"][1] < len(memories) else memories[0]
        if mn > MAX_PAGES:
            errors.append("memory: %d initial pages > %d" % (mn, MAX_PAGES))

    for name, want in REQUIRED_EXPORTS.items():
        if name not in exp:
            errors.append("missing export %s" % name)
        elif export_sig(name) != want:
            errors.append("export %s: signature %s, expected %s" % (name, fmt_sig(export_sig(name)) if export_sig(name) else "not a function", fmt_sig(want)))
    if "_initialize" in exp and export_sig("_initialize") != sig([], []):
        errors.append("export _initialize: not () -> ()")
    if "_start" in exp:
        errors.append("exports _start (a command module, not a reactor)")
    present = [n for n in LIFECYCLE if n in exp]
    for n in present:
        if export_sig(n) != sig([], [I32]):
            errors.append("export %s: signature %s, expected () -> (i32)" % (n, fmt_sig(export_sig(n)) if export_sig(n) else "not a function"))
    if lifecycle is not None and sorted(present) != sorted(lifecycle):
        errors.append("lifecycle exports %s, expected %s" % (present, lifecycle))

    ig_used = [n for m, n, _, _ in imports if m == "ig"]
    wasi_used = [n for m, n, _, _ in imports if m == "wasi_snapshot_preview1"]
    mem = "%d pages" % memories[0][0] if memories else "imported/none"
    print("%s: %s" % (path, "OK" if not errors else "FAILED"))
    print("  exports: %s" % ", ".join(n for n, _, _ in exports))
    print("  lifecycle: %s; _initialize: %s; memory: %s" % (", ".join(present) or "none", "yes" if "_initialize" in exp else "no", mem))
    print("  ig imports (%d): %s" % (len(ig_used), ", ".join(ig_used)))
    print("  wasi imports (%d): %s" % (len(wasi_used), ", ".join(wasi_used)))
    if verbose:
        for mod, name, kind, desc in imports:
            if kind == 0:
                print("    %s.%s %s" % (mod, name, fmt_sig(types[desc])))
    for e in errors:
        print("  error: %s" % e)
    return not errors


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("-v", "--verbose", action="store_true", help="print every import signature")
    ap.add_argument("--lifecycle", help="comma-separated lifecycle exports that must be exactly present")
    ap.add_argument("files", nargs="+")
    a = ap.parse_args()
    lifecycle = None if a.lifecycle is None else [x for x in a.lifecycle.split(",") if x]
    ok = True
    for f in a.files:
        try:
            ok = check(f, lifecycle, a.verbose) and ok
        except (ParseError, OSError, UnicodeDecodeError, IndexError) as e:
            print("%s: parse error: %s" % (f, e))
            return 2
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
