// The wasm side of trace_open: turns the raw open flags into text and classifies the path.
package main

import (
	"strings"

	api "github.com/inspektor-gadget/inspektor-gadget/wasmapi/go"
)

var (
	fname, flagsRaw, flags, category api.Field
)

var flagNames = []struct {
	bit  int32
	name string
}{
	{0o100, "O_CREAT"}, {0o200, "O_EXCL"}, {0o1000, "O_TRUNC"}, {0o2000, "O_APPEND"},
	{0o4000, "O_NONBLOCK"}, {0o200000, "O_DIRECTORY"}, {0o2000000, "O_CLOEXEC"},
}

func flagsString(v int32) string {
	parts := []string{[]string{"O_RDONLY", "O_WRONLY", "O_RDWR", "O_ACCMODE"}[v&3]}
	for _, f := range flagNames {
		if v&f.bit != 0 {
			parts = append(parts, f.name)
		}
	}
	return strings.Join(parts, "|")
}

func classify(p string) string {
	for _, pre := range []string{"/proc/", "/sys/", "/dev/", "/etc/", "/tmp/", "/usr/", "/lib"} {
		if strings.HasPrefix(p, pre) {
			return strings.Trim(pre, "/")
		}
	}
	if !strings.HasPrefix(p, "/") {
		return "relative"
	}
	return "other"
}

//go:wasmexport gadgetInit
func gadgetInit() int32 {
	ds, err := api.GetDataSource("open")
	if err != nil {
		api.Errorf("open data source not found: %v", err)
		return 1
	}
	if fname, err = ds.GetField("fname"); err != nil {
		return 1
	}
	if flagsRaw, err = ds.GetField("flags_raw"); err != nil {
		return 1
	}
	if flags, err = ds.AddField("flags", api.Kind_String); err != nil {
		return 1
	}
	if category, err = ds.AddField("category", api.Kind_String); err != nil {
		return 1
	}
	ds.Subscribe(func(source api.DataSource, data api.Data) {
		name, _ := fname.String(data, 256)
		raw, _ := flagsRaw.Int32(data)
		flags.SetString(data, flagsString(raw))
		category.SetString(data, classify(name))
	}, 0)
	return 0
}

func main() {}
