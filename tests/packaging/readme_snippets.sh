#!/usr/bin/env bash
# The READMEs' snippets run as written: they are extracted from the READMEs at run time
# (never copied here), so a README edit that breaks one fails this script.
#
#   README.md                  the ```sh block with `gadgetrt-pack --push ... --sign-key`
#   bindings/python/README.md  every ```python block
#   bindings/go/README.md      every ```go block, and the ```sh block that builds the example
#
# A registry (scripts/registry.sh) listens on 127.0.0.1:5000, the address the snippets use.
# The script provides only the context a reader has: the files the registry snippet names
# (program.wasm = the demo test gadget, gadget.yaml, my.key/my.pub = tests/fixtures/signing),
# the unsigned image it runs, `gadgetrt-run` stopped with SIGINT (Ctrl-C) once the demo's
# events are out, and for Go fragments a main() that defines `rt` and `g` (the demo gadget,
# loaded) around them. Each snippet's output is checked; a snippet none of the checks below
# recognises fails the script (teach it the new snippet).
#
# usage: readme_snippets.sh LIBDIR PYTHON     (PYTHON: a venv's python with gadgetrt installed;
#                                              needs tests/gadgets/out/go/{demo,fields}.wasm)
set -euo pipefail
LIBDIR=$(cd "$1" && pwd) PY=$2
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
export PATH="$LIBDIR:$PATH:/usr/local/go/bin"          # gadgetrt-run, gadgetrt-pack
GADGETS=$ROOT/tests/gadgets/out/go
for f in "$LIBDIR/libgadgetrt.so" "$LIBDIR/gadgetrt-run" "$LIBDIR/gadgetrt-pack" "$GADGETS/demo.wasm" "$GADGETS/fields.wasm"; do
  [ -e "$f" ] || { echo "$f is missing (build it first)"; exit 1; }
done
tmp=$(mktemp -d)
trap 'bash "$ROOT/scripts/registry.sh" stop "$tmp/registry"; rm -rf "$tmp"' EXIT
export GADGETRT_IMAGE_STORE=$tmp/store                  # not the machine's store
export GADGETRT_LIB=$LIBDIR/libgadgetrt.so              # the Python package loads this build
export TMPDIR=$tmp                                      # mktemp in snippets

# extract FILE LANG PREFIX: the fenced ```LANG blocks of FILE into PREFIX01, PREFIX02, ...
extract() {
  awk -v lang="$2" -v out="$3" '
    /^```/ { if (f != "") { close(f); f = ""; next }
             if ($0 == "```" lang) { f = sprintf("%s%02d", out, ++n); printf "" > f; next } }
    f != "" { print > f }' "$1"
}
# one MARKER PREFIX: the single extracted block containing MARKER
one() {
  local hits; hits=$(grep -lF -- "$1" "$2"* 2>/dev/null || true)
  [ "$(wc -w <<<"$hits")" = 1 ] || { echo "want exactly one block containing '$1', got: ${hits:-none}"; exit 1; }
  echo "$hits"
}
# expect NAME OUTPUT EREGEX [COUNT]: OUTPUT has COUNT (default: at least one) lines matching
expect() {
  local n; n=$(grep -cE -- "$3" <<<"$2" || true)
  if { [ -n "${4:-}" ] && [ "$n" != "$4" ]; } || [ "$n" = 0 ]; then
    echo "FAIL $1: want ${4:-some} lines matching /$3/, got $n; output:"; echo "$2"; exit 1
  fi
}
show() { echo "--- $1"; cat "$2"; echo "---"; }

mkdir -p "$tmp/blocks" "$tmp/ctx"
extract "$ROOT/README.md" sh "$tmp/blocks/top-sh"
extract "$ROOT/bindings/python/README.md" python "$tmp/blocks/py"
extract "$ROOT/bindings/go/README.md" go "$tmp/blocks/go"
extract "$ROOT/bindings/go/README.md" sh "$tmp/blocks/go-sh"

echo "registry on 127.0.0.1:5000"
REGISTRY_PORT=5000 bash "$ROOT/scripts/registry.sh" start "$tmp/registry" >/dev/null

# The files the snippets name, in the directory they run in.
cd "$tmp/ctx"
cp "$GADGETS/demo.wasm" program.wasm
cp "$ROOT/tests/fixtures/signing/test.key" my.key
cp "$ROOT/tests/fixtures/signing/test.pub" my.pub
cat > gadget.yaml <<'YAML'
name: demo
description: gadgetrt's demo test gadget (5 events in data source "ticks")
YAML
gadgetrt-pack --wasm program.wasm --metadata gadget.yaml --push 127.0.0.1:5000/gadgets/unsigned:v1 >/dev/null

# README.md: push signed, run by reference (verified), run unsigned, list the store.
block=$(one '--sign-key' "$tmp/blocks/top-sh")
show "README.md registry snippet" "$block"
{
  cat <<'SH'
set -euo pipefail
gadgetrt-run() {  # runs until Ctrl-C: send SIGINT once the demo's 5 events are printed
  [ "${1:-}" = image ] && { command gadgetrt-run "$@"; return; }
  local out pid rc=0; out=$(mktemp)
  command gadgetrt-run "$@" >"$out" 2>&1 & pid=$!
  for _ in $(seq 600); do
    [ "$(grep -c 'hello from wasm' "$out")" -ge 5 ] || ! kill -0 "$pid" 2>/dev/null && break
    sleep 0.1
  done
  kill -INT "$pid" 2>/dev/null || true
  wait "$pid" || rc=$?
  cat "$out"; return "$rc"
}
SH
  cat "$block"
} > "$tmp/top.sh"
out=$(bash "$tmp/top.sh" 2>&1) || { echo "$out"; echo "FAIL README.md registry snippet"; exit 1; }
echo "$out"
expect "README.md registry snippet: two runs of the demo" "$out" 'hello from wasm' 10
expect "README.md registry snippet: image list" "$out" '^127\.0\.0\.1:5000/gadgets/mine +v1 +[0-9a-f]{12} ' 1
expect "README.md registry snippet: image list" "$out" '^127\.0\.0\.1:5000/gadgets/unsigned +v1 +[0-9a-f]{12} ' 1
echo "OK README.md registry snippet"

# bindings/python/README.md: every ```python block, in the venv.
n=0
for block in "$tmp"/blocks/py*; do
  n=$((n + 1))
  show "bindings/python/README.md ${block##*/}" "$block"
  case "$(cat "$block")" in
    *load_ref*) dir=$tmp/ctx ;;                 # my.pub
    *) dir=$ROOT ;;                             # tests/gadgets/out/go/...
  esac
  out=$(cd "$dir" && "$PY" "$block" 2>&1) || { echo "$out"; echo "FAIL ${block##*/}"; exit 1; }
  echo "$out"
  case "$(cat "$block")" in
    *load_ref*)
      expect "${block##*/}: the digest first (no signature error)" "$(head -1 <<<"$out")" '^sha256:[0-9a-f]{64}$' 1
      expect "${block##*/}: list_images" "$out" "'reference': '127\.0\.0\.1:5000/gadgets/mine:v1'" 1 ;;
    *fields.wasm*)
      expect "${block##*/}: host packet echoed" "$out" "^21 \{'host_field': 'LOCALHOST', 'host_in': 7, .*'field_echo': 21\}$" 1
      expect "${block##*/}: NotFoundError" "$out" '^NOT_FOUND /nonexistent\.wasm: ' 1 ;;
    *demo.wasm*)
      expect "${block##*/}: 5 events" "$out" '^ticks ([1-5]) \{.*\} \{"message":"hello from wasm #\1","seq":\1\}$' 5 ;;
    *) echo "FAIL ${block##*/}: a snippet this script does not know; add its check"; exit 1 ;;
  esac
  echo "OK bindings/python/README.md ${block##*/}"
done
[ "$n" -ge 3 ] || { echo "FAIL: found $n python blocks, expected 3 or more"; exit 1; }

# bindings/go/README.md: the example program, built and run by its ```sh block from the clone.
block=$(one 'cat > main.go' "$tmp/blocks/go-sh")
show "bindings/go/README.md example (sh)" "$block"
out=$(cd "$ROOT" && CARGO_TARGET_DIR=$(dirname "$LIBDIR") bash -euo pipefail "$block" 2>&1) ||
  { echo "$out"; echo "FAIL Go example"; exit 1; }
echo "$out"
expect "Go example: 5 events" "$out" '^ticks ([1-5]) \{"message":"hello from wasm #\1","seq":\1\}$' 5
echo "OK bindings/go/README.md example"

# bindings/go/README.md: every ```go block, inside a main() that defines rt and g.
mkdir -p "$tmp/gomod"
cat > "$tmp/gomod/go.mod" <<MOD
module snippets

go 1.23

require github.com/gadgetrt/gadgetrt/bindings/go v0.0.0

replace github.com/gadgetrt/gadgetrt/bindings/go => $ROOT/bindings/go
MOD
n=0
for block in "$tmp"/blocks/go[0-9]*; do
  n=$((n + 1))
  show "bindings/go/README.md ${block##*/}" "$block"
  {
    cat <<'GO'
package main

import (
	"context"
	"errors"
	"fmt"
	"log"
	"os"
	"time"

	gadgetrt "github.com/gadgetrt/gadgetrt/bindings/go"
)

var (
	_ = context.Background
	_ = errors.Is
	_ = fmt.Println
	_ = os.Args
	_ = time.Second
)

func main() {
	rt, err := gadgetrt.NewRuntime()
	if err != nil {
		log.Fatal(err)
	}
	defer rt.Close()
	g, err := rt.LoadPath(os.Args[1]) // as in the README's example
	if err != nil {
		log.Fatal(err)
	}
	defer g.Close()
	_ = g
	{
GO
    cat "$block"
    printf '\t}\n}\n'
  } > "$tmp/gomod/main.go"
  (cd "$tmp/gomod" && CGO_LDFLAGS="-L$LIBDIR -Wl,-rpath,$LIBDIR" go build -o snippet .) ||
    { echo "FAIL ${block##*/}: does not compile (in $tmp/gomod/main.go)"; exit 1; }
  out=$(cd "$tmp/ctx" && "$tmp/gomod/snippet" "$GADGETS/demo.wasm" 2>&1) || { echo "$out"; echo "FAIL ${block##*/}"; exit 1; }
  echo "$out"
  case "$(cat "$block")" in
    *LoadRef*)
      expect "${block##*/}: PullImage" "$out" '^sha256:[0-9a-f]{64} <nil>$' 1 ;;
    *Subscribe*)
      expect "${block##*/}: callbacks" "$out" '^([1-5]) hello from wasm #\1$' 5
      expect "${block##*/}: Poll" "$out" '^5 events <nil>$' 1 ;;
    *) echo "FAIL ${block##*/}: a snippet this script does not know; add its check"; exit 1 ;;
  esac
  echo "OK bindings/go/README.md ${block##*/}"
done
[ "$n" -ge 2 ] || { echo "FAIL: found $n go blocks, expected 2 or more"; exit 1; }
echo "OK: every README snippet ran"
