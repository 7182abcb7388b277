#!/usr/bin/env bash
# The Python package as a user gets it: `pip wheel` builds a platform wheel that bundles
# libgadgetrt.so (setup.py runs cargo), `pip install` puts it into a fresh venv, and
# `import gadgetrt` there loads the bundled library by absolute path with no environment
# variable set, then runs the demo gadget.
#
# usage: python_venv.sh GADGET_WASM
set -euo pipefail
GADGET=$1
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT

python3 -m venv "$tmp/venv"
"$tmp/venv/bin/python" -m pip install --quiet --upgrade pip
"$tmp/venv/bin/python" -m pip wheel --quiet --no-deps -w "$tmp/wheels" "$ROOT/bindings/python"
whl=$(ls "$tmp"/wheels/gadgetrt-*.whl)
echo "built $(basename "$whl")"
case "$(basename "$whl")" in
  *-py3-none-linux_*.whl) ;;
  *) echo "wheel is not platform-specific: $whl"; exit 1 ;;
esac
# Read the listing fully before matching: `grep -q` closing the pipe early made zipfile die of
# BrokenPipeError under pipefail (a CI failure with a correct wheel).
listing=$("$tmp/venv/bin/python" -m zipfile -l "$whl")
grep -q 'gadgetrt/libgadgetrt.so' <<<"$listing" || { echo "wheel lacks gadgetrt/libgadgetrt.so"; exit 1; }
"$tmp/venv/bin/python" -m pip install --quiet "$whl"

# Outside the clone, with no GADGETRT_LIB / LD_LIBRARY_PATH / CARGO_TARGET_DIR.
cd "$tmp"
env -u GADGETRT_LIB -u LD_LIBRARY_PATH -u CARGO_TARGET_DIR "$tmp/venv/bin/python" - "$GADGET" <<'PY'
import sys
import gadgetrt

lib = str(gadgetrt.LIB_PATH)
assert lib.startswith(sys.prefix) and lib.endswith("/gadgetrt/libgadgetrt.so"), lib
with gadgetrt.Runtime() as rt, rt.load_path(sys.argv[1]) as g:
    events = g.events(timeout=2.0)
    g.start()
    n = 0
    for ev in events:
        n += 1
        if n == 3:
            break
    assert n == 3, n
try:
    gadgetrt.Runtime().load_path("/nonexistent.wasm")
except gadgetrt.NotFoundError as e:
    assert str(e).endswith("[NOT_FOUND]"), str(e)
print(f"OK: import gadgetrt loaded {lib}; 3 events")
PY
