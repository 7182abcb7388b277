// dataarray: mirror of Inspektor Gadget's TestWasmDataArray guest.
//
// Host contract: see ../README.md, section "dataarray".
package main

import (
	"fmt"

	api "github.com/inspektor-gadget/inspektor-gadget/wasmapi/go"
)

const base = 424143

var foo api.Field

func fail(format string, args ...any) {
	msg := fmt.Sprintf("dataarray: "+format, args...)
	api.Error(msg)
	panic(msg)
}

//go:wasmexport gadgetInit
func gadgetInit() int32 {
	ds, err := api.GetDataSource("myds")
	if err != nil {
		api.Errorf("dataarray: getting datasource myds: %v", err)
		return 1
	}
	foo, err = ds.GetField("foo")
	if err != nil {
		api.Errorf("dataarray: getting field foo: %v", err)
		return 1
	}
	if err := ds.SubscribeArray(onArray, 0); err != nil {
		api.Errorf("dataarray: subscribing: %v", err)
		return 1
	}
	return 0
}

func onArray(_ api.DataSource, arr api.DataArray) error {
	if n := arr.Len(); n != 10 {
		fail("bad length: got %d, expected 10", n)
	}

	// Multiply the first 10 elements by their index.
	for i := 0; i < 10; i++ {
		d := arr.Get(i)
		if d == 0 {
			fail("Get(%d) returned 0", i)
		}
		v, err := foo.Uint32(d)
		if err != nil {
			fail("getting foo at index %d: %v", i, err)
		}
		if err := foo.SetUint32(d, v*uint32(i)); err != nil {
			fail("setting foo at index %d: %v", i, err)
		}
	}

	// Append 5 more elements.
	for i := 10; i < 15; i++ {
		d := arr.New()
		if d == 0 {
			fail("New() returned 0 (element %d)", i)
		}
		if err := foo.SetUint32(d, uint32(base*i)); err != nil {
			fail("setting foo on new element %d: %v", i, err)
		}
		if err := arr.Append(d); err != nil {
			fail("appending element %d: %v", i, err)
		}
	}

	if n := arr.Len(); n != 15 {
		fail("bad length after append: got %d, expected 15", n)
	}
	return nil
}

func main() {}
