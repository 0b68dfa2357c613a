package repo

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// scriptedServer answers the n-th request with the n-th step of its
// script; past the end it repeats the last step.
type scriptedServer struct {
	t       testing.TB
	content []byte
	mu      sync.Mutex
	script  []string
	served  int
}

func (s *scriptedServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	step := s.script[min(s.served, len(s.script)-1)]
	s.served++
	s.mu.Unlock()
	switch step {
	case "ok":
		w.Header().Set("Content-Length", fmt.Sprint(len(s.content)))
		w.Write(s.content)
	case "truncate":
		conn := s.hijack(w)
		fmt.Fprintf(conn, "HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n", len(s.content))
		conn.Write(s.content[:len(s.content)/2])
		conn.Close()
	case "reset":
		conn := s.hijack(w)
		// Linger 0 makes Close send RST instead of FIN.
		conn.(*net.TCPConn).SetLinger(0)
		conn.Close()
	case "503 retry-after 7":
		w.Header().Set("Retry-After", "7")
		w.WriteHeader(http.StatusServiceUnavailable)
	default:
		var code int
		fmt.Sscan(step, &code)
		w.WriteHeader(code)
	}
}

func (s *scriptedServer) hijack(w http.ResponseWriter) net.Conn {
	conn, _, err := http.NewResponseController(w).Hijack()
	if err != nil {
		s.t.Errorf("hijacking: %v", err)
		panic(http.ErrAbortHandler)
	}
	return conn
}

func (s *scriptedServer) requests() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.served
}

// noKeepAlive gives every attempt its own connection, so that net/http
// never retries on a reused one behind the Client's back and request counts
// are exact.
func noKeepAlive() *http.Client {
	return &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
}

func TestRetries(t *testing.T) {
	content := testPayload(9, 1000)
	tests := []struct {
		name         string
		script       []string
		wantRequests int
		wantErr      string // "" for success; "*" for any error
		wantAttempts int
		wantSleeps   []time.Duration // nil: only count them (jittered backoff)
	}{
		{name: "500s then success", script: []string{"500", "502", "ok"}, wantRequests: 3},
		{name: "503 with Retry-After", script: []string{"503 retry-after 7", "ok"}, wantRequests: 2,
			wantSleeps: []time.Duration{7 * time.Second}},
		{name: "429 and 408 are retried", script: []string{"429", "408", "ok"}, wantRequests: 3},
		{name: "truncated body then success", script: []string{"truncate", "ok"}, wantRequests: 2},
		{name: "connection reset then success", script: []string{"reset", "reset", "ok"},
			wantRequests: 3},
		{name: "truncated every time", script: []string{"truncate"}, wantRequests: 4, wantAttempts: 4,
			wantErr: "giving up after 4 attempts: body truncated: received 500 of 1000 bytes"},
		{name: "reset every time", script: []string{"reset"}, wantRequests: 4, wantAttempts: 4,
			wantErr: "*"},
		{name: "404 is not retried", script: []string{"404"}, wantRequests: 1, wantAttempts: 1,
			wantErr: "server answered 404 Not Found (check the repository URL and arch, and that " +
				"the package is still published)"},
		{name: "403 is not retried", script: []string{"403"}, wantRequests: 1, wantAttempts: 1,
			wantErr: "server answered 403 Forbidden (set credentials for this host in APKPACK_AUTH " +
				"or in ~/.netrc)"},
		{name: "500 every time", script: []string{"500"}, wantRequests: 4, wantAttempts: 4,
			wantErr: "giving up after 4 attempts: server answered 500 Internal Server Error"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := &scriptedServer{t: t, content: content, script: tt.script}
			srv := httptest.NewServer(s)
			defer srv.Close()
			c, sleeps := newTestClient(t, Options{Attempts: 4, HTTPClient: noKeepAlive()})
			u := srv.URL + "/x86_64/p-1.apk"
			res, err := c.Fetch(t.Context(), Request{URL: u, SHA256: sha256Hex(content)})

			if got := s.requests(); got != tt.wantRequests {
				t.Errorf("%d requests, want %d", got, tt.wantRequests)
			}
			if len(sleeps.delays) != tt.wantRequests-1 {
				t.Errorf("slept %v, want %d sleeps", sleeps.delays, tt.wantRequests-1)
			}
			if tt.wantSleeps != nil {
				if diff := cmp.Diff(tt.wantSleeps, sleeps.delays); diff != "" {
					t.Errorf("sleeps (-want +got):\n%s", diff)
				}
			}
			if tt.wantErr == "" {
				if err != nil {
					t.Fatal(err)
				}
				if sum := sha256Hex(readFile(t, res.Path)); sum != sha256Hex(content) {
					t.Errorf("cached file has sha256 %s, want %s", sum, sha256Hex(content))
				}
				return
			}
			checkFetchError(t, err, u, tt.wantAttempts, tt.wantErr)
			if files := cacheFiles(t, c.opts.CacheDir); len(files) != 0 {
				t.Errorf("cache holds %q after a failure, want nothing", files)
			}
		})
	}
}

// checkFetchError checks that err is a *FetchError for url after attempts
// attempts whose message is "fetching <url>: <msg>" (any message for "*").
func checkFetchError(t *testing.T, err error, url string, attempts int, msg string) {
	t.Helper()
	var fe *FetchError
	if !errors.As(err, &fe) {
		t.Fatalf("got error %v (%T), want a *FetchError", err, err)
	}
	if fe.URL != url || fe.Attempts != attempts {
		t.Errorf("error for %s after %d attempts, want %s after %d", fe.URL, fe.Attempts, url, attempts)
	}
	if msg == "*" {
		return
	}
	if diff := cmp.Diff("fetching "+url+": "+msg, err.Error()); diff != "" {
		t.Errorf("message (-want +got):\n%s", diff)
	}
}

func TestTimeouts(t *testing.T) {
	content := testPayload(4, 100000)
	tests := []struct {
		name    string
		opts    Options
		handler func(w http.ResponseWriter, r *http.Request)
		wantErr string
	}{
		{
			name: "no response headers",
			opts: Options{StallTimeout: 20 * time.Millisecond},
			handler: func(w http.ResponseWriter, r *http.Request) {
				<-r.Context().Done()
			},
			wantErr: "giving up after 2 attempts: no data received for 20ms",
		},
		{
			name: "body stalls halfway",
			opts: Options{StallTimeout: 20 * time.Millisecond},
			handler: func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Length", fmt.Sprint(len(content)))
				w.Write(content[:len(content)/2])
				http.NewResponseController(w).Flush()
				<-r.Context().Done()
			},
			wantErr: "giving up after 2 attempts: no data received for 20ms",
		},
		{
			name: "slow body past the attempt timeout",
			opts: Options{Timeout: 30 * time.Millisecond, StallTimeout: time.Minute},
			handler: func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Length", fmt.Sprint(len(content)))
				for i := range content {
					if _, err := w.Write(content[i : i+1]); err != nil {
						return
					}
					http.NewResponseController(w).Flush()
					select {
					case <-r.Context().Done():
						return
					case <-time.After(time.Millisecond):
					}
				}
			},
			wantErr: "giving up after 2 attempts: attempt not finished after 30ms",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(tt.handler))
			defer srv.Close()
			tt.opts.Attempts = 2
			c, _ := newTestClient(t, tt.opts)
			u := srv.URL + "/p.apk"
			_, err := c.Fetch(t.Context(), Request{URL: u})
			checkFetchError(t, err, u, 2, tt.wantErr)
			var te interface{ Timeout() bool }
			if !errors.As(err, &te) || !te.Timeout() {
				t.Errorf("error %v is not a timeout", err)
			}
			if files := cacheFiles(t, c.opts.CacheDir); len(files) != 0 {
				t.Errorf("cache holds %q after a failure, want nothing", files)
			}
		})
	}
}

func TestCancelledContextIsNotRetried(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		cancel()
		<-r.Context().Done()
	}))
	defer srv.Close()
	c, sleeps := newTestClient(t, Options{})
	_, err := c.Fetch(ctx, Request{URL: srv.URL + "/p.apk"})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("got %v, want context.Canceled", err)
	}
	checkFetchError(t, err, srv.URL+"/p.apk", 1, "context canceled")
	if len(sleeps.delays) != 0 {
		t.Errorf("slept %v after cancellation, want no retry", sleeps.delays)
	}
}

func TestDelay(t *testing.T) {
	c, _ := newTestClient(t, Options{BaseDelay: 100 * time.Millisecond, MaxDelay: time.Second})
	for n, full := range []time.Duration{100, 200, 400, 800, 1000, 1000} {
		full *= time.Millisecond
		for range 20 {
			if d := c.delay(n+1, io.EOF); d < full/2 || d > full {
				t.Errorf("delay after attempt %d = %v, want within [%v, %v]", n+1, d, full/2, full)
			}
		}
	}
	long := &StatusError{StatusCode: 503, RetryAfter: time.Hour}
	if d := c.delay(1, long); d != time.Second {
		t.Errorf("delay for Retry-After 1h = %v, want MaxDelay 1s", d)
	}
}

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		header string
		want   time.Duration
	}{
		{"", 0},
		{"7", 7 * time.Second},
		{" 120 ", 2 * time.Minute},
		{"0", 0},
		{"-5", 0},
		{"99999999999", 24 * time.Hour},
		{"Sun, 01 Jun 2025 12:00:30 GMT", 30 * time.Second},
		{"Sun, 01 Jun 2025 11:00:00 GMT", 0},
		{"soon", 0},
	}
	for _, tt := range tests {
		t.Run(tt.header, func(t *testing.T) {
			if got := parseRetryAfter(tt.header, now); got != tt.want {
				t.Errorf("parseRetryAfter(%q) = %v, want %v", tt.header, got, tt.want)
			}
		})
	}
}

func TestRetryable(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want bool
	}{
		{"500", &StatusError{StatusCode: 500}, true},
		{"503", &StatusError{StatusCode: 503}, true},
		{"429", &StatusError{StatusCode: 429}, true},
		{"408", &StatusError{StatusCode: 408}, true},
		{"404", &StatusError{StatusCode: 404}, false},
		{"401", &StatusError{StatusCode: 401}, false},
		{"truncated", &truncatedError{got: 1, want: 2}, true},
		{"stalled", &timeoutError{what: "no data received for", after: time.Second}, true},
		{"reset", &net.OpError{Op: "read", Err: os.NewSyscallError("read", syscall.ECONNRESET)}, true},
		{"refused", &net.OpError{Op: "dial", Err: os.NewSyscallError("connect", syscall.ECONNREFUSED)},
			true},
		{"unexpected EOF", fmt.Errorf("reading body: %w", io.ErrUnexpectedEOF), true},
		{"dns timeout", &net.DNSError{Err: "timeout", Name: "h", IsTimeout: true}, true},
		{"dns not found", &net.DNSError{Err: "no such host", Name: "h", IsNotFound: true}, false},
		{"digest", &DigestError{Want: "a", Got: "b"}, false},
		{"size", &SizeError{Want: 1, Got: 2}, false},
		{"disk full", fmt.Errorf("writing to cache: %w", syscall.ENOSPC), false},
		{"bad certificate", &url.Error{Op: "Get", Err: errors.New("x509: unknown authority")}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := retryable(tt.err); got != tt.want {
				t.Errorf("retryable(%v) = %v, want %v", tt.err, got, tt.want)
			}
		})
	}
}

// TestUnreachable: the errors that mean the server could not be reached at
// all, from a real refused connection and from the net package's types, and
// those that do not.
func TestUnreachable(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := l.Addr().String()
	l.Close()
	c, _ := newTestClient(t, Options{Attempts: 1})
	_, refused := c.Fetch(context.Background(), Request{URL: "http://" + closed + "/x.apk"})
	srv := httptest.NewServer(http.NotFoundHandler())
	defer srv.Close()
	_, notFound := c.Fetch(context.Background(), Request{URL: srv.URL + "/x.apk"})

	tests := []struct {
		name string
		err  error
		want bool
	}{
		{"refused, from a fetch", refused, true},
		{"dns not found", &FetchError{URL: "https://h.invalid/x", Err: &net.OpError{Op: "dial",
			Net: "tcp", Err: &net.DNSError{Err: "no such host", Name: "h.invalid", IsNotFound: true}}}, true},
		{"dial timeout", &net.OpError{Op: "dial", Err: os.NewSyscallError("connect", syscall.ETIMEDOUT)}, true},
		{"stalled", &timeoutError{what: "no data received for", after: time.Second}, true},
		{"404, from a fetch", notFound, false},
		{"reset while reading", &net.OpError{Op: "read", Err: os.NewSyscallError("read", syscall.ECONNRESET)}, false},
		{"digest", &DigestError{Want: "a", Got: "b"}, false},
		{"bad certificate", &url.Error{Op: "Get", Err: errors.New("x509: unknown authority")}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.err == nil {
				t.Fatal("the fetch succeeded; want an error")
			}
			if got := Unreachable(tt.err); got != tt.want {
				t.Errorf("Unreachable(%v) = %v, want %v", tt.err, got, tt.want)
			}
		})
	}
}

func FuzzParseRetryAfter(f *testing.F) {
	for _, s := range []string{"7", "0", "-1", "Sun, 01 Jun 2025 12:00:30 GMT",
		"Sunday, 01-Jun-25 12:00:30 GMT", "99999999999999999999", "soon"} {
		f.Add(s)
	}
	now := time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, header string) {
		if d := parseRetryAfter(header, now); d < 0 || d > 24*time.Hour {
			t.Errorf("parseRetryAfter(%q) = %v, want within [0, 24h]", header, d)
		}
	})
}
