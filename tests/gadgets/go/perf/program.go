// perf: mirror of Inspektor Gadget's `perf` test guest
// (pkg/operators/wasm/testdata/perf). Needs an eBPF object with a
// PERF_EVENT_ARRAY "events" that receives a 256-byte record {a=42, b=42,
// c=43, zeros} on every write(2) (tests/bpf/perf.bpf.o).
//
// Host contract: see ../README.md, section "perf".
package main

import (
	"bytes"
	"errors"
	"fmt"
	"os"

	api "github.com/inspektor-gadget/inspektor-gadget/wasmapi/go"
)

func check(ok bool, name string, format string, args ...any) bool {
	if !ok {
		api.Errorf("perf: check failed: %s: %s", name, fmt.Sprintf(format, args...))
	}
	return ok
}

func expected() []byte {
	ev := make([]byte, 256)
	ev[0] = 42 // a
	ev[4] = 42 // b
	ev[8] = 43 // c
	return ev
}

//go:wasmexport gadgetStart
func gadgetStart() int32 {
	if !run() {
		return 1
	}
	return 0
}

func run() bool {
	m, err := api.GetMap("events")
	if !check(err == nil, "GetMap events", "%v", err) {
		return false
	}
	r, err := api.NewPerfReader(m, 4096, true)
	if !check(err == nil, "NewPerfReader", "%v", err) {
		return false
	}
	buf := make([]byte, 4096)

	// An overwritable ring must be paused before reading: host result 1
	// (not 2, deadline exceeded).
	err = r.Read(buf)
	if !check(err != nil && !errors.Is(err, os.ErrDeadlineExceeded), "Read before Pause", "got %v, expected a plain error", err) {
		return false
	}

	// Each log line reaches the embedder's log sink; the test's sink does a
	// write(2) per line, which fires the eBPF program.
	for i := 0; i < 10; i++ {
		api.Infof("perf: log line %d to cause write() syscalls", i)
	}

	if !check(r.Pause() == nil, "Pause", "failed") {
		return false
	}
	err = r.Read(buf)
	if !check(err == nil, "Read after Pause", "%v", err) {
		return false
	}
	if !check(bytes.Equal(buf[:256], expected()), "record", "got % x", buf[:16]) {
		return false
	}
	if !check(r.Resume() == nil, "Resume", "failed") {
		return false
	}
	if !check(r.Close() == nil, "Close", "failed") {
		return false
	}
	if !check(api.ReleaseHandle(m) == nil, "ReleaseHandle events", "failed") {
		return false
	}
	api.Info("perf: all checks passed")
	return true
}

func main() {}
