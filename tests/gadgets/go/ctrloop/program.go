// ctrloop: the mechanism of IG's traceloop with a program of our own. From the `containers`
// data source (gadget.yaml: enable-containers-datasource) it creates, per CREATED container,
// an overwritable PERF_EVENT_ARRAY with NewMap, a perf reader on it, and inserts the buffer
// into the eBPF HASH_OF_MAPS map_of_perf_buffers under the container's mount namespace id;
// DELETED removes the entry. The eBPF program (tests/bpf/ctrloop.bpf.c) writes the openat
// calls of those mount namespaces into their buffer. At gadgetStop the guest drains every
// reader (paused) and emits one `ctrloop` event per record (mntns_id tagged
// type:gadget_mntns_id, so the events carry the container fields).
package main

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"os"

	api "github.com/inspektor-gadget/inspektor-gadget/wasmapi/go"
)

type reader struct {
	name  string
	inner api.Map
	perf  api.PerfReader
}

var (
	out      api.DataSource
	fMntns   api.Field
	fPid     api.Field
	fComm    api.Field
	fFname   api.Field
	outer    api.Map
	readers  = map[uint64]*reader{}
	attached []uint64
)

func cstr(b []byte) string {
	if i := bytes.IndexByte(b, 0); i >= 0 {
		return string(b[:i])
	}
	return string(b)
}

//go:wasmexport gadgetInit
func gadgetInit() int32 {
	var err error
	out, err = api.NewDataSource("ctrloop", api.DataSourceTypeSingle)
	if err != nil {
		api.Errorf("ctrloop: NewDataSource: %v", err)
		return 1
	}
	for _, f := range []struct {
		n string
		k api.FieldKind
		p *api.Field
	}{{"mntns_id", api.Kind_Uint64, &fMntns}, {"pid", api.Kind_Uint32, &fPid}, {"comm", api.Kind_String, &fComm}, {"fname", api.Kind_String, &fFname}} {
		if *f.p, err = out.AddField(f.n, f.k); err != nil {
			api.Errorf("ctrloop: AddField %s: %v", f.n, err)
			return 1
		}
	}
	if err := fMntns.AddTag("type:gadget_mntns_id"); err != nil {
		api.Errorf("ctrloop: AddTag: %v", err)
		return 1
	}
	return 0
}

func attach(name string, mntns uint64) error {
	if _, ok := readers[mntns]; ok {
		return nil
	}
	inner, err := api.NewMap(api.MapSpec{Name: fmt.Sprintf("perf_%d", mntns), Type: api.PerfEventArray, KeySize: 4, ValueSize: 4})
	if err != nil {
		return fmt.Errorf("NewMap: %w", err)
	}
	pr, err := api.NewPerfReader(inner, 64*4096, true)
	if err != nil {
		inner.Close()
		return fmt.Errorf("NewPerfReader: %w", err)
	}
	if err := outer.Update(mntns, inner, api.UpdateNoExist); err != nil {
		pr.Close()
		inner.Close()
		return fmt.Errorf("map_of_perf_buffers.Update(%d): %w", mntns, err)
	}
	readers[mntns] = &reader{name: name, inner: inner, perf: pr}
	attached = append(attached, mntns)
	return nil
}

//go:wasmexport gadgetStart
func gadgetStart() int32 {
	var err error
	if outer, err = api.GetMap("map_of_perf_buffers"); err != nil {
		api.Errorf("ctrloop: GetMap: %v", err)
		return 1
	}
	ds, err := api.GetDataSource(api.DataSourceContainers)
	if err != nil {
		api.Errorf("ctrloop: GetDataSource containers: %v", err)
		return 1
	}
	ty, err1 := ds.GetField("event_type")
	mn, err2 := ds.GetField("mntns_id")
	nm, err3 := ds.GetField("name")
	if err := errors.Join(err1, err2, err3); err != nil {
		api.Errorf("ctrloop: GetField: %v", err)
		return 1
	}
	ds.Subscribe(func(ds api.DataSource, data api.Data) {
		t, _ := ty.String(data, api.DataSourceContainersEventTypeMaxSize)
		m, _ := mn.Uint64(data)
		n, _ := nm.String(data, 64)
		switch t {
		case "CREATED":
			if err := attach(n, m); err != nil {
				api.Errorf("ctrloop: attaching %s: %v", n, err)
				return
			}
			api.Infof("ctrloop: attached %s mntns %d", n, m)
		case "DELETED":
			if err := outer.Delete(m); err != nil {
				api.Errorf("ctrloop: detaching %s: %v", n, err)
				return
			}
			api.Infof("ctrloop: detached %s mntns %d", n, m)
		}
	}, 0)
	return 0
}

//go:wasmexport gadgetStop
func gadgetStop() int32 {
	// struct ctr_event (96 bytes) + the kernel's padding.
	buf := make([]byte, 256)
	for _, m := range attached {
		r := readers[m]
		if err := r.perf.Pause(); err != nil {
			api.Errorf("ctrloop: Pause: %v", err)
			return 1
		}
		n := 0
		for {
			err := r.perf.Read(buf)
			if errors.Is(err, os.ErrDeadlineExceeded) {
				break
			}
			if err != nil {
				api.Errorf("ctrloop: reading %s: %v", r.name, err)
				return 1
			}
			p, err := out.NewPacketSingle()
			if err != nil {
				api.Errorf("ctrloop: NewPacketSingle: %v", err)
				return 1
			}
			fMntns.SetUint64(api.Data(p), binary.LittleEndian.Uint64(buf[0:8]))
			fPid.SetUint32(api.Data(p), binary.LittleEndian.Uint32(buf[8:12]))
			fComm.SetString(api.Data(p), cstr(buf[16:32]))
			fFname.SetString(api.Data(p), cstr(buf[32:96]))
			out.EmitAndRelease(api.Packet(p))
			n++
		}
		api.Infof("ctrloop: %d records from %s", n, r.name)
		r.perf.Close()
	}
	return 0
}

func main() {}
