#!/usr/bin/env bash
# Runs gadgetrt's fuzz targets (fuzz/: libFuzzer through libfuzzer-sys) for a short time each
# and fails on any crash, panic, hang or out-of-memory. Stable Rust only: fuzz/rustc-wrapper.sh
# adds libFuzzer's coverage instrumentation (the flags cargo-fuzz passes: sancov inline 8-bit
# counters, PC table, comparison tracing) plus debug assertions and overflow checks to the
# gadgetrt crate; no sanitizer (wasmtime's signal handlers and ASAN do not mix). cargo-fuzz
# works on the same crate too (`RUSTC_BOOTSTRAP=1 cargo fuzz run -s none TARGET`).
#
#   scripts/fuzz.sh                                 # every target, $FUZZ_SECONDS (default 30) each
#   FUZZ_SECONDS=600 scripts/fuzz.sh ig_imports     # longer, chosen targets
#
# Build output goes to $FUZZ_TARGET_DIR (default: <cargo target dir>/fuzz), kept apart from the
# library's own build: gadgetrt's unit has the same name in both builds and the wrapper is not
# part of cargo's fingerprint, so in a shared directory one build would reuse the other's
# (un)instrumented gadgetrt. The first build compiles
# every dependency once. The committed seeds (fuzz/corpus/<target>, made by fuzz/seeds.sh) are
# read, not written: new inputs go to build/fuzz/corpus/<target>, reproducers of failures to
# build/fuzz/artifacts/<target> (rerun one: <fuzz target dir>/release/<target> FILE).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
export PATH="$PATH:$HOME/.cargo/bin"
SECS=${FUZZ_SECONDS:-30}
TARGETS=("$@")
[ ${#TARGETS[@]} -gt 0 ] || TARGETS=(gadget_yaml ebpf_object image_archive image_layout ig_imports)
TD=${FUZZ_TARGET_DIR:-${CARGO_TARGET_DIR:-$ROOT/target}/fuzz}

echo "building the fuzz targets into $TD"
# CARGO_INCREMENTAL=0: incremental reuse would keep uninstrumented code of gadgetrt.
(cd fuzz && RUSTC_WRAPPER="$ROOT/fuzz/rustc-wrapper.sh" CARGO_INCREMENTAL=0 CARGO_TARGET_DIR="$TD" cargo build --release --bins)

declare -A MAXLEN=([gadget_yaml]=16384 [ebpf_object]=131072 [image_archive]=262144 [image_layout]=262144 [ig_imports]=4096)
fail=0
for t in "${TARGETS[@]}"; do
	work="$ROOT/build/fuzz/corpus/$t" art="$ROOT/build/fuzz/artifacts/$t" log="$ROOT/build/fuzz/$t.log"
	mkdir -p "$work" "$art"
	echo "==> fuzz $t for ${SECS}s"
	# -timeout: an input running 30 s is a hang (guest calls have 100 ms deadlines, start and
	# stop 300 ms); -rss_limit_mb: the budget under test keeps a gadget far below 2 GiB.
	if "$TD/release/$t" "$work" "fuzz/corpus/$t" -max_total_time="$SECS" -timeout=30 \
		-rss_limit_mb=2048 -max_len="${MAXLEN[$t]:-65536}" -artifact_prefix="$art/" \
		-print_final_stats=1 >"$log" 2>&1; then
		echo "   $(grep -E '^stat::number_of_executed_units' "$log" | awk '{print $2}') execs," \
			"$(grep -E '^stat::average_exec_per_sec' "$log" | awk '{print $2}')/s," \
			"peak $(grep -E '^stat::peak_rss_mb' "$log" | awk '{print $2}') MB;" \
			"$(grep -oE 'cov: [0-9]+ ft: [0-9]+ corp: [0-9/]+[a-zA-Z]*' "$log" | tail -1)"
	else
		echo "FAILED: $t (log: $log; reproducers in $art)"; tail -40 "$log"; fail=1
	fi
done
exit $fail
