#!/usr/bin/env bash
# Build every Go test gadget (one directory with a program.go = one gadget)
# into OUT_DIR/<name>.wasm. A gadget.yaml next to program.go is copied to
# OUT_DIR/<name>.gadget.yaml.
#
# Usage: tests/gadgets/go/build.sh [OUT_DIR]   (default: tests/gadgets/out/go)
#
# Idempotent: a gadget is rebuilt only if an input (its directory, go.mod,
# go.sum, this script) is newer than its .wasm. Exits non-zero on failure.
set -euo pipefail

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_ROOT="$(cd "$SCRIPT_DIR/../../.." && pwd)"

OUT_DIR="${1:-$REPO_ROOT/tests/gadgets/out/go}"
mkdir -p "$OUT_DIR"
OUT_DIR="$(cd "$OUT_DIR" && pwd)"

GO_BIN="${GO:-}"
if [[ -z "$GO_BIN" ]]; then
	if command -v go >/dev/null 2>&1; then
		GO_BIN="$(command -v go)"
	elif [[ -x /usr/local/go/bin/go ]]; then
		GO_BIN=/usr/local/go/bin/go
	else
		echo "build.sh: no Go toolchain found (set GO=/path/to/go)" >&2
		exit 1
	fi
fi

cd "$SCRIPT_DIR"

# Is $1 (an output file) missing or older than any input of gadget $2?
needs_build() {
	local out="$1" name="$2"
	[[ -f "$out" ]] || return 0
	[[ -n "$(find "$name" go.mod go.sum "$SCRIPT_DIR/build.sh" -newer "$out" -print -quit)" ]]
}

downloaded=0
failed=()
built=0
skipped=0

for prog in */program.go; do
	name="${prog%/program.go}"
	out="$OUT_DIR/$name.wasm"

	if needs_build "$out" "$name"; then
		if [[ $downloaded -eq 0 ]]; then
			"$GO_BIN" mod download
			downloaded=1
		fi
		echo "build.sh: building $name"
		tmp="$out.tmp.$$"
		if GOOS=wasip1 GOARCH=wasm CGO_ENABLED=0 "$GO_BIN" build -buildmode=c-shared \
			-ldflags "-w -s" -o "$tmp" "./$name"; then
			mv -f "$tmp" "$out"
			built=$((built + 1))
		else
			rm -f "$tmp"
			failed+=("$name")
			continue
		fi
	else
		skipped=$((skipped + 1))
	fi

	if [[ -f "$name/gadget.yaml" ]]; then
		cp -p "$name/gadget.yaml" "$OUT_DIR/$name.gadget.yaml"
	else
		rm -f "$OUT_DIR/$name.gadget.yaml"
	fi
done

echo "build.sh: $built built, $skipped up to date, ${#failed[@]} failed (output: $OUT_DIR)"
if [[ ${#failed[@]} -gt 0 ]]; then
	echo "build.sh: failed: ${failed[*]}" >&2
	exit 1
fi
