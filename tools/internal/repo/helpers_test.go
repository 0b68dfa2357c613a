package repo

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"testing"
	"time"
)

// newTestClient returns a Client on a fresh cache directory with no
// credentials and tiny retry delays, whose sleeps are recorded instead of
// waited for.
func newTestClient(t testing.TB, opts Options) (*Client, *sleepLog) {
	t.Helper()
	if opts.CacheDir == "" {
		opts.CacheDir = t.TempDir()
	}
	if opts.Auth == nil {
		opts.Auth = &Auth{}
	}
	opts.BaseDelay = cmpOr(opts.BaseDelay, time.Millisecond)
	opts.MaxDelay = cmpOr(opts.MaxDelay, time.Minute)
	c, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	sl := &sleepLog{}
	c.sleep = sl.sleep
	return c, sl
}

// sleepLog records the delays a Client asked to sleep.
type sleepLog struct {
	mu     sync.Mutex
	delays []time.Duration
}

func (s *sleepLog) sleep(ctx context.Context, d time.Duration) error {
	s.mu.Lock()
	s.delays = append(s.delays, d)
	s.mu.Unlock()
	return ctx.Err()
}

// cacheFiles lists the files under a cache directory, relative to it.
func cacheFiles(t testing.TB, dir string) []string {
	t.Helper()
	var files []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() {
			rel, _ := filepath.Rel(dir, p)
			files = append(files, filepath.ToSlash(rel))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(files)
	return files
}

// counter counts requests per path; handlers run concurrently.
type counter struct {
	mu sync.Mutex
	n  map[string]int
}

func (c *counter) add(path string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.n == nil {
		c.n = map[string]int{}
	}
	c.n[path]++
	return c.n[path]
}

func (c *counter) get(path string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.n[path]
}

// serveBytes starts a server answering every path in files with its bytes
// and 404 elsewhere, counting requests.
func serveBytes(t testing.TB, files map[string][]byte) (*httptest.Server, *counter) {
	t.Helper()
	cnt := &counter{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		cnt.add(r.URL.Path)
		data, ok := files[r.URL.Path]
		if !ok {
			http.NotFound(w, r)
			return
		}
		w.Write(data)
	}))
	t.Cleanup(srv.Close)
	return srv, cnt
}

// errorText returns err's message, or "" for nil.
func errorText(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

// sha256Hex returns the hex SHA-256 of data.
func sha256Hex(data []byte) string {
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:])
}

// readFile reads a file or fails the test.
func readFile(t testing.TB, path string) []byte {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// testPayload returns n deterministic, incompressible-looking bytes.
func testPayload(seed, n int) []byte {
	b := make([]byte, 0, n+sha256.Size)
	block := sha256.Sum256([]byte{byte(seed), byte(seed >> 8)})
	for len(b) < n {
		b = append(b, block[:]...)
		block = sha256.Sum256(block[:])
	}
	return b[:n]
}
