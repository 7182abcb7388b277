package gadgetrt

/*
#include <stdlib.h>
#include "gogrt.h"
*/
import "C"

import (
	"fmt"
	"math"
	"runtime"
	"runtime/cgo"
	"time"
	"unsafe"
)

// ABIVersion is the C ABI version this package was written for.
const ABIVersion = 1

// Version returns the library version, e.g. "0.1.0".
func Version() string { return C.GoString(C.grt_version()) }

// LibraryABIVersion returns the C ABI version implemented by the loaded library.
func LibraryABIVersion() uint32 { return uint32(C.grt_abi_version()) }

// GadgetAPIVersion returns the gadget wasm API version implemented (always 1).
func GadgetAPIVersion() uint32 { return uint32(C.grt_gadget_api_version()) }

// HasFeature reports whether a named feature ("wasm", "ebpf", "oci", "module-cache") is
// compiled into the library.
func HasFeature(name string) bool {
	p, n := cstr(name)
	r := C.grt_has_feature(p, n)
	runtime.KeepAlive(name)
	return r == 1
}

// SetContainerDiscoveryOption sets a process-wide container discovery option by ig run's flag
// name ("runtimes", "docker-socketpath", "containerd-socketpath", "containerd-namespace",
// "podman-socketpath"); discovery started afterwards uses it. An empty value restores the
// default; an unknown key or runtime is an error (ErrParam).
func SetContainerDiscoveryOption(key, value string) error {
	k, kn := cstr(key)
	v, vn := cstr(value)
	e := C.grt_set_container_discovery_option(k, kn, v, vn)
	runtime.KeepAlive(key)
	runtime.KeepAlive(value)
	return takeError(e)
}

// LogLevel is a GRT_LOG_* level.
type LogLevel uint32

const (
	LogError LogLevel = 1
	LogWarn  LogLevel = 2
	LogInfo  LogLevel = 3
	LogDebug LogLevel = 4
	LogTrace LogLevel = 5
)

func (l LogLevel) String() string {
	switch l {
	case LogError:
		return "error"
	case LogWarn:
		return "warn"
	case LogInfo:
		return "info"
	case LogDebug:
		return "debug"
	case LogTrace:
		return "trace"
	}
	return fmt.Sprintf("level(%d)", uint32(l))
}

// LogFunc receives library and guest log messages. It may be called from any goroutine or
// thread (eBPF reader threads included), so it must be safe for concurrent use. A panic in
// it is recovered and discarded.
type LogFunc func(level LogLevel, gadget, message string)

type options struct {
	memoryPages   uint32
	logLevel      *LogLevel
	queueCapacity uint32
	callTimeout   time.Duration
	stopTimeout   time.Duration
	startDeadline time.Duration
	stopDeadline  time.Duration
	minRingBytes  uint64
	disableCache  bool
	cacheDir      string
	logger        LogFunc
	noDiscovery   bool
}

// Option configures NewRuntime.
type Option func(*options)

// WithMemoryPages caps each gadget's linear memory, in 64 KiB pages (default 256).
func WithMemoryPages(n uint32) Option { return func(o *options) { o.memoryPages = n } }

// WithLogLevel sets the most verbose level passed to the logger (default LogInfo). Note:
// the C struct uses 0 for "default", so LogError cannot be selected (it means LogInfo).
func WithLogLevel(l LogLevel) Option { return func(o *options) { o.logLevel = &l } }

// WithQueueCapacity sets each gadget's event-queue capacity (default 65536).
func WithQueueCapacity(n uint32) Option { return func(o *options) { o.queueCapacity = n } }

// WithCallTimeout sets the deadline of guest calls (default 10s).
func WithCallTimeout(d time.Duration) Option { return func(o *options) { o.callTimeout = d } }

// WithStopTimeout sets the deadline of gadgetStop (default 42s).
func WithStopTimeout(d time.Duration) Option { return func(o *options) { o.stopTimeout = d } }

// WithStartDeadline sets the overall deadline of Start (default 30s): init when still due,
// gadgetPreStart, eBPF load and attach, gadgetStart and the emissions they cause.
func WithStartDeadline(d time.Duration) Option { return func(o *options) { o.startDeadline = d } }

// WithStopDeadline sets the overall deadline of Stop (default 45s): gadgetStop, closing what
// the guest holds, gadgetPostStop (skipped once the deadline passed).
func WithStopDeadline(d time.Duration) Option { return func(o *options) { o.stopDeadline = d } }

// WithMinRingBytes sets the smallest size of an eBPF tracer's ring buffer (default 4 MiB):
// rings a gadget declares smaller are created with this size (a power of two of pages), so
// bursts are not lost samples. 4096 keeps the gadgets' own sizes.
func WithMinRingBytes(n uint64) Option { return func(o *options) { o.minRingBytes = n } }

// WithCacheDisabled disables the on-disk compiled-module cache.
func WithCacheDisabled() Option { return func(o *options) { o.disableCache = true } }

// WithCacheDir sets the compiled-module cache directory.
func WithCacheDir(dir string) Option { return func(o *options) { o.cacheDir = dir } }

// WithContainerDiscoveryDisabled makes this runtime's gadgets ignore built-in container
// discovery (Docker): they see only the containers added with AddContainer.
func WithContainerDiscoveryDisabled() Option { return func(o *options) { o.noDiscovery = true } }

// WithLogger installs a log sink (default: logs are discarded).
func WithLogger(fn LogFunc) Option { return func(o *options) { o.logger = fn } }

func durationMs(d time.Duration) C.uint32_t {
	if d <= 0 {
		return 0
	}
	ms := d.Milliseconds()
	if ms == 0 {
		ms = 1
	}
	if ms > math.MaxUint32 {
		ms = math.MaxUint32
	}
	return C.uint32_t(ms)
}

// Runtime is a gadgetrt runtime (wasm engine, host imports, options). It is safe for
// concurrent use. Gadgets keep their runtime alive, so a Runtime may be closed before its
// gadgets.
type Runtime struct {
	h handle
}

// NewRuntime creates a runtime. It fails with an error matching ErrABI if the loaded
// library implements another C ABI version.
func NewRuntime(opts ...Option) (*Runtime, error) {
	if v := LibraryABIVersion(); v != ABIVersion {
		return nil, codeError(CodeABI, fmt.Sprintf("libgadgetrt implements C ABI %d, this package needs %d", v, ABIVersion))
	}
	var o options
	for _, f := range opts {
		f(&o)
	}
	var co C.grt_runtime_options
	co.size = C.size_t(unsafe.Sizeof(co))
	co.memory_pages = C.uint32_t(o.memoryPages)
	if o.logLevel != nil {
		if *o.logLevel < LogError || *o.logLevel > LogTrace {
			return nil, codeError(CodeInvalidArgument, fmt.Sprintf("invalid log level %d", *o.logLevel))
		}
		co.log_level = C.uint32_t(*o.logLevel)
	}
	co.queue_capacity = C.uint32_t(o.queueCapacity)
	co.call_timeout_ms = durationMs(o.callTimeout)
	co.stop_timeout_ms = durationMs(o.stopTimeout)
	co.start_deadline_ms = durationMs(o.startDeadline)
	co.stop_deadline_ms = durationMs(o.stopDeadline)
	co.min_ring_bytes = C.uint64_t(o.minRingBytes)
	if o.disableCache {
		co.disable_cache = 1
	}
	if o.noDiscovery {
		co.disable_container_discovery = 1
	}
	var cacheDir *C.char
	if o.cacheDir != "" {
		// C memory: the options struct is itself passed to C, so it must not point into Go memory.
		cacheDir = C.CString(o.cacheDir)
		defer C.free(unsafe.Pointer(cacheDir))
		co.cache_dir = cacheDir
		co.cache_dir_len = C.size_t(len(o.cacheDir))
	}
	var h cgo.Handle
	if o.logger != nil {
		h = newHandle(o.logger)
		setLogger(&co, h)
	}
	var out *C.grt_runtime
	if err := takeError(C.grt_runtime_new(&co, &out)); err != nil {
		if h != 0 {
			// No runtime exists, so the library will not call the finalizer later; drop the
			// handle unless it already did (deleteHandle is idempotent).
			deleteHandle(h)
		}
		return nil, err
	}
	r := &Runtime{h: handle{ptr: unsafe.Pointer(out), free: func(p unsafe.Pointer) {
		C.grt_runtime_free((*C.grt_runtime)(p))
	}}}
	runtime.SetFinalizer(r, (*Runtime).Close)
	return r, nil
}

// Close releases the runtime. It is idempotent; gadgets opened from it keep working.
func (r *Runtime) Close() error {
	if r == nil {
		return nil
	}
	_, _, ok := r.h.close()
	if ok {
		r.h.release()
	}
	runtime.SetFinalizer(r, nil)
	return nil
}

func (r *Runtime) open(name string, call func(rt *C.grt_runtime, out **C.grt_gadget) *C.grt_error) (*Gadget, error) {
	p, err := r.h.acquire()
	if err != nil {
		return nil, err
	}
	var out *C.grt_gadget
	e := call((*C.grt_runtime)(p), &out)
	r.h.release()
	runtime.KeepAlive(r)
	if err := takeError(e); err != nil {
		return nil, err
	}
	return newGadget(out, name), nil
}

// OpenPath opens a gadget without running guest code: a .wasm file, a directory with
// program.wasm (and optionally program.bpf.o and gadget.yaml), or an OCI image layout
// (directory or tar). Add host data sources and subscriptions, then call Init or Start.
func (r *Runtime) OpenPath(path string) (*Gadget, error) { return r.OpenImage(path, "") }

// OpenImage is OpenPath with an image reference selecting an image inside an OCI archive.
func (r *Runtime) OpenImage(path, reference string) (*Gadget, error) {
	return r.open(path, func(rt *C.grt_runtime, out **C.grt_gadget) *C.grt_error {
		pp, pn := cstr(path)
		rp, rn := cstr(reference)
		return C.grt_gadget_open_path(rt, pp, pn, rp, rn, out)
	})
}

// LoadPath is OpenPath followed by Init (instantiation and gadgetInit).
func (r *Runtime) LoadPath(path string) (*Gadget, error) { return r.LoadImage(path, "") }

// LoadImage is OpenImage followed by Init.
func (r *Runtime) LoadImage(path, reference string) (*Gadget, error) {
	return r.open(path, func(rt *C.grt_runtime, out **C.grt_gadget) *C.grt_error {
		pp, pn := cstr(path)
		rp, rn := cstr(reference)
		return C.grt_gadget_load_path(rt, pp, pn, rp, rn, out)
	})
}

// OpenBytes opens a gadget from wasm bytes (copied); name labels it in logs.
func (r *Runtime) OpenBytes(name string, wasm []byte) (*Gadget, error) {
	return r.open(name, func(rt *C.grt_runtime, out **C.grt_gadget) *C.grt_error {
		np, nn := cstr(name)
		wp, wn := cbytes(wasm)
		return C.grt_gadget_open_bytes(rt, np, nn, wp, wn, out)
	})
}

// LoadBytes is OpenBytes followed by Init.
func (r *Runtime) LoadBytes(name string, wasm []byte) (*Gadget, error) {
	return r.open(name, func(rt *C.grt_runtime, out **C.grt_gadget) *C.grt_error {
		np, nn := cstr(name)
		wp, wn := cbytes(wasm)
		return C.grt_gadget_load_bytes(rt, np, nn, wp, wn, out)
	})
}

// ContainerInfo is a container the embedder knows (AddContainer). ID is required; with Pid
// set, zero Mntns, Netns and StartedAtNs are read from /proc/<pid>.
type ContainerInfo struct {
	ID, Name, Runtime             string // runtime.containerId, containerName, runtimeName
	Image, ImageID, ImageDigest   string // runtime.containerImageName; image id (selector only); digest
	Pid                           uint32 // runtime.containerPid (host pid namespace)
	Mntns, Netns                  uint64 // namespace inodes (0: from Pid)
	StartedAtNs                   int64  // runtime.containerStartedAt (0: mtime of /proc/<pid>)
	K8sNode, K8sNamespace, K8sPod string // k8s.node, k8s.namespace, k8s.podName
	K8sContainer                  string // k8s.containerName
	K8sPodLabels                  map[string]string
	K8sOwnerKind, K8sOwnerName    string
}

// AddContainer adds (or replaces, by ID) a container for this runtime's gadgets: its events
// carry the runtime.* and k8s.* fields, the container selectors (containername, k8s-*)
// match it, and the containers data source reports it, in running gadgets too.
func (r *Runtime) AddContainer(c ContainerInfo) error {
	p, err := r.h.acquire()
	if err != nil {
		return err
	}
	defer r.h.release()
	var ci C.grt_container_info
	ci.size = C.size_t(unsafe.Sizeof(ci))
	// The struct is passed to C, so its strings must live in C memory.
	var frees []unsafe.Pointer
	defer func() {
		for _, f := range frees {
			C.free(f)
		}
	}()
	str := func(s string, ptr **C.char, n *C.size_t) {
		if s == "" {
			return
		}
		cs := C.CString(s)
		frees = append(frees, unsafe.Pointer(cs))
		*ptr, *n = cs, C.size_t(len(s))
	}
	str(c.ID, &ci.id, &ci.id_len)
	str(c.Name, &ci.name, &ci.name_len)
	str(c.Runtime, &ci.runtime, &ci.runtime_len)
	str(c.Image, &ci.image, &ci.image_len)
	str(c.ImageID, &ci.image_id, &ci.image_id_len)
	str(c.ImageDigest, &ci.image_digest, &ci.image_digest_len)
	str(c.K8sNode, &ci.k8s_node, &ci.k8s_node_len)
	str(c.K8sNamespace, &ci.k8s_namespace, &ci.k8s_namespace_len)
	str(c.K8sPod, &ci.k8s_pod, &ci.k8s_pod_len)
	str(c.K8sContainer, &ci.k8s_container, &ci.k8s_container_len)
	str(c.K8sOwnerKind, &ci.k8s_owner_kind, &ci.k8s_owner_kind_len)
	str(c.K8sOwnerName, &ci.k8s_owner_name, &ci.k8s_owner_name_len)
	labels := ""
	for k, v := range c.K8sPodLabels {
		if labels != "" {
			labels += ","
		}
		labels += k + "=" + v
	}
	str(labels, &ci.k8s_pod_labels, &ci.k8s_pod_labels_len)
	ci.pid = C.uint32_t(c.Pid)
	ci.mntns = C.uint64_t(c.Mntns)
	ci.netns = C.uint64_t(c.Netns)
	ci.started_at_ns = C.int64_t(c.StartedAtNs)
	e := C.grt_runtime_add_container((*C.grt_runtime)(p), &ci)
	runtime.KeepAlive(r)
	return takeError(e)
}

// RemoveContainer removes a container added with AddContainer (an error with CodeNotFound
// if there is none with this id).
func (r *Runtime) RemoveContainer(id string) error {
	p, err := r.h.acquire()
	if err != nil {
		return err
	}
	defer r.h.release()
	ip, in := cstr(id)
	e := C.grt_runtime_remove_container((*C.grt_runtime)(p), ip, in)
	runtime.KeepAlive(id)
	runtime.KeepAlive(r)
	return takeError(e)
}
