// demo: a tiny self-contained gadget (no eBPF, no host data sources needed).
// gadgetInit declares data source "ticks"; gadgetStart emits 5 packets into it.
//
// Host contract: see ../README.md, section "demo".
package main

import (
	"fmt"

	api "github.com/inspektor-gadget/inspektor-gadget/wasmapi/go"
)

var (
	ticks   api.DataSource
	seq     api.Field
	message api.Field
)

//go:wasmexport gadgetInit
func gadgetInit() int32 {
	var err error
	if ticks, err = api.NewDataSource("ticks", api.DataSourceTypeSingle); err != nil {
		api.Errorf("demo: creating datasource ticks: %v", err)
		return 1
	}
	if seq, err = ticks.AddField("seq", api.Kind_Uint64); err != nil {
		api.Errorf("demo: adding field seq: %v", err)
		return 1
	}
	if message, err = ticks.AddField("message", api.Kind_String); err != nil {
		api.Errorf("demo: adding field message: %v", err)
		return 1
	}
	return 0
}

//go:wasmexport gadgetStart
func gadgetStart() int32 {
	api.Info("demo: emitting 5 ticks")
	for i := uint64(1); i <= 5; i++ {
		p, err := ticks.NewPacketSingle()
		if err != nil {
			api.Errorf("demo: creating packet %d: %v", i, err)
			return 1
		}
		if err := seq.SetUint64(api.Data(p), i); err != nil {
			api.Errorf("demo: setting seq on packet %d: %v", i, err)
			return 1
		}
		if err := message.SetString(api.Data(p), fmt.Sprintf("hello from wasm #%d", i)); err != nil {
			api.Errorf("demo: setting message on packet %d: %v", i, err)
			return 1
		}
		if err := ticks.EmitAndRelease(api.Packet(p)); err != nil {
			api.Errorf("demo: emitting packet %d: %v", i, err)
			return 1
		}
	}
	return 0
}

func main() {}
