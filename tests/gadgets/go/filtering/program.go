// filtering: mirror of Inspektor Gadget's TestFiltering guest.
//
// Host contract: see ../README.md, section "filtering".
package main

import (
	api "github.com/inspektor-gadget/inspektor-gadget/wasmapi/go"
)

const (
	mntnsDiscarded    = 555
	mntnsNotDiscarded = 777
)

//go:wasmexport gadgetStart
func gadgetStart() int32 {
	if !api.ShouldDiscardMntNsID(mntnsDiscarded) {
		api.Errorf("filtering: mntns %d should be discarded", mntnsDiscarded)
		return 1
	}
	if api.ShouldDiscardMntNsID(mntnsNotDiscarded) {
		api.Errorf("filtering: mntns %d should not be discarded", mntnsNotDiscarded)
		return 1
	}
	return 0
}

func main() {}
