package repo

import (
	"bytes"
	"errors"
	"fmt"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/rules-apk/rules_apk/tools/internal/testutil"
)

// eventLog collects events from concurrent callers.
type eventLog struct {
	mu     sync.Mutex
	events []Event
}

func (l *eventLog) add(ev Event) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.events = append(l.events, ev)
}

// take returns the events so far as lines, consecutive progress events
// folded into one after checking that they count up, and forgets them.
func (l *eventLog) take(t *testing.T) []string {
	t.Helper()
	l.mu.Lock()
	defer l.mu.Unlock()
	var lines []string
	var last int64
	for _, ev := range l.events {
		switch ev.Kind {
		case EventProgress:
			if ev.Done <= last || ev.Total > 0 && ev.Done > ev.Total {
				t.Errorf("progress %d of %d after %d", ev.Done, ev.Total, last)
			}
			last = ev.Done
			if len(lines) > 0 && strings.HasPrefix(lines[len(lines)-1], "progress") {
				lines[len(lines)-1] = fmt.Sprintf("progress up to %d of %d", ev.Done, ev.Total)
				continue
			}
			lines = append(lines, fmt.Sprintf("progress up to %d of %d", ev.Done, ev.Total))
		case EventStarted:
			last = 0
			lines = append(lines, fmt.Sprintf("started %s total %d", ev.URL, ev.Total))
		case EventRetrying:
			lines = append(lines, fmt.Sprintf("retrying %s after attempt %d: %v", ev.URL, ev.Attempt, ev.Err))
		case EventFailed:
			lines = append(lines, fmt.Sprintf("failed %s after %d attempts: %v", ev.URL, ev.Attempt, ev.Err))
		default:
			lines = append(lines, fmt.Sprintf("%v %s %d bytes from %v", ev.Kind, ev.URL, ev.Done, ev.Source))
		}
	}
	l.events = nil
	return lines
}

func TestProgressEvents(t *testing.T) {
	path := testutil.RealData(t, "wolfi", "libcap-2.69-r0.apk")
	content := readFile(t, path)
	s := &scriptedServer{t: t, content: content, script: []string{"503", "ok", "404"}}
	srv := httptest.NewServer(s)
	defer srv.Close()
	log := &eventLog{}
	c, _ := newTestClient(t, Options{Progress: log.add, HTTPClient: noKeepAlive()})
	u := PackageURL(srv.URL, "aarch64", "libcap", "2.69-r0")
	steps := []struct {
		name string
		req  Request
		want []string
	}{
		{"download after a retry", Request{URL: u, SHA256: sha256Hex(content)}, []string{
			"retrying " + u + " after attempt 1: server answered 503 Service Unavailable",
			"started " + u + " total 29589",
			"progress up to 29589 of 29589",
			"finished " + u + " 29589 bytes from network",
		}},
		{"cache hit", Request{URL: u, SHA256: sha256Hex(content)}, []string{
			"cached " + u + " 29589 bytes from cache",
		}},
		{"local file", Request{URL: path}, []string{
			"cached " + path + " 29589 bytes from local",
		}},
		{"failure", Request{URL: u + ".missing"}, []string{
			"failed " + u + ".missing after 1 attempts: server answered 404 Not Found (check the " +
				"repository URL and arch, and that the package is still published)",
		}},
	}
	for _, st := range steps {
		c.Fetch(t.Context(), st.req)
		if diff := cmp.Diff(st.want, log.take(t)); diff != "" {
			t.Errorf("%s: events (-want +got):\n%s", st.name, diff)
		}
	}
}

// rendererEvents is a run of three files: one downloaded after a retry,
// one from the cache and one that fails.
var rendererEvents = []Event{
	{Kind: EventStarted, URL: "https://r.example/os/aarch64/libcap-2.69-r0.apk", Total: 29589},
	{Kind: EventRetrying, URL: "https://r.example/os/aarch64/glibc-2.40-r4.apk", Attempt: 1,
		Delay: 1500 * time.Millisecond,
		Err:   &StatusError{StatusCode: 503, Status: "503 Service Unavailable"}},
	{Kind: EventProgress, URL: "https://r.example/os/aarch64/libcap-2.69-r0.apk", Done: 8192, Total: 29589},
	{Kind: EventStarted, URL: "https://r.example/os/aarch64/glibc-2.40-r4.apk", Total: -1},
	{Kind: EventProgress, URL: "https://r.example/os/aarch64/libcap-2.69-r0.apk", Done: 16384, Total: 29589},
	{Kind: EventProgress, URL: "https://r.example/os/aarch64/glibc-2.40-r4.apk", Done: 3 << 20, Total: -1},
	{Kind: EventCached, URL: "https://r.example/os/aarch64/busybox-1.37.0-r0.apk", Done: 430558,
		Total: 430558, Source: SourceCache},
	{Kind: EventProgress, URL: "https://r.example/os/aarch64/libcap-2.69-r0.apk", Done: 29589, Total: 29589},
	{Kind: EventFinished, URL: "https://r.example/os/aarch64/libcap-2.69-r0.apk", Done: 29589,
		Total: 29589, Source: SourceNetwork},
	{Kind: EventFailed, URL: "https://r.example/os/aarch64/glibc-2.40-r4.apk", Attempt: 5,
		Err: errors.New("no data received for 30s")},
	{Kind: EventCached, URL: "/srv/repo/x86_64/APKINDEX.tar.gz", Done: 1047, Total: 1047,
		Source: SourceLocal},
	{Kind: EventCached, URL: "https://r.example/os/aarch64/APKINDEX.tar.gz", Done: 3969, Total: 3969,
		Source: SourceNotModified},
}

func TestRenderer(t *testing.T) {
	tests := []struct {
		name    string
		tty     bool
		verbose bool
		golden  string
	}{
		{"plain", false, false, "renderer_plain.txt"},
		{"plain verbose", false, true, "renderer_plain_verbose.txt"},
		{"terminal", true, false, "renderer_terminal.txt"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// Each event comes 60ms after the previous one, so that every
			// other progress event is within the redraw interval.
			clock := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
			now := func() time.Time { return clock }
			var out bytes.Buffer
			r := newRenderer(&out, tt.tty, 90, now)
			r.Verbose = tt.verbose
			for _, ev := range rendererEvents {
				clock = clock.Add(60 * time.Millisecond)
				r.Handle(ev)
			}
			r.Close()
			// Show line erasures as a visible mark, one per line.
			got := strings.ReplaceAll(out.String(), "\r\x1b[K", "<erase>\n")
			testutil.Golden(t, tt.golden, []byte(got))
		})
	}
}

func TestFormatBytes(t *testing.T) {
	tests := []struct {
		n    int64
		want string
	}{
		{0, "0 B"}, {1023, "1023 B"}, {1024, "1.0 KiB"}, {29589, "28.9 KiB"},
		{3 << 20, "3.0 MiB"}, {5 << 30, "5.0 GiB"}, {1 << 62, "4096.0 PiB"},
	}
	for _, tt := range tests {
		if got := formatBytes(tt.n); got != tt.want {
			t.Errorf("formatBytes(%d) = %q, want %q", tt.n, got, tt.want)
		}
	}
}

func TestNewRendererOnAPipeIsPlain(t *testing.T) {
	var out bytes.Buffer
	if r := NewRenderer(&out); r.tty {
		t.Error("a buffer was taken for a terminal")
	}
}
