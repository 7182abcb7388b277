#!/bin/sh
# RUSTC_WRAPPER for the fuzz build (scripts/fuzz.sh): adds libFuzzer's coverage
# instrumentation (what cargo-fuzz passes in RUSTFLAGS), debug assertions and overflow checks to
# the gadgetrt crate only. Its dependencies are compiled exactly as in a normal release build, so
# a target directory that already holds one is reused instead of rebuilding ~330 crates (all
# with stable rustc: no -Z flag is involved).
rustc="$1"; shift
case " $* " in
*" --crate-name gadgetrt "*)
	exec "$rustc" "$@" -Cpasses=sancov-module -Cllvm-args=-sanitizer-coverage-level=4 \
		-Cllvm-args=-sanitizer-coverage-inline-8bit-counters -Cllvm-args=-sanitizer-coverage-pc-table \
		-Cllvm-args=-sanitizer-coverage-trace-compares -Cdebug-assertions=on -Coverflow-checks=on --cfg=fuzzing ;;
esac
exec "$rustc" "$@"
