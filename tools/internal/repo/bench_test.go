package repo

import (
	"fmt"
	"testing"
)

// BenchmarkFetchAllWarm measures FetchAll of 30 packages (20 KiB to 600 KiB,
// 9.1 MiB in all) that are all in the cache: what `apkpack fetch` costs when
// nothing changed. Every hit is re-hashed, so this is mostly SHA-256 speed.
func BenchmarkFetchAllWarm(b *testing.B) {
	const packages = 30
	files := map[string][]byte{}
	var bySHA, byURL []Request
	var total int64
	for i := range packages {
		p := fmt.Sprintf("/x86_64/p%d-1.0-r0.apk", i)
		files[p] = testPayload(i, (i+1)*20<<10)
		total += int64(len(files[p]))
	}
	srv, cnt := serveBytes(b, files)
	for p, data := range files {
		bySHA = append(bySHA, Request{URL: srv.URL + p, SHA256: sha256Hex(data)})
		byURL = append(byURL, Request{URL: srv.URL + p})
	}
	for _, bm := range []struct {
		name string
		reqs []Request
	}{{"by digest", bySHA}, {"by URL", byURL}} {
		b.Run(bm.name, func(b *testing.B) {
			c, _ := newTestClient(b, Options{})
			if _, err := c.FetchAll(b.Context(), bm.reqs, 8); err != nil {
				b.Fatal(err)
			}
			before := requests(cnt, files)
			b.SetBytes(total)
			for b.Loop() {
				if _, err := c.FetchAll(b.Context(), bm.reqs, 8); err != nil {
					b.Fatal(err)
				}
			}
			if n := requests(cnt, files) - before; n != 0 {
				b.Fatalf("%d requests with a warm cache, want 0", n)
			}
		})
	}
}

// requests counts the requests made for files so far.
func requests(cnt *counter, files map[string][]byte) int {
	n := 0
	for p := range files {
		n += cnt.get(p)
	}
	return n
}
