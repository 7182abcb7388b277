// badguest_env: the environment-dependent part of Inspektor Gadget's
// `badguest` guest (tracefs for syscall declarations, /proc/kallsyms).
// badguest + badguest_env + badguest_maps together cover IG's badguest.
//
// Host contract: see ../README.md, section "badguest_env".
package main

import (
	"fmt"
	"unsafe"

	api "github.com/inspektor-gadget/inspektor-gadget/wasmapi/go"
)

//go:wasmimport ig gadgetLog
func gadgetLog(level uint32, msg uint64)

//go:wasmimport ig getSyscallDeclaration
func getSyscallDeclaration(name uint64, dst uint64) uint32

//go:wasmimport ig kallsymsSymbolExists
func kallsymsSymbolExists(symbol uint64) uint32

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
	msg := "badguest_env: check failed: " + check + ": " + fmt.Sprintf(format, args...)
	gadgetLog(uint32(api.ErrorLevel), strPtr(msg))
	panic(msg)
}

// Package-level so the buffer stays alive across the host call.
var decl [252]byte

//go:wasmexport gadgetInit
func gadgetInit() int32 {
	if r := getSyscallDeclaration(strPtr("execve"), bufPtr(decl[:])); r != 0 {
		fail("getSyscallDeclaration: execve, 252-byte buffer", "got %d, expected 0", r)
	}
	// Record layout: name[32] at 0, nrParams u8 at 32, params at 36 + 36*i
	// (name[32], flags u32 LE).
	if string(decl[:6]) != "execve" || decl[6] != 0 {
		fail("getSyscallDeclaration: execve record name", "got %q", decl[:32])
	}
	if decl[32] != 3 {
		fail("getSyscallDeclaration: execve record nrParams", "got %d, expected 3", decl[32])
	}
	if string(decl[36:44]) != "filename" || decl[44] != 0 {
		fail("getSyscallDeclaration: execve param 0 name", "got %q", decl[36:68])
	}
	if decl[68]&1 != 1 {
		fail("getSyscallDeclaration: execve param 0 flags", "got %x, expected pointer bit", decl[68:72])
	}
	if r := getSyscallDeclaration(strPtr("execve"), bufPtr(decl[:126])); r == 0 {
		fail("getSyscallDeclaration: execve, 126-byte buffer", "got 0, expected non-zero")
	}
	if r := kallsymsSymbolExists(strPtr("vfs_read")); r != 1 {
		fail("kallsymsSymbolExists: vfs_read", "got %d, expected 1", r)
	}
	if r := kallsymsSymbolExists(strPtr("abcde_bad_name")); r != 0 {
		fail("kallsymsSymbolExists: abcde_bad_name", "got %d, expected 0", r)
	}
	return 0
}

func main() {}
