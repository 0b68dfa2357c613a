package repo

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestFetchAllKeepsInputOrder(t *testing.T) {
	const n = 5
	// Request i is answered only after request i+1 was: completion order is
	// the reverse of input order.
	var answered [n]chan struct{}
	for i := range answered {
		answered[i] = make(chan struct{})
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var i int
		fmt.Sscanf(r.URL.Path, "/p-%d.apk", &i)
		if i+1 < n {
			<-answered[i+1]
		}
		w.Write(testPayload(i, 1000+i))
		close(answered[i])
	}))
	defer srv.Close()
	c, _ := newTestClient(t, Options{})
	var reqs []Request
	var want []Result
	for i := range n {
		u := fmt.Sprintf("%s/p-%d.apk", srv.URL, i)
		reqs = append(reqs, Request{URL: u})
		want = append(want, Result{URL: u, SHA256: sha256Hex(testPayload(i, 1000+i)), Size: int64(1000 + i),
			Source: SourceNetwork})
	}
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	got, err := c.FetchAll(ctx, reqs, n)
	if err != nil {
		t.Fatal(err)
	}
	for i := range got {
		want[i].Path = c.cache.blobPath(want[i].SHA256)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

func TestFetchAllBoundsParallelism(t *testing.T) {
	const parallelism, n = 3, 10
	var (
		mu               sync.Mutex
		inflight, most   int
		arrived          int
		firstThreeArrive = make(chan struct{})
	)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		inflight++
		most = max(most, inflight)
		arrived++
		if arrived == parallelism {
			close(firstThreeArrive)
		}
		mu.Unlock()
		// The first requests wait for each other, so the bound is reached.
		<-firstThreeArrive
		w.Write([]byte(r.URL.Path))
		mu.Lock()
		inflight--
		mu.Unlock()
	}))
	defer srv.Close()
	c, _ := newTestClient(t, Options{})
	var reqs []Request
	for i := range n {
		reqs = append(reqs, Request{URL: fmt.Sprintf("%s/p-%d.apk", srv.URL, i)})
	}
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	if _, err := c.FetchAll(ctx, reqs, parallelism); err != nil {
		t.Fatal(err)
	}
	if most != parallelism {
		t.Errorf("at most %d requests at once, want %d", most, parallelism)
	}
}

func TestFetchAllCancelsOnFirstError(t *testing.T) {
	var (
		mu        sync.Mutex
		started   = map[string]bool{}
		cancelled = map[string]bool{}
	)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		started[r.URL.Path] = true
		mu.Unlock()
		if r.URL.Path == "/bad.apk" {
			http.NotFound(w, r)
			return
		}
		// Hang until the client gives up on the request.
		<-r.Context().Done()
		mu.Lock()
		cancelled[r.URL.Path] = true
		mu.Unlock()
	}))
	paths := []string{"/slow-0.apk", "/slow-1.apk", "/bad.apk", "/slow-3.apk", "/late-4.apk", "/late-5.apk"}
	var reqs []Request
	for _, p := range paths {
		reqs = append(reqs, Request{URL: srv.URL + p})
	}
	c, _ := newTestClient(t, Options{StallTimeout: time.Hour})
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	got, err := c.FetchAll(ctx, reqs, 4)
	srv.Close() // waits for the handlers

	if got != nil {
		t.Errorf("got results %v with an error", got)
	}
	var se *StatusError
	if !errors.As(err, &se) || se.StatusCode != 404 {
		t.Fatalf("got %v, want the 404", err)
	}
	checkFetchError(t, err, srv.URL+"/bad.apk", 1, "server answered 404 Not Found (check the "+
		"repository URL and arch, and that the package is still published)")
	delete(started, "/bad.apk")
	if diff := cmp.Diff(started, cancelled); diff != "" {
		t.Errorf("requests started but not cancelled (-started +cancelled):\n%s", diff)
	}
	if started["/late-4.apk"] || started["/late-5.apk"] {
		t.Errorf("requests past the bound started after the error: %v", started)
	}
}
