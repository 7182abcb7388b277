// logging: one log line per level plus one line on stdout and one on stderr.
//
// Host contract: see ../README.md, section "logging".
package main

import (
	"fmt"
	"os"

	api "github.com/inspektor-gadget/inspektor-gadget/wasmapi/go"
)

//go:wasmexport gadgetInit
func gadgetInit() int32 {
	api.Errorf("level-error-%d", 42)
	api.Warnf("level-warn-%d", 42)
	api.Infof("level-info-%d", 42)
	api.Debugf("level-debug-%d", 42)
	api.Tracef("level-trace-%d", 42)
	fmt.Println("stdout-line")
	fmt.Fprintln(os.Stderr, "stderr-line")
	return 0
}

func main() {}
