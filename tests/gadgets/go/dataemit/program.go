// dataemit: mirror of Inspektor Gadget's TestWasmDataEmit guest.
//
// Host contract: see ../README.md, section "dataemit".
package main

import (
	"fmt"

	api "github.com/inspektor-gadget/inspektor-gadget/wasmapi/go"
)

var (
	newDS api.DataSource
	foo   api.Field
	bar   api.Field
)

func fail(format string, args ...any) {
	msg := fmt.Sprintf("dataemit: "+format, args...)
	api.Error(msg)
	panic(msg)
}

//go:wasmexport gadgetInit
func gadgetInit() int32 {
	oldDS, err := api.GetDataSource("old_ds")
	if err != nil {
		api.Errorf("dataemit: getting datasource old_ds: %v", err)
		return 1
	}
	foo, err = oldDS.GetField("foo")
	if err != nil {
		api.Errorf("dataemit: getting field foo: %v", err)
		return 1
	}
	newDS, err = api.NewDataSource("new_ds", api.DataSourceTypeSingle)
	if err != nil {
		api.Errorf("dataemit: creating datasource new_ds: %v", err)
		return 1
	}
	bar, err = newDS.AddField("bar", api.Kind_Uint32)
	if err != nil {
		api.Errorf("dataemit: adding field bar: %v", err)
		return 1
	}
	// Data subscription on an array data source: called once per element.
	if err := oldDS.Subscribe(onElement, 0); err != nil {
		api.Errorf("dataemit: subscribing: %v", err)
		return 1
	}
	return 0
}

func onElement(_ api.DataSource, data api.Data) {
	v, err := foo.Uint32(data)
	if err != nil {
		fail("getting foo: %v", err)
	}
	if v%2 != 0 {
		return
	}
	p, err := newDS.NewPacketSingle()
	if err != nil {
		fail("creating packet: %v", err)
	}
	if err := bar.SetUint32(api.Data(p), v*5); err != nil {
		fail("setting bar: %v", err)
	}
	if err := newDS.EmitAndRelease(api.Packet(p)); err != nil {
		fail("emitting: %v", err)
	}
}

func main() {}
