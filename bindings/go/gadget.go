package gadgetrt

/*
#include "gogrt.h"
*/
import "C"

import (
	"context"
	"encoding/json"
	"fmt"
	"iter"
	"math"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"
)

// State is a gadget lifecycle state (GRT_STATE_*).
type State uint32

const (
	StateCreated     State = 0
	StateInitialized State = 1
	StateStarted     State = 2
	StateStopped     State = 3
	StateFailed      State = 4
)

func (s State) String() string {
	switch s {
	case StateCreated:
		return "created"
	case StateInitialized:
		return "initialized"
	case StateStarted:
		return "started"
	case StateStopped:
		return "stopped"
	case StateFailed:
		return "failed"
	}
	return fmt.Sprintf("state(%d)", uint32(s))
}

// DataSourceType is GRT_DS_SINGLE or GRT_DS_ARRAY.
type DataSourceType uint32

const (
	DataSourceSingle DataSourceType = 1
	DataSourceArray  DataSourceType = 2
)

// Kind is a field kind (GRT_KIND_*).
type Kind uint32

const (
	KindInvalid Kind = 0
	KindBool    Kind = 1
	KindInt8    Kind = 2
	KindInt16   Kind = 3
	KindInt32   Kind = 4
	KindInt64   Kind = 5
	KindUint8   Kind = 6
	KindUint16  Kind = 7
	KindUint32  Kind = 8
	KindUint64  Kind = 9
	KindFloat32 Kind = 10
	KindFloat64 Kind = 11
	KindString  Kind = 12
	KindCString Kind = 13
	KindBytes   Kind = 14

	// KindArrayOf flags array kinds: KindArrayOf|KindUint32 is a fixed-size array of
	// uint32 from an eBPF struct (IG's ArrayOf). Record.Value returns its elements as a slice.
	KindArrayOf Kind = 0x10000000
)

var kindNames = [...]string{"invalid", "bool", "int8", "int16", "int32", "int64", "uint8", "uint16",
	"uint32", "uint64", "float32", "float64", "string", "cstring", "bytes"}

func (k Kind) String() string {
	if k.IsArray() {
		return "[]" + k.Elem().String()
	}
	if int(k) < len(kindNames) {
		return kindNames[k]
	}
	return fmt.Sprintf("kind(%d)", uint32(k))
}

// IsArray reports whether k is an array kind (KindArrayOf|elem); Elem is its element kind.
func (k Kind) IsArray() bool { return k&KindArrayOf != 0 }
func (k Kind) Elem() Kind    { return k &^ KindArrayOf }

// IsSigned, IsUnsigned, IsFloat and IsText classify kinds.
func (k Kind) IsSigned() bool   { return k >= KindInt8 && k <= KindInt64 }
func (k Kind) IsUnsigned() bool { return k >= KindUint8 && k <= KindUint64 }
func (k Kind) IsFloat() bool    { return k == KindFloat32 || k == KindFloat64 }
func (k Kind) IsText() bool     { return k == KindString || k == KindCString }

// Gadget is one gadget instance. Its methods are safe for concurrent use, except that only
// one goroutine may Poll/Consume at a time (the others get ErrBusy). Close it when done; a
// finalizer closes it otherwise.
type Gadget struct {
	g *gadget
}

// gadget is the part subscriptions point to: it never references *Gadget, so an unclosed
// Gadget can still be collected (and finalized).
type gadget struct {
	h          handle
	name       string
	pollMu     sync.Mutex
	dispatch   dispatchState // owned by the goroutine holding pollMu
	inCallback atomic.Int32
	done       chan struct{}
	doneOnce   sync.Once
}

type dispatchState struct {
	stop     bool
	panicked bool
	panicVal any
	err      error
	count    int
}

type subscription struct {
	g  *gadget
	fn func(*Event) error
}

func newGadget(p *C.grt_gadget, name string) *Gadget {
	inner := &gadget{
		name: name,
		done: make(chan struct{}),
		h: handle{ptr: unsafe.Pointer(p), free: func(p unsafe.Pointer) {
			C.grt_gadget_free((*C.grt_gadget)(p))
		}},
	}
	g := &Gadget{g: inner}
	runtime.SetFinalizer(g, func(g *Gadget) { g.g.close() })
	return g
}

// Name returns the path or name the gadget was opened with.
func (g *Gadget) Name() string { return g.g.name }

// use runs f with the gadget pointer, guarded against a concurrent Close.
func (g *Gadget) use(f func(p *C.grt_gadget) error) error {
	p, err := g.g.h.acquire()
	if err != nil {
		return err
	}
	err = f((*C.grt_gadget)(p))
	g.g.h.release()
	runtime.KeepAlive(g)
	return err
}

func (g *Gadget) call(f func(p *C.grt_gadget) *C.grt_error) error {
	return g.use(func(p *C.grt_gadget) error { return takeError(f(p)) })
}

// Close releases the gadget (stopping it if it runs); subscription finalizers run then.
// Idempotent. If another goroutine is inside a call on this gadget (e.g. a blocked Poll),
// Close stops the gadget to wake it and the memory is released when that call returns.
// Close may be called from inside an event callback.
func (g *Gadget) Close() error {
	runtime.SetFinalizer(g, nil)
	g.g.close()
	return nil
}

func (g *gadget) close() {
	p, busy, ok := g.h.close()
	if !ok {
		return
	}
	g.doneOnce.Do(func() { close(g.done) })
	if busy && p != nil && g.inCallback.Load() == 0 {
		// Wake a goroutine blocked in Poll; it releases the pointer when it returns.
		_ = takeError(C.grt_gadget_stop((*C.grt_gadget)(p)))
	}
	g.h.release()
}

// Closed reports whether Close was called.
func (g *Gadget) Closed() bool { return g.g.h.isClosed() }

// Init instantiates the wasm program and runs gadgetInit (only after OpenPath/OpenBytes).
func (g *Gadget) Init() error {
	return g.call(func(p *C.grt_gadget) *C.grt_error { return C.grt_gadget_init(p) })
}

// Start runs gadgetPreStart, loads and attaches eBPF and runs gadgetStart (initialising
// first if needed).
func (g *Gadget) Start() error {
	return g.call(func(p *C.grt_gadget) *C.grt_error { return C.grt_gadget_start(p) })
}

// Stop stops the gadget; events already queued stay pollable.
func (g *Gadget) Stop() error {
	return g.call(func(p *C.grt_gadget) *C.grt_error { return C.grt_gadget_stop(p) })
}

// State returns the lifecycle state (StateFailed once closed).
func (g *Gadget) State() State {
	s := StateFailed
	_ = g.use(func(p *C.grt_gadget) error { s = State(C.grt_gadget_state(p)); return nil })
	return s
}

// SetParam sets a declared param before Start (an undeclared key is ErrParam).
func (g *Gadget) SetParam(key, value string) error {
	return g.call(func(p *C.grt_gadget) *C.grt_error {
		kp, kn := cstr(key)
		vp, vn := cstr(value)
		return C.grt_gadget_set_param(p, kp, kn, vp, vn)
	})
}

// SetFilter sets IG's `-F` filter rules (param "filter"): comma-separated `field==value`,
// `field!=value`, `field~regex`, `field!~regex`, `field>=n`, ... applied to every data
// source. Use SetParam("filter.<ds>", expr) for one data source. Invalid rules make Start
// fail with ErrParam.
func (g *Gadget) SetFilter(expr string) error { return g.SetParam("filter", expr) }

// SetSort sets IG's `--sort` spec (param "sort"): "f1,-f2" sorts array data sources by f1
// ascending, then f2 descending.
func (g *Gadget) SetSort(spec string) error { return g.SetParam("sort", spec) }

// SetMaxEntries sets IG's `--max-entries` (param "max-entries"): keep at most n entries
// of every array data source per packet (-1 = no limit).
func (g *Gadget) SetMaxEntries(n int) error { return g.SetParam("max-entries", strconv.Itoa(n)) }

// SetMaxEntriesSpec sets `--max-entries` in its string form, e.g. "ds:10,ds2:5".
func (g *Gadget) SetMaxEntriesSpec(spec string) error { return g.SetParam("max-entries", spec) }

func (g *Gadget) readString(initial int, f func(p *C.grt_gadget, buf *C.char, cap C.size_t, n *C.size_t) *C.grt_error) (string, error) {
	var out string
	err := g.use(func(p *C.grt_gadget) error {
		var err error
		out, err = readString(initial, func(buf *C.char, cap C.size_t, n *C.size_t) *C.grt_error {
			return f(p, buf, cap, n)
		})
		return err
	})
	return out, err
}

// GetParam returns a param's current value (the set value or the default).
func (g *Gadget) GetParam(key string) (string, error) {
	return g.readString(256, func(p *C.grt_gadget, buf *C.char, cap C.size_t, n *C.size_t) *C.grt_error {
		kp, kn := cstr(key)
		return C.grt_gadget_get_param(p, kp, kn, buf, cap, n)
	})
}

// Config returns the configuration value at a dotted path (scalars as text, maps and lists
// as JSON); ErrNotFound if absent.
func (g *Gadget) Config(path string) (string, error) {
	return g.readString(256, func(p *C.grt_gadget, buf *C.char, cap C.size_t, n *C.size_t) *C.grt_error {
		kp, kn := cstr(path)
		return C.grt_gadget_get_config(p, kp, kn, buf, cap, n)
	})
}

// SetMntnsFilter keeps only events of these mount-namespace IDs (takes effect at Start).
func (g *Gadget) SetMntnsFilter(ids []uint64) error {
	return g.call(func(p *C.grt_gadget) *C.grt_error {
		var ptr *C.uint64_t
		if len(ids) > 0 {
			ptr = (*C.uint64_t)(unsafe.Pointer(unsafe.SliceData(ids)))
		}
		e := C.grt_gadget_set_mntns_filter(p, ptr, C.size_t(len(ids)), 1)
		runtime.KeepAlive(ids)
		return e
	})
}

// DisableMntnsFilter turns mount-namespace filtering off.
func (g *Gadget) DisableMntnsFilter() error {
	return g.call(func(p *C.grt_gadget) *C.grt_error { return C.grt_gadget_set_mntns_filter(p, nil, 0, 0) })
}

// Description is the JSON description of a gadget (Describe).
type Description struct {
	Name        string           `json:"name"`
	DataSources []DataSourceDesc `json:"datasources"`
	Params      []ParamDesc      `json:"params"`
}

// DataSourceDesc describes one data source.
type DataSourceDesc struct {
	Name        string            `json:"name"`
	Type        string            `json:"type"` // "single" or "array"
	Tags        []string          `json:"tags"`
	Annotations map[string]string `json:"annotations"`
	Fields      []FieldDesc       `json:"fields"`
}

// FieldDesc describes one field.
type FieldDesc struct {
	Name        string            `json:"name"`
	KindName    string            `json:"kind"`
	Kind        Kind              `json:"kind_id"`
	Tags        []string          `json:"tags"`
	Annotations map[string]string `json:"annotations"`
	Hidden      bool              `json:"hidden"`
}

// ParamDesc describes one param.
type ParamDesc struct {
	Key            string          `json:"key"`
	Side           string          `json:"side"` // "wasm" or "ebpf"
	Description    string          `json:"description"`
	DefaultValue   string          `json:"defaultValue"`
	TypeHint       string          `json:"typeHint"`
	Title          string          `json:"title"`
	Alias          string          `json:"alias"`
	IsMandatory    bool            `json:"isMandatory"`
	PossibleValues []string        `json:"possibleValues"`
	Variable       json.RawMessage `json:"variable,omitempty"`
}

// DescribeJSON returns the library's JSON description of the gadget.
func (g *Gadget) DescribeJSON() ([]byte, error) {
	s, err := g.readString(4096, func(p *C.grt_gadget, buf *C.char, cap C.size_t, n *C.size_t) *C.grt_error {
		return C.grt_gadget_describe_json(p, buf, cap, n)
	})
	return []byte(s), err
}

// Describe returns the gadget's data sources, fields and params.
func (g *Gadget) Describe() (*Description, error) {
	b, err := g.DescribeJSON()
	if err != nil {
		return nil, err
	}
	var d Description
	if err := json.Unmarshal(b, &d); err != nil {
		return nil, codeError(CodeInternal, "decoding description: "+err.Error())
	}
	return &d, nil
}

// DataSources returns the names of the gadget's data sources, in creation order.
func (g *Gadget) DataSources() ([]string, error) {
	var names []string
	err := g.use(func(p *C.grt_gadget) error {
		var n C.size_t
		if err := takeError(C.grt_gadget_datasource_count(p, &n)); err != nil {
			return err
		}
		for i := C.size_t(0); i < n; i++ {
			b, err := readBuffer(64, func(buf *C.char, cap C.size_t, out *C.size_t) *C.grt_error {
				return C.grt_gadget_datasource_name(p, i, buf, cap, out)
			})
			if err != nil {
				return err
			}
			names = append(names, string(b))
		}
		return nil
	})
	return names, err
}

// FieldInfo is one field of a data source (Fields).
type FieldInfo struct {
	Name   string
	Index  int
	Kind   Kind
	Hidden bool
	Parent int // index of the parent field, -1 for root fields
	Tags   []string
}

// Fields lists the fields of data source ds.
func (g *Gadget) Fields(ds string) ([]FieldInfo, error) {
	var out []FieldInfo
	err := g.use(func(p *C.grt_gadget) error {
		dp, dn := cstr(ds)
		var n C.size_t
		if err := takeError(C.grt_gadget_field_count(p, dp, dn, &n)); err != nil {
			return err
		}
		for i := C.size_t(0); i < n; i++ {
			name, err := readBuffer(64, func(buf *C.char, cap C.size_t, o *C.size_t) *C.grt_error {
				return C.grt_gadget_field_name(p, dp, dn, i, buf, cap, o)
			})
			if err != nil {
				return err
			}
			var info C.grt_field_info
			info.size = C.size_t(unsafe.Sizeof(info))
			if err := takeError(C.grt_gadget_field_info(p, dp, dn, i, &info)); err != nil {
				return err
			}
			tags, err := readBuffer(128, func(buf *C.char, cap C.size_t, o *C.size_t) *C.grt_error {
				return C.grt_gadget_field_tags(p, dp, dn, i, buf, cap, o)
			})
			if err != nil {
				return err
			}
			fi := FieldInfo{Name: string(name), Index: int(i), Kind: Kind(info.kind), Hidden: info.hidden != 0, Parent: -1}
			if info.parent != ^C.size_t(0) {
				fi.Parent = int(info.parent)
			}
			for _, t := range strings.Split(string(tags), "\n") {
				if t != "" {
					fi.Tags = append(fi.Tags, t)
				}
			}
			out = append(out, fi)
		}
		runtime.KeepAlive(ds)
		return nil
	})
	return out, err
}

// FieldIndex returns the index of field name (`parent.child`) of data source ds.
func (g *Gadget) FieldIndex(ds, name string) (int, error) {
	var out C.size_t
	err := g.call(func(p *C.grt_gadget) *C.grt_error {
		dp, dn := cstr(ds)
		np, nn := cstr(name)
		return C.grt_gadget_field_index(p, dp, dn, np, nn, &out)
	})
	return int(out), err
}

// FieldAnnotation returns the value of annotation key of field index of ds.
func (g *Gadget) FieldAnnotation(ds string, index int, key string) (string, error) {
	return g.readString(128, func(p *C.grt_gadget, buf *C.char, cap C.size_t, n *C.size_t) *C.grt_error {
		dp, dn := cstr(ds)
		kp, kn := cstr(key)
		return C.grt_gadget_field_annotation(p, dp, dn, C.size_t(index), kp, kn, buf, cap, n)
	})
}

// AddDataSource creates a data source owned by the embedder. Create the ones the guest
// looks up in gadgetInit before Init (i.e. after OpenPath, not LoadPath).
func (g *Gadget) AddDataSource(name string, typ DataSourceType) error {
	return g.call(func(p *C.grt_gadget) *C.grt_error {
		np, nn := cstr(name)
		return C.grt_gadget_add_datasource(p, np, nn, C.uint32_t(typ))
	})
}

// AddField adds a field of the given kind (and tags) to data source ds and returns its
// index, for the Packet setters.
func (g *Gadget) AddField(ds, name string, kind Kind, tags ...string) (int, error) {
	var idx C.size_t
	err := g.call(func(p *C.grt_gadget) *C.grt_error {
		dp, dn := cstr(ds)
		np, nn := cstr(name)
		return C.grt_gadget_add_field(p, dp, dn, np, nn, C.uint32_t(kind), &idx)
	})
	if err != nil {
		return 0, err
	}
	for _, t := range tags {
		if err := g.AddFieldTag(ds, name, t); err != nil {
			return 0, err
		}
	}
	return int(idx), nil
}

// AddFieldTag tags field name of data source ds.
func (g *Gadget) AddFieldTag(ds, name, tag string) error {
	return g.call(func(p *C.grt_gadget) *C.grt_error {
		dp, dn := cstr(ds)
		np, nn := cstr(name)
		tp, tn := cstr(tag)
		return C.grt_gadget_add_field_tag(p, dp, dn, np, nn, tp, tn)
	})
}

// Subscription is an embedder subscription to a data source.
type Subscription struct {
	ID         uint64
	DataSource string
	g          *Gadget
	once       sync.Once
}

// Unsubscribe removes the subscription (idempotent). Queued events for it are discarded.
// Do not call it from inside the subscription's own callback.
func (s *Subscription) Unsubscribe() error {
	var err error
	s.once.Do(func() { err = s.g.Unsubscribe(s.ID) })
	return err
}

// Subscribe calls fn for each packet of data source ds, after every subscriber with a lower
// priority (wasm ones included) ran. fn runs only inside Poll/Consume, on the polling
// goroutine; the *Event is valid only until fn returns.
//
// If fn returns an error, dispatching stops and Poll returns that error (ErrStop: no error).
// If fn panics, the panic is recovered before it can reach C, dispatching stops, and Poll
// re-panics with the same value after the C call returned. Either way the remaining events
// stay queued for the next Poll.
func (g *Gadget) Subscribe(ds string, priority int32, fn func(*Event) error) (*Subscription, error) {
	if fn == nil {
		return nil, codeError(CodeNullParameter, "callback is nil")
	}
	var id uint64
	err := g.use(func(p *C.grt_gadget) error {
		h := newHandle(&subscription{g: g.g, fn: fn})
		// The library owns h from here on, also on error: gogrtFree deletes it.
		var err error
		id, err = subscribeC(p, ds, priority, h)
		return err
	})
	if err != nil {
		return nil, err
	}
	return &Subscription{ID: id, DataSource: ds, g: g}, nil
}

// Unsubscribe removes subscription id.
func (g *Gadget) Unsubscribe(id uint64) error {
	return g.call(func(p *C.grt_gadget) *C.grt_error { return C.grt_gadget_unsubscribe(p, C.uint64_t(id)) })
}

func timeoutMs(d time.Duration) C.int32_t {
	if d < 0 {
		return -1
	}
	ms := d.Milliseconds()
	if ms == 0 && d > 0 {
		ms = 1
	}
	if ms > math.MaxInt32 {
		ms = math.MaxInt32
	}
	return C.int32_t(ms)
}

func (g *Gadget) dispatchCall(call func(p *C.grt_gadget) C.int64_t) (int, error) {
	in := g.g
	if !in.pollMu.TryLock() {
		return 0, codeError(CodeBusy, "another goroutine is polling this gadget")
	}
	defer in.pollMu.Unlock()
	p, err := in.h.acquire()
	if err != nil {
		return 0, err
	}
	in.dispatch = dispatchState{}
	n := call((*C.grt_gadget)(p))
	in.h.release()
	runtime.KeepAlive(g)
	st := in.dispatch
	in.dispatch = dispatchState{}
	if st.panicked {
		panic(st.panicVal) // re-panic on the Go side, after C returned
	}
	if st.err != nil {
		return st.count, st.err
	}
	if n < 0 {
		if st.stop { // our trampoline stopped dispatching (ErrStop)
			return st.count, nil
		}
		return 0, codeError(Code(-n), fmt.Sprintf("grt_gadget_poll returned %d", int64(n)))
	}
	return int(n), nil
}

// Poll waits up to timeout (negative: forever; 0: no wait) for events, then dispatches
// every queued event to its callback on this goroutine. It returns the number dispatched.
// It returns early once the gadget stopped and the queue is empty.
func (g *Gadget) Poll(timeout time.Duration) (int, error) {
	ms := timeoutMs(timeout)
	return g.dispatchCall(func(p *C.grt_gadget) C.int64_t { return C.grt_gadget_poll(p, ms) })
}

// Consume dispatches queued events without waiting (see Poll).
func (g *Gadget) Consume() (int, error) {
	return g.dispatchCall(func(p *C.grt_gadget) C.int64_t { return C.grt_gadget_consume(p) })
}

// EventFD returns an eventfd that is readable while events are queued (for an epoll loop;
// then call Consume). It is owned by the gadget: do not close it. -1 once closed.
func (g *Gadget) EventFD() int {
	fd := -1
	_ = g.use(func(p *C.grt_gadget) error { fd = int(C.grt_gadget_event_fd(p)); return nil })
	return fd
}

// Stats are the gadget's counters.
type Stats struct {
	Delivered        uint64 // events handed to embedder callbacks
	DroppedQueueFull uint64 // events dropped because the queue was full
	GuestTraps       uint64 // failed guest calls (e.g. traps in dataSourceCallback)
	DroppedNested    uint64 // packets emitted by guest code that could not be queued
	LostSamples      uint64 // samples lost on the kernel side
	Queued           uint64 // events waiting in the queue now
}

// Stats returns the gadget's statistics.
func (g *Gadget) Stats() (Stats, error) {
	var s C.struct_grt_gadget_stats
	s.size = C.size_t(unsafe.Sizeof(s))
	err := g.call(func(p *C.grt_gadget) *C.grt_error { return C.grt_gadget_get_stats(p, &s) })
	return Stats{
		Delivered:        uint64(s.delivered),
		DroppedQueueFull: uint64(s.dropped_queue_full),
		GuestTraps:       uint64(s.guest_traps),
		DroppedNested:    uint64(s.dropped_nested),
		LostSamples:      uint64(s.lost_samples),
		Queued:           uint64(s.queued),
	}, err
}

// DataSourceLost returns the number of samples the kernel side lost for data source ds.
func (g *Gadget) DataSourceLost(ds string) (uint64, error) {
	var out C.uint64_t
	err := g.call(func(p *C.grt_gadget) *C.grt_error {
		dp, dn := cstr(ds)
		return C.grt_gadget_datasource_lost(p, dp, dn, &out)
	})
	return uint64(out), err
}

// NewPacket creates a packet for data source ds (single: one zeroed record; array: none,
// use Append). Emit it with Emit or release it with Free.
func (g *Gadget) NewPacket(ds string) (*Packet, error) {
	fields, err := g.Fields(ds)
	if err != nil {
		return nil, err
	}
	var out *C.grt_packet
	err = g.call(func(p *C.grt_gadget) *C.grt_error {
		dp, dn := cstr(ds)
		return C.grt_gadget_new_packet(p, dp, dn, &out)
	})
	if err != nil {
		return nil, err
	}
	return newPacket(out, ds, fields), nil
}

// Emit sends the packet through its data source's subscribers (wasm ones run synchronously,
// embedder ones get it queued for Poll). The packet is consumed, also on error.
func (g *Gadget) Emit(pkt *Packet) error {
	cp, err := pkt.take()
	if err != nil {
		return err
	}
	err = g.use(func(p *C.grt_gadget) error { return takeError(C.grt_gadget_emit(p, cp)) })
	if err == ErrClosed {
		C.grt_packet_free(cp) // the library never saw it
	}
	return err
}

// ---------------------------------------------------------------------------------------
// Event streams

const streamPriority = math.MaxInt32 // after every other subscriber

// subscribeCopies subscribes to datasources (default: all known now) and appends a copy of
// every event to *buf.
func (g *Gadget) subscribeCopies(datasources []string, buf *[]EventCopy) ([]*Subscription, error) {
	if len(datasources) == 0 {
		var err error
		if datasources, err = g.DataSources(); err != nil {
			return nil, err
		}
	}
	var subs []*Subscription
	for _, ds := range datasources {
		s, err := g.Subscribe(ds, streamPriority, func(e *Event) error {
			c, err := e.Copy()
			if err != nil {
				return err
			}
			*buf = append(*buf, c)
			return nil
		})
		if err != nil {
			for _, s := range subs {
				_ = s.Unsubscribe()
			}
			return nil, err
		}
		subs = append(subs, s)
	}
	return subs, nil
}

// streamEnded reports whether nothing more can arrive.
func (g *Gadget) streamEnded() bool {
	st := g.State()
	if st != StateStopped && st != StateFailed {
		return false
	}
	s, err := g.Stats()
	return err != nil || s.Queued == 0
}

// All subscribes now (call it before Start) to datasources (default: every data source
// known now) and returns an iterator over copies of their events, polling on the ranging
// goroutine. It ends when ctx is done, the gadget is closed, or it stopped and its queue is
// empty; a poll error is yielded once and ends it. Breaking out of the loop unsubscribes.
func (g *Gadget) All(ctx context.Context, datasources ...string) (iter.Seq2[EventCopy, error], error) {
	buf := new([]EventCopy)
	subs, err := g.subscribeCopies(datasources, buf)
	if err != nil {
		return nil, err
	}
	var once sync.Once
	cleanup := func() {
		once.Do(func() {
			for _, s := range subs {
				_ = s.Unsubscribe()
			}
		})
	}
	return func(yield func(EventCopy, error) bool) {
		defer cleanup()
		for {
			for len(*buf) > 0 {
				ev := (*buf)[0]
				*buf = (*buf)[1:]
				if !yield(ev, nil) {
					return
				}
			}
			if ctx.Err() != nil || g.Closed() {
				return
			}
			_, err := g.Poll(pollSlice(ctx))
			if err != nil {
				if g.Closed() {
					return
				}
				yield(EventCopy{}, err)
				return
			}
			if len(*buf) == 0 && g.streamEnded() {
				return
			}
		}
	}, nil
}

func pollSlice(ctx context.Context) time.Duration {
	d := 100 * time.Millisecond
	if dl, ok := ctx.Deadline(); ok {
		if left := time.Until(dl); left < d {
			d = max(left, 0)
		}
	}
	return d
}

// Events subscribes now (call it before Start) to datasources (default: every data source
// known now) and streams copies of their events from a goroutine that polls the gadget. The
// channel is closed when ctx is cancelled, the gadget is closed, the gadget stopped and its
// queue is empty, or polling fails (use All to see poll errors). Do not Poll the gadget
// yourself meanwhile (ErrBusy).
func (g *Gadget) Events(ctx context.Context, datasources ...string) (<-chan EventCopy, error) {
	seq, err := g.All(ctx, datasources...)
	if err != nil {
		return nil, err
	}
	ch := make(chan EventCopy)
	done := g.g.done
	go func() {
		defer close(ch)
		for ev, err := range seq {
			if err != nil {
				return
			}
			select {
			case ch <- ev:
			case <-ctx.Done():
				return
			case <-done:
				return
			}
		}
	}()
	return ch, nil
}
