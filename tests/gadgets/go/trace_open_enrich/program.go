// trace_open_enrich: enriches the events of the eBPF tracer data source
// "open" (tests/bpf/trace_open.bpf.o): adds fname_len (Uint32, the length of
// fname) and comm_upper (String, proc.comm upper-cased).
//
// Host contract: see ../README.md, section "trace_open_enrich".
package main

import (
	"fmt"
	"strings"

	api "github.com/inspektor-gadget/inspektor-gadget/wasmapi/go"
)

var (
	fnameField api.Field
	commField  api.Field
	lenField   api.Field
	upperField api.Field
)

func fail(format string, args ...any) {
	msg := fmt.Sprintf("trace_open_enrich: "+format, args...)
	api.Error(msg)
	panic(msg)
}

//go:wasmexport gadgetInit
func gadgetInit() int32 {
	ds, err := api.GetDataSource("open")
	if err != nil {
		api.Errorf("trace_open_enrich: getting data source open: %v", err)
		return 1
	}
	if fnameField, err = ds.GetField("fname"); err != nil {
		api.Errorf("trace_open_enrich: getting field fname: %v", err)
		return 1
	}
	if commField, err = ds.GetField("proc.comm"); err != nil {
		api.Errorf("trace_open_enrich: getting field proc.comm: %v", err)
		return 1
	}
	if lenField, err = ds.AddField("fname_len", api.Kind_Uint32); err != nil {
		api.Errorf("trace_open_enrich: adding field fname_len: %v", err)
		return 1
	}
	if upperField, err = ds.AddField("comm_upper", api.Kind_String); err != nil {
		api.Errorf("trace_open_enrich: adding field comm_upper: %v", err)
		return 1
	}
	if err := ds.Subscribe(enrich, 0); err != nil {
		api.Errorf("trace_open_enrich: subscribing: %v", err)
		return 1
	}
	return 0
}

func enrich(_ api.DataSource, data api.Data) {
	fname, err := fnameField.String(data, 256)
	if err != nil {
		fail("reading fname: %v", err)
	}
	comm, err := commField.String(data, 16)
	if err != nil {
		fail("reading proc.comm: %v", err)
	}
	if err := lenField.SetUint32(data, uint32(len(fname))); err != nil {
		fail("setting fname_len: %v", err)
	}
	if err := upperField.SetString(data, strings.ToUpper(comm)); err != nil {
		fail("setting comm_upper: %v", err)
	}
}

func main() {}
