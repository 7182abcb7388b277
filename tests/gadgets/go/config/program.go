// config: mirror of Inspektor Gadget's TestConfig guest.
//
// Host contract: see ../README.md, section "config".
package main

import (
	api "github.com/inspektor-gadget/inspektor-gadget/wasmapi/go"
)

//go:wasmexport gadgetInit
func gadgetInit() int32 {
	if err := api.SetConfig("foo.bar.zas", "myvalue"); err != nil {
		api.Errorf("config: SetConfig(foo.bar.zas, myvalue) failed: %v", err)
		return 1
	}
	// Non-string values are rejected by the guest library itself (no host call).
	if err := api.SetConfig("foo.bar.zas", 42); err == nil {
		api.Errorf("config: SetConfig with an int value should fail")
		return 1
	}
	return 0
}

func main() {}
