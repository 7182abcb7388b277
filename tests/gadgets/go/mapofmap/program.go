// mapofmap: mirror of Inspektor Gadget's `mapofmap` test guest
// (pkg/operators/wasm/testdata/mapofmap), plus checks on the inner-map handle.
// Needs an eBPF object providing "map_of_map" (HASH_OF_MAPS, 12-byte key
// struct, inner HASH u32 -> u32, max_entries 1), e.g. tests/bpf/maps.bpf.o.
//
// Host contract: see ../README.md, section "mapofmap".
package main

import (
	"fmt"

	api "github.com/inspektor-gadget/inspektor-gadget/wasmapi/go"
)

type testKey struct {
	A   int32
	B   int32
	C   int8
	Pad [3]int8
}

func check(ok bool, name string, format string, args ...any) bool {
	if !ok {
		api.Errorf("mapofmap: check failed: %s: %s", name, fmt.Sprintf(format, args...))
	}
	return ok
}

//go:wasmexport gadgetStart
func gadgetStart() int32 {
	if !run() {
		return 1
	}
	return 0
}

func run() bool {
	key := testKey{A: 42, B: 42, C: 43}
	var inner api.Map

	outer, err := api.GetMap("map_of_map")
	if !check(err == nil, "GetMap map_of_map", "%v", err) {
		return false
	}
	hashMap, err := api.NewMap(api.MapSpec{Name: "test_hash", Type: api.Hash, KeySize: 4, ValueSize: 4, MaxEntries: 1})
	if !check(err == nil, "NewMap test_hash", "%v", err) {
		return false
	}
	if !check(outer.Put(key, hashMap) == nil, "Put inner map", "setting test_hash for %v", key) {
		return false
	}
	if !check(outer.Lookup(key, &inner) == nil, "Lookup inner map", "no value for %v", key) {
		return false
	}
	if !check(uint32(inner) != 0, "inner handle", "handle is 0") {
		return false
	}
	if !check(uint32(inner) != uint32(hashMap), "inner handle", "handle equals the test_hash handle %d", uint32(hashMap)) {
		return false
	}
	if !check(inner.Put(uint32(42), uint32(43)) == nil, "inner Put", "putting 42 -> 43") {
		return false
	}
	// The inner handle names the same kernel map as test_hash.
	var v uint32
	if !check(hashMap.Lookup(uint32(42), &v) == nil && v == 43, "test_hash sees inner Put", "got %d, expected 43", v) {
		return false
	}
	if !check(outer.Delete(key) == nil, "Delete", "deleting %v", key) {
		return false
	}
	// gadgetrt D5: a missing key on a map of maps fails cleanly (IG traps).
	var missing api.Map
	if !check(outer.Lookup(key, &missing) != nil, "Lookup missing key (D5)", "succeeded with handle %d", uint32(missing)) {
		return false
	}
	if !check(inner.Close() != nil, "Close inner handle", "mapRelease accepted a lookup handle") {
		return false
	}
	if !check(api.ReleaseHandle(inner) == nil, "ReleaseHandle inner", "failed") {
		return false
	}
	if !check(api.ReleaseHandle(outer) == nil, "ReleaseHandle outer", "failed") {
		return false
	}
	if !check(hashMap.Close() == nil, "Close test_hash", "mapRelease failed") {
		return false
	}
	api.Info("mapofmap: all checks passed")
	return true
}

func main() {}
