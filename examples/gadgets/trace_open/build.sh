#!/usr/bin/env bash
# Builds the trace_open example gadget into OUT_DIR (default examples/gadgets/out):
# program.bpf.o (clang-19, CO-RE), program.wasm (Go, wasip1) and trace_open.tar, an OCI image
# packed with gadgetrt-pack (run `cargo build --release` first).
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../../.." && pwd)"
OUT="${1:-$ROOT/examples/gadgets/out}"
mkdir -p "$OUT"
OUT="$(cd "$OUT" && pwd)"
TARGET=$(cd "$ROOT" && cargo metadata --format-version 1 --no-deps | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')
GO_BIN="$(command -v go || echo /usr/local/go/bin/go)"

[ -f "$OUT/vmlinux.h" ] || bpftool btf dump file /sys/kernel/btf/vmlinux format c > "$OUT/vmlinux.h"
clang-19 -target bpf -Wall -g -O2 -D__TARGET_ARCH_x86 -I"$OUT" -I"$ROOT/tests/bpf" \
  -c "$HERE/program.bpf.c" -o "$OUT/program.bpf.o"
llvm-strip-19 -g "$OUT/program.bpf.o"
(cd "$HERE/wasm" && GOOS=wasip1 GOARCH=wasm CGO_ENABLED=0 "$GO_BIN" build -buildmode=c-shared \
  -ldflags "-w -s" -o "$OUT/program.wasm" .)
"$TARGET/release/gadgetrt-pack" --ebpf "$OUT/program.bpf.o" --wasm "$OUT/program.wasm" \
  --metadata "$HERE/gadget.yaml" --tag trace_open:latest -o "$OUT/trace_open.tar"
echo "built $OUT/trace_open.tar"
