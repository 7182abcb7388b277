package gadgetrt

/*
#include "gogrt.h"
*/
import "C"

import (
	"encoding/json"
	"fmt"
	"math"
	"runtime"
	"sync"
	"unsafe"
)

// Event is an event borrowed for the duration of one callback. Every method fails with
// ErrEventExpired once the callback returned; use Copy to keep the data.
//
// Methods without an element index read record 0 (the only one of a single event); use
// Record(i) for the elements of array events.
type Event struct {
	ptr *C.grt_event
}

func (e *Event) p() (*C.grt_event, error) {
	if e == nil || e.ptr == nil {
		return nil, ErrEventExpired
	}
	return e.ptr, nil
}

// DataSource returns the event's data-source name ("" if expired).
func (e *Event) DataSource() string {
	p, err := e.p()
	if err != nil {
		return ""
	}
	var name *C.char
	var n C.size_t
	if takeError(C.grt_event_datasource(p, &name, &n)) != nil {
		return ""
	}
	return C.GoStringN(name, C.int(n))
}

// Len returns the number of records: 1 for single events, the element count for arrays.
func (e *Event) Len() int {
	p, err := e.p()
	if err != nil {
		return 0
	}
	return int(C.grt_event_len(p))
}

// IsArray reports whether the event is an array packet.
func (e *Event) IsArray() bool {
	p, err := e.p()
	return err == nil && C.grt_event_is_array(p) == 1
}

// NumFields returns the number of fields of the event's data source.
func (e *Event) NumFields() int {
	p, err := e.p()
	if err != nil {
		return 0
	}
	return int(C.grt_event_field_count(p))
}

// FieldIndex looks a field up by full name (exact, then case-insensitive).
func (e *Event) FieldIndex(name string) (int, error) {
	p, err := e.p()
	if err != nil {
		return 0, err
	}
	np, nn := cstr(name)
	var out C.size_t
	err = takeError(C.grt_event_field_index(p, np, nn, &out))
	runtime.KeepAlive(name)
	return int(out), err
}

// FieldName returns the full name of field index.
func (e *Event) FieldName(index int) (string, error) {
	p, err := e.p()
	if err != nil {
		return "", err
	}
	var name *C.char
	var n C.size_t
	if err := takeError(C.grt_event_field_name(p, C.size_t(index), &name, &n)); err != nil {
		return "", err
	}
	return C.GoStringN(name, C.int(n)), nil
}

// FieldKind returns the kind of field index (KindInvalid if out of range or expired).
func (e *Event) FieldKind(index int) Kind {
	p, err := e.p()
	if err != nil {
		return KindInvalid
	}
	return Kind(C.grt_event_field_kind(p, C.size_t(index)))
}

// Record returns a view of element elem (0 for single events).
func (e *Event) Record(elem int) Record { return Record{e: e, elem: elem} }

// Record is one element of an event (see Event.Record). It is valid as long as its event.
type Record struct {
	e    *Event
	elem int
}

func (r Record) byIndex(index int, f func(p *C.grt_event, elem, idx C.size_t) *C.grt_error) error {
	p, err := r.e.p()
	if err != nil {
		return err
	}
	if index < 0 || r.elem < 0 {
		return codeError(CodeInvalidArgument, "negative index")
	}
	return takeError(f(p, C.size_t(r.elem), C.size_t(index)))
}

func (r Record) byName(name string, f func(p *C.grt_event, elem C.size_t, np *C.char, nn C.size_t) *C.grt_error) error {
	p, err := r.e.p()
	if err != nil {
		return err
	}
	if r.elem < 0 {
		return codeError(CodeInvalidArgument, "negative index")
	}
	np, nn := cstr(name)
	err = takeError(f(p, C.size_t(r.elem), np, nn))
	runtime.KeepAlive(name)
	return err
}

// Uint64 reads an integer or bool field (negative values are ErrWrongKind).
func (r Record) Uint64(index int) (uint64, error) {
	var v C.uint64_t
	err := r.byIndex(index, func(p *C.grt_event, el, i C.size_t) *C.grt_error { return C.grt_event_get_u64(p, el, i, &v) })
	return uint64(v), err
}

// Uint64ByName is Uint64 by field name.
func (r Record) Uint64ByName(name string) (uint64, error) {
	var v C.uint64_t
	err := r.byName(name, func(p *C.grt_event, el C.size_t, np *C.char, nn C.size_t) *C.grt_error {
		return C.grt_event_get_u64_by_name(p, el, np, nn, &v)
	})
	return uint64(v), err
}

// Int64 reads an integer or bool field.
func (r Record) Int64(index int) (int64, error) {
	var v C.int64_t
	err := r.byIndex(index, func(p *C.grt_event, el, i C.size_t) *C.grt_error { return C.grt_event_get_i64(p, el, i, &v) })
	return int64(v), err
}

// Int64ByName is Int64 by field name.
func (r Record) Int64ByName(name string) (int64, error) {
	var v C.int64_t
	err := r.byName(name, func(p *C.grt_event, el C.size_t, np *C.char, nn C.size_t) *C.grt_error {
		return C.grt_event_get_i64_by_name(p, el, np, nn, &v)
	})
	return int64(v), err
}

// Float64 reads a float or integer field.
func (r Record) Float64(index int) (float64, error) {
	var v C.double
	err := r.byIndex(index, func(p *C.grt_event, el, i C.size_t) *C.grt_error { return C.grt_event_get_f64(p, el, i, &v) })
	return float64(v), err
}

// Float64ByName is Float64 by field name.
func (r Record) Float64ByName(name string) (float64, error) {
	var v C.double
	err := r.byName(name, func(p *C.grt_event, el C.size_t, np *C.char, nn C.size_t) *C.grt_error {
		return C.grt_event_get_f64_by_name(p, el, np, nn, &v)
	})
	return float64(v), err
}

// Bool reads a bool field.
func (r Record) Bool(index int) (bool, error) {
	var v C.uint8_t
	err := r.byIndex(index, func(p *C.grt_event, el, i C.size_t) *C.grt_error { return C.grt_event_get_bool(p, el, i, &v) })
	return v != 0, err
}

// BoolByName is Bool by field name.
func (r Record) BoolByName(name string) (bool, error) {
	var v C.uint8_t
	err := r.byName(name, func(p *C.grt_event, el C.size_t, np *C.char, nn C.size_t) *C.grt_error {
		return C.grt_event_get_bool_by_name(p, el, np, nn, &v)
	})
	return v != 0, err
}

// Bytes returns a copy of a string, cstring (cut at the first NUL) or bytes field.
func (r Record) Bytes(index int) ([]byte, error) {
	var ptr *C.uint8_t
	var n C.size_t
	err := r.byIndex(index, func(p *C.grt_event, el, i C.size_t) *C.grt_error {
		return C.grt_event_get_bytes(p, el, i, &ptr, &n)
	})
	if err != nil {
		return nil, err
	}
	return C.GoBytes(unsafe.Pointer(ptr), C.int(n)), nil
}

// BytesByName is Bytes by field name.
func (r Record) BytesByName(name string) ([]byte, error) {
	var ptr *C.uint8_t
	var n C.size_t
	err := r.byName(name, func(p *C.grt_event, el C.size_t, np *C.char, nn C.size_t) *C.grt_error {
		return C.grt_event_get_bytes_by_name(p, el, np, nn, &ptr, &n)
	})
	if err != nil {
		return nil, err
	}
	return C.GoBytes(unsafe.Pointer(ptr), C.int(n)), nil
}

// String returns a copy of a string, cstring or bytes field as a Go string.
func (r Record) String(index int) (string, error) {
	b, err := r.Bytes(index)
	return string(b), err
}

// StringByName is String by field name.
func (r Record) StringByName(name string) (string, error) {
	b, err := r.BytesByName(name)
	return string(b), err
}

// Array decodes an array field (KindArrayOf|elem) into []bool, []int64 (signed elements),
// []uint64 (unsigned) or []float64.
func (r Record) Array(index int) (any, error) {
	k := r.e.FieldKind(index)
	if !k.IsArray() {
		return nil, codeError(CodeWrongKind, fmt.Sprintf("field %d is %v, not an array", index, k))
	}
	raw, err := r.Bytes(index)
	if err != nil {
		return nil, err
	}
	return decodeArray(k.Elem(), raw)
}

// elemWidth is the byte width of each scalar kind that can be an array element.
var elemWidth = map[Kind]int{KindBool: 1, KindInt8: 1, KindUint8: 1, KindInt16: 2, KindUint16: 2,
	KindInt32: 4, KindUint32: 4, KindFloat32: 4, KindInt64: 8, KindUint64: 8, KindFloat64: 8}

func decodeArray(elem Kind, raw []byte) (any, error) {
	width := elemWidth[elem]
	if width == 0 {
		return nil, codeError(CodeWrongKind, fmt.Sprintf("unsupported array element kind %v", elem))
	}
	n := len(raw) / width
	u := func(i int) uint64 {
		var v uint64
		for j := width - 1; j >= 0; j-- { // native (little-endian) byte order
			v = v<<8 | uint64(raw[i*width+j])
		}
		return v
	}
	switch {
	case elem == KindBool:
		out := make([]bool, n)
		for i := range out {
			out[i] = raw[i] == 1
		}
		return out, nil
	case elem.IsSigned():
		out := make([]int64, n)
		shift := uint(64 - 8*width)
		for i := range out {
			out[i] = int64(u(i)<<shift) >> shift
		}
		return out, nil
	case elem.IsUnsigned():
		out := make([]uint64, n)
		for i := range out {
			out[i] = u(i)
		}
		return out, nil
	default:
		out := make([]float64, n)
		for i := range out {
			if width == 4 {
				out[i] = float64(math.Float32frombits(uint32(u(i))))
			} else {
				out[i] = math.Float64frombits(u(i))
			}
		}
		return out, nil
	}
}

// Value reads field index converted by kind: bool, int64 (signed kinds), uint64 (unsigned),
// float64, string (string/cstring), []byte, or a slice for array kinds (see Array).
func (r Record) Value(index int) (any, error) {
	k := r.e.FieldKind(index)
	switch {
	case k == KindBool:
		return r.Bool(index)
	case k.IsSigned():
		return r.Int64(index)
	case k.IsUnsigned():
		return r.Uint64(index)
	case k.IsFloat():
		return r.Float64(index)
	case k.IsText():
		return r.String(index)
	case k == KindBytes:
		return r.Bytes(index)
	case k.IsArray():
		return r.Array(index)
	}
	if _, err := r.e.p(); err != nil {
		return nil, err
	}
	return nil, codeError(CodeNotFound, fmt.Sprintf("no field at index %d", index))
}

// ValueByName is Value by field name.
func (r Record) ValueByName(name string) (any, error) {
	i, err := r.e.FieldIndex(name)
	if err != nil {
		return nil, err
	}
	return r.Value(i)
}

// Typed getters of record 0 (single events).

func (e *Event) Uint64(index int) (uint64, error)           { return e.Record(0).Uint64(index) }
func (e *Event) Uint64ByName(name string) (uint64, error)   { return e.Record(0).Uint64ByName(name) }
func (e *Event) Int64(index int) (int64, error)             { return e.Record(0).Int64(index) }
func (e *Event) Int64ByName(name string) (int64, error)     { return e.Record(0).Int64ByName(name) }
func (e *Event) Float64(index int) (float64, error)         { return e.Record(0).Float64(index) }
func (e *Event) Float64ByName(name string) (float64, error) { return e.Record(0).Float64ByName(name) }
func (e *Event) Bool(index int) (bool, error)               { return e.Record(0).Bool(index) }
func (e *Event) BoolByName(name string) (bool, error)       { return e.Record(0).BoolByName(name) }
func (e *Event) Bytes(index int) ([]byte, error)            { return e.Record(0).Bytes(index) }
func (e *Event) BytesByName(name string) ([]byte, error)    { return e.Record(0).BytesByName(name) }
func (e *Event) String(index int) (string, error)           { return e.Record(0).String(index) }
func (e *Event) StringByName(name string) (string, error)   { return e.Record(0).StringByName(name) }
func (e *Event) Value(index int) (any, error)               { return e.Record(0).Value(index) }
func (e *Event) ValueByName(name string) (any, error)       { return e.Record(0).ValueByName(name) }

// JSON renders the event exactly as `ig run -o json` prints it (without the newline): one
// object with dotted names nested (proc.comm -> {"proc":{"comm":...}}), keys sorted, array
// events as one JSON array, bytes as lowercase hex, hidden fields included.
func (e *Event) JSON() ([]byte, error) {
	p, err := e.p()
	if err != nil {
		return nil, err
	}
	return readBuffer(512, func(buf *C.char, cap C.size_t, n *C.size_t) *C.grt_error {
		return C.grt_event_to_json(p, buf, cap, n)
	})
}

// OutputMode selects how Event.Format renders an event (GRT_OUTPUT_*), like `ig run -o`.
type OutputMode uint32

const (
	// OutputJSON is compact JSON followed by a newline (`-o json`).
	OutputJSON OutputMode = C.GRT_OUTPUT_JSON
	// OutputJSONPretty is indented JSON followed by a newline (`-o jsonpretty`).
	OutputJSONPretty OutputMode = C.GRT_OUTPUT_JSONPRETTY
	// OutputYAML is one `---` YAML document per record (`-o yaml`).
	OutputYAML OutputMode = C.GRT_OUTPUT_YAML
	// OutputColumns is one text row per record, each ending in a newline (`-o columns`);
	// the header comes from Event.ColumnsHeader.
	OutputColumns OutputMode = C.GRT_OUTPUT_COLUMNS
)

func (m OutputMode) String() string {
	switch m {
	case OutputJSON:
		return "json"
	case OutputJSONPretty:
		return "jsonpretty"
	case OutputYAML:
		return "yaml"
	case OutputColumns:
		return "columns"
	}
	return fmt.Sprintf("OutputMode(%d)", uint32(m))
}

// PriorityOutput is the subscription priority of `ig run`'s output: a callback subscribed
// at it sees packets after the formatters, name resolution, stacks, filter (9000), sort
// (9500) and limiter (9600).
const PriorityOutput int32 = C.GRT_PRIORITY_OUTPUT

// Format renders the event the way `ig run -o <mode>` prints it (JSON, JSONPretty and
// Columns end in a newline). fields selects the columns like `ig run --fields` ("f1,f2",
// "+f", "-f"; "" = the default columns) and only matters for OutputColumns. An unknown mode
// or field is ErrInvalidArgument.
func (e *Event) Format(mode OutputMode, fields string) (string, error) {
	p, err := e.p()
	if err != nil {
		return "", err
	}
	fp, fn := cstr(fields) // "" -> NULL, 0: the default columns
	s, err := readString(512, func(buf *C.char, cap C.size_t, n *C.size_t) *C.grt_error {
		return C.grt_event_format(p, C.uint32_t(mode), fp, fn, buf, cap, n)
	})
	runtime.KeepAlive(fields)
	return s, err
}

// ColumnsHeader returns the columns header line (no newline) for the event's data source
// and fields (as in Format), e.g. "COMM             PID             ".
func (e *Event) ColumnsHeader(fields string) (string, error) {
	p, err := e.p()
	if err != nil {
		return "", err
	}
	fp, fn := cstr(fields)
	s, err := readString(256, func(buf *C.char, cap C.size_t, n *C.size_t) *C.grt_error {
		return C.grt_event_columns_header(p, fp, fn, buf, cap, n)
	})
	runtime.KeepAlive(fields)
	return s, err
}

// Field is a field's name and kind (EventCopy.Fields).
type Field struct {
	Name string
	Kind Kind
}

// EventCopy is a copy of an event that outlives its callback.
type EventCopy struct {
	DataSource string
	IsArray    bool
	Fields     []Field
	// Records[elem][field] holds the values, typed as in Record.Value.
	Records [][]any
	// JSON is the library's rendering of the event (Event.JSON).
	JSON json.RawMessage
}

// Copy copies every value of the event.
func (e *Event) Copy() (EventCopy, error) {
	if _, err := e.p(); err != nil {
		return EventCopy{}, err
	}
	c := EventCopy{DataSource: e.DataSource(), IsArray: e.IsArray()}
	nf := e.NumFields()
	c.Fields = make([]Field, nf)
	for i := 0; i < nf; i++ {
		name, err := e.FieldName(i)
		if err != nil {
			return EventCopy{}, err
		}
		c.Fields[i] = Field{Name: name, Kind: e.FieldKind(i)}
	}
	n := e.Len()
	c.Records = make([][]any, n)
	for el := 0; el < n; el++ {
		rec := make([]any, nf)
		for i := 0; i < nf; i++ {
			v, err := e.Record(el).Value(i)
			if err != nil {
				return EventCopy{}, err
			}
			rec[i] = v
		}
		c.Records[el] = rec
	}
	j, err := e.JSON()
	if err != nil {
		return EventCopy{}, err
	}
	c.JSON = j
	return c, nil
}

// Len returns the number of records.
func (c EventCopy) Len() int { return len(c.Records) }

// FieldIndex returns the index of field name, or -1.
func (c EventCopy) FieldIndex(name string) int {
	for i, f := range c.Fields {
		if f.Name == name {
			return i
		}
	}
	return -1
}

// ValueAt returns field name of record elem.
func (c EventCopy) ValueAt(elem int, name string) (any, bool) {
	i := c.FieldIndex(name)
	if i < 0 || elem < 0 || elem >= len(c.Records) {
		return nil, false
	}
	return c.Records[elem][i], true
}

// Value returns field name of record 0.
func (c EventCopy) Value(name string) (any, bool) { return c.ValueAt(0, name) }

// Map returns record elem as a map from field name to value.
func (c EventCopy) Map(elem int) map[string]any {
	m := make(map[string]any, len(c.Fields))
	if elem < 0 || elem >= len(c.Records) {
		return m
	}
	for i, f := range c.Fields {
		m[f.Name] = c.Records[elem][i]
	}
	return m
}

var sizeCells = sync.Pool{New: func() any { return new(C.size_t) }}

// appendCall runs a (buf, cap, out_len) call writing after dst's contents, growing dst when
// the library reports GRT_ERR_INSUFFICIENT_SIZE. With a dst of enough capacity (reused from
// event to event) it allocates nothing.
func appendCall(dst []byte, call func(buf *C.char, cap C.size_t, outLen *C.size_t) *C.grt_error) ([]byte, error) {
	// The out-length cell escapes to C: a pooled one keeps the call allocation-free.
	np := sizeCells.Get().(*C.size_t)
	defer sizeCells.Put(np)
	for i := 0; i < 4; i++ {
		room := dst[len(dst):cap(dst)]
		if len(room) == 0 {
			dst = append(dst, make([]byte, 512)...)[:len(dst)]
			room = dst[len(dst):cap(dst)]
		}
		*np = 0
		e := call((*C.char)(unsafe.Pointer(unsafe.SliceData(room))), C.size_t(len(room)), np)
		runtime.KeepAlive(room)
		n := *np
		if e == nil {
			return dst[:len(dst)+int(n)], nil
		}
		code := Code(C.grt_error_code(e))
		if code != CodeInsufficientSize || int(n) <= len(room) {
			return dst, takeError(e)
		}
		C.grt_error_free(e)
		grown := make([]byte, len(dst), len(dst)+int(n))
		copy(grown, dst)
		dst = grown
	}
	return dst, codeError(CodeInsufficientSize, "buffer kept growing")
}

// AppendJSON appends the event's JSON (as JSON returns it) to dst and returns the extended
// slice. Reusing dst (dst[:0]) from event to event makes it allocation-free in steady state.
func (e *Event) AppendJSON(dst []byte) ([]byte, error) {
	p, err := e.p()
	if err != nil {
		return dst, err
	}
	return appendCall(dst, func(buf *C.char, cap C.size_t, n *C.size_t) *C.grt_error {
		return C.grt_event_to_json(p, buf, cap, n)
	})
}

// AppendFormat is Format appending to dst (allocation-free with a reused dst).
func (e *Event) AppendFormat(dst []byte, mode OutputMode, fields string) ([]byte, error) {
	p, err := e.p()
	if err != nil {
		return dst, err
	}
	fp, fn := cstr(fields)
	out, err := appendCall(dst, func(buf *C.char, cap C.size_t, n *C.size_t) *C.grt_error {
		return C.grt_event_format(p, C.uint32_t(mode), fp, fn, buf, cap, n)
	})
	runtime.KeepAlive(fields)
	return out, err
}

// AppendBytes appends a string, cstring or bytes field of record 0 to dst (Bytes without
// the copy's allocation).
func (e *Event) AppendBytes(dst []byte, index int) ([]byte, error) {
	return e.Record(0).AppendBytes(dst, index)
}

// AppendBytes appends a string, cstring or bytes field to dst (no copy allocated; the
// out-parameters of the C call may still cost a small allocation).
func (r Record) AppendBytes(dst []byte, index int) ([]byte, error) {
	var ptr *C.uint8_t
	var n C.size_t
	err := r.byIndex(index, func(p *C.grt_event, el, i C.size_t) *C.grt_error {
		return C.grt_event_get_bytes(p, el, i, &ptr, &n)
	})
	if err != nil {
		return dst, err
	}
	return append(dst, unsafe.Slice((*byte)(unsafe.Pointer(ptr)), int(n))...), nil
}
