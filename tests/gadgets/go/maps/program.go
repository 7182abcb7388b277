// maps: mirror of Inspektor Gadget's `map` test guest (pkg/operators/wasm/testdata/map).
// Needs an eBPF object providing "test_map" (HASH, 12-byte key struct, u32
// value, max_entries 1), e.g. tests/bpf/maps.bpf.o.
//
// Host contract: see ../README.md, section "maps".
package main

import (
	"fmt"

	api "github.com/inspektor-gadget/inspektor-gadget/wasmapi/go"
)

// struct test_key { __u32 a; __u32 b; __u8 c; __u8 pad[3]; } — 12 bytes.
type testKey struct {
	A   int32
	B   int32
	C   int8
	Pad [3]int8
}

const mapName = "test_map"

// check logs an error-level line naming the failed check; the caller returns 1.
func check(ok bool, name string, format string, args ...any) bool {
	if !ok {
		api.Errorf("maps: check failed: %s: %s", name, fmt.Sprintf(format, args...))
	}
	return ok
}

//go:wasmexport gadgetInit
func gadgetInit() int32 {
	// eBPF maps are published at Start: not available yet.
	_, err := api.GetMap(mapName)
	if !check(err != nil, "GetMap in gadgetInit", "%s is already available", mapName) {
		return 1
	}
	return 0
}

//go:wasmexport gadgetStart
func gadgetStart() int32 {
	if !run() {
		return 1
	}
	return 0
}

func run() bool {
	expectedVal := int32(42)
	newVal := int32(43)
	key := testKey{A: 42, B: 42, C: 43}
	var val int32

	m, err := api.GetMap(mapName)
	if !check(err == nil, "GetMap", "%v", err) {
		return false
	}

	if !check(m.Put(key, expectedVal) == nil, "Put", "setting %d for %v", expectedVal, key) {
		return false
	}
	if !check(m.Lookup(key, &val) == nil, "Lookup", "no value for %v", key) {
		return false
	}
	if !check(val == expectedVal, "Lookup value", "got %d, expected %d", val, expectedVal) {
		return false
	}
	if !check(m.Lookup(key, val) != nil, "Lookup non-pointer", "lookup accepted a non-pointer value") {
		return false
	}
	if !check(m.Update(key, newVal, api.UpdateExist) == nil, "Update UpdateExist", "updating %v", key) {
		return false
	}
	if !check(m.Lookup(key, &val) == nil, "Lookup after Update", "no value for %v", key) {
		return false
	}
	if !check(val == newVal, "Lookup value after Update", "got %d, expected %d", val, newVal) {
		return false
	}
	if !check(m.Delete(key) == nil, "Delete", "deleting %v", key) {
		return false
	}
	if !check(m.Put(key, val) == nil, "Put after Delete", "setting %d for %v", val, key) {
		return false
	}
	if !check(m.Update(key, newVal, api.UpdateNoExist) != nil, "Update UpdateNoExist", "succeeded on an existing key") {
		return false
	}
	if !check(m.Update(key, newVal, api.UpdateExist) == nil, "Update UpdateExist (2)", "failed on an existing key") {
		return false
	}
	if !check(m.Delete(key) == nil, "Delete (2)", "deleting %v", key) {
		return false
	}
	if !check(m.Delete(key) != nil, "Delete missing key", "second delete succeeded") {
		return false
	}
	if !check(m.Close() != nil, "Close GetMap map", "mapRelease accepted a GetMap handle") {
		return false
	}
	if !check(api.ReleaseHandle(m) == nil, "ReleaseHandle GetMap map", "releaseHandle failed") {
		return false
	}

	spec := api.MapSpec{Name: "map_test", Type: api.Hash, KeySize: 4, ValueSize: 4, MaxEntries: 1}
	nm, err := api.NewMap(spec)
	if !check(err == nil, "NewMap", "%v", err) {
		return false
	}
	k := int32(42)
	val = int32(43)
	if !check(nm.Put(k, val) == nil, "NewMap Put", "setting %d for %d", val, k) {
		return false
	}
	val = 0
	if !check(nm.Lookup(k, &val) == nil, "NewMap Lookup", "no value for %d", k) {
		return false
	}
	if !check(val == 43, "NewMap Lookup value", "got %d, expected 43", val) {
		return false
	}
	if !check(nm.Put(int32(0xdead), int32(0xcafe)) != nil, "NewMap max_entries", "a second key fit a 1-entry map") {
		return false
	}
	if !check(nm.Close() == nil, "NewMap Close", "mapRelease failed") {
		return false
	}
	if !check(nm.Close() != nil, "NewMap double Close", "second mapRelease succeeded") {
		return false
	}
	api.Info("maps: all checks passed")
	return true
}

func main() {}
