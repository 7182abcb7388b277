module gadgetrt.examples/trace_open

go 1.26.0

// The Go guest library github.com/inspektor-gadget/inspektor-gadget/wasmapi/go
// has no go.mod of its own: it is a package of the main Inspektor Gadget module.
// v0.55.1 is the ABI reference, but the Go module proxy refuses its zip
// (403 "not available"); v0.55.0 is used instead. wasmapi/go is byte-identical
// in v0.54.0 and v0.55.0.
require github.com/inspektor-gadget/inspektor-gadget v0.55.0
