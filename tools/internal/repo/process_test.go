package repo

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"
)

// helperEnv makes the test binary a fetcher process: it fetches the URL in
// the variable's value into the cache directory REPO_HELPER_CACHE and prints
// the result's SHA-256 and path.
const helperEnv = "REPO_HELPER_FETCH"

func TestMain(m *testing.M) {
	if url := os.Getenv(helperEnv); url != "" {
		os.Exit(helperFetch(url, os.Getenv("REPO_HELPER_CACHE")))
	}
	os.Exit(m.Run())
}

func helperFetch(url, cacheDir string) int {
	c, err := New(Options{CacheDir: cacheDir, Auth: &Auth{}})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	r, err := c.Fetch(context.Background(), Request{URL: url, Revalidate: true})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	fmt.Println(r.SHA256, r.Path)
	return 0
}

// TestConcurrentProcesses: separate apkpack processes sharing one cache
// directory (as parallel Bazel actions or CI jobs do) download a file once,
// all see the same complete file, and leave no temporary file behind.
func TestConcurrentProcesses(t *testing.T) {
	const processes = 4
	content := testPayload(7, 1<<20)
	sum := sha256Hex(content)
	var mu sync.Mutex
	downloads := 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("If-None-Match") == `"1"` {
			w.WriteHeader(http.StatusNotModified)
			return
		}
		mu.Lock()
		downloads++
		mu.Unlock()
		w.Header().Set("ETag", `"1"`)
		// Slow enough that the processes overlap.
		for i := 0; i < len(content); i += 64 << 10 {
			w.Write(content[i:min(i+64<<10, len(content))])
			w.(http.Flusher).Flush()
			time.Sleep(10 * time.Millisecond)
		}
	}))
	defer srv.Close()
	cacheDir := t.TempDir()
	url := srv.URL + "/x86_64/APKINDEX.tar.gz"

	outs := make([]string, processes)
	errs := make([]error, processes)
	var wg sync.WaitGroup
	for i := range processes {
		wg.Go(func() {
			cmd := exec.Command(os.Args[0], "-test.run=^$")
			cmd.Env = append(os.Environ(), helperEnv+"="+url, "REPO_HELPER_CACHE="+cacheDir)
			var stderr strings.Builder
			cmd.Stderr = &stderr
			out, err := cmd.Output()
			outs[i] = strings.TrimSpace(string(out))
			if err != nil {
				errs[i] = fmt.Errorf("%w: %s", err, stderr.String())
			}
		})
	}
	wg.Wait()
	for i := range processes {
		if errs[i] != nil {
			t.Fatalf("process %d: %v", i, errs[i])
		}
		if outs[i] != outs[0] || !strings.HasPrefix(outs[i], sum+" ") {
			t.Errorf("process %d got %q, want %q with sha256 %s", i, outs[i], outs[0], sum)
		}
	}
	if downloads != 1 {
		t.Errorf("%d processes downloaded the file %d times, want once", processes, downloads)
	}
	path := strings.TrimPrefix(outs[0], sum+" ")
	if got := sha256Hex(readFile(t, path)); got != sum {
		t.Errorf("cached file has sha256 %s, want %s", got, sum)
	}
	for _, f := range cacheFiles(t, cacheDir) {
		if strings.HasPrefix(f, "tmp/") {
			t.Errorf("temporary file %s left in the cache", f)
		}
	}
}
