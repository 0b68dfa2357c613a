package cli

import (
	"bytes"
	"context"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// serveRegistry runs ggcr's in-process registry on addr (127.0.0.1:0 and
// the like) and returns its host:port.
func serveRegistry(t *testing.T, addr string, wrap func(http.Handler) http.Handler) string {
	t.Helper()
	t.Setenv("DOCKER_CONFIG", t.TempDir())
	var h http.Handler = registry.New(registry.Logger(log.New(io.Discard, "", 0)))
	if wrap != nil {
		h = wrap(h)
	}
	l, err := net.Listen("tcp", addr)
	if err != nil {
		t.Skipf("cannot listen on %s: %v", addr, err)
	}
	srv := httptest.NewUnstartedServer(h)
	srv.Listener.Close()
	srv.Listener = l
	srv.Start()
	t.Cleanup(srv.Close)
	return l.Addr().String()
}

// buildLayout runs apkpack image on a small layer and returns the layout
// directory and the printed digest.
func buildLayout(t *testing.T) (string, string) {
	t.Helper()
	dir := t.TempDir()
	layer, _ := layerFile(t, dir, "layer.tar", "pushed\n", false)
	out := filepath.Join(dir, "image")
	code, stdout, stderr := apkpack(t, "image", "--platform", "linux/amd64", "--layer", layer,
		"-o", out)
	if code != 0 {
		t.Fatalf("image exit %d\nstderr:\n%s", code, stderr)
	}
	return out, strings.TrimSpace(stdout)
}

// TestPushCommand pushes to the in-process registry, checks stdout and
// --digest-file, and pulls the tag back.
func TestPushCommand(t *testing.T) {
	host := serveRegistry(t, "127.0.0.1:0", nil)
	dir, digest := buildLayout(t)
	digestFile := filepath.Join(t.TempDir(), "digest")
	ref := host + "/demo/app:1.0"

	code, stdout, stderr := apkpack(t, "push", "--digest-file", digestFile, dir, ref)
	if code != 0 {
		t.Fatalf("push exit %d\nstderr:\n%s", code, stderr)
	}
	if stdout != digest+"\n" {
		t.Errorf("stdout %q, want %q", stdout, digest+"\n")
	}
	if b, _ := os.ReadFile(digestFile); string(b) != digest {
		t.Errorf("--digest-file holds %q, want %q", b, digest)
	}
	tag, err := name.NewTag(ref)
	if err != nil {
		t.Fatal(err)
	}
	desc, err := remote.Head(tag)
	if err != nil || desc.Digest.String() != digest {
		t.Errorf("the tag resolves to %v (%v), want %s", desc, err, digest)
	}
}

// TestPushDigestFileDir: a --digest-file in a missing directory is refused
// before anything is pushed.
func TestPushDigestFileDir(t *testing.T) {
	host := serveRegistry(t, "127.0.0.1:0", nil)
	dir, _ := buildLayout(t)
	nodir := filepath.Join(t.TempDir(), "nodir")
	ref := host + "/demo/app:1.0"
	code, stdout, stderr := apkpack(t, "push", "--digest-file", filepath.Join(nodir, "dg"), dir, ref)
	if code != 1 || stdout != "" || !strings.Contains(stderr, "directory "+nodir+" does not exist") {
		t.Errorf("push --digest-file %s/dg: exit %d, stdout %q, stderr %q", nodir, code, stdout, stderr)
	}
	tag, err := name.NewTag(ref)
	if err != nil {
		t.Fatal(err)
	}
	if desc, err := remote.Head(tag); err == nil {
		t.Errorf("the refused push pushed %s", desc.Digest)
	}
}

// TestPushInsecure serves plain http on 127.0.0.2, which ggcr does not
// treat as local: the push fails with a hint, and --insecure makes it work.
func TestPushInsecure(t *testing.T) {
	host := serveRegistry(t, "127.0.0.2:0", nil)
	dir, digest := buildLayout(t)
	code, _, stderr := apkpack(t, "push", dir, host+"/demo/app:1")
	if code != 1 || !strings.Contains(stderr, "pass --insecure") ||
		!strings.Contains(stderr, "registry "+host) {
		t.Errorf("push to plain http: exit %d, stderr %q", code, stderr)
	}
	code, stdout, stderr := apkpack(t, "push", "--insecure", dir, host+"/demo/app:1")
	if code != 0 || stdout != digest+"\n" {
		t.Errorf("push --insecure: exit %d, stdout %q\nstderr:\n%s", code, stdout, stderr)
	}
}

// TestPushCommandAuth checks that a refused login names the registry and
// leaves no digest file.
func TestPushCommandAuth(t *testing.T) {
	host := serveRegistry(t, "127.0.0.1:0", func(http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("WWW-Authenticate", `Basic realm="test"`)
			w.WriteHeader(http.StatusUnauthorized)
		})
	})
	dir, _ := buildLayout(t)
	digestFile := filepath.Join(t.TempDir(), "digest")
	code, stdout, stderr := apkpack(t, "push", "--digest-file", digestFile, dir, host+"/demo/app")
	for _, want := range []string{"registry " + host, "authenticating", "docker login"} {
		if !strings.Contains(stderr, want) {
			t.Errorf("stderr lacks %q: %s", want, stderr)
		}
	}
	if code != 1 || stdout != "" {
		t.Errorf("exit %d, stdout %q; want 1 and nothing", code, stdout)
	}
	if _, err := os.Stat(digestFile); err == nil {
		t.Error("a failed push wrote the digest file")
	}
}

// TestPushProgressLines lowers the progress threshold to see the lines a
// large push prints.
func TestPushProgressLines(t *testing.T) {
	host := serveRegistry(t, "127.0.0.1:0", nil)
	dir, _ := buildLayout(t)
	var stdout, stderr bytes.Buffer
	err := runPush(context.Background(), &stdout, &stderr, &pushOptions{progressMin: 1},
		dir, host+"/demo/progress:1")
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(stderr.String()), "\n")
	if last := lines[len(lines)-1]; !strings.HasPrefix(last, "pushing: 100% (") {
		t.Errorf("last progress line %q, want 100%%; all:\n%s", last, stderr.String())
	}

	// Below the threshold, nothing is printed.
	stderr.Reset()
	err = runPush(context.Background(), &stdout, &stderr, &pushOptions{progressMin: progressThreshold},
		dir, host+"/demo/progress:2")
	if err != nil || stderr.Len() != 0 {
		t.Errorf("small push: %v, stderr %q", err, stderr.String())
	}
}
