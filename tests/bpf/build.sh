#!/usr/bin/env bash
# Build gadgetrt's test eBPF objects: build.sh OUTDIR
# Needs clang-19, llvm-strip-19, bpftool and libbpf-dev (bpf/bpf_helpers.h).
# vmlinux.h is generated from the running kernel's BTF into OUTDIR (not kept
# in the repository). Idempotent: objects are rebuilt only when older than
# their sources.
set -euo pipefail

if [ $# -ne 1 ]; then
	echo "usage: $0 OUTDIR" >&2
	exit 2
fi
SRC="$(cd "$(dirname "$0")" && pwd)"
OUT="$1"
mkdir -p "$OUT"
OUT="$(cd "$OUT" && pwd)"

CLANG="${CLANG:-clang-19}"
STRIP="${LLVM_STRIP:-llvm-strip-19}"
BPFTOOL="${BPFTOOL:-bpftool}"
for t in "$CLANG" "$STRIP" "$BPFTOOL"; do
	command -v "$t" >/dev/null 2>&1 || { echo "build.sh: $t not found" >&2; exit 1; }
done
[ -f /usr/include/bpf/bpf_helpers.h ] || { echo "build.sh: libbpf-dev headers missing" >&2; exit 1; }

case "$(uname -m)" in
	x86_64) ARCH=x86 ;;
	aarch64) ARCH=arm64 ;;
	*) echo "build.sh: unsupported arch $(uname -m)" >&2; exit 1 ;;
esac

if [ ! -s "$OUT/vmlinux.h" ]; then
	"$BPFTOOL" btf dump file /sys/kernel/btf/vmlinux format c > "$OUT/vmlinux.h.tmp"
	mv "$OUT/vmlinux.h.tmp" "$OUT/vmlinux.h"
fi

INCS=(-I"$OUT" -I"$SRC" -I/usr/include/"$(uname -m)"-linux-gnu)
for src in "$SRC"/*.bpf.c; do
	name="$(basename "$src" .bpf.c)"
	obj="$OUT/$name.bpf.o"
	if [ -f "$obj" ] && [ "$obj" -nt "$src" ] && [ "$obj" -nt "$SRC/gadget.h" ]; then
		continue
	fi
	"$CLANG" -target bpf -Wall -g -O2 -D__TARGET_ARCH_"$ARCH" "${INCS[@]}" \
		-c "$src" -o "$obj.tmp"
	"$STRIP" -g "$obj.tmp"
	mv "$obj.tmp" "$obj"
done
# Test gadgets written against IG's header names (<gadget/buffer.h>, ...):
# built with gadgetrt's own stand-ins in include/gadget/.
GADGETS="$SRC/../gadgets"
for name in fmtprobe sockenr; do
	src="$GADGETS/$name/program.bpf.c"
	obj="$OUT/$name.bpf.o"
	newest="$(ls -t "$src" "$SRC"/include/gadget/*.h | head -n1)"
	if [ -f "$obj" ] && [ "$obj" -nt "$newest" ]; then
		continue
	fi
	"$CLANG" -target bpf -Wall -g -O2 -D__TARGET_ARCH_"$ARCH" "${INCS[@]}" \
		-I"$SRC/include" -c "$src" -o "$obj.tmp"
	"$STRIP" -g "$obj.tmp"
	mv "$obj.tmp" "$obj"
done
echo "build.sh: objects in $OUT"
# ustack.bpf.c also includes include/gadget/user_stack_map.h (not covered by
# the first loop's up-to-date check): rebuild it when the header is newer.
if [ "$SRC/include/gadget/user_stack_map.h" -nt "$OUT/ustack.bpf.o" ]; then
	"$CLANG" -target bpf -Wall -g -O2 -D__TARGET_ARCH_"$ARCH" "${INCS[@]}" \
		-c "$SRC/ustack.bpf.c" -o "$OUT/ustack.bpf.o.tmp"
	"$STRIP" -g "$OUT/ustack.bpf.o.tmp"
	mv "$OUT/ustack.bpf.o.tmp" "$OUT/ustack.bpf.o"
fi
