// fields: mirror of Inspektor Gadget's TestWasmFields guest, plus a read of a
// host-provided value (host_in -> field_echo).
//
// Host contract: see ../README.md, section "fields".
package main

import (
	"bytes"
	"fmt"

	api "github.com/inspektor-gadget/inspektor-gadget/wasmapi/go"
)

type fieldSpec struct {
	name string
	kind api.FieldKind
	tag  string
}

// Order matters: index i in specs is index i in fields.
var specs = []fieldSpec{
	{"field_bool", api.Kind_Bool, "tag_bool"},
	{"field_int8", api.Kind_Int8, "tag_int8"},
	{"field_int16", api.Kind_Int16, "tag_int16"},
	{"field_int32", api.Kind_Int32, "tag_int32"},
	{"field_int64", api.Kind_Int64, "tag_int64"},
	{"field_uint8", api.Kind_Uint8, "tag_uint8"},
	{"field_uint16", api.Kind_Uint16, "tag_uint16"},
	{"field_uint32", api.Kind_Uint32, "tag_uint32"},
	{"field_uint64", api.Kind_Uint64, "tag_uint64"},
	{"field_float32", api.Kind_Float32, "tag_float32"},
	{"field_float64", api.Kind_Float64, "tag_float64"},
	{"field_string", api.Kind_String, "tag_string"},
	{"field_bytes", api.Kind_Bytes, "tag_bytes"},
}

const (
	valString = "Hello, World!"
	valHost   = "LOCALHOST"
)

// Package-level so that the memory stays alive: a host may keep a view of
// the guest buffer for Bytes fields (the reference host does).
var valBytes = []byte{0x01, 0x02, 0x03, 0x04, 0x05}

var (
	fields    []api.Field
	hostField api.Field
	hostIn    api.Field
	echoField api.Field
)

func fail(format string, args ...any) {
	msg := fmt.Sprintf("fields: "+format, args...)
	api.Error(msg)
	panic(msg)
}

func must(err error, what string) {
	if err != nil {
		fail("%s: %v", what, err)
	}
}

//go:wasmexport gadgetInit
func gadgetInit() int32 {
	ds, err := api.GetDataSource("myds")
	if err != nil {
		api.Errorf("fields: getting datasource myds: %v", err)
		return 1
	}

	for _, s := range specs {
		f, err := ds.AddField(s.name, s.kind)
		if err != nil {
			api.Errorf("fields: adding field %s: %v", s.name, err)
			return 1
		}
		if err := f.AddTag(s.tag); err != nil {
			api.Errorf("fields: adding tag %s: %v", s.tag, err)
			return 1
		}
		fields = append(fields, f)
	}

	echoField, err = ds.AddField("field_echo", api.Kind_Uint32)
	if err != nil {
		api.Errorf("fields: adding field field_echo: %v", err)
		return 1
	}
	if err := echoField.AddTag("tag_echo"); err != nil {
		api.Errorf("fields: adding tag tag_echo: %v", err)
		return 1
	}

	hostField, err = ds.GetField("host_field")
	if err != nil {
		api.Errorf("fields: getting host_field: %v", err)
		return 1
	}
	hostIn, err = ds.GetField("host_in")
	if err != nil {
		api.Errorf("fields: getting host_in: %v", err)
		return 1
	}

	if err := ds.Subscribe(onData, 0); err != nil {
		api.Errorf("fields: subscribing: %v", err)
		return 1
	}
	return 0
}

func onData(_ api.DataSource, data api.Data) {
	// Set every value (index order = specs order).
	must(fields[0].SetBool(data, true), "set field_bool")
	must(fields[1].SetInt8(data, -123), "set field_int8")
	must(fields[2].SetInt16(data, -25647), "set field_int16")
	must(fields[3].SetInt32(data, -535245564), "set field_int32")
	must(fields[4].SetInt64(data, -1234567890), "set field_int64")
	must(fields[5].SetUint8(data, 56), "set field_uint8")
	must(fields[6].SetUint16(data, 12345), "set field_uint16")
	must(fields[7].SetUint32(data, 1234567890), "set field_uint32")
	must(fields[8].SetUint64(data, 1234567890123456), "set field_uint64")
	must(fields[9].SetFloat32(data, 3.14159), "set field_float32")
	must(fields[10].SetFloat64(data, 3.14159265359), "set field_float64")
	must(fields[11].SetString(data, valString), "set field_string")
	must(fields[12].SetBytes(data, valBytes), "set field_bytes")
	must(hostField.SetString(data, valHost), "set host_field")

	// Read a value the host put in and echo it back.
	in, err := hostIn.Uint32(data)
	must(err, "get host_in")
	must(echoField.SetUint32(data, in*3), "set field_echo")

	// Read everything back through the getters (fieldGetScalar /
	// fieldGetBuffer round trip).
	if v, err := fields[0].Bool(data); err != nil || v != true {
		fail("readback field_bool: %v %v", v, err)
	}
	if v, err := fields[1].Int8(data); err != nil || v != -123 {
		fail("readback field_int8: %v %v", v, err)
	}
	if v, err := fields[2].Int16(data); err != nil || v != -25647 {
		fail("readback field_int16: %v %v", v, err)
	}
	if v, err := fields[3].Int32(data); err != nil || v != -535245564 {
		fail("readback field_int32: %v %v", v, err)
	}
	if v, err := fields[4].Int64(data); err != nil || v != -1234567890 {
		fail("readback field_int64: %v %v", v, err)
	}
	if v, err := fields[5].Uint8(data); err != nil || v != 56 {
		fail("readback field_uint8: %v %v", v, err)
	}
	if v, err := fields[6].Uint16(data); err != nil || v != 12345 {
		fail("readback field_uint16: %v %v", v, err)
	}
	if v, err := fields[7].Uint32(data); err != nil || v != 1234567890 {
		fail("readback field_uint32: %v %v", v, err)
	}
	if v, err := fields[8].Uint64(data); err != nil || v != 1234567890123456 {
		fail("readback field_uint64: %v %v", v, err)
	}
	if v, err := fields[9].Float32(data); err != nil || v != float32(3.14159) {
		fail("readback field_float32: %v %v", v, err)
	}
	if v, err := fields[10].Float64(data); err != nil || v != 3.14159265359 {
		fail("readback field_float64: %v %v", v, err)
	}
	if v, err := fields[11].String(data, 64); err != nil || v != valString {
		fail("readback field_string: %q %v", v, err)
	}
	buf := make([]byte, 16)
	if n, err := fields[12].Bytes(data, buf); err != nil || !bytes.Equal(buf[:n], valBytes) {
		fail("readback field_bytes: %x %v", buf, err)
	}
	if v, err := hostField.String(data, 64); err != nil || v != valHost {
		fail("readback host_field: %q %v", v, err)
	}
	if v, err := echoField.Uint32(data); err != nil || v != in*3 {
		fail("readback field_echo: %v %v", v, err)
	}
}

func main() {}
