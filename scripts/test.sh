#!/usr/bin/env bash
# Runs every gadgetrt test: Rust unit + integration tests (real wasm guests, real eBPF as
# root; the kprobe/kretprobe/fentry/fexit gadgets inside a qemu VM booting Debian's kernel,
# scripts/vm.sh), header drift and exported-symbol checks, C/C++ tests through CMake + ctest, the
# Go binding (go test -race) and the Python binding (pytest), and the packages as users get them:
# `cmake --install` + pkg-config consumers (ctest), the Go module vendored outside the repo,
# the Python wheel in a fresh venv (tests/packaging), and the READMEs' snippets
# (tests/packaging/readme_snippets.sh). Installs what it needs first.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
bash scripts/setup.sh
export PATH="$PATH:/usr/local/go/bin:$HOME/.cargo/bin"
TARGET=$(cargo metadata --format-version 1 --no-deps | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')
LIBDIR="$TARGET/release"

step() { printf '\n==> %s\n' "$*"; }

step "cargo build --release"
cargo build --release

step "header drift (include/gadgetrt.h vs cbindgen)"
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
cbindgen --quiet --config cbindgen.toml --output "$tmp/gadgetrt.h" src/ffi/mod.rs
diff -u include/gadgetrt.h "$tmp/gadgetrt.h"
# The Go module carries its own copy (a vendored/downloaded module has no ../../include).
diff -u include/gadgetrt.h bindings/go/gadgetrt.h || { echo "bindings/go/gadgetrt.h is stale: cp include/gadgetrt.h bindings/go/"; exit 1; }
echo "header up to date"

step "exported symbols are grt_* only"
bad=$(nm -D --defined-only "$LIBDIR/libgadgetrt.so" | awk '{print $3}' | grep -v '^grt_' || true)
if [ -n "$bad" ]; then echo "unexpected exports:"; echo "$bad"; exit 1; fi
echo "$(nm -D --defined-only "$LIBDIR/libgadgetrt.so" | wc -l) symbols, all grt_*"

step "SONAME (libgadgetrt.so.<version> before 1.0) and its link in the target directory"
version=$(sed -n 's/^version *= *"\(.*\)"/\1/p' Cargo.toml | head -1)
soname=$(readelf -d "$LIBDIR/libgadgetrt.so" | sed -n 's/.*Library soname: \[\(.*\)\].*/\1/p')
if [ "$soname" != "libgadgetrt.so.$version" ]; then echo "SONAME is '$soname', want libgadgetrt.so.$version"; exit 1; fi
if [ ! -e "$LIBDIR/$soname" ]; then echo "$LIBDIR/$soname missing (build.rs creates it)"; exit 1; fi
echo "$soname"

step "Docker for the container tests (scripts/docker.sh)"
docker_status=$(bash scripts/docker.sh start)
echo "$docker_status"
case "$docker_status" in *started) trap 'rm -rf "$tmp"; bash scripts/docker.sh stop' EXIT ;; esac

step "cargo test --release"
cargo test --release

step "fuzz targets, ${FUZZ_SECONDS:-30} s each (scripts/fuzz.sh: image tar/index/manifest, gadget.yaml, ELF/BTF, the ig imports)"
bash scripts/fuzz.sh

step "kprobe, kretprobe, fentry, fexit in a VM booting Debian's kernel (scripts/vm.sh --tests)"
# This machine's kernel may lack kprobes and fentry: tests/vm_kprobes.rs (ignored on the host)
# runs under qemu + virtme-ng; fails, never skips, when the VM does not boot.
bash scripts/vm.sh --tests

if [ -f CMakeLists.txt ]; then
  step "C/C++ tests (cmake + ctest; consumers: add_subdirectory, find_package, pkg-config + the README's C example)"
  bash examples/gadgets/trace_open/build.sh >/dev/null   # the README example runs this image
  cmake -S . -B "$ROOT/build/cmake" -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
  cmake --build "$ROOT/build/cmake"
  ctest --test-dir "$ROOT/build/cmake" --output-on-failure
fi

if [ -f bindings/go/go.mod ]; then
  step "Go binding (go test -race)"
  (cd bindings/go && CGO_LDFLAGS="-L$LIBDIR -Wl,-rpath,$LIBDIR" go test -race -count=1 ./...)
  step "Go module outside the repository, from a vendored copy"
  bash tests/packaging/go_vendored.sh "$LIBDIR" "$ROOT/tests/gadgets/out/go/demo.wasm"
fi

if [ -f bindings/python/pyproject.toml ]; then
  step "Python binding (pytest, in a venv)"
  venv="$ROOT/build/venv"
  [ -x "$venv/bin/python" ] || python3 -m venv "$venv"
  "$venv/bin/python" -m pip install --quiet pytest
  "$venv/bin/python" -m pip install --quiet --force-reinstall --no-deps ./bindings/python
  (cd "$ROOT" && GADGETRT_LIB="$LIBDIR/libgadgetrt.so" "$venv/bin/python" -m pytest -q bindings/python/tests)
  step "Python wheel bundling libgadgetrt.so, installed into a fresh venv, imported without environment variables"
  bash tests/packaging/python_venv.sh "$ROOT/tests/gadgets/out/go/demo.wasm"
fi
if [ -f bindings/go/go.mod ] && [ -f bindings/python/pyproject.toml ]; then
  step "README snippets, extracted and run (README.md's registry block, every Python and Go snippet; registry on 127.0.0.1:5000)"
  bash tests/packaging/readme_snippets.sh "$LIBDIR" "$ROOT/build/venv/bin/python"
fi
step "all tests passed"
