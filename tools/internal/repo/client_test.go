package repo

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/rules-apk/rules_apk/tools/internal/testutil"
)

// Digests of the real rsa256-index repository (§7).
const (
	realIndexSHA256   = "741f414be3d26fbcb2d7016fa6982952c4ded0d54fdb2e8286057eb6cee9a8f9"
	realIndexSize     = 1047
	realPackageSHA256 = "e6e3c36ed2f991bd0168ea076d30ff7a9fed0bfabeedade500d8aa949bba1835"
	realPackageSize   = 11012
)

// serveRealRepository serves the real rsa256-index repository over http.
func serveRealRepository(t *testing.T) (repoDir string, srv *httptest.Server, cnt *counter) {
	t.Helper()
	repoDir = testutil.RealData(t, "rsa256-index")
	cnt = &counter{}
	files := http.FileServer(http.Dir(repoDir))
	srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		cnt.add(r.URL.Path)
		files.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	return repoDir, srv, cnt
}

func TestFetchRealRepository(t *testing.T) {
	repoDir, srv, _ := serveRealRepository(t)
	tests := []struct {
		name       string
		repository string
		req        func(repository string) Request
		want       Result // Path is checked by content
	}{
		{
			name: "index over http", repository: srv.URL,
			req:  func(r string) Request { return Request{URL: IndexURL(r, "aarch64"), Revalidate: true} },
			want: Result{SHA256: realIndexSHA256, Size: realIndexSize, Source: SourceNetwork},
		},
		{
			name: "package over http with sha256", repository: srv.URL,
			req: func(r string) Request {
				return Request{
					URL:    PackageURL(r, "aarch64", "alpine-baselayout", "3.2.0-r23"),
					SHA256: realPackageSHA256, Size: realPackageSize,
				}
			},
			want: Result{SHA256: realPackageSHA256, Size: realPackageSize, Source: SourceNetwork},
		},
		{
			name: "package over http without sha256", repository: srv.URL,
			req: func(r string) Request {
				return Request{URL: PackageURL(r, "aarch64", "alpine-baselayout", "3.2.0-r23")}
			},
			want: Result{SHA256: realPackageSHA256, Size: realPackageSize, Source: SourceNetwork},
		},
		{
			name: "package from a file URL", repository: "file://" + repoDir + "/",
			req: func(r string) Request {
				return Request{URL: PackageURL(r, "aarch64", "alpine-baselayout", "3.2.0-r23"),
					SHA256: strings.ToUpper(realPackageSHA256)}
			},
			want: Result{SHA256: realPackageSHA256, Size: realPackageSize, Source: SourceLocal},
		},
		{
			name: "index from a directory", repository: repoDir,
			req:  func(r string) Request { return Request{URL: IndexURL(r, "aarch64"), Revalidate: true} },
			want: Result{SHA256: realIndexSHA256, Size: realIndexSize, Source: SourceLocal},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, _ := newTestClient(t, Options{})
			req := tt.req(tt.repository)
			got, err := c.Fetch(t.Context(), req)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got, cmpopts.IgnoreFields(Result{}, "URL", "Path")); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
			if sum := sha256Hex(readFile(t, got.Path)); sum != tt.want.SHA256 {
				t.Errorf("file %s has sha256 %s, want %s", got.Path, sum, tt.want.SHA256)
			}
			if tt.want.Source == SourceLocal {
				want := filepath.Join(repoDir, "aarch64", filepath.Base(req.URL))
				if got.Path != want {
					t.Errorf("local file read at %s, want in place at %s", got.Path, want)
				}
			}
		})
	}
}

// conditionalServer serves one index at /x86_64/APKINDEX.tar.gz whose
// content the test changes, with an ETag and/or a Last-Modified date, and
// records the conditional headers of each request.
type conditionalServer struct {
	mu                 sync.Mutex
	etag, lastModified bool
	content            []byte
	version            int
	modified           time.Time
	seen               []string // "If-None-Match=…|If-Modified-Since=… -> status"
}

func (s *conditionalServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.etag {
		w.Header().Set("ETag", fmt.Sprintf(`"v%d"`, s.version))
	}
	modified := time.Time{}
	if s.lastModified {
		modified = s.modified
	}
	rec := httptest.NewRecorder()
	for k, v := range w.Header() {
		rec.Header()[k] = v
	}
	http.ServeContent(rec, r, "APKINDEX.tar.gz", modified, strings.NewReader(string(s.content)))
	s.seen = append(s.seen, fmt.Sprintf("If-None-Match=%s|If-Modified-Since=%s -> %d",
		r.Header.Get("If-None-Match"), r.Header.Get("If-Modified-Since"), rec.Code))
	for k, v := range rec.Header() {
		w.Header()[k] = v
	}
	w.WriteHeader(rec.Code)
	w.Write(rec.Body.Bytes())
}

func (s *conditionalServer) publish(version int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.version = version
	s.content = testPayload(version, 4000+version)
	s.modified = time.Date(2025, 1, version, 0, 0, 0, 0, time.UTC)
}

func TestConditionalRequests(t *testing.T) {
	tests := []struct {
		name               string
		etag, lastModified bool
		wantSeen           []string
	}{
		{
			name: "etag", etag: true,
			wantSeen: []string{
				"If-None-Match=|If-Modified-Since= -> 200",
				`If-None-Match="v1"|If-Modified-Since= -> 304`,
				`If-None-Match="v1"|If-Modified-Since= -> 200`,
				`If-None-Match="v2"|If-Modified-Since= -> 304`,
			},
		},
		{
			name: "last-modified", lastModified: true,
			wantSeen: []string{
				"If-None-Match=|If-Modified-Since= -> 200",
				"If-None-Match=|If-Modified-Since=Wed, 01 Jan 2025 00:00:00 GMT -> 304",
				"If-None-Match=|If-Modified-Since=Wed, 01 Jan 2025 00:00:00 GMT -> 200",
				"If-None-Match=|If-Modified-Since=Thu, 02 Jan 2025 00:00:00 GMT -> 304",
			},
		},
		{
			name: "neither", // nothing to revalidate with: every fetch downloads
			wantSeen: []string{
				"If-None-Match=|If-Modified-Since= -> 200",
				"If-None-Match=|If-Modified-Since= -> 200",
				"If-None-Match=|If-Modified-Since= -> 200",
				"If-None-Match=|If-Modified-Since= -> 200",
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := &conditionalServer{etag: tt.etag, lastModified: tt.lastModified}
			s.publish(1)
			srv := httptest.NewServer(s)
			defer srv.Close()
			c, _ := newTestClient(t, Options{})
			req := Request{URL: IndexURL(srv.URL, "x86_64"), Revalidate: true}

			var got []Result
			for _, version := range []int{1, 1, 2, 2} {
				if version != s.version {
					s.publish(version)
				}
				res, err := c.Fetch(t.Context(), req)
				if err != nil {
					t.Fatal(err)
				}
				want := sha256Hex(testPayload(version, 4000+version))
				if sum := sha256Hex(readFile(t, res.Path)); sum != want {
					t.Fatalf("fetch %d: cached file has sha256 %s, want the published %s",
						len(got)+1, sum, want)
				}
				got = append(got, res)
			}
			s.mu.Lock()
			defer s.mu.Unlock()
			if diff := cmp.Diff(tt.wantSeen, s.seen); diff != "" {
				t.Errorf("requests (-want +got):\n%s", diff)
			}
			if tt.etag || tt.lastModified {
				wantSources := []Source{SourceNetwork, SourceNotModified, SourceNetwork, SourceNotModified}
				var sources []Source
				for _, r := range got {
					sources = append(sources, r.Source)
				}
				if diff := cmp.Diff(wantSources, sources); diff != "" {
					t.Errorf("sources (-want +got):\n%s", diff)
				}
				if got[0].Path != got[1].Path || got[1].Path == got[2].Path {
					t.Errorf("paths %q: want a 304 to reuse the cached file and a 200 to replace it",
						[]string{got[0].Path, got[1].Path, got[2].Path})
				}
			}
		})
	}
}

func TestContentKeyedCache(t *testing.T) {
	content := testPayload(7, 30000)
	sum := sha256Hex(content)
	srv, cnt := serveBytes(t, map[string][]byte{
		"/a/x86_64/p-1.apk": content, "/b/x86_64/p-1.apk": content, "/c/x86_64/p-1.apk": content,
	})
	c, _ := newTestClient(t, Options{})
	steps := []struct {
		name string
		req  Request
		want Source
	}{
		{"first download", Request{URL: srv.URL + "/a/x86_64/p-1.apk", SHA256: sum}, SourceNetwork},
		{"same digest, other URL", Request{URL: srv.URL + "/b/x86_64/p-1.apk", SHA256: sum}, SourceCache},
		{"no digest, known URL", Request{URL: srv.URL + "/a/x86_64/p-1.apk"}, SourceCache},
		{"no digest, new URL", Request{URL: srv.URL + "/c/x86_64/p-1.apk"}, SourceNetwork},
		{"no digest, URL seen", Request{URL: srv.URL + "/c/x86_64/p-1.apk"}, SourceCache},
		{"digest in sha256: form", Request{URL: srv.URL + "/c/x86_64/p-1.apk", SHA256: "sha256:" + sum},
			SourceCache},
	}
	var paths []string
	for _, s := range steps {
		res, err := c.Fetch(t.Context(), s.req)
		if err != nil {
			t.Fatalf("%s: %v", s.name, err)
		}
		if res.Source != s.want || res.SHA256 != sum || res.Size != int64(len(content)) {
			t.Errorf("%s: got source %v, sha256 %s, size %d; want %v, %s, %d",
				s.name, res.Source, res.SHA256, res.Size, s.want, sum, len(content))
		}
		paths = append(paths, res.Path)
	}
	for _, p := range paths[1:] {
		if p != paths[0] {
			t.Errorf("paths differ: %q; want one file per content", paths)
		}
	}
	got := map[string]int{"a": cnt.get("/a/x86_64/p-1.apk"), "b": cnt.get("/b/x86_64/p-1.apk"),
		"c": cnt.get("/c/x86_64/p-1.apk")}
	if diff := cmp.Diff(map[string]int{"a": 1, "b": 0, "c": 1}, got); diff != "" {
		t.Errorf("requests per URL (-want +got):\n%s", diff)
	}
}

func TestFetchErrors(t *testing.T) {
	content := testPayload(1, 5000)
	wrong := sha256Hex([]byte("something else"))
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/ok.apk":
			w.Write(content)
		case "/private.apk":
			http.Error(w, "no", http.StatusUnauthorized)
		default:
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()
	tests := []struct {
		name         string
		req          Request
		wantAttempts int
		wantErr      string
		check        func(error) bool
	}{
		{
			name: "404", req: Request{URL: srv.URL + "/gone.apk"}, wantAttempts: 1,
			wantErr: "fetching " + srv.URL + "/gone.apk: server answered 404 Not Found (check the " +
				"repository URL and arch, and that the package is still published)",
			check: func(err error) bool {
				var se *StatusError
				return errors.As(err, &se) && se.StatusCode == 404
			},
		},
		{
			name: "401", req: Request{URL: srv.URL + "/private.apk"}, wantAttempts: 1,
			wantErr: "fetching " + srv.URL + "/private.apk: server answered 401 Unauthorized " +
				"(set credentials for this host in APKPACK_AUTH or in ~/.netrc)",
		},
		{
			name: "sha256 mismatch", req: Request{URL: srv.URL + "/ok.apk", SHA256: wrong}, wantAttempts: 1,
			wantErr: fmt.Sprintf("fetching %s/ok.apk: sha256 mismatch: want %s, got %s",
				srv.URL, wrong, sha256Hex(content)),
			check: func(err error) bool {
				var de *DigestError
				return errors.As(err, &de) && de.Want == wrong && de.Got == sha256Hex(content)
			},
		},
		{
			name: "size mismatch", req: Request{URL: srv.URL + "/ok.apk", Size: 4999}, wantAttempts: 1,
			wantErr: fmt.Sprintf("fetching %s/ok.apk: size mismatch: want 4999 bytes, got 5000", srv.URL),
		},
		{
			name: "bad expected digest", req: Request{URL: srv.URL + "/ok.apk", SHA256: "abc"},
			wantErr: fmt.Sprintf(`fetching %s/ok.apk: expected sha256 "abc" is not 64 hex digits`, srv.URL),
		},
		{
			name: "credentials redacted",
			req:  Request{URL: strings.Replace(srv.URL, "://", "://me:s3cret@", 1) + "/gone.apk?sig=s3cret"},
			wantErr: "fetching " + strings.Replace(srv.URL, "://", "://xxxxx@", 1) + "/gone.apk?sig=xxxxx: " +
				"server answered 404 Not Found (check the repository URL and arch, and that the " +
				"package is still published)",
			wantAttempts: 1,
		},
		{
			name: "missing local file", req: Request{URL: "/nonexistent/x86_64/APKINDEX.tar.gz"},
			wantAttempts: 1,
			wantErr: "fetching /nonexistent/x86_64/APKINDEX.tar.gz: reading local file: open " +
				"/nonexistent/x86_64/APKINDEX.tar.gz: no such file or directory",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, _ := newTestClient(t, Options{})
			_, err := c.Fetch(t.Context(), tt.req)
			var fe *FetchError
			if !errors.As(err, &fe) {
				t.Fatalf("got error %v (%T), want a *FetchError", err, err)
			}
			if diff := cmp.Diff(tt.wantErr, err.Error()); diff != "" {
				t.Errorf("message (-want +got):\n%s", diff)
			}
			if fe.Attempts != tt.wantAttempts {
				t.Errorf("%d attempts, want %d", fe.Attempts, tt.wantAttempts)
			}
			if tt.check != nil && !tt.check(err) {
				t.Errorf("error %v does not unwrap to the expected type and values", err)
			}
			if files := cacheFiles(t, c.opts.CacheDir); len(files) != 0 {
				t.Errorf("cache holds %q after a failure, want nothing", files)
			}
		})
	}
}

func TestDamagedCacheEntryIsFetchedAgain(t *testing.T) {
	content := testPayload(3, 2000)
	srv, cnt := serveBytes(t, map[string][]byte{"/p.apk": content})
	c, _ := newTestClient(t, Options{})
	req := Request{URL: srv.URL + "/p.apk", SHA256: sha256Hex(content)}
	first, err := c.Fetch(t.Context(), req)
	if err != nil {
		t.Fatal(err)
	}
	// Damage the cached file behind the cache's back.
	if err := os.Chmod(first.Path, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(first.Path, []byte("damaged"), 0o644); err != nil {
		t.Fatal(err)
	}
	second, err := c.Fetch(t.Context(), req)
	if err != nil {
		t.Fatal(err)
	}
	if second.Source != SourceNetwork || cnt.get("/p.apk") != 2 {
		t.Errorf("source %v after %d requests; want a new download", second.Source, cnt.get("/p.apk"))
	}
	if sum := sha256Hex(readFile(t, second.Path)); sum != req.SHA256 {
		t.Errorf("cached file has sha256 %s, want %s", sum, req.SHA256)
	}
}

func TestStaleTemporaryFilesAreRemoved(t *testing.T) {
	dir := t.TempDir()
	if _, err := openCache(dir); err != nil {
		t.Fatal(err)
	}
	old, fresh := filepath.Join(dir, "tmp", "old.part"), filepath.Join(dir, "tmp", "fresh.part")
	for _, p := range []string{old, fresh} {
		if err := os.WriteFile(p, []byte("x"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	past := time.Now().Add(-2 * staleTemp)
	if err := os.Chtimes(old, past, past); err != nil {
		t.Fatal(err)
	}
	if _, err := openCache(dir); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"tmp/fresh.part"}, cacheFiles(t, dir)); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

func TestUnconditional304IsAnError(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusNotModified)
	}))
	defer srv.Close()
	c, _ := newTestClient(t, Options{})
	_, err := c.Fetch(context.Background(), Request{URL: srv.URL + "/p.apk"})
	if !errors.Is(err, errNotModified) {
		t.Errorf("got %v, want %v", err, errNotModified)
	}
}

// A server that labels APKINDEX.tar.gz as gzip-encoded must not make the
// Client store the gunzipped tar: the signed, hashed bytes are the gzip
// stream (§2.1).
func TestGzipContentEncodingIsKept(t *testing.T) {
	index := readFile(t, testutil.RealData(t, "rsa256-index", "aarch64", "APKINDEX.tar.gz"))
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Encoding", "gzip")
		w.Write(index)
	}))
	defer srv.Close()
	c, _ := newTestClient(t, Options{})
	res, err := c.Fetch(t.Context(), Request{URL: IndexURL(srv.URL, "aarch64"), Revalidate: true})
	if err != nil {
		t.Fatal(err)
	}
	if res.SHA256 != realIndexSHA256 || res.Size != realIndexSize {
		t.Errorf("got sha256 %s, size %d; want the file as served: %s, %d",
			res.SHA256, res.Size, realIndexSHA256, realIndexSize)
	}
}
