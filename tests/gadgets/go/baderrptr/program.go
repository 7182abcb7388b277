// baderrptr: mirror of Inspektor Gadget's `baderrptr` test guest.
//
// gadgetInit calls fieldGetScalar with handles that do not exist and an errPtr
// (17 MiB) beyond the 16 MiB memory cap. The host must fail the call cleanly
// (the reference host closes the module with exit code 1); the load fails.
//
// Host contract: see ../README.md, section "baderrptr".
package main

import (
	_ "github.com/inspektor-gadget/inspektor-gadget/wasmapi/go"
)

const (
	kindUint32 = 8
	invalidPtr = 17 * 1024 * 1024
)

//go:wasmimport ig fieldGetScalar
func fieldGetScalar(field uint32, data uint32, kind uint32, errPtr uint32) uint64

//go:wasmexport gadgetInit
func gadgetInit() int32 {
	fieldGetScalar(55, 55, kindUint32, invalidPtr)
	panic("baderrptr: this should never be reached")
}

func main() {}
