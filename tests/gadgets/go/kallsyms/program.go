// kallsyms: mirror of Inspektor Gadget's `kallsyms` test guest.
//
// Host contract: see ../README.md, section "kallsyms".
package main

import (
	api "github.com/inspektor-gadget/inspektor-gadget/wasmapi/go"
)

//go:wasmexport gadgetInit
func gadgetInit() int32 {
	if api.KallsymsSymbolExists("abcde_this_symbol_does_not_exists") {
		api.Errorf("kallsyms: abcde_this_symbol_does_not_exists should not exist")
		return 1
	}
	if !api.KallsymsSymbolExists("vfs_read") {
		api.Errorf("kallsyms: vfs_read should exist")
		return 1
	}
	return 0
}

func main() {}
