package gadgetrt

/*
#include "gogrt.h"
*/
import "C"

import (
	"errors"
	"runtime/cgo"
	"sync"
	"sync/atomic"
	"unsafe"
)

// Userdata registry. Every cgo.Handle handed to the library is recorded here and deleted
// by the library's finalizer call (gogrtFree) — or by us when the library provably never
// took ownership. LoadAndDelete makes deletion idempotent.
var (
	liveHandles sync.Map // cgo.Handle -> struct{}
	liveCount   atomic.Int64
)

func newHandle(v any) cgo.Handle {
	h := cgo.NewHandle(v)
	liveHandles.Store(h, struct{}{})
	liveCount.Add(1)
	return h
}

func deleteHandle(h cgo.Handle) {
	if _, ok := liveHandles.LoadAndDelete(h); ok {
		liveCount.Add(-1)
		h.Delete()
	}
}

func handleValue(h cgo.Handle) (any, bool) {
	if _, ok := liveHandles.Load(h); !ok {
		return nil, false
	}
	return h.Value(), true
}

//export gogrtFree
func gogrtFree(userdata unsafe.Pointer) {
	defer func() { _ = recover() }() // must not unwind into C
	deleteHandle(cgo.Handle(uintptr(userdata)))
}

//export gogrtEvent
func gogrtEvent(userdata unsafe.Pointer, ev *C.grt_event) (ret C.int32_t) {
	v, ok := handleValue(cgo.Handle(uintptr(userdata)))
	if !ok {
		return 0
	}
	sub := v.(*subscription)
	g := sub.g
	st := &g.dispatch
	if st.stop {
		return -1
	}
	e := &Event{ptr: ev}
	g.inCallback.Add(1)
	defer func() {
		e.ptr = nil
		g.inCallback.Add(-1)
		// A panic must never cross C: record it, stop dispatching, and let Poll re-panic
		// once the C call has returned.
		if r := recover(); r != nil {
			st.panicked = true
			st.panicVal = r
			st.stop = true
			ret = -1
		}
	}()
	err := sub.fn(e)
	st.count++
	if err != nil {
		st.stop = true
		if !errors.Is(err, ErrStop) {
			st.err = err
		}
		return -1
	}
	return 0
}

//export gogrtLog
func gogrtLog(userdata unsafe.Pointer, p *C.grt_log_params) {
	// May run on any thread (eBPF reader threads included). Panics are swallowed: there is
	// no Go caller to hand them to.
	defer func() { _ = recover() }()
	v, ok := handleValue(cgo.Handle(uintptr(userdata)))
	if !ok || p == nil {
		return
	}
	fn := v.(LogFunc)
	var gadget, msg string
	if p.gadget_len > 0 {
		gadget = C.GoStringN(p.gadget, C.int(p.gadget_len))
	}
	if p.message_len > 0 {
		msg = C.GoStringN(p.message, C.int(p.message_len))
	}
	fn(LogLevel(p.level), gadget, msg)
}
