#!/usr/bin/env bash
# Installs what building and testing gadgetrt needs on a fresh Debian machine (idempotent):
# clang/llvm 19 + libbpf + bpftool for the eBPF test programs, cmake/ninja for the C/C++ tests,
# the wasm32-wasip1 Rust target, cbindgen, python3-venv (test.sh installs pytest into a venv:
# Debian's own Python refuses system-wide pip installs), libpcap (the `pf` packet filters);
# mounts tracefs when missing (root only).
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
need=()
for p in clang-19 llvm-19 libbpf-dev bpftool cmake ninja-build pkg-config python3-venv docker-registry apache2-utils libpcap0.8; do
  dpkg -s "$p" >/dev/null 2>&1 || need+=("$p")
done
if [ ${#need[@]} -gt 0 ]; then
  echo "setup: installing ${need[*]}"
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq "${need[@]}" >/dev/null
fi
rustup target list --installed | grep -x wasm32-wasip1 >/dev/null || rustup target add wasm32-wasip1
if ! command -v cbindgen >/dev/null 2>&1 || ! cbindgen --version | grep -q "0.29.4"; then
  cargo install cbindgen --version 0.29.4 --locked --quiet
fi
command -v go >/dev/null 2>&1 || export PATH="$PATH:/usr/local/go/bin"
if [ "$(id -u)" -eq 0 ] && [ ! -d /sys/kernel/tracing/events ]; then
  mount -t tracefs nodev /sys/kernel/tracing 2>/dev/null || echo "setup: could not mount tracefs" >&2
fi
