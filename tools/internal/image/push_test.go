package image

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// newRegistry serves ggcr's in-process registry on 127.0.0.1, behind wrap
// when given, and returns its host:port. Docker credentials come from an
// empty config unless the test writes one.
func newRegistry(t *testing.T, wrap func(http.Handler) http.Handler) string {
	t.Helper()
	t.Setenv("DOCKER_CONFIG", t.TempDir())
	var h http.Handler = registry.New(registry.Logger(log.New(io.Discard, "", 0)))
	if wrap != nil {
		h = wrap(h)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return strings.TrimPrefix(srv.URL, "http://")
}

// writeLayout builds o and writes it to a fresh layout directory.
func writeLayout(t *testing.T, o Options) (string, v1.Hash) {
	t.Helper()
	res := build(t, o)
	dir := filepath.Join(t.TempDir(), "layout")
	if err := WriteLayout(dir, res, WriteOptions{}); err != nil {
		t.Fatal(err)
	}
	return dir, mustDigest(t, res)
}

// TestPush pushes an image and an index, then pulls them back by tag and
// by digest.
func TestPush(t *testing.T) {
	f := newFixture(t)
	host := newRegistry(t, nil)
	for _, tt := range []struct {
		name string
		opts Options
	}{
		{"image", f.options(t)},
		{"index", f.indexOptions(t)},
	} {
		t.Run(tt.name, func(t *testing.T) {
			dir, want := writeLayout(t, tt.opts)
			repo := host + "/demo/" + tt.name
			got, err := Push(context.Background(), dir, repo+":1.0", PushOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if got != want {
				t.Errorf("Push returned %s, want %s", got, want)
			}
			for _, ref := range []string{repo + ":1.0", repo + "@" + want.String()} {
				if d := pulledDigest(t, ref); d != want {
					t.Errorf("%s resolves to %s, want %s", ref, d, want)
				}
			}
		})
	}
}

// pulledDigest fetches ref's manifest and its blobs, and returns the
// manifest's digest.
func pulledDigest(t *testing.T, ref string) v1.Hash {
	t.Helper()
	r, err := name.ParseReference(ref)
	if err != nil {
		t.Fatal(err)
	}
	desc, err := remote.Get(r)
	if err != nil {
		t.Fatalf("pulling %s: %v", ref, err)
	}
	if desc.MediaType.IsIndex() {
		idx, err := desc.ImageIndex()
		if err != nil {
			t.Fatal(err)
		}
		return mustDigest(t, idx)
	}
	img, err := desc.Image()
	if err != nil {
		t.Fatal(err)
	}
	layers, err := img.Layers()
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range layers {
		rc, err := l.Compressed()
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(rc)
		rc.Close()
		if err != nil || sha(b) != mustDigest(t, l) {
			t.Errorf("pulling layer %s of %s: %v", mustDigest(t, l), ref, err)
		}
	}
	return mustDigest(t, img)
}

// TestPushByDigest pushes without a tag, and with a digest that must be
// the layout's.
func TestPushByDigest(t *testing.T) {
	f := newFixture(t)
	host := newRegistry(t, nil)
	dir, want := writeLayout(t, f.options(t))
	repo := host + "/demo/bydigest"

	got, err := Push(context.Background(), dir, repo, PushOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if d := pulledDigest(t, repo+"@"+got.String()); d != want {
		t.Errorf("pushed by digest: %s resolves to %s", got, d)
	}
	latest, err := name.ParseReference(repo + ":latest")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := remote.Get(latest); err == nil {
		t.Error("a push without a tag created :latest")
	}

	other := "sha256:" + strings.Repeat("0", 64)
	_, err = Push(context.Background(), dir, repo+"@"+other, PushOptions{})
	if err == nil || !strings.Contains(err.Error(), "the layout's digest is "+want.String()) {
		t.Errorf("pushing to another digest: %v", err)
	}
}

// TestPushProgress checks that progress reaches the callback and ends at
// the total.
func TestPushProgress(t *testing.T) {
	f := newFixture(t)
	host := newRegistry(t, nil)
	dir, _ := writeLayout(t, f.options(t))
	var mu sync.Mutex
	var last v1.Update
	_, err := Push(context.Background(), dir, host+"/demo/progress:1", PushOptions{
		Progress: func(u v1.Update) { mu.Lock(); last = u; mu.Unlock() },
	})
	if err != nil {
		t.Fatal(err)
	}
	if last.Total == 0 || last.Complete != last.Total {
		t.Errorf("last progress update %+v, want Complete == Total > 0", last)
	}
}

// requireBasicAuth answers 401 to requests without user:secret.
func requireBasicAuth(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if u, p, ok := r.BasicAuth(); !ok || u != "user" || p != "secret" {
			w.Header().Set("WWW-Authenticate", `Basic realm="test"`)
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// TestPushAuth pushes to a registry that demands credentials: without them
// the error names the registry and authentication; with them in the Docker
// config the push succeeds.
func TestPushAuth(t *testing.T) {
	f := newFixture(t)
	host := newRegistry(t, requireBasicAuth)
	dir, want := writeLayout(t, f.options(t))
	ref := host + "/demo/auth:1"

	_, err := Push(context.Background(), dir, ref, PushOptions{})
	var pe *PushError
	if !errors.As(err, &pe) {
		t.Fatalf("push without credentials: %v, want a *PushError", err)
	}
	got := []any{pe.Registry, pe.Repository, pe.Step}
	if diff := cmp.Diff([]any{host, "demo/auth", StepAuthenticating}, got); diff != "" {
		t.Errorf("PushError (-want +got):\n%s\n%v", diff, err)
	}
	if !strings.Contains(err.Error(), "docker login "+host) {
		t.Errorf("error %q does not say how to log in", err)
	}

	auth := base64.StdEncoding.EncodeToString([]byte("user:secret"))
	cfg := fmt.Sprintf(`{"auths": {%q: {"auth": %q}}}`, host, auth)
	if err := os.WriteFile(filepath.Join(os.Getenv("DOCKER_CONFIG"), "config.json"),
		[]byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	digest, err := Push(context.Background(), dir, ref, PushOptions{})
	if err != nil || digest != want {
		t.Errorf("push with credentials in the Docker config: %s, %v; want %s", digest, err, want)
	}
}

// TestPushFailures covers the other steps a push can fail at.
func TestPushFailures(t *testing.T) {
	f := newFixture(t)
	dir, _ := writeLayout(t, f.options(t))
	rejectManifests := func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Method == http.MethodPut && strings.Contains(r.URL.Path, "/manifests/") {
				http.Error(w, `{"errors":[{"code":"MANIFEST_INVALID","message":"no"}]}`,
					http.StatusBadRequest)
				return
			}
			next.ServeHTTP(w, r)
		})
	}
	rejectBlobs := func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Method != http.MethodHead && strings.Contains(r.URL.Path, "/blobs/") {
				http.Error(w, `{"errors":[{"code":"DENIED","message":"quota"}]}`,
					http.StatusBadRequest)
				return
			}
			next.ServeHTTP(w, r)
		})
	}
	closed := httptest.NewServer(http.NotFoundHandler())
	closedHost := strings.TrimPrefix(closed.URL, "http://")
	closed.Close()

	tests := []struct {
		name string
		host string
		step PushStep
	}{
		{"manifest", newRegistry(t, rejectManifests), StepManifest},
		{"blobs", newRegistry(t, rejectBlobs), StepUploading},
		{"connection refused", closedHost, StepConnecting},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Push(context.Background(), dir, tt.host+"/demo/fail:1", PushOptions{})
			var pe *PushError
			if !errors.As(err, &pe) || pe.Step != tt.step || pe.Registry != tt.host {
				t.Fatalf("Push: %v; want a *PushError at step %q for %s", err, tt.step, tt.host)
			}
			if !strings.Contains(err.Error(), "registry "+tt.host) {
				t.Errorf("error %q does not name the registry", err)
			}
		})
	}
}

// TestPushBadLayout refuses what apkpack image does not write.
func TestPushBadLayout(t *testing.T) {
	f := newFixture(t)
	host := newRegistry(t, nil)
	two := filepath.Join(t.TempDir(), "two")
	for i, o := range []Options{f.options(t), f.indexOptions(t)} {
		res := build(t, o)
		tmp := filepath.Join(t.TempDir(), fmt.Sprint(i))
		if err := WriteLayout(tmp, res, WriteOptions{}); err != nil {
			t.Fatal(err)
		}
		if i == 0 {
			os.Rename(tmp, two)
			continue
		}
		// Merge the second layout's index.json entry into the first.
		b, _ := os.ReadFile(filepath.Join(tmp, "index.json"))
		a, _ := os.ReadFile(filepath.Join(two, "index.json"))
		entry := b[strings.Index(string(b), "[")+1 : strings.LastIndex(string(b), "]")]
		merged := strings.Replace(string(a), "[", "["+string(entry)+",", 1)
		os.WriteFile(filepath.Join(two, "index.json"), []byte(merged), 0o644)
	}
	tests := []struct {
		name, dir, want string
	}{
		{"missing", filepath.Join(t.TempDir(), "nothing"), "want a directory written by apkpack image"},
		{"two entries", two, "index.json lists 2 manifests"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Push(context.Background(), tt.dir, host+"/demo/bad:1", PushOptions{})
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Push: %v, want an error containing %q", err, tt.want)
			}
		})
	}
}
