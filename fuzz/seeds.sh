#!/usr/bin/env bash
# Regenerates the committed seed corpora in fuzz/corpus/<target>/ from gadgetrt's own tools and
# test inputs: test BPF objects (tests/bpf/build.sh), gadgetrt-pack outputs, the tests'
# gadget.yaml files and a few hand-written ig_imports scripts. Seeds are kept small (< 40 KB).
# Usage: fuzz/seeds.sh [PACK_BINARY]   (default: $CARGO_TARGET_DIR or target, release/gadgetrt-pack)
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
PACK=${1:-${CARGO_TARGET_DIR:-$ROOT/target}/release/gadgetrt-pack}
[ -x "$PACK" ] || { echo "seeds.sh: $PACK missing (cargo build --release)" >&2; exit 1; }
C=$ROOT/fuzz/corpus
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
bash tests/bpf/build.sh "$tmp/bpf" >/dev/null
SMALL="perf_sample perf iter_map raw_tp histogram enum_flags kconfig uprobe_targets prog_array socket_lo"

mkdir -p "$C/ebpf_object" "$C/gadget_yaml" "$C/image_archive" "$C/image_layout" "$C/ig_imports"
for o in $SMALL; do cp "$tmp/bpf/$o.bpf.o" "$C/ebpf_object/$o.bpf.o"; done
# raw BTF (the target parses inputs starting with the BTF magic as BTF only)
llvm-objcopy-19 --dump-section .BTF="$C/ebpf_object/histogram.btf" "$tmp/bpf/histogram.bpf.o" "$tmp/x.o"

for y in tests/gadgets/go/params tests/gadgets/fmtprobe examples/gadgets/trace_open \
         tests/gadgets/rust/guests/containers tests/gadgets/rust/guests/params_config; do
	cp "$y/gadget.yaml" "$C/gadget_yaml/$(basename "$y").yaml"
done

# The smallest valid guest: memory + gadgetAPIVersion.
printf '\0asm\1\0\0\0\1\5\1\x60\0\1\x7e\3\2\1\0\5\3\1\0\1\7\x1d\2\6memory\2\0\x10gadgetAPIVersion\0\0\n\6\1\4\0\x42\1\x0b' > "$tmp/min.wasm"
cp examples/gadgets/trace_open/gadget.yaml "$tmp/gadget.yaml"
"$PACK" --ebpf "$tmp/bpf/histogram.bpf.o" --metadata "$tmp/gadget.yaml" --tag fuzz --created 2024-01-01T00:00:00Z -o "$C/image_archive/ebpf_yaml.tar" >/dev/null
"$PACK" --wasm "$tmp/min.wasm" --created 2024-01-01T00:00:00Z -o "$C/image_archive/wasm_untagged.tar" >/dev/null
"$PACK" --ebpf "$tmp/bpf/perf.bpf.o" --wasm "$tmp/min.wasm" --metadata tests/gadgets/go/params/gadget.yaml --tag ghcr.io/x/y:v1 --created 2024-01-01T00:00:00Z -o "$C/image_archive/full.tar" >/dev/null

# image_layout: index.json, manifest, gadget.yaml, eBPF, wasm separated by "\n--8<--\n".
python3 - "$C/image_layout" "$tmp/bpf/histogram.bpf.o" "$tmp/min.wasm" examples/gadgets/trace_open/gadget.yaml <<'PY'
import sys, json
out, ebpf, wasm, yaml = sys.argv[1], open(sys.argv[2], 'rb').read(), open(sys.argv[3], 'rb').read(), open(sys.argv[4], 'rb').read()
SEP = b"\n--8<--\n"
def index(platform=True, tag="ghcr.io/inspektor-gadget/gadget/fuzz:latest"):
    d = {"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": "@MANIFEST@", "size": "@MANIFEST_SIZE@"}
    if platform: d["platform"] = {"architecture": "amd64", "os": "linux"}
    if tag: d["annotations"] = {"org.opencontainers.image.ref.name": tag}
    return json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json", "manifests": [d]}, indent=1).replace('"@MANIFEST_SIZE@"', '@MANIFEST_SIZE@')
def manifest(layers):
    m = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
         "config": {"mediaType": "application/vnd.gadget.config.v1+yaml", "digest": "@CONFIG@", "size": "@CONFIG_SIZE@"},
         "layers": [{"mediaType": mt, "digest": "@%s@" % k, "size": "@%s_SIZE@" % k} for mt, k in layers],
         "annotations": {"org.opencontainers.image.title": "fuzz", "org.opencontainers.image.description": "seed"}}
    s = json.dumps(m, indent=1)
    for k in ("CONFIG", "EBPF", "WASM"):
        s = s.replace('"@%s_SIZE@"' % k, '@%s_SIZE@' % k)
    return s
EB = ("application/vnd.gadget.ebpf.program.v1+binary", "EBPF")
WA = ("application/vnd.gadget.wasm.program.v1+binary", "WASM")
seeds = {
    "ebpf_wasm": (index(), manifest([EB, WA]), yaml, ebpf, wasm),
    "ebpf_only": (index(tag=None), manifest([EB]), yaml, ebpf, b""),
    "wasm_noplatform": (index(platform=False), manifest([WA]), b"name: fuzz\n", b"", wasm),
}
for name, parts in seeds.items():
    parts = [p if isinstance(p, bytes) else p.encode() for p in parts]
    open(f"{out}/{name}", "wb").write(SEP.join(parts))
PY

# ig_imports scripts: op byte (import index = op % 41; 0x7e copy, 0x7f ends the phase), then
# each argument as a mode byte + payload (see fuzz_targets/ig_imports.rs).
python3 - "$C/ig_imports" <<'PY'
import sys
out = sys.argv[1]
IMP = ["gadgetLog","gadgetShouldLog","newDataSource","getDataSource","dataSourceSubscribe","dataSourceGetField",
"dataSourceAddField","dataSourceNewPacketSingle","dataSourceNewPacketArray","dataSourceEmitAndRelease",
"dataSourceRelease","dataSourceUnreference","dataSourceIsReferenced","dataArrayNew","dataArrayAppend",
"dataArrayRelease","dataArrayLen","dataArrayGet","fieldGetScalar","fieldGetBuffer","fieldSet","fieldAddTag",
"getParamValue","setConfig","newMap","getMap","mapLookup","mapUpdate","mapDelete","mapRelease","releaseHandle",
"getSyscallName","getSyscallID","getSyscallDeclaration","newPerfReader","perfReaderPause","perfReaderResume",
"perfReaderRead","perfReaderClose","kallsymsSymbolExists","shouldDiscardMntnsID"]
def b(v): return bytes([0, v])                    # a byte
def u32(v): return bytes([1]) + v.to_bytes(4, "little")
def slot(i): return bytes([4, i])                 # result of the i-th call of this script (mod 8)
def s(text): return bytes([6, len(text)]) + text  # a string from the script itself
def buf(page, n16): return bytes([3, page, n16])  # scratch buffer at page*256, n16*16 bytes
END = b"\x7f"
def call(name, *args): return bytes([IMP.index(name)]) + b"".join(args)
seeds = {
  "datasource_emit":
    call("newDataSource", s(b"ds"), b(0)) +                    # slot 0
    call("dataSourceAddField", slot(0), s(b"f"), b(4)) +       # slot 1
    call("dataSourceSubscribe", slot(0), b(0), b(1), b(7)) +   # slot 2
    END +
    call("dataSourceNewPacketSingle", slot(0)) +              # slot 3
    call("fieldSet", slot(1), slot(3), b(4), u32(42)) +        # slot 4
    call("dataSourceEmitAndRelease", slot(0), slot(3)) +       # slot 5
    call("gadgetLog", b(3), s(b"hello")) + END +
    call("fieldGetScalar", slot(1), slot(7), b(4), u32(0xF100)) + END,
  "maps_perf":
    call("newMap", s(b"m"), b(1), b(4), b(4), b(16)) +         # slot 0
    call("mapUpdate", slot(0), buf(1, 1), buf(2, 1), b(0)) +
    call("mapLookup", slot(0), buf(1, 1), buf(2, 1)) +
    call("mapDelete", slot(0), buf(1, 1)) + END +
    call("newMap", s(b"p"), b(4), b(4), b(4), b(0)) +          # slot 4
    call("newPerfReader", slot(4), u32(4096), b(0)) +           # slot 5
    call("perfReaderRead", slot(5), buf(3, 16)) +
    call("perfReaderClose", slot(5)) + call("mapRelease", slot(0)) + END,
  "config_syscalls":
    call("setConfig", s(b"a.b"), s(b"v"), b(12)) +
    call("getSyscallID", s(b"openat")) +
    call("getSyscallName", b(2), buf(4, 4)) +
    call("getSyscallDeclaration", s(b"read"), buf(5, 16)) +
    call("kallsymsSymbolExists", s(b"do_sys_openat2")) +
    call("shouldDiscardMntnsID", u32(1)) + END,
  "arrays":
    call("newDataSource", s(b"arr"), b(1)) +                   # slot 0
    call("dataSourceAddField", slot(0), s(b"x"), b(8)) +       # slot 1
    call("dataSourceNewPacketArray", slot(0)) +                # slot 2
    call("dataArrayNew", slot(2)) +                            # slot 3
    call("dataArrayAppend", slot(2), slot(3)) +
    call("dataArrayLen", slot(2)) +
    call("dataArrayGet", slot(2), b(0)) +
    call("dataSourceRelease", slot(0), slot(2)) + END,
}
for k, v in seeds.items():
    open(f"{out}/{k}", "wb").write(v)
PY
du -sh "$C"/*
