package gadgetrt

/*
#include "gogrt.h"
*/
import "C"

import (
	"fmt"
	"runtime"
)

// Packet is a packet being built for a data source (Gadget.NewPacket). It is owned by one
// goroutine at a time; Gadget.Emit consumes it, Free releases it unemitted (a finalizer
// does so if neither happens).
type Packet struct {
	p      *C.grt_packet
	ds     string
	fields map[string]FieldInfo
}

func newPacket(p *C.grt_packet, ds string, fields []FieldInfo) *Packet {
	m := make(map[string]FieldInfo, len(fields))
	for _, f := range fields {
		m[f.Name] = f
	}
	pkt := &Packet{p: p, ds: ds, fields: m}
	runtime.SetFinalizer(pkt, (*Packet).Free)
	return pkt
}

// DataSource returns the packet's data-source name.
func (p *Packet) DataSource() string { return p.ds }

func (p *Packet) take() (*C.grt_packet, error) {
	if p == nil || p.p == nil {
		return nil, codeError(CodeAlreadyUsed, "packet already emitted or freed")
	}
	cp := p.p
	p.p = nil
	runtime.SetFinalizer(p, nil)
	return cp, nil
}

func (p *Packet) ptr() (*C.grt_packet, error) {
	if p == nil || p.p == nil {
		return nil, codeError(CodeAlreadyUsed, "packet already emitted or freed")
	}
	return p.p, nil
}

// Free releases a packet that was not emitted (idempotent).
func (p *Packet) Free() {
	if cp, err := p.take(); err == nil {
		C.grt_packet_free(cp)
	}
}

// Append appends a zeroed element to an array packet and returns its index.
func (p *Packet) Append() (int, error) {
	cp, err := p.ptr()
	if err != nil {
		return 0, err
	}
	var idx C.size_t
	err = takeError(C.grt_packet_append(cp, &idx))
	runtime.KeepAlive(p)
	return int(idx), err
}

// SetUint64 sets numeric/bool field of record elem (0 for single packets).
func (p *Packet) SetUint64(elem, field int, v uint64) error {
	cp, err := p.ptr()
	if err != nil {
		return err
	}
	err = takeError(C.grt_packet_set_u64(cp, C.size_t(elem), C.size_t(field), C.uint64_t(v)))
	runtime.KeepAlive(p)
	return err
}

// SetInt64 sets a numeric/bool field from a signed value.
func (p *Packet) SetInt64(elem, field int, v int64) error {
	cp, err := p.ptr()
	if err != nil {
		return err
	}
	err = takeError(C.grt_packet_set_i64(cp, C.size_t(elem), C.size_t(field), C.int64_t(v)))
	runtime.KeepAlive(p)
	return err
}

// SetFloat64 sets a numeric field from a float.
func (p *Packet) SetFloat64(elem, field int, v float64) error {
	cp, err := p.ptr()
	if err != nil {
		return err
	}
	err = takeError(C.grt_packet_set_f64(cp, C.size_t(elem), C.size_t(field), C.double(v)))
	runtime.KeepAlive(p)
	return err
}

// SetBytes sets a string, cstring or bytes field (copied).
func (p *Packet) SetBytes(elem, field int, v []byte) error {
	cp, err := p.ptr()
	if err != nil {
		return err
	}
	bp, bn := cbytes(v)
	err = takeError(C.grt_packet_set_bytes(cp, C.size_t(elem), C.size_t(field), bp, bn))
	runtime.KeepAlive(v)
	runtime.KeepAlive(p)
	return err
}

// SetString sets a string field from UTF-8 text (validated, copied).
func (p *Packet) SetString(elem, field int, v string) error {
	cp, err := p.ptr()
	if err != nil {
		return err
	}
	sp, sn := cstr(v)
	err = takeError(C.grt_packet_set_string(cp, C.size_t(elem), C.size_t(field), sp, sn))
	runtime.KeepAlive(v)
	runtime.KeepAlive(p)
	return err
}

// SetAt sets field name of record elem from a Go value: bool, signed or unsigned
// integers, float32/float64, string or []byte.
func (p *Packet) SetAt(elem int, name string, value any) error {
	f, ok := p.fields[name]
	if !ok {
		return codeError(CodeNotFound, fmt.Sprintf("field %q not in data source %q", name, p.ds))
	}
	i := f.Index
	switch v := value.(type) {
	case bool:
		var u uint64
		if v {
			u = 1
		}
		return p.SetUint64(elem, i, u)
	case int:
		return p.SetInt64(elem, i, int64(v))
	case int8:
		return p.SetInt64(elem, i, int64(v))
	case int16:
		return p.SetInt64(elem, i, int64(v))
	case int32:
		return p.SetInt64(elem, i, int64(v))
	case int64:
		return p.SetInt64(elem, i, v)
	case uint:
		return p.SetUint64(elem, i, uint64(v))
	case uint8:
		return p.SetUint64(elem, i, uint64(v))
	case uint16:
		return p.SetUint64(elem, i, uint64(v))
	case uint32:
		return p.SetUint64(elem, i, uint64(v))
	case uint64:
		return p.SetUint64(elem, i, v)
	case float32:
		return p.SetFloat64(elem, i, float64(v))
	case float64:
		return p.SetFloat64(elem, i, v)
	case string:
		if f.Kind == KindString {
			return p.SetString(elem, i, v)
		}
		return p.SetBytes(elem, i, []byte(v))
	case []byte:
		return p.SetBytes(elem, i, v)
	}
	return codeError(CodeInvalidArgument, fmt.Sprintf("cannot set field %q from %T", name, value))
}

// Set sets field name of record 0 (see SetAt).
func (p *Packet) Set(name string, value any) error { return p.SetAt(0, name, value) }
