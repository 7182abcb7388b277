package gadgetrt

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
)

// miniWasm is the smallest gadget gadgetrt loads: (module (memory (export "memory") 1)
// (func (export "gadgetAPIVersion") (result i64) i64.const 1)). The tests below add their
// own data source to it, so the built-in operators (formatters, filter, sort, limiter) run
// on values the test controls without any eBPF.
var miniWasm = []byte("\x00asm\x01\x00\x00\x00" +
	"\x01\x05\x01\x60\x00\x01\x7e" + // type: () -> i64
	"\x03\x02\x01\x00" + // func 0: type 0
	"\x05\x03\x01\x00\x01" + // memory: min 1 page
	"\x07\x1d\x02\x06memory\x02\x00\x10gadgetAPIVersion\x00\x00" +
	"\x0a\x06\x01\x04\x00\x42\x01\x0b") // i64.const 1

// openFmt opens miniWasm with the data source "ev": comm (string), pid (uint32),
// error_raw (uint32, type:gadget_errno, the errno formatter adds `error`) and data (bytes),
// then runs Init (the operators instantiate over the data sources present then).
func openFmt(t *testing.T, rt *Runtime) *Gadget {
	t.Helper()
	g, err := rt.OpenBytes("fmt", miniWasm)
	must(t, err)
	t.Cleanup(func() { g.Close() })
	must(t, g.AddDataSource("ev", DataSourceSingle))
	_, err = g.AddField("ev", "comm", KindString)
	must(t, err)
	_, err = g.AddField("ev", "pid", KindUint32)
	must(t, err)
	_, err = g.AddField("ev", "error_raw", KindUint32)
	must(t, err)
	must(t, g.AddFieldTag("ev", "error_raw", "type:gadget_errno"))
	_, err = g.AddField("ev", "data", KindBytes)
	must(t, err)
	must(t, g.Init())
	return g
}

func emitFmt(t *testing.T, g *Gadget, comm string, pid, errno uint32, data []byte) {
	t.Helper()
	pkt, err := g.NewPacket("ev")
	must(t, err)
	must(t, pkt.Set("comm", comm))
	must(t, pkt.Set("pid", pid))
	must(t, pkt.Set("error_raw", errno))
	must(t, pkt.Set("data", data))
	must(t, g.Emit(pkt))
}

func pollAll(t *testing.T, g *Gadget) {
	t.Helper()
	for {
		n, err := g.Poll(200 * time.Millisecond)
		must(t, err)
		if n == 0 {
			return
		}
	}
}

func TestConstantsMatchHeader(t *testing.T) {
	if OutputJSON != 1 || OutputJSONPretty != 2 || OutputYAML != 3 || OutputColumns != 4 || PriorityOutput != 10000 {
		t.Fatal("output constants")
	}
	if OutputColumns.String() != "columns" {
		t.Fatal(OutputColumns.String())
	}
}

func TestFormatAndFilter(t *testing.T) {
	rt := newRT(t)
	g := openFmt(t, rt)
	must(t, g.SetFilter("pid==7"))
	if v, err := g.GetParam("filter"); err != nil || v != "pid==7" {
		t.Fatalf("GetParam(filter) = %q %v", v, err)
	}
	type out struct {
		pid                        uint64
		errStr, json, j, pretty, y string
		row, hdr, rowSel, hdrSel   string
	}
	var got []out
	var jsonBuf []byte
	_, err := g.Subscribe("ev", PriorityOutput, func(e *Event) error {
		var o out
		var err error
		if o.pid, err = e.Uint64ByName("pid"); err != nil {
			return err
		}
		if o.errStr, err = e.StringByName("error"); err != nil {
			return err
		}
		j, err := e.JSON()
		if err != nil {
			return err
		}
		// The Append forms write the same bytes into a reused buffer without allocating.
		if jsonBuf, err = e.AppendJSON(jsonBuf[:0]); err != nil || string(jsonBuf) != string(j) {
			return fmt.Errorf("AppendJSON = %q, %v; JSON = %q", jsonBuf, err, j)
		}
		if allocs := testing.AllocsPerRun(20, func() { jsonBuf, _ = e.AppendJSON(jsonBuf[:0]) }); allocs != 0 {
			return fmt.Errorf("AppendJSON allocated %v times per call", allocs)
		}
		if allocs := testing.AllocsPerRun(20, func() { jsonBuf, _ = e.AppendFormat(jsonBuf[:0], OutputColumns, "") }); allocs != 0 {
			return fmt.Errorf("AppendFormat allocated %v times per call", allocs)
		}
		o.json = string(j)
		for _, f := range []struct {
			m   OutputMode
			dst *string
		}{{OutputJSON, &o.j}, {OutputJSONPretty, &o.pretty}, {OutputYAML, &o.y}, {OutputColumns, &o.row}} {
			if *f.dst, err = e.Format(f.m, ""); err != nil {
				return fmt.Errorf("%v: %w", f.m, err)
			}
		}
		if o.hdr, err = e.ColumnsHeader(""); err != nil {
			return err
		}
		if o.rowSel, err = e.Format(OutputColumns, "pid,error_raw"); err != nil {
			return err
		}
		if o.hdrSel, err = e.ColumnsHeader("pid,error_raw"); err != nil {
			return err
		}
		if _, err := e.Format(OutputColumns, "nope"); !errors.Is(err, ErrInvalidArgument) {
			return fmt.Errorf("unknown field: %v", err)
		}
		if _, err := e.Format(OutputMode(99), ""); !errors.Is(err, ErrInvalidArgument) {
			return fmt.Errorf("unknown mode: %v", err)
		}
		got = append(got, o)
		return nil
	})
	must(t, err)
	must(t, g.Start())
	emitFmt(t, g, "cat", 5, 2, []byte{0xca, 0xfe})
	emitFmt(t, g, "cat", 7, 2, []byte{0xca, 0xfe})
	emitFmt(t, g, "ls", 9, 0, nil)
	pollAll(t, g)
	if len(got) != 1 {
		t.Fatalf("filter pid==7: got %d events: %+v", len(got), got)
	}
	o := got[0]
	const wantJSON = `{"comm":"cat","data":"cafe","error":"ENOENT","error_raw":2,"pid":7}`
	if o.pid != 7 || o.errStr != "ENOENT" || o.json != wantJSON || o.j != wantJSON+"\n" {
		t.Fatalf("event %+v", o)
	}
	if want := "{\n  \"comm\": \"cat\",\n  \"data\": \"cafe\",\n  \"error\": \"ENOENT\",\n  \"error_raw\": 2,\n  \"pid\": 7\n}\n"; o.pretty != want {
		t.Fatalf("jsonpretty %q", o.pretty)
	}
	if want := "---\ncomm: cat\ndata: cafe\nerror: ENOENT\nerror_raw: 2\npid: 7\n"; o.y != want {
		t.Fatalf("yaml %q", o.y)
	}
	// IG's default columns: visible fields by order (error takes error_raw's order; the
	// hidden error_raw is left out); width 16 (error: errorString template, 12), one space
	// between columns, trailing padding kept, header upper-cased, bytes as "<n bytes>".
	if want := fmt.Sprintf("%-16s %-16s %-12s %-16s", "COMM", "PID", "ERROR", "DATA"); o.hdr != want {
		t.Fatalf("header %q, want %q", o.hdr, want)
	}
	if want := fmt.Sprintf("%-16s %-16s %-12s %-16s\n", "cat", "7", "ENOENT", "<2 bytes>"); o.row != want {
		t.Fatalf("row %q, want %q", o.row, want)
	}
	if want := fmt.Sprintf("%-16s %-16s", "PID", "ERROR_RAW"); o.hdrSel != want {
		t.Fatalf("header(pid,error_raw) %q", o.hdrSel)
	}
	if want := fmt.Sprintf("%-16s %-16s\n", "7", "2"); o.rowSel != want {
		t.Fatalf("row(pid,error_raw) %q", o.rowSel)
	}
}

func TestFormatExpiredEvent(t *testing.T) {
	var e Event
	if _, err := e.Format(OutputJSON, ""); !errors.Is(err, ErrEventExpired) {
		t.Fatal(err)
	}
	if _, err := e.ColumnsHeader(""); !errors.Is(err, ErrEventExpired) {
		t.Fatal(err)
	}
}

func TestInvalidFilterFailsAtStart(t *testing.T) {
	rt := newRT(t)
	g := openFmt(t, rt)
	must(t, g.SetFilter("pid=>7")) // accepted now, parsed at Start
	if err := g.Start(); !errors.Is(err, ErrParam) {
		t.Fatalf("Start with bad filter: %v", err)
	}
}

func TestSortAndMaxEntries(t *testing.T) {
	rt := newRT(t)
	g, err := rt.OpenBytes("sort", miniWasm)
	must(t, err)
	defer g.Close()
	must(t, g.AddDataSource("top", DataSourceArray))
	_, err = g.AddField("top", "comm", KindString)
	must(t, err)
	_, err = g.AddField("top", "cpu", KindUint32)
	must(t, err)
	must(t, g.Init())
	must(t, g.SetSort("-cpu"))
	must(t, g.SetMaxEntries(3))
	if v, _ := g.GetParam("max-entries"); v != "3" {
		t.Fatalf("max-entries %q", v)
	}
	var rows [][]string
	var text string
	_, err = g.Subscribe("top", PriorityOutput, func(e *Event) error {
		var r []string
		for i := 0; i < e.Len(); i++ {
			c, err := e.Record(i).StringByName("comm")
			if err != nil {
				return err
			}
			v, err := e.Record(i).Uint64ByName("cpu")
			if err != nil {
				return err
			}
			r = append(r, fmt.Sprintf("%s:%d", c, v))
		}
		rows = append(rows, r)
		j, err := e.JSON()
		text = string(j)
		return err
	})
	must(t, err)
	must(t, g.Start())
	pkt, err := g.NewPacket("top")
	must(t, err)
	for _, v := range []struct {
		comm string
		cpu  uint32
	}{{"a", 10}, {"b", 50}, {"c", 30}, {"d", 40}, {"e", 5}} {
		el, err := pkt.Append()
		must(t, err)
		must(t, pkt.SetAt(el, "comm", v.comm))
		must(t, pkt.SetAt(el, "cpu", v.cpu))
	}
	must(t, g.Emit(pkt))
	pollAll(t, g)
	if len(rows) != 1 || strings.Join(rows[0], " ") != "b:50 d:40 c:30" {
		t.Fatalf("sorted/limited rows %v", rows)
	}
	if want := `[{"comm":"b","cpu":50},{"comm":"d","cpu":40},{"comm":"c","cpu":30}]`; text != want {
		t.Fatalf("array JSON %s", text)
	}
}

// IG's sort operator exists only when some data source is an array; an unknown sort field
// then fails at Start.
func TestSortUnknownFieldFailsAtStart(t *testing.T) {
	rt := newRT(t)
	g, err := rt.OpenBytes("sort", miniWasm)
	must(t, err)
	defer g.Close()
	must(t, g.AddDataSource("top", DataSourceArray))
	_, err = g.AddField("top", "cpu", KindUint32)
	must(t, err)
	must(t, g.Init())
	must(t, g.SetSort("nope"))
	if err := g.Start(); !errors.Is(err, ErrParam) {
		t.Fatalf("sort by an unknown field: %v", err)
	}
}
