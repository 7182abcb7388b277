// params: mirror of Inspektor Gadget's TestWasmParams guest.
//
// Host contract: see ../README.md, section "params".
package main

import (
	api "github.com/inspektor-gadget/inspektor-gadget/wasmapi/go"
)

//go:wasmexport gadgetStart
func gadgetStart() int32 {
	v, err := api.GetParamValue("param-key", 32)
	if err != nil {
		api.Errorf("params: GetParamValue(param-key) failed: %v", err)
		return 1
	}
	if v != "param-value" {
		api.Errorf("params: GetParamValue(param-key) = %q, expected %q", v, "param-value")
		return 1
	}
	if _, err := api.GetParamValue("non-existing-param", 32); err == nil {
		api.Errorf("params: GetParamValue(non-existing-param) should fail")
		return 1
	}
	return 0
}

func main() {}
