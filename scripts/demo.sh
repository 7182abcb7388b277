#!/usr/bin/env bash
# Builds gadgetrt and the bundled trace_open gadget (eBPF tracepoint + Go wasm enrichment,
# packed as an OCI image), then runs it for SECONDS (default 5) printing real file-open events
# like `ig run` (columns). Needs root (eBPF). Extra arguments go to gadgetrt-run (e.g. -o json).
set -euo pipefail
cd "$(dirname "$0")/.."
SECONDS_TO_RUN="${1:-5}"; shift || true
bash scripts/setup.sh
export PATH="$PATH:/usr/local/go/bin:$HOME/.cargo/bin"
cargo build --release --quiet
bash examples/gadgets/trace_open/build.sh >/dev/null
TARGET=$(cargo metadata --format-version 1 --no-deps | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')
# Open a few files while the gadget runs, so there is something to see on a quiet machine.
( for _ in 1 2 3; do sleep 1; cat /etc/hostname /etc/os-release >/dev/null 2>&1; done ) &
exec "$TARGET/release/gadgetrt-run" --timeout "$SECONDS_TO_RUN" "$@" examples/gadgets/out/trace_open.tar
