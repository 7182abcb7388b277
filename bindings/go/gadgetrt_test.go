package gadgetrt

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

var gadgetsDir string

func TestMain(m *testing.M) {
	repo, _ := filepath.Abs("../..")
	gadgetsDir = os.Getenv("GADGETRT_TEST_GADGETS")
	if gadgetsDir == "" {
		gadgetsDir = filepath.Join(repo, "tests", "gadgets", "out", "go")
	}
	for _, n := range []string{"demo", "fields", "dataarray", "params", "baderrptr", "config", "filtering"} {
		if _, err := os.Stat(filepath.Join(gadgetsDir, n+".wasm")); err != nil {
			cmd := exec.Command("bash", filepath.Join(repo, "tests", "gadgets", "go", "build.sh"))
			cmd.Dir, cmd.Stdout, cmd.Stderr = repo, os.Stderr, os.Stderr
			if err := cmd.Run(); err != nil {
				fmt.Fprintln(os.Stderr, "building test gadgets:", err)
				os.Exit(1)
			}
			break
		}
	}
	os.Exit(m.Run())
}

func gadgetPath(name string) string { return filepath.Join(gadgetsDir, name+".wasm") }

func newRT(t *testing.T, opts ...Option) *Runtime {
	t.Helper()
	rt, err := NewRuntime(opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rt.Close() })
	return rt
}

func load(t *testing.T, rt *Runtime, name string) *Gadget {
	t.Helper()
	g, err := rt.LoadPath(gadgetPath(name))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { g.Close() })
	return g
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// waitHandles waits for the userdata registry to drop back to n (finalizers may run late).
func waitHandles(t *testing.T, n int64) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for liveCount.Load() != n {
		if time.Now().After(deadline) {
			t.Fatalf("live handles = %d, want %d", liveCount.Load(), n)
		}
		runtime.GC()
		time.Sleep(10 * time.Millisecond)
	}
}

func TestLibraryInfo(t *testing.T) {
	if LibraryABIVersion() != ABIVersion {
		t.Fatalf("ABI %d", LibraryABIVersion())
	}
	if strings.Count(Version(), ".") != 2 || GadgetAPIVersion() != 1 {
		t.Fatalf("version %q api %d", Version(), GadgetAPIVersion())
	}
	if !HasFeature("wasm") || HasFeature("nope") {
		t.Fatal("HasFeature")
	}
}

func TestDemoPollTypedGetters(t *testing.T) {
	rt := newRT(t)
	g := load(t, rt, "demo")
	if s := g.State(); s != StateInitialized {
		t.Fatalf("state %v", s)
	}
	type rec struct {
		seq  uint64
		msg  string
		json string
	}
	var got []rec
	sub, err := g.Subscribe("ticks", 10, func(e *Event) error {
		if e.DataSource() != "ticks" || e.Len() != 1 || e.IsArray() || e.NumFields() != 2 {
			return fmt.Errorf("bad shape %q %d %v %d", e.DataSource(), e.Len(), e.IsArray(), e.NumFields())
		}
		i, err := e.FieldIndex("seq")
		if err != nil {
			return err
		}
		if n, _ := e.FieldName(i); n != "seq" || e.FieldKind(i) != KindUint64 {
			return fmt.Errorf("field %q %v", n, e.FieldKind(i))
		}
		a, err := e.Uint64(i)
		if err != nil {
			return err
		}
		b, _ := e.Uint64ByName("seq")
		c, _ := e.Int64ByName("seq")
		d, _ := e.Float64(i)
		if a != b || int64(a) != c || float64(a) != d {
			return fmt.Errorf("getters disagree: %d %d %d %v", a, b, c, d)
		}
		if _, err := e.BoolByName("seq"); !errors.Is(err, ErrWrongKind) {
			return fmt.Errorf("Bool on uint64: %v", err)
		}
		if _, err := e.Uint64ByName("nope"); !errors.Is(err, ErrNotFound) {
			return fmt.Errorf("missing field: %v", err)
		}
		msg, err := e.StringByName("message")
		if err != nil {
			return err
		}
		raw, _ := e.Bytes(1)
		if string(raw) != msg {
			return fmt.Errorf("Bytes %q != %q", raw, msg)
		}
		v, _ := e.ValueByName("message")
		if v != any(msg) {
			return fmt.Errorf("Value %v", v)
		}
		j, err := e.JSON()
		if err != nil {
			return err
		}
		got = append(got, rec{a, msg, string(j)})
		return nil
	})
	must(t, err)
	if sub.ID == 0 {
		t.Fatal("subscription id 0")
	}
	must(t, g.Start())
	total := 0
	for deadline := time.Now().Add(5 * time.Second); total < 5 && time.Now().Before(deadline); {
		n, err := g.Poll(500 * time.Millisecond)
		must(t, err)
		total += n
	}
	if total != 5 || len(got) != 5 {
		t.Fatalf("dispatched %d, got %d", total, len(got))
	}
	for i, r := range got {
		n := uint64(i + 1)
		want := fmt.Sprintf("hello from wasm #%d", n)
		if r.seq != n || r.msg != want || r.json != fmt.Sprintf(`{"message":%q,"seq":%d}`, want, n) {
			t.Fatalf("event %d = %+v", i, r)
		}
	}
	st, err := g.Stats()
	must(t, err)
	if st.Delivered != 5 || st.Queued != 0 {
		t.Fatalf("stats %+v", st)
	}
	must(t, g.Stop())
	if n, err := g.Poll(time.Second); n != 0 || err != nil {
		t.Fatalf("poll after stop: %d %v", n, err)
	}
}

func TestDemoEventsChannel(t *testing.T) {
	rt := newRT(t)
	g := load(t, rt, "demo")
	base := liveCount.Load()
	ch, err := g.Events(context.Background())
	must(t, err)
	must(t, g.Start())
	for i := 1; i <= 5; i++ {
		select {
		case ev, ok := <-ch:
			if !ok {
				t.Fatalf("channel closed after %d events", i-1)
			}
			seq, _ := ev.Value("seq")
			msg, _ := ev.Value("message")
			if ev.DataSource != "ticks" || seq != uint64(i) || msg != fmt.Sprintf("hello from wasm #%d", i) {
				t.Fatalf("event %d: %+v", i, ev)
			}
			if ev.Map(0)["seq"] != uint64(i) || ev.Fields[1] != (Field{"message", KindString}) {
				t.Fatalf("copy %+v", ev)
			}
		case <-time.After(5 * time.Second):
			t.Fatal("timeout")
		}
	}
	must(t, g.Stop())
	select {
	case _, ok := <-ch:
		if ok {
			t.Fatal("unexpected event")
		}
	case <-time.After(5 * time.Second):
		t.Fatal("channel not closed after Stop")
	}
	waitHandles(t, base)
}

func TestEventsContextCancellation(t *testing.T) {
	rt := newRT(t)
	g := load(t, rt, "demo")
	base := liveCount.Load()
	ctx, cancel := context.WithCancel(context.Background())
	ch, err := g.Events(ctx, "ticks")
	must(t, err)
	must(t, g.Start())
	select {
	case ev := <-ch:
		if v, _ := ev.Value("seq"); v != uint64(1) {
			t.Fatalf("first event %+v", ev)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("timeout")
	}
	cancel() // the gadget keeps running; only the stream ends
	deadline := time.After(5 * time.Second)
	for closed := false; !closed; {
		select {
		case _, ok := <-ch:
			closed = !ok
		case <-deadline:
			t.Fatal("channel not closed after cancel")
		}
	}
	waitHandles(t, base) // the stream's subscription was removed
	if s := g.State(); s != StateStarted {
		t.Fatalf("state %v", s)
	}
	// Polling works again from this goroutine once the stream is gone.
	if _, err := g.Poll(0); err != nil {
		t.Fatal(err)
	}
}

func TestEventsContextCancellationWhileIdle(t *testing.T) {
	rt := newRT(t)
	g := load(t, rt, "demo")
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	ch, err := g.Events(ctx, "ticks")
	must(t, err)
	// Not started: no events ever arrive; the deadline must still end the stream.
	select {
	case _, ok := <-ch:
		if ok {
			t.Fatal("unexpected event")
		}
	case <-time.After(5 * time.Second):
		t.Fatal("channel not closed at deadline")
	}
}

func TestAllIterator(t *testing.T) {
	rt := newRT(t)
	g := load(t, rt, "demo")
	seq, err := g.All(context.Background())
	must(t, err)
	must(t, g.Start())
	must(t, g.Stop()) // queued events stay pollable
	var seqs []uint64
	for ev, err := range seq {
		must(t, err)
		v, _ := ev.Value("seq")
		seqs = append(seqs, v.(uint64))
	}
	if fmt.Sprint(seqs) != "[1 2 3 4 5]" {
		t.Fatalf("seqs %v", seqs)
	}
}

func TestEventFDAndConsume(t *testing.T) {
	rt := newRT(t)
	g := load(t, rt, "demo")
	n := 0
	_, err := g.Subscribe("ticks", 0, func(*Event) error { n++; return nil })
	must(t, err)
	fd := g.EventFD()
	if fd < 0 {
		t.Fatal("no event fd")
	}
	readable := func(timeout time.Duration) bool {
		var set syscall.FdSet
		set.Bits[fd/64] |= 1 << (uint(fd) % 64)
		tv := syscall.NsecToTimeval(timeout.Nanoseconds())
		r, err := syscall.Select(fd+1, &set, nil, nil, &tv)
		return err == nil && r == 1
	}
	if readable(0) {
		t.Fatal("readable before start")
	}
	must(t, g.Start())
	if !readable(2 * time.Second) {
		t.Fatal("not readable after start")
	}
	c, err := g.Consume()
	must(t, err)
	if c != 5 || n != 5 {
		t.Fatalf("consume %d, callbacks %d", c, n)
	}
}

func TestLoggerAndDescribe(t *testing.T) {
	var mu sync.Mutex
	var logs []string
	rt := newRT(t, WithLogger(func(l LogLevel, gadget, msg string) {
		mu.Lock()
		logs = append(logs, fmt.Sprintf("%s|%s|%s", l, gadget, msg))
		mu.Unlock()
	}), WithLogLevel(LogDebug))
	g := load(t, rt, "demo")
	d, err := g.Describe()
	must(t, err)
	if d.Name != "demo" || len(d.DataSources) != 1 || d.DataSources[0].Name != "ticks" || d.DataSources[0].Type != "single" {
		t.Fatalf("describe %+v", d)
	}
	f := d.DataSources[0].Fields
	if len(f) != 2 || f[0].Name != "seq" || f[0].Kind != KindUint64 || f[1].Kind != KindString || f[1].KindName != "string" {
		t.Fatalf("fields %+v", f)
	}
	fi, err := g.Fields("ticks")
	must(t, err)
	if len(fi) != 2 || fi[1].Name != "message" || fi[1].Parent != -1 {
		t.Fatalf("Fields %+v", fi)
	}
	if w, err := g.FieldAnnotation("ticks", 0, "columns.width"); err != nil || w != "16" {
		t.Fatalf("annotation %q %v", w, err)
	}
	must(t, g.Start())
	mu.Lock()
	defer mu.Unlock()
	found := false
	for _, l := range logs {
		found = found || l == "info|demo|demo: emitting 5 ticks"
	}
	if !found {
		t.Fatalf("logs %q", logs)
	}
}

var fieldsExpected = []struct {
	name string
	kind Kind
	tag  string
	want any
}{
	{"field_bool", KindBool, "tag_bool", true},
	{"field_int8", KindInt8, "tag_int8", int64(-123)},
	{"field_int16", KindInt16, "tag_int16", int64(-25647)},
	{"field_int32", KindInt32, "tag_int32", int64(-535245564)},
	{"field_int64", KindInt64, "tag_int64", int64(-1234567890)},
	{"field_uint8", KindUint8, "tag_uint8", uint64(56)},
	{"field_uint16", KindUint16, "tag_uint16", uint64(12345)},
	{"field_uint32", KindUint32, "tag_uint32", uint64(1234567890)},
	{"field_uint64", KindUint64, "tag_uint64", uint64(1234567890123456)},
	{"field_float32", KindFloat32, "tag_float32", float64(math.Float32frombits(0x40490fd0))},
	{"field_float64", KindFloat64, "tag_float64", math.Float64frombits(0x400921fb54442eea)},
	{"field_string", KindString, "tag_string", "Hello, World!"},
	{"field_bytes", KindBytes, "tag_bytes", "\x01\x02\x03\x04\x05"},
	{"host_field", KindString, "host_tag", "LOCALHOST"},
	{"field_echo", KindUint32, "tag_echo", uint64(21)},
}

func TestFieldsContract(t *testing.T) {
	rt := newRT(t)
	g, err := rt.OpenPath(gadgetPath("fields"))
	must(t, err)
	defer g.Close()
	must(t, g.AddDataSource("myds", DataSourceSingle))
	_, err = g.AddField("myds", "host_field", KindString, "host_tag")
	must(t, err)
	hostIn, err := g.AddField("myds", "host_in", KindUint32)
	must(t, err)
	must(t, g.Init())
	var copies []EventCopy
	_, err = g.Subscribe("myds", 50000, func(e *Event) error {
		c, err := e.Copy()
		copies = append(copies, c)
		return err
	})
	must(t, err)
	must(t, g.Start())
	pkt, err := g.NewPacket("myds")
	must(t, err)
	must(t, pkt.SetUint64(0, hostIn, 7))
	must(t, g.Emit(pkt))
	if err := pkt.Set("host_in", 8); !errors.Is(err, ErrAlreadyUsed) {
		t.Fatalf("reuse of emitted packet: %v", err)
	}
	n, err := g.Poll(2 * time.Second)
	must(t, err)
	if n != 1 || len(copies) != 1 {
		t.Fatalf("dispatched %d, copies %d", n, len(copies))
	}
	st, _ := g.Stats()
	if st.GuestTraps != 0 {
		t.Fatalf("guest traps %d", st.GuestTraps)
	}
	fields, err := g.Fields("myds")
	must(t, err)
	byName := map[string]FieldInfo{}
	for _, f := range fields {
		byName[f.Name] = f
	}
	ev := copies[0]
	if v, _ := ev.Value("host_in"); v != uint64(7) {
		t.Fatalf("host_in %v", v)
	}
	for _, x := range fieldsExpected {
		f, ok := byName[x.name]
		if !ok || f.Kind != x.kind || !contains(f.Tags, x.tag) {
			t.Fatalf("%s: field %+v", x.name, f)
		}
		v, _ := ev.Value(x.name)
		if b, ok := v.([]byte); ok {
			v = string(b)
		}
		if v != x.want {
			t.Fatalf("%s = %#v, want %#v", x.name, v, x.want)
		}
	}
}

func contains(s []string, x string) bool {
	for _, v := range s {
		if v == x {
			return true
		}
	}
	return false
}

func TestDataArrayContract(t *testing.T) {
	rt := newRT(t)
	g, err := rt.OpenPath(gadgetPath("dataarray"))
	must(t, err)
	defer g.Close()
	must(t, g.AddDataSource("myds", DataSourceArray))
	foo, err := g.AddField("myds", "foo", KindUint32)
	must(t, err)
	must(t, g.Init())
	var got [][]uint64
	_, err = g.Subscribe("myds", 50000, func(e *Event) error {
		if !e.IsArray() {
			return errors.New("not an array")
		}
		var vals []uint64
		for i := 0; i < e.Len(); i++ {
			v, err := e.Record(i).Uint64(foo)
			if err != nil {
				return err
			}
			vals = append(vals, v)
		}
		got = append(got, vals)
		return nil
	})
	must(t, err)
	must(t, g.Start())
	pkt, err := g.NewPacket("myds")
	must(t, err)
	for i := 0; i < 10; i++ {
		el, err := pkt.Append()
		must(t, err)
		must(t, pkt.SetAt(el, "foo", uint32(424143)))
	}
	must(t, g.Emit(pkt))
	_, err = g.Poll(2 * time.Second)
	must(t, err)
	if len(got) != 1 || len(got[0]) != 15 {
		t.Fatalf("got %v", got)
	}
	for i, v := range got[0] {
		if v != uint64(424143*i) {
			t.Fatalf("element %d = %d", i, v)
		}
	}
}

func paramsDir(t *testing.T) string {
	dir := t.TempDir()
	for src, dst := range map[string]string{"params.wasm": "program.wasm", "params.gadget.yaml": "gadget.yaml"} {
		b, err := os.ReadFile(filepath.Join(gadgetsDir, src))
		must(t, err)
		must(t, os.WriteFile(filepath.Join(dir, dst), b, 0o644))
	}
	return dir
}

func TestParamsContract(t *testing.T) {
	rt := newRT(t)
	g, err := rt.LoadPath(paramsDir(t))
	must(t, err)
	defer g.Close()
	d, err := g.Describe()
	must(t, err)
	if len(d.Params) != 1 {
		t.Fatalf("params %+v", d.Params)
	}
	p := d.Params[0]
	if p.Key != "param-key" || p.Description != "param-description" || p.DefaultValue != "param-default-value" ||
		p.TypeHint != "param-type-hint" || p.Title != "param-title" || p.Alias != "param-alias" || !p.IsMandatory {
		t.Fatalf("param %+v", p)
	}
	if err := g.SetParam("no-such-param", "x"); !errors.Is(err, ErrParam) {
		t.Fatalf("undeclared param: %v", err)
	}
	must(t, g.SetParam("param-key", "param-value"))
	if v, err := g.GetParam("param-key"); err != nil || v != "param-value" {
		t.Fatalf("GetParam %q %v", v, err)
	}
	must(t, g.Start())
}

func TestConfigAndFilteringContracts(t *testing.T) {
	rt := newRT(t)
	g := load(t, rt, "config")
	if v, err := g.Config("foo.bar.zas"); err != nil || v != "myvalue" {
		t.Fatalf("config %q %v", v, err)
	}
	if _, err := g.Config("no.such"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("missing config: %v", err)
	}
	f := load(t, rt, "filtering")
	must(t, f.SetMntnsFilter([]uint64{777}))
	must(t, f.Start())
	f2 := load(t, rt, "filtering")
	if err := f2.Start(); !errors.Is(err, ErrGuest) {
		t.Fatalf("no filter: %v", err)
	}
}

func TestErrorNonexistentPath(t *testing.T) {
	rt := newRT(t)
	_, err := rt.LoadPath("/nonexistent/gadget.wasm")
	if !errors.Is(err, ErrNotFound) {
		t.Fatalf("err = %v", err)
	}
	if errors.Is(err, ErrGuest) {
		t.Fatal("ErrNotFound matches ErrGuest")
	}
	var ge *Error
	if !errors.As(err, &ge) || ge.Code != CodeNotFound || !strings.Contains(ge.Message, "/nonexistent/gadget.wasm") {
		t.Fatalf("As: %#v", ge)
	}
	wrapped := fmt.Errorf("context: %w", err)
	if !errors.Is(wrapped, ErrNotFound) {
		t.Fatal("wrapped error does not match")
	}
}

func TestErrorBadErrPtrIsGuest(t *testing.T) {
	var mu sync.Mutex
	var logs []string
	rt := newRT(t, WithLogLevel(LogDebug), WithLogger(func(_ LogLevel, _, msg string) {
		mu.Lock()
		logs = append(logs, msg)
		mu.Unlock()
	}))
	_, err := rt.LoadPath(gadgetPath("baderrptr"))
	if !errors.Is(err, ErrGuest) {
		t.Fatalf("err = %v", err)
	}
	mu.Lock()
	defer mu.Unlock()
	for _, l := range logs {
		if strings.Contains(l, "this should never be reached") {
			t.Fatalf("guest continued: %q", l)
		}
	}
}

func TestErrorsMisc(t *testing.T) {
	rt := newRT(t)
	if _, err := rt.LoadBytes("junk", []byte("not wasm")); !errors.Is(err, ErrWasmLoad) {
		t.Fatalf("junk wasm: %v", err)
	}
	g := load(t, rt, "demo")
	if _, err := g.Subscribe("nope", 0, func(*Event) error { return nil }); !errors.Is(err, ErrNotFound) {
		t.Fatalf("subscribe unknown ds: %v", err)
	}
	if err := g.Init(); !errors.Is(err, ErrBadState) {
		t.Fatalf("double init: %v", err)
	}
	if _, err := NewRuntime(WithLogLevel(9)); !errors.Is(err, ErrInvalidArgument) {
		t.Fatalf("bad log level: %v", err)
	}
}

func TestLoadBytes(t *testing.T) {
	rt := newRT(t)
	b, err := os.ReadFile(gadgetPath("demo"))
	must(t, err)
	g, err := rt.LoadBytes("demo-bytes", b)
	must(t, err)
	defer g.Close()
	ds, err := g.DataSources()
	must(t, err)
	if fmt.Sprint(ds) != "[ticks]" {
		t.Fatalf("datasources %v", ds)
	}
}

func TestPanicInCallback(t *testing.T) {
	rt := newRT(t)
	g := load(t, rt, "demo")
	var seen []uint64
	_, err := g.Subscribe("ticks", 0, func(e *Event) error {
		v, _ := e.Uint64ByName("seq")
		seen = append(seen, v)
		if v == 2 {
			panic("boom")
		}
		return nil
	})
	must(t, err)
	must(t, g.Start())
	func() {
		defer func() {
			if r := recover(); r != "boom" {
				t.Fatalf("recovered %v", r)
			}
		}()
		g.Poll(2 * time.Second)
		t.Fatal("Poll did not re-panic")
	}()
	if fmt.Sprint(seen) != "[1 2]" {
		t.Fatalf("seen %v", seen)
	}
	st, _ := g.Stats()
	if st.Queued != 3 {
		t.Fatalf("queued %d", st.Queued)
	}
	// The gadget is still usable; the remaining events are dispatched.
	n, err := g.Poll(2 * time.Second)
	if err != nil || n != 3 || fmt.Sprint(seen) != "[1 2 3 4 5]" {
		t.Fatalf("poll %d %v, seen %v", n, err, seen)
	}
}

func TestCallbackErrorAndStop(t *testing.T) {
	rt := newRT(t)
	g := load(t, rt, "demo")
	myErr := errors.New("mine")
	calls := 0
	_, err := g.Subscribe("ticks", 0, func(e *Event) error {
		calls++
		switch calls {
		case 2:
			return myErr
		case 4:
			return ErrStop
		}
		return nil
	})
	must(t, err)
	must(t, g.Start())
	n, err := g.Poll(time.Second)
	if !errors.Is(err, myErr) || n != 2 {
		t.Fatalf("poll %d %v", n, err)
	}
	n, err = g.Poll(time.Second)
	if err != nil || n != 2 {
		t.Fatalf("poll with ErrStop: %d %v", n, err)
	}
	n, err = g.Poll(time.Second)
	if err != nil || n != 1 {
		t.Fatalf("last poll: %d %v", n, err)
	}
}

func TestEventExpiresAfterCallback(t *testing.T) {
	rt := newRT(t)
	g := load(t, rt, "demo")
	var kept *Event
	_, err := g.Subscribe("ticks", 0, func(e *Event) error { kept = e; return nil })
	must(t, err)
	must(t, g.Start())
	_, err = g.Poll(time.Second)
	must(t, err)
	if _, err := kept.Uint64(0); !errors.Is(err, ErrEventExpired) || !errors.Is(err, ErrBadState) {
		t.Fatalf("expired event: %v", err)
	}
	if kept.DataSource() != "" || kept.Len() != 0 {
		t.Fatal("expired event still readable")
	}
}

func TestCloseWithEventsInFlight(t *testing.T) {
	base := liveCount.Load()
	rt, err := NewRuntime()
	must(t, err)
	g, err := rt.LoadPath(gadgetPath("demo"))
	must(t, err)
	_, err = g.Subscribe("ticks", 0, func(*Event) error { t.Error("callback after close"); return nil })
	must(t, err)
	must(t, g.Start())
	st, _ := g.Stats()
	if st.Queued != 5 {
		t.Fatalf("queued %d", st.Queued)
	}
	if liveCount.Load() != base+1 {
		t.Fatalf("handles %d", liveCount.Load()-base)
	}
	must(t, rt.Close()) // runtime first: the gadget keeps it alive
	must(t, g.Close())
	must(t, g.Close()) // idempotent
	if liveCount.Load() != base {
		t.Fatal("subscription finalizer did not run")
	}
	if _, err := g.Poll(0); !errors.Is(err, ErrClosed) || !errors.Is(err, ErrBadState) {
		t.Fatalf("poll after close: %v", err)
	}
	if err := g.Start(); !errors.Is(err, ErrClosed) {
		t.Fatalf("start after close: %v", err)
	}
	if _, err := rt.LoadPath(gadgetPath("demo")); !errors.Is(err, ErrClosed) {
		t.Fatalf("load on closed runtime: %v", err)
	}
}

func TestCloseWakesBlockedPoll(t *testing.T) {
	rt := newRT(t)
	g := load(t, rt, "demo")
	_, err := g.Subscribe("ticks", 0, func(*Event) error { return nil })
	must(t, err)
	must(t, g.Start())
	_, err = g.Poll(time.Second)
	must(t, err)
	done := make(chan error, 1)
	go func() {
		_, err := g.Poll(-1)
		done <- err
	}()
	time.Sleep(200 * time.Millisecond)
	must(t, g.Close())
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("blocked poll returned %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Close did not wake the poll")
	}
	if g.g.h.ptr != nil {
		t.Fatal("gadget not freed after the poll returned")
	}
}

func TestCloseInsideCallback(t *testing.T) {
	base := liveCount.Load()
	rt := newRT(t)
	g := load(t, rt, "demo")
	_, err := g.Subscribe("ticks", 0, func(*Event) error { return g.Close() })
	must(t, err)
	must(t, g.Start())
	_, err = g.Poll(time.Second)
	must(t, err)
	if !g.Closed() || g.g.h.ptr != nil {
		t.Fatal("gadget not freed after the poll returned")
	}
	waitHandles(t, base)
}

func TestConcurrentPollIsBusy(t *testing.T) {
	rt := newRT(t)
	g := load(t, rt, "demo")
	entered := make(chan struct{})
	release := make(chan struct{})
	var once sync.Once
	_, err := g.Subscribe("ticks", 0, func(*Event) error {
		once.Do(func() { close(entered) })
		<-release
		return nil
	})
	must(t, err)
	must(t, g.Start())
	done := make(chan struct{})
	go func() { g.Poll(time.Second); close(done) }()
	<-entered
	if _, err := g.Poll(0); !errors.Is(err, ErrBusy) {
		t.Fatalf("concurrent poll: %v", err)
	}
	close(release)
	<-done
}

func TestFinalizersReleaseEverything(t *testing.T) {
	base := liveCount.Load()
	func() {
		rt, err := NewRuntime(WithLogger(func(LogLevel, string, string) {}))
		must(t, err)
		g, err := rt.LoadPath(gadgetPath("demo"))
		must(t, err)
		_, err = g.Subscribe("ticks", 0, func(*Event) error { return nil })
		must(t, err)
		must(t, g.Start())
		pkt, err := g.NewPacket("ticks")
		must(t, err)
		_ = pkt
	}()
	waitHandles(t, base)
}

func TestCloseWhileStreaming(t *testing.T) {
	base := liveCount.Load()
	rt := newRT(t)
	g, err := rt.LoadPath(gadgetPath("demo"))
	must(t, err)
	ch, err := g.Events(context.Background())
	must(t, err)
	must(t, g.Start())
	<-ch // one event read, four still in flight
	must(t, g.Close())
	deadline := time.After(5 * time.Second)
	for closed := false; !closed; {
		select {
		case _, ok := <-ch:
			closed = !ok
		case <-deadline:
			t.Fatal("stream not closed by Close")
		}
	}
	waitHandles(t, base)
}

func TestDecodeArrayKinds(t *testing.T) {
	k := KindArrayOf | KindUint16
	if !k.IsArray() || k.Elem() != KindUint16 || k.String() != "[]uint16" || KindUint16.IsArray() {
		t.Fatalf("array kind helpers: %v %v %q", k.IsArray(), k.Elem(), k.String())
	}
	cases := []struct {
		elem Kind
		raw  []byte
		want any
	}{
		{KindUint16, []byte{80, 0, 0xbb, 1, 0xff, 0xff}, []uint64{80, 443, 65535}},
		{KindInt32, []byte{0xf9, 0xff, 0xff, 0xff, 9, 0, 0, 0}, []int64{-7, 9}},
		{KindInt8, []byte{0xfe, 3}, []int64{-2, 3}},
		{KindBool, []byte{1, 0, 1}, []bool{true, false, true}},
		{KindFloat32, []byte{0, 0, 0xc0, 0x3f}, []float64{1.5}},
		{KindUint64, []byte{1, 0, 0, 0, 0, 0, 0, 0x80, 0xaa}, []uint64{1 | 1<<63}}, // partial tail ignored
	}
	for _, c := range cases {
		got, err := decodeArray(c.elem, c.raw)
		if err != nil || fmt.Sprint(got) != fmt.Sprint(c.want) || fmt.Sprintf("%T", got) != fmt.Sprintf("%T", c.want) {
			t.Errorf("decodeArray(%v, %v) = %T %v, %v; want %T %v", c.elem, c.raw, got, got, err, c.want, c.want)
		}
	}
	if _, err := decodeArray(KindString, []byte("x")); !errors.Is(err, ErrWrongKind) {
		t.Errorf("decodeArray(string): want ErrWrongKind, got %v", err)
	}
}

// The module's copy of the header (bindings/go/gadgetrt.h, what cgo compiles against in a
// vendored or downloaded module) is the repository's include/gadgetrt.h, byte for byte.
func TestHeaderCopyInSync(t *testing.T) {
	want, err := os.ReadFile("../../include/gadgetrt.h")
	if err != nil {
		t.Skipf("not inside the repository: %v", err)
	}
	got, err := os.ReadFile("gadgetrt.h")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatal("bindings/go/gadgetrt.h differs from include/gadgetrt.h: run `cp include/gadgetrt.h bindings/go/gadgetrt.h`")
	}
}

// Code names come from grt_error_code_name; error texts carry them.
func TestErrorCodeNames(t *testing.T) {
	for c, want := range map[Code]string{
		0: "OK", CodeNullParameter: "NULL_PARAMETER", CodeNotFound: "NOT_FOUND", CodeParam: "PARAM",
		CodeInternal: "INTERNAL", CodeSignature: "SIGNATURE", 22: "UNKNOWN(22)", 1 << 31: "UNKNOWN(2147483648)",
	} {
		if got := c.String(); got != want {
			t.Errorf("Code(%d).String() = %q, want %q", uint32(c), got, want)
		}
	}
	_, err := func() (*Gadget, error) {
		rt, err := NewRuntime()
		if err != nil {
			t.Fatal(err)
		}
		defer rt.Close()
		return rt.OpenPath("/nonexistent/gadgetrt/none.wasm")
	}()
	if err == nil || !strings.HasSuffix(err.Error(), "[NOT_FOUND]") {
		t.Fatalf("error text %v: want the code name", err)
	}
}
