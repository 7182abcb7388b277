// syscall: mirror of Inspektor Gadget's `syscall` test guest (x86_64 host).
//
// Host contract: see ../README.md, section "syscall".
package main

import (
	api "github.com/inspektor-gadget/inspektor-gadget/wasmapi/go"
)

//go:wasmexport gadgetInit
func gadgetInit() int32 {
	if name, err := api.GetSyscallName(1337); err != nil || name != "syscall_539" {
		api.Errorf("syscall: GetSyscallName(1337) = %q, %v; expected syscall_539", name, err)
		return 1
	}
	if name, err := api.GetSyscallName(428); err != nil || name != "open_tree" {
		api.Errorf("syscall: GetSyscallName(428) = %q, %v; expected open_tree", name, err)
		return 1
	}
	if id, err := api.GetSyscallID("open_tree"); err != nil || id != 428 {
		api.Errorf("syscall: GetSyscallID(open_tree) = %d, %v; expected 428", id, err)
		return 1
	}
	if _, err := api.GetSyscallID("foobar"); err == nil {
		api.Errorf("syscall: GetSyscallID(foobar) should fail")
		return 1
	}
	if _, err := api.GetSyscallDeclaration("foobar"); err == nil {
		api.Errorf("syscall: GetSyscallDeclaration(foobar) should fail")
		return 1
	}
	decl, err := api.GetSyscallDeclaration("execve")
	if err != nil {
		api.Errorf("syscall: GetSyscallDeclaration(execve) failed: %v", err)
		return 1
	}
	if len(decl.Params) != 3 {
		api.Errorf("syscall: execve has %d params, expected 3", len(decl.Params))
		return 1
	}
	if decl.Params[0].Name != "filename" {
		api.Errorf("syscall: execve param 0 is %q, expected filename", decl.Params[0].Name)
		return 1
	}
	if !decl.Params[0].IsPointer {
		api.Errorf("syscall: execve param 0 (filename) should be a pointer")
		return 1
	}
	return 0
}

func main() {}
