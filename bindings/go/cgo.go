package gadgetrt

/*
// gadgetrt.h is a copy of include/gadgetrt.h inside the module (a vendored or downloaded
// module has no ../../include); TestHeaderCopyInSync and scripts/test.sh fail on drift.
#cgo CFLAGS: -I${SRCDIR}
#cgo LDFLAGS: -lgadgetrt
#include "gogrt.h"

// Go trampolines (callbacks.go).
extern int32_t gogrtEvent(void *userdata, grt_event *event);
extern void gogrtFree(void *userdata);
extern void gogrtLog(void *userdata, grt_log_params *params);

// Private shims: userdata travels as a cgo.Handle value (an integer), never a Go pointer.
static grt_error *gogrt_subscribe(const grt_gadget *g, const char *ds, size_t ds_len, int32_t prio,
                                  uintptr_t handle, uint64_t *out_id) {
	return grt_gadget_subscribe(g, ds, ds_len, prio, (grt_event_fn)gogrtEvent, (void *)handle,
	                            (grt_userdata_free_fn)gogrtFree, out_id);
}

static void gogrt_set_logger(grt_runtime_options *o, uintptr_t handle) {
	o->log_fn = (grt_log_fn)gogrtLog;
	o->log_userdata = (void *)handle;
	o->log_userdata_free = (grt_userdata_free_fn)gogrtFree;
}
*/
import "C"

import (
	"runtime"
	"runtime/cgo"
	"sync"
	"unsafe"
)

// cstr borrows a Go string as a (ptr, len) pair for the duration of one C call. The bytes
// hold no Go pointers, so passing them is allowed by the cgo pointer rules; the library
// never keeps them.
func cstr(s string) (*C.char, C.size_t) {
	if len(s) == 0 {
		return nil, 0
	}
	return (*C.char)(unsafe.Pointer(unsafe.StringData(s))), C.size_t(len(s))
}

func cbytes(b []byte) (*C.uint8_t, C.size_t) {
	if len(b) == 0 {
		return nil, 0
	}
	return (*C.uint8_t)(unsafe.Pointer(unsafe.SliceData(b))), C.size_t(len(b))
}

// takeError converts an owned grt_error* into a Go error (nil for NULL) and frees it.
func takeError(e *C.grt_error) error {
	if e == nil {
		return nil
	}
	err := &Error{Code: Code(C.grt_error_code(e)), Message: C.GoString(C.grt_error_message(e))}
	C.grt_error_free(e)
	return err
}

// codeName is grt_error_code_name: a static string, copied once per call.
func codeName(c Code) string {
	return C.GoString(C.grt_error_code_name(C.uint32_t(c)))
}

func codeError(code Code, msg string) error {
	return &Error{Code: code, Message: msg}
}

// scratch holds reusable output buffers for (buf, cap, out_len) calls: the library writes
// into a pooled buffer and the caller gets one exact-size copy, so a steady stream of
// JSON/Format calls allocates only its results.
var scratch = sync.Pool{New: func() any { b := make([]byte, 0, 1024); return &b }}

// callBuffer runs a (buf, cap, out_len) style call on a pooled buffer, growing it when the
// library reports GRT_ERR_INSUFFICIENT_SIZE, and hands the written bytes to use (valid only
// during use).
func callBuffer(initial int, call func(buf *C.char, cap C.size_t, outLen *C.size_t) *C.grt_error, use func([]byte)) error {
	bp := scratch.Get().(*[]byte)
	defer func() {
		if cap(*bp) <= 1<<20 { // don't pin huge one-off buffers
			scratch.Put(bp)
		}
	}()
	if cap(*bp) < initial {
		*bp = make([]byte, 0, initial)
	}
	for i := 0; i < 4; i++ {
		buf := (*bp)[:cap(*bp)]
		var n C.size_t
		e := call((*C.char)(unsafe.Pointer(unsafe.SliceData(buf))), C.size_t(len(buf)), &n)
		runtime.KeepAlive(buf)
		if e == nil {
			use(buf[:n])
			return nil
		}
		code := Code(C.grt_error_code(e))
		if code != CodeInsufficientSize || int(n) <= len(buf) {
			return takeError(e)
		}
		C.grt_error_free(e)
		*bp = make([]byte, 0, int(n))
	}
	return codeError(CodeInsufficientSize, "buffer kept growing")
}

// readBuffer runs a (buf, cap, out_len) style call and returns a copy of the output.
func readBuffer(initial int, call func(buf *C.char, cap C.size_t, outLen *C.size_t) *C.grt_error) ([]byte, error) {
	var out []byte
	err := callBuffer(initial, call, func(b []byte) { out = append(make([]byte, 0, len(b)), b...) })
	if err != nil {
		return nil, err
	}
	return out, nil
}

// readString is readBuffer returning a string (one allocation).
func readString(initial int, call func(buf *C.char, cap C.size_t, outLen *C.size_t) *C.grt_error) (string, error) {
	var out string
	err := callBuffer(initial, call, func(b []byte) { out = string(b) })
	return out, err
}

// handle guards one library pointer: calls acquire/release it around every C call; Close
// marks it closed and the pointer is freed exactly once, when no call is using it (so a
// Close racing with a Poll in another goroutine never frees memory that is in use).
type handle struct {
	mu     sync.Mutex
	ptr    unsafe.Pointer
	users  int
	closed bool
	free   func(unsafe.Pointer)
}

func (h *handle) acquire() (unsafe.Pointer, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed || h.ptr == nil {
		return nil, ErrClosed
	}
	h.users++
	return h.ptr, nil
}

func (h *handle) release() {
	h.mu.Lock()
	h.users--
	if !(h.closed && h.users == 0 && h.ptr != nil) {
		h.mu.Unlock()
		return
	}
	p := h.ptr
	h.ptr = nil
	h.mu.Unlock()
	h.free(p)
}

// close marks the handle closed. busy reports whether other calls are in flight; the
// caller holds a use (ptr) and must call release.
func (h *handle) close() (p unsafe.Pointer, busy bool, ok bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return nil, false, false
	}
	h.closed = true
	busy = h.users > 0
	h.users++
	return h.ptr, busy, true
}

func (h *handle) isClosed() bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.closed
}

func setLogger(o *C.grt_runtime_options, h cgo.Handle) {
	C.gogrt_set_logger(o, C.uintptr_t(h))
}

func subscribeC(g *C.grt_gadget, ds string, prio int32, h cgo.Handle) (uint64, error) {
	p, n := cstr(ds)
	var id C.uint64_t
	e := C.gogrt_subscribe(g, p, n, C.int32_t(prio), C.uintptr_t(h), &id)
	runtime.KeepAlive(ds)
	return uint64(id), takeError(e)
}
