// badguest: mirror of Inspektor Gadget's `badguest` test guest, minus the parts
// that need an eBPF map (see ../badguest_maps) or a specific kernel environment
// (tracefs, kallsyms: see ../badguest_env).
//
// It calls the raw `ig` imports with invalid handles, pointers and kinds. Every
// result is checked; an unexpected one is logged at error level (naming the
// check) and the guest panics, which makes gadgetInit fail.
//
// Host contract: see ../README.md, section "badguest".
package main

import (
	"fmt"
	"runtime/debug"
	"unsafe"

	// Linked for gadgetAPIVersion and dataSourceCallback (needed by
	// dataSourceSubscribe) and for the constants.
	api "github.com/inspektor-gadget/inspektor-gadget/wasmapi/go"
)

// Raw imports, with exactly the signatures of the ABI (wasm-abi.md section 0).

//go:wasmimport ig gadgetLog
func gadgetLog(level uint32, msg uint64)

//go:wasmimport ig newDataSource
func newDataSource(name uint64, typ uint32) uint32

//go:wasmimport ig getDataSource
func getDataSource(name uint64) uint32

//go:wasmimport ig dataSourceSubscribe
func dataSourceSubscribe(ds uint32, subType uint32, prio uint32, cbID uint64) uint32

//go:wasmimport ig dataSourceGetField
func dataSourceGetField(ds uint32, name uint64) uint32

//go:wasmimport ig dataSourceAddField
func dataSourceAddField(ds uint32, name uint64, kind uint32) uint32

//go:wasmimport ig dataSourceNewPacketSingle
func dataSourceNewPacketSingle(ds uint32) uint32

//go:wasmimport ig dataSourceNewPacketArray
func dataSourceNewPacketArray(ds uint32) uint32

//go:wasmimport ig dataSourceEmitAndRelease
func dataSourceEmitAndRelease(ds uint32, packet uint32) uint32

//go:wasmimport ig dataSourceRelease
func dataSourceRelease(ds uint32, packet uint32) uint32

//go:wasmimport ig dataArrayNew
func dataArrayNew(array uint32) uint32

//go:wasmimport ig dataArrayAppend
func dataArrayAppend(array uint32, data uint32) uint32

//go:wasmimport ig dataArrayRelease
func dataArrayRelease(array uint32, data uint32) uint32

//go:wasmimport ig dataArrayLen
func dataArrayLen(array uint32) uint32

//go:wasmimport ig dataArrayGet
func dataArrayGet(array uint32, index uint32) uint32

//go:wasmimport ig fieldGetScalar
func fieldGetScalar(field uint32, data uint32, kind uint32, errPtr uint32) uint64

//go:wasmimport ig fieldSet
func fieldSet(field uint32, data uint32, kind uint32, value uint64) uint32

//go:wasmimport ig getParamValue
func getParamValue(key uint64, dst uint64) uint32

//go:wasmimport ig setConfig
func setConfig(key uint64, value uint64, kind uint32) uint32

//go:wasmimport ig getMap
func getMap(name uint64) uint32

//go:wasmimport ig mapLookup
func mapLookup(m uint32, key uint64, value uint64) uint32

//go:wasmimport ig mapUpdate
func mapUpdate(m uint32, key uint64, value uint64, flags uint64) uint32

//go:wasmimport ig mapDelete
func mapDelete(m uint32, key uint64) uint32

//go:wasmimport ig getSyscallDeclaration
func getSyscallDeclaration(name uint64, dst uint64) uint32

//go:wasmimport ig kallsymsSymbolExists
func kallsymsSymbolExists(symbol uint64) uint32

const (
	subData   = 1
	subArray  = 2
	subPacket = 3

	kindUint32 = uint32(api.Kind_Uint32)
	kindUint64 = uint32(api.Kind_Uint64)
	kindString = uint32(api.Kind_String)
	badKind    = 1005

	// Definitely out of range: address 17 MiB, length 17 MiB (memory is
	// capped at 16 MiB).
	badPtr = uint64(17<<20)<<32 | uint64(17<<20)

	// Handle that is never allocated in this test.
	badHandle = 42
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
	msg := "badguest: check failed: " + check + ": " + fmt.Sprintf(format, args...)
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

func equal(v, want uint32, check string) {
	if v != want {
		fail(check, "got %d, expected %d", v, want)
	}
}

// errWord receives fieldGetScalar's error flag.
var errWord uint32

func getScalar(field, data, kind uint32) (uint64, uint32) {
	errWord = 0
	v := fieldGetScalar(field, data, kind, uint32(uintptr(unsafe.Pointer(&errWord))))
	return v, errWord
}

//go:wasmexport gadgetInit
func gadgetInit() int32 {
	// Raw pointers are handed to the host: keep the GC out of the way.
	debug.SetGCPercent(-1)

	const (
		singleName = "mysingleds"
		arrayName  = "myarrayds"
		fieldName  = "myfield"
	)

	/* Setup */
	single := nonZero(newDataSource(strPtr(singleName), uint32(api.DataSourceTypeSingle)), "newDataSource: single")
	array := nonZero(newDataSource(strPtr(arrayName), uint32(api.DataSourceTypeArray)), "newDataSource: array")
	field := nonZero(dataSourceAddField(single, strPtr(fieldName), kindUint32), "dataSourceAddField: myfield")

	/* Log: must not crash */
	gadgetLog(uint32(api.ErrorLevel), badPtr)
	gadgetLog(42, strPtr("hello-world")) // unknown level
	gadgetLog(uint32(api.ErrorLevel), 0) // empty string (bufPtr 0)
	emptyAt := uint64(uint32(uintptr(unsafe.Pointer(&errWord))))
	gadgetLog(uint32(api.ErrorLevel), emptyAt) // empty string, valid address, length 0

	/* newDataSource / getDataSource */
	zero(newDataSource(badPtr, uint32(api.DataSourceTypeSingle)), "newDataSource: bad name pointer")
	zero(newDataSource(strPtr("foo"), 42), "newDataSource: bad type 42")
	zero(newDataSource(strPtr("foo"), 0), "newDataSource: bad type 0 (undefined)")
	nonZero(getDataSource(strPtr(singleName)), "getDataSource: existing")
	zero(getDataSource(strPtr("foo")), "getDataSource: non existing")
	zero(getDataSource(badPtr), "getDataSource: bad name pointer")

	/* dataSourceSubscribe (cbID 0, prio 0) */
	zero(dataSourceSubscribe(single, subData, 0, 0), "dataSourceSubscribe: single + data")
	zero(dataSourceSubscribe(single, subPacket, 0, 0), "dataSourceSubscribe: single + packet")
	zero(dataSourceSubscribe(array, subArray, 0, 0), "dataSourceSubscribe: array + array")
	zero(dataSourceSubscribe(array, subPacket, 0, 0), "dataSourceSubscribe: array + packet")
	zero(dataSourceSubscribe(array, subData, 0, 0), "dataSourceSubscribe: array + data")
	nonZero(dataSourceSubscribe(badHandle, subData, 0, 0), "dataSourceSubscribe: bad handle")
	nonZero(dataSourceSubscribe(field, subData, 0, 0), "dataSourceSubscribe: field handle as ds")
	nonZero(dataSourceSubscribe(single, subArray, 0, 0), "dataSourceSubscribe: single + array")
	nonZero(dataSourceSubscribe(single, badKind, 0, 0), "dataSourceSubscribe: bad subscription type 1005")
	nonZero(dataSourceSubscribe(single, 0, 0, 0), "dataSourceSubscribe: subscription type 0 (invalid)")

	/* dataSourceAddField */
	zero(dataSourceAddField(single, strPtr(fieldName), kindUint32), "dataSourceAddField: duplicate")
	zero(dataSourceAddField(badHandle, strPtr("foo"), kindUint32), "dataSourceAddField: bad handle")
	zero(dataSourceAddField(field, strPtr("foo"), kindUint32), "dataSourceAddField: field handle as ds")
	zero(dataSourceAddField(single, strPtr("foo"), badKind), "dataSourceAddField: bad kind 1005")
	zero(dataSourceAddField(single, badPtr, kindUint32), "dataSourceAddField: bad name pointer")

	/* dataSourceGetField */
	nonZero(dataSourceGetField(single, strPtr(fieldName)), "dataSourceGetField: existing")
	zero(dataSourceGetField(badHandle, strPtr("foo")), "dataSourceGetField: bad handle")
	zero(dataSourceGetField(single, badPtr), "dataSourceGetField: bad name pointer")
	zero(dataSourceGetField(single, strPtr("does_not_exist")), "dataSourceGetField: non existing field")

	/* dataSourceNewPacketSingle / dataSourceNewPacketArray */
	pkt := nonZero(dataSourceNewPacketSingle(single), "dataSourceNewPacketSingle: ok")
	zero(dataSourceNewPacketSingle(badHandle), "dataSourceNewPacketSingle: bad handle")
	zero(dataSourceNewPacketSingle(field), "dataSourceNewPacketSingle: field handle as ds")
	zero(dataSourceNewPacketSingle(array), "dataSourceNewPacketSingle: array ds")

	arr := nonZero(dataSourceNewPacketArray(array), "dataSourceNewPacketArray: ok")
	zero(dataSourceNewPacketArray(badHandle), "dataSourceNewPacketArray: bad handle")
	zero(dataSourceNewPacketArray(field), "dataSourceNewPacketArray: field handle as ds")
	zero(dataSourceNewPacketArray(single), "dataSourceNewPacketArray: single ds")

	/* dataSourceEmitAndRelease: all fail, the packet is not consumed */
	nonZero(dataSourceEmitAndRelease(badHandle, pkt), "dataSourceEmitAndRelease: bad ds handle")
	nonZero(dataSourceEmitAndRelease(field, pkt), "dataSourceEmitAndRelease: field handle as ds")
	nonZero(dataSourceEmitAndRelease(single, badHandle), "dataSourceEmitAndRelease: bad packet handle")
	nonZero(dataSourceEmitAndRelease(single, field), "dataSourceEmitAndRelease: field handle as packet")

	/* dataSourceRelease */
	nonZero(dataSourceRelease(badHandle, pkt), "dataSourceRelease: bad ds handle")
	nonZero(dataSourceRelease(field, pkt), "dataSourceRelease: field handle as ds")
	zero(dataSourceRelease(single, pkt), "dataSourceRelease: ok")
	nonZero(dataSourceRelease(single, pkt), "dataSourceRelease: double release")
	nonZero(dataSourceRelease(badHandle, pkt), "dataSourceRelease: bad ds handle (released packet)")
	nonZero(dataSourceRelease(field, pkt), "dataSourceRelease: field handle as ds (released packet)")
	nonZero(dataSourceRelease(single, badHandle), "dataSourceRelease: bad packet handle")
	nonZero(dataSourceRelease(single, field), "dataSourceRelease: field handle as packet")

	// A live single packet, used for the role checks below and for the
	// field tests.
	data := nonZero(dataSourceNewPacketSingle(single), "dataSourceNewPacketSingle: second packet")

	/* dataArrayNew / dataArrayAppend */
	elem := nonZero(dataArrayNew(arr), "dataArrayNew: ok")
	zero(dataArrayNew(badHandle), "dataArrayNew: bad handle")
	zero(dataArrayNew(field), "dataArrayNew: field handle as array")
	zero(dataArrayNew(data), "dataArrayNew: single packet as array")

	zero(dataArrayAppend(arr, elem), "dataArrayAppend: ok")
	nonZero(dataArrayRelease(arr, elem), "dataArrayRelease: appended element (handle consumed)")
	nonZero(dataArrayAppend(arr, elem), "dataArrayAppend: appended element again (handle consumed)")
	nonZero(dataArrayAppend(arr, badHandle), "dataArrayAppend: bad data handle")
	nonZero(dataArrayAppend(arr, field), "dataArrayAppend: field handle as data")
	nonZero(dataArrayAppend(badHandle, elem), "dataArrayAppend: bad array handle")
	nonZero(dataArrayAppend(field, elem), "dataArrayAppend: field handle as array")

	// Same with a live element: a failed append must not consume it.
	elem1 := nonZero(dataArrayNew(arr), "dataArrayNew: element 1")
	nonZero(dataArrayAppend(badHandle, elem1), "dataArrayAppend: bad array handle (live element)")
	nonZero(dataArrayAppend(field, elem1), "dataArrayAppend: field handle as array (live element)")
	zero(dataArrayRelease(arr, elem1), "dataArrayRelease: live element after failed appends")

	/* dataArrayLen */
	equal(dataArrayLen(arr), 1, "dataArrayLen: ok")
	zero(dataArrayLen(badHandle), "dataArrayLen: bad handle")
	zero(dataArrayLen(data), "dataArrayLen: single packet as array")
	zero(dataArrayLen(field), "dataArrayLen: field handle as array")

	/* dataArrayRelease */
	elem2 := nonZero(dataArrayNew(arr), "dataArrayNew: element 2")
	nonZero(dataArrayRelease(badHandle, elem2), "dataArrayRelease: bad array handle")
	nonZero(dataArrayRelease(field, elem2), "dataArrayRelease: field handle as array")
	zero(dataArrayRelease(arr, elem2), "dataArrayRelease: ok")
	nonZero(dataArrayRelease(arr, elem2), "dataArrayRelease: double release")
	nonZero(dataArrayRelease(arr, badHandle), "dataArrayRelease: bad data handle")
	nonZero(dataArrayRelease(arr, field), "dataArrayRelease: field handle as data")
	nonZero(dataArrayRelease(badHandle, elem2), "dataArrayRelease: bad array handle (released element)")
	nonZero(dataArrayRelease(field, elem2), "dataArrayRelease: field handle as array (released element)")
	equal(dataArrayLen(arr), 1, "dataArrayLen: unchanged after releases")

	/* dataArrayGet */
	nonZero(dataArrayGet(arr, 0), "dataArrayGet: index 0")
	zero(dataArrayGet(arr, 1), "dataArrayGet: index 1 (out of range)")
	zero(dataArrayGet(arr, 0xFFFFFFFF), "dataArrayGet: index -1")
	zero(dataArrayGet(badHandle, 0), "dataArrayGet: bad handle")
	zero(dataArrayGet(data, 0), "dataArrayGet: single packet as array")

	/* fieldSet / fieldGetScalar on a live single packet */
	zero(fieldSet(field, data, kindUint32, 1234), "fieldSet: ok")
	nonZero(fieldSet(field, data, kindUint64, 1234), "fieldSet: kind Uint64 on a 4-byte field")
	nonZero(fieldSet(field, data, badKind, 1234), "fieldSet: bad kind 1005")
	nonZero(fieldSet(field, field, kindUint32, 1234), "fieldSet: field handle as data")
	nonZero(fieldSet(data, data, kindUint32, 1234), "fieldSet: data handle as field")
	nonZero(fieldSet(badHandle, data, kindUint32, 1234), "fieldSet: bad field handle")
	nonZero(fieldSet(field, badHandle, kindUint32, 1234), "fieldSet: bad data handle")

	v, e := getScalar(field, data, kindUint32)
	zero(e, "fieldGetScalar: ok (err flag)")
	equal(uint32(v), 1234, "fieldGetScalar: ok (value)")
	_, e = getScalar(field, data, badKind)
	equal(e, 1, "fieldGetScalar: bad kind 1005 (err flag)")
	_, e = getScalar(field, field, kindUint32)
	equal(e, 1, "fieldGetScalar: field handle as data (err flag)")
	_, e = getScalar(data, data, kindUint32)
	equal(e, 1, "fieldGetScalar: data handle as field (err flag)")
	_, e = getScalar(field, data, kindUint64)
	equal(e, 1, "fieldGetScalar: kind Uint64 on a 4-byte field (err flag)")
	_, e = getScalar(field, data, kindString)
	equal(e, 1, "fieldGetScalar: kind String (err flag)")
	fieldGetScalar(field, data, badKind, 0) // errPtr 0: must not crash

	/* getParamValue */
	dst := make([]byte, 512)
	nonZero(getParamValue(strPtr("non-existing-param"), bufPtr(dst)), "getParamValue: missing key")
	nonZero(getParamValue(badPtr, bufPtr(dst)), "getParamValue: bad key pointer")

	/* setConfig */
	zero(setConfig(strPtr("key"), strPtr("value"), kindString), "setConfig: ok")
	nonZero(setConfig(strPtr("key"), strPtr("value"), badKind), "setConfig: bad kind 1005")
	nonZero(setConfig(badPtr, strPtr("value"), kindString), "setConfig: bad key pointer")
	nonZero(setConfig(strPtr("key"), badPtr, kindString), "setConfig: bad value pointer")

	/* maps (no eBPF needed) */
	zero(getMap(badPtr), "getMap: bad name pointer")
	zero(getMap(strPtr("no_such_map")), "getMap: non existing")
	nonZero(mapUpdate(0, badPtr, badPtr, 0), "mapUpdate: handle 0")
	nonZero(mapLookup(0, badPtr, badPtr), "mapLookup: handle 0")
	nonZero(mapDelete(0, badPtr), "mapDelete: handle 0")

	/* getSyscallDeclaration: only the checks that fail in any environment */
	decl := make([]byte, 252)
	nonZero(getSyscallDeclaration(badPtr, bufPtr(decl)), "getSyscallDeclaration: bad name pointer")
	nonZero(getSyscallDeclaration(strPtr("execve"), bufPtr(decl[:126])), "getSyscallDeclaration: 126-byte buffer")
	nonZero(getSyscallDeclaration(strPtr("foobar"), bufPtr(decl)), "getSyscallDeclaration: unknown syscall")

	/* kallsymsSymbolExists: only the checks that hold in any environment */
	zero(kallsymsSymbolExists(badPtr), "kallsymsSymbolExists: bad pointer")
	zero(kallsymsSymbolExists(strPtr("abcde_bad_name")), "kallsymsSymbolExists: abcde_bad_name")

	return 0
}

func main() {}
