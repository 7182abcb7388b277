package gadgetrt

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

// TestEmbedderContainers: AddContainer/RemoveContainer with discovery off; a gadget whose
// gadget.yaml enables the containers data source reports the container (CREATED at start,
// DELETED on removal), with mntns_id read from /proc/<pid>. The "container" is this process,
// so neither root nor a container runtime is needed.
func TestEmbedderContainers(t *testing.T) {
	rt := newRT(t, WithContainerDiscoveryDisabled())
	name := fmt.Sprintf("go-test-%d", os.Getpid())
	var ge *Error
	if err := rt.AddContainer(ContainerInfo{Name: name, Pid: uint32(os.Getpid())}); !errors.As(err, &ge) || ge.Code != CodeInvalidArgument {
		t.Fatalf("no id: %v", err)
	}
	must(t, rt.AddContainer(ContainerInfo{
		ID: "go-id", Name: name, Runtime: "go-agent", Pid: uint32(os.Getpid()),
		K8sNamespace: "ns", K8sPod: "pod", K8sContainer: "app", K8sPodLabels: map[string]string{"app": "web"},
	}))
	dir := t.TempDir()
	must(t, os.Symlink(gadgetPath("demo"), filepath.Join(dir, "program.wasm")))
	must(t, os.WriteFile(filepath.Join(dir, "gadget.yaml"), []byte("name: demo\nannotations:\n  enable-containers-datasource: true\n"), 0o644))
	g, err := rt.LoadPath(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	must(t, g.SetParam("k8s-selector", "app=web"))
	type seen struct {
		ty, name string
		mntns    uint64
	}
	var got []seen
	_, err = g.Subscribe("containers", 0, func(e *Event) error {
		ty, _ := e.StringByName("event_type")
		n, _ := e.StringByName("name")
		m, _ := e.Uint64ByName("mntns_id")
		got = append(got, seen{ty, n, m})
		return nil
	})
	must(t, err)
	must(t, g.Start())
	waitFor := func(ty string) seen {
		t.Helper()
		deadline := time.Now().Add(5 * time.Second)
		for time.Now().Before(deadline) {
			for _, s := range got {
				if s.ty == ty {
					return s
				}
			}
			_, _ = g.Poll(20 * time.Millisecond)
		}
		t.Fatalf("no %s event; got %v", ty, got)
		return seen{}
	}
	c := waitFor("CREATED")
	var st syscall.Stat_t
	must(t, syscall.Stat("/proc/self/ns/mnt", &st))
	if c.name != name || c.mntns != st.Ino {
		t.Fatalf("CREATED %+v, want name %s mntns %d", c, name, st.Ino)
	}
	must(t, rt.RemoveContainer("go-id"))
	if err := rt.RemoveContainer("go-id"); !errors.As(err, &ge) || ge.Code != CodeNotFound {
		t.Fatalf("second remove: %v", err)
	}
	waitFor("DELETED")
	must(t, g.Stop())
}

// TestContainerDiscoveryOption: ig's flag names are accepted, unknown keys and runtimes are
// ErrParam, and an empty value restores the default.
func TestContainerDiscoveryOption(t *testing.T) {
	if err := SetContainerDiscoveryOption("runtimes", "docker,containerd"); err != nil {
		t.Fatalf("runtimes: %v", err)
	}
	if err := SetContainerDiscoveryOption("runtimes", "nosuchruntime"); !errors.Is(err, ErrParam) {
		t.Fatalf("unknown runtime: %v, want ErrParam", err)
	}
	if err := SetContainerDiscoveryOption("no-such-option", "x"); !errors.Is(err, ErrParam) {
		t.Fatalf("unknown key: %v, want ErrParam", err)
	}
	if err := SetContainerDiscoveryOption("runtimes", ""); err != nil {
		t.Fatalf("reset: %v", err)
	}
}
