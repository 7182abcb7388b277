// badguest_maps: the eBPF-map part of Inspektor Gadget's `badguest` guest
// (its gadgetStart). Needs an eBPF program providing map "test_map"
// (HASH, 12-byte key, u32 value, max_entries 1) published before gadgetStart.
//
// Host contract: see ../README.md, section "badguest_maps".
package main

import (
	"fmt"
	"runtime/debug"
	"unsafe"

	api "github.com/inspektor-gadget/inspektor-gadget/wasmapi/go"
)

//go:wasmimport ig gadgetLog
func gadgetLog(level uint32, msg uint64)

//go:wasmimport ig newMap
func newMap(name uint64, typ uint32, keySize uint32, valueSize uint32, maxEntries uint32) uint32

//go:wasmimport ig getMap
func getMap(name uint64) uint32

//go:wasmimport ig mapLookup
func mapLookup(m uint32, key uint64, value uint64) uint32

//go:wasmimport ig mapUpdate
func mapUpdate(m uint32, key uint64, value uint64, flags uint64) uint32

//go:wasmimport ig mapDelete
func mapDelete(m uint32, key uint64) uint32

//go:wasmimport ig mapRelease
func mapRelease(m uint32) uint32

//go:wasmimport ig releaseHandle
func releaseHandle(h uint32) uint32

const (
	mapTypeHash = 1
	// address 17 MiB, length 17 MiB: beyond the 16 MiB memory cap.
	badPtr = uint64(17<<20)<<32 | uint64(17<<20)
)

func strPtr(s string) uint64 {
	if len(s) == 0 {
		return 0
	}
	return uint64(len(s))<<32 | uint64(uintptr(unsafe.Pointer(unsafe.StringData(s))))
}

func bufPtr(b []byte) uint64 {
	return uint64(len(b))<<32 | uint64(uintptr(unsafe.Pointer(unsafe.SliceData(b))))
}

func fail(check string, format string, args ...any) {
	msg := "badguest_maps: check failed: " + check + ": " + fmt.Sprintf(format, args...)
	gadgetLog(uint32(api.ErrorLevel), strPtr(msg))
	panic(msg)
}

func zero(v uint32, check string) {
	if v != 0 {
		fail(check, "got %d, expected 0", v)
	}
}

func nonZero(v uint32, check string) uint32 {
	if v == 0 {
		fail(check, "got 0, expected non-zero")
	}
	return v
}

// key struct { int32 a; int32 b; int8 c; pad[3] } = {42, 42, 43}, little endian.
var key = []byte{42, 0, 0, 0, 42, 0, 0, 0, 43, 0, 0, 0}

//go:wasmexport gadgetStart
func gadgetStart() int32 {
	debug.SetGCPercent(-1)

	m := nonZero(getMap(strPtr("test_map")), "getMap: test_map")

	nonZero(mapUpdate(m, badPtr, badPtr, 1<<3), "mapUpdate: bad flags 8")
	nonZero(mapUpdate(m, badPtr, badPtr, 0), "mapUpdate: bad key pointer")
	nonZero(mapUpdate(m, bufPtr(key), badPtr, 0), "mapUpdate: good key, bad value pointer")
	nonZero(mapLookup(m, badPtr, 0), "mapLookup: bad key pointer, value 0")
	nonZero(mapLookup(m, badPtr, badPtr), "mapLookup: bad key and value pointers")
	nonZero(mapDelete(m, badPtr), "mapDelete: bad key pointer")

	created := nonZero(newMap(strPtr("bad_map"), mapTypeHash, 4, 4, 1), "newMap: bad_map")
	zero(mapRelease(created), "mapRelease: created map")
	nonZero(mapLookup(created, badPtr, badPtr), "mapLookup: released handle")
	nonZero(mapRelease(created), "mapRelease: double release")

	nonZero(mapRelease(m), "mapRelease: handle from getMap")
	zero(releaseHandle(m), "releaseHandle: handle from getMap")
	return 0
}

func main() {}
