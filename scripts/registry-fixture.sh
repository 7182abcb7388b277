#!/usr/bin/env bash
# Registry fixture for the C/C++, Go and Python tests of images by reference: a registry on
# 127.0.0.1 (scripts/registry.sh) holding the `params` test gadget, pushed by gadgetrt-pack as
#   ADDR/gadgets/signed:v1       signed with tests/fixtures/signing/test.key (cosign format)
#   ADDR/gadgets/unsigned:v1     without a signature (another repository: the content and so the
#                                digest are the same, and signatures are per repository)
#
#   scripts/registry-fixture.sh start DIR PACK PARAMS_WASM   prints ADDR (also in DIR/addr)
#   scripts/registry-fixture.sh stop DIR                     stops that registry (its pid only)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
case "${1:-}" in
start)
  [ $# -eq 4 ] || { echo "usage: $0 start DIR PACK PARAMS_WASM" >&2; exit 2; }
  dir=$2 pack=$3 wasm=$4
  for f in "$pack" "$wasm"; do [ -e "$f" ] || { echo "$0: $f is missing (build it first)" >&2; exit 1; }; done
  addr=$(bash "$root/scripts/registry.sh" start "$dir")
  yaml="$root/tests/gadgets/go/params/gadget.yaml"
  if ! "$pack" --wasm "$wasm" --metadata "$yaml" --push "$addr/gadgets/signed:v1" \
         --sign-key "$root/tests/fixtures/signing/test.key" >&2 ||
     ! "$pack" --wasm "$wasm" --metadata "$yaml" --push "$addr/gadgets/unsigned:v1" >&2; then
    bash "$root/scripts/registry.sh" stop "$dir"
    exit 1
  fi
  echo "$addr"
  ;;
stop)
  [ $# -eq 2 ] || { echo "usage: $0 stop DIR" >&2; exit 2; }
  bash "$root/scripts/registry.sh" stop "$2"
  ;;
*) echo "usage: $0 start DIR PACK PARAMS_WASM | stop DIR" >&2; exit 2 ;;
esac
