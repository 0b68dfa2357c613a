package repo

import (
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestConcurrentFetchers(t *testing.T) {
	const fetchers = 8
	content := testPayload(11, 200000)
	sum := sha256Hex(content)
	tests := []struct {
		name     string
		clients  int // sharing one cache directory
		req      func(url string) Request
		wantGets map[int]int // status → count
	}{
		{"goroutines, by digest", 1, func(u string) Request { return Request{URL: u, SHA256: sum} },
			map[int]int{200: 1}},
		{"two clients, by digest", 2, func(u string) Request { return Request{URL: u, SHA256: sum} },
			map[int]int{200: 1}},
		{"two clients, by URL", 2, func(u string) Request { return Request{URL: u} },
			map[int]int{200: 1}},
		// Every fetcher revalidates; only the first downloads.
		{"two clients, revalidating", 2, func(u string) Request { return Request{URL: u, Revalidate: true} },
			map[int]int{200: 1, 304: fetchers - 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var mu sync.Mutex
			gets := map[int]int{}
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				mu.Lock()
				defer mu.Unlock()
				if r.Header.Get("If-None-Match") == `"1"` {
					gets[304]++
					w.WriteHeader(http.StatusNotModified)
					return
				}
				gets[200]++
				w.Header().Set("ETag", `"1"`)
				w.Write(content)
			}))
			defer srv.Close()
			dir := t.TempDir()
			var clients []*Client
			for range tt.clients {
				c, _ := newTestClient(t, Options{CacheDir: dir})
				clients = append(clients, c)
			}

			results := make([]Result, fetchers)
			errs := make([]error, fetchers)
			var wg sync.WaitGroup
			for i := range fetchers {
				wg.Go(func() {
					c := clients[i%len(clients)]
					results[i], errs[i] = c.Fetch(t.Context(), tt.req(srv.URL+"/x86_64/APKINDEX.tar.gz"))
				})
			}
			wg.Wait()

			for i, err := range errs {
				if err != nil {
					t.Fatalf("fetcher %d: %v", i, err)
				}
				if results[i].Path != results[0].Path || results[i].SHA256 != sum {
					t.Errorf("fetcher %d got %s (%s), want %s (%s)",
						i, results[i].Path, results[i].SHA256, results[0].Path, sum)
				}
			}
			if got := sha256Hex(readFile(t, results[0].Path)); got != sum {
				t.Errorf("cached file has sha256 %s, want %s", got, sum)
			}
			if diff := cmp.Diff(tt.wantGets, gets); diff != "" {
				t.Errorf("answers by status (-want +got):\n%s", diff)
			}
			record := "urls/" + hashString(srv.URL+"/x86_64/APKINDEX.tar.gz") + ".json"
			wantFiles := []string{"sha256/" + sum, record}
			if diff := cmp.Diff(wantFiles, cacheFiles(t, dir)); diff != "" {
				t.Errorf("cache files (-want +got):\n%s", diff)
			}
		})
	}
}
