// bench: minimal per-event work for benchmarks: out = in + 1.
//
// Host contract: see ../README.md, section "bench".
package main

import (
	api "github.com/inspektor-gadget/inspektor-gadget/wasmapi/go"
)

var in, out api.Field

//go:wasmexport gadgetInit
func gadgetInit() int32 {
	ds, err := api.GetDataSource("bench")
	if err != nil {
		api.Errorf("bench: getting datasource bench: %v", err)
		return 1
	}
	if in, err = ds.GetField("in"); err != nil {
		api.Errorf("bench: getting field in: %v", err)
		return 1
	}
	if out, err = ds.GetField("out"); err != nil {
		api.Errorf("bench: getting field out: %v", err)
		return 1
	}
	if err := ds.Subscribe(onData, 0); err != nil {
		api.Errorf("bench: subscribing: %v", err)
		return 1
	}
	return 0
}

func onData(_ api.DataSource, data api.Data) {
	v, err := in.Uint64(data)
	if err != nil {
		panic("bench: reading in")
	}
	if err := out.SetUint64(data, v+1); err != nil {
		panic("bench: setting out")
	}
}

func main() {}
