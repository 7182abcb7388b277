package gadgetrt

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// packTool finds gadgetrt-pack: $GADGETRT_PACK, else cargo's target directory of the repository.
func packTool(t *testing.T, repo string) string {
	t.Helper()
	if p := os.Getenv("GADGETRT_PACK"); p != "" {
		return p
	}
	out, err := exec.Command("cargo", "metadata", "--format-version", "1", "--no-deps",
		"--manifest-path", filepath.Join(repo, "Cargo.toml")).Output()
	if err != nil {
		t.Fatalf("cannot find gadgetrt-pack (set GADGETRT_PACK): cargo metadata: %v", err)
	}
	s := string(out)
	i := strings.Index(s, `"target_directory":"`)
	if i < 0 {
		t.Fatal("cargo metadata has no target_directory")
	}
	s = s[i+len(`"target_directory":"`):]
	return filepath.Join(s[:strings.IndexByte(s, '"')], "release", "gadgetrt-pack")
}

// TestImagesByReference pushes the params gadget to a real registry on 127.0.0.1
// (scripts/registry-fixture.sh: Debian's docker-registry, one image signed with
// tests/fixtures/signing/test.key, one unsigned), then pulls and runs it by reference.
func TestImagesByReference(t *testing.T) {
	repo, _ := filepath.Abs("../..")
	fixture := filepath.Join(repo, "scripts", "registry-fixture.sh")
	dir := t.TempDir()
	out, err := exec.Command("bash", fixture, "start", dir, packTool(t, repo), gadgetPath("params")).Output()
	if err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			t.Fatalf("registry fixture: %v\n%s", err, ee.Stderr)
		}
		t.Fatalf("registry fixture: %v", err)
	}
	t.Cleanup(func() { _ = exec.Command("bash", fixture, "stop", dir).Run() })
	addr := strings.TrimSpace(string(out))
	signed, unsigned := addr+"/gadgets/signed:v1", addr+"/gadgets/unsigned:v1"
	key, err := os.ReadFile(filepath.Join(repo, "tests", "fixtures", "signing", "test.pub"))
	must(t, err)
	opts := &ImageOptions{StoreDir: t.TempDir(), PublicKeys: []string{string(key)}}

	digest, err := PullImage(signed, opts)
	must(t, err)
	if !strings.HasPrefix(digest, "sha256:") || len(digest) != 71 {
		t.Fatalf("digest %q", digest)
	}
	imgs, err := ListImages(opts)
	must(t, err)
	if len(imgs) != 1 || imgs[0].Reference != signed || imgs[0].Digest != digest {
		t.Fatalf("images %+v", imgs)
	}

	rt := newRT(t)
	never := *opts
	never.Pull = PullNever
	g, err := rt.LoadRef(signed, &never)
	must(t, err)
	must(t, g.SetParam("param-key", "param-value"))
	must(t, g.Start())
	must(t, g.Stop())
	must(t, g.Close())

	// IG's key (the default) refuses the test signature; the unsigned image needs opting out.
	_, err = rt.OpenRef(signed, &ImageOptions{StoreDir: opts.StoreDir})
	if !errors.Is(err, ErrSignature) || !strings.Contains(err.Error(), "not signed by the provided keys") {
		t.Fatalf("default key: %v", err)
	}
	_, err = rt.OpenRef(unsigned, opts)
	if !errors.Is(err, ErrSignature) || !strings.Contains(err.Error(), "no signature found for "+unsigned) {
		t.Fatalf("unsigned: %v", err)
	}
	off := *opts
	off.DisableVerify = true
	g, err = rt.OpenRef(unsigned, &off)
	must(t, err)
	must(t, g.Close())

	must(t, RemoveImage(signed, opts))
	if err := RemoveImage(signed, opts); !errors.Is(err, ErrNotFound) {
		t.Fatalf("second remove: %v", err)
	}
	if _, err := rt.OpenRef(signed, &never); !errors.Is(err, ErrNotFound) {
		t.Fatalf("pull=never after remove: %v", err)
	}
	if _, err := PullImage(addr+"/gadgets/nope:v1", opts); !errors.Is(err, ErrNotFound) {
		t.Fatalf("unknown image: %v", err)
	}
}
