#!/usr/bin/env bash
# Build the Rust test guests (guests/<dir>, crate rust_<dir>) for wasm32-wasip1 and copy
# each one to OUT_DIR/rust_<dir>.wasm. A guests/<dir>/gadget.yaml is copied to
# OUT_DIR/rust_<dir>.gadget.yaml, and OUT_DIR/rust_<dir>/{program.wasm,gadget.yaml} is
# laid out as well (the directory form that gadgetrt-run accepts).
#
# Usage: tests/gadgets/rust/build.sh [OUT_DIR]   (default: tests/gadgets/out/rust)
#
# Cargo's target directory is tests/gadgets/out/rust-target (gitignored). Idempotent:
# cargo rebuilds only what changed and outputs are replaced only when their content
# differs. Exits non-zero on failure. Installs the wasm32-wasip1 target with rustup if
# it is missing.
set -euo pipefail

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_ROOT="$(cd "$SCRIPT_DIR/../../.." && pwd)"
TARGET=wasm32-wasip1

OUT_DIR="${1:-$REPO_ROOT/tests/gadgets/out/rust}"
mkdir -p "$OUT_DIR"
OUT_DIR="$(cd "$OUT_DIR" && pwd)"

# Our own target dir, whatever the caller (e.g. `cargo test` of gadgetrt) has set. Host
# build flags must not leak into the wasm build.
export CARGO_TARGET_DIR="$REPO_ROOT/tests/gadgets/out/rust-target"
unset RUSTFLAGS CARGO_ENCODED_RUSTFLAGS CARGO_BUILD_RUSTFLAGS CARGO_BUILD_TARGET \
	CARGO_BUILD_TARGET_DIR CARGO_PROFILE_RELEASE_DEBUG CARGO_MAKEFLAGS 2>/dev/null || true

CARGO_BIN=cargo
if ! command -v "$CARGO_BIN" >/dev/null 2>&1; then
	if [[ -x "$HOME/.cargo/bin/cargo" ]]; then
		CARGO_BIN="$HOME/.cargo/bin/cargo"
	else
		echo "build.sh: cargo not found" >&2
		exit 1
	fi
fi

if command -v rustup >/dev/null 2>&1; then
	if ! rustup target list --installed | grep -x "$TARGET" >/dev/null; then
		echo "build.sh: installing rust target $TARGET"
		rustup target add "$TARGET"
	fi
fi

cd "$SCRIPT_DIR"
echo "build.sh: cargo build --release --target $TARGET --workspace"
"$CARGO_BIN" build --release --target "$TARGET" --workspace

# Copy $1 to $2 unless $2 already has the same content.
install_if_changed() {
	if ! cmp -s "$1" "$2"; then
		cp -f "$1" "$2.tmp.$$"
		mv -f "$2.tmp.$$" "$2"
		return 0
	fi
	return 1
}

REL="$CARGO_TARGET_DIR/$TARGET/release"
copied=0
total=0
failed=()
for manifest in guests/*/Cargo.toml; do
	dir="${manifest%/Cargo.toml}"
	name="rust_${dir#guests/}"
	src="$REL/$name.wasm"
	total=$((total + 1))
	if [[ ! -f "$src" ]]; then
		echo "build.sh: $src was not produced" >&2
		failed+=("$name")
		continue
	fi
	if install_if_changed "$src" "$OUT_DIR/$name.wasm"; then
		copied=$((copied + 1))
	fi
	if [[ -f "$dir/gadget.yaml" ]]; then
		mkdir -p "$OUT_DIR/$name"
		install_if_changed "$dir/gadget.yaml" "$OUT_DIR/$name.gadget.yaml" || true
		install_if_changed "$dir/gadget.yaml" "$OUT_DIR/$name/gadget.yaml" || true
		install_if_changed "$src" "$OUT_DIR/$name/program.wasm" || true
	else
		rm -f "$OUT_DIR/$name.gadget.yaml"
		rm -rf "$OUT_DIR/$name"
	fi
done

echo "build.sh: $total guests, $copied updated (output: $OUT_DIR)"
if [[ ${#failed[@]} -gt 0 ]]; then
	echo "build.sh: failed: ${failed[*]}" >&2
	exit 1
fi
