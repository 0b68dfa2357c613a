package repo

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"time"
)

// Options configures a Client. The zero value works: every field has a
// default.
type Options struct {
	// CacheDir holds the cache (layout in the package doc). Default:
	// os.UserCacheDir()/rules_apk/repo.
	CacheDir string
	// HTTPClient sends the requests; its Transport is wrapped to add
	// credentials. Default: a client on a clone of http.DefaultTransport.
	HTTPClient *http.Client
	// Auth supplies credentials per host. Nil loads them with LoadAuth;
	// &Auth{} sends none.
	Auth *Auth
	// Attempts is how many times a request is tried in all. Default 5.
	Attempts int
	// BaseDelay is the wait after the first failed attempt; it doubles after
	// each further one. Default 500ms.
	BaseDelay time.Duration
	// MaxDelay caps every wait, Retry-After included. Default 30s.
	MaxDelay time.Duration
	// Timeout bounds one attempt from request to last byte. Default 0: no
	// bound, StallTimeout alone catches a hung server.
	Timeout time.Duration
	// StallTimeout bounds the time without progress in one attempt: until
	// the response headers arrive, then between reads of the body.
	// Default 30s.
	StallTimeout time.Duration
	// Progress receives events; it is called from several goroutines at once
	// under FetchAll. Nil: no events.
	Progress func(Event)
	// Logger receives debug logs (retries, cache hits). Nil: discarded.
	Logger *slog.Logger
}

// Client fetches indexes and packages through a cache. It is safe for
// concurrent use, and several Clients (in one process or several) may share a
// cache directory.
type Client struct {
	opts  Options
	http  *http.Client
	cache *cache
	log   *slog.Logger
	sleep func(context.Context, time.Duration) error // replaced in tests
}

// Request says what to fetch.
type Request struct {
	// URL is an http, https or file URL or an absolute path.
	URL string
	// SHA256 is the expected hex digest of the content, or "". When set,
	// the content is verified and the cache is looked up by it, whatever the
	// URL.
	SHA256 string
	// Size is the expected size in bytes, or 0 for unknown. A body of
	// another size is rejected before it is stored.
	Size int64
	// Revalidate asks the server whether the cached copy is current
	// (conditional request) instead of trusting it; use it for indexes,
	// whose content changes under a fixed URL. Ignored when SHA256 is set.
	Revalidate bool
}

// Result is a fetched file.
type Result struct {
	// URL is the request's URL with credentials redacted.
	URL string
	// Path is the file to read: in the cache, or the local file itself.
	// Cached files are read-only and never change once there.
	Path string
	// SHA256 is the hex digest of the file's content.
	SHA256 string
	// Size is the file's size in bytes.
	Size int64
	// Source says where the content came from.
	Source Source
}

// Source says where a Result's content came from.
type Source int

// Sources of a Result.
const (
	SourceNetwork     Source = iota + 1 // downloaded now
	SourceCache                         // found in the cache, no request sent
	SourceNotModified                   // the server answered 304 to a conditional request
	SourceLocal                         // a local file, read in place
)

// String names s for messages: "network", "cache", "not modified", "local".
func (s Source) String() string {
	switch s {
	case SourceNetwork:
		return "network"
	case SourceCache:
		return "cache"
	case SourceNotModified:
		return "not modified"
	case SourceLocal:
		return "local"
	}
	return fmt.Sprintf("Source(%d)", int(s))
}

// New returns a Client with opts, creating the cache directory.
func New(opts Options) (*Client, error) {
	if err := opts.setDefaults(); err != nil {
		return nil, err
	}
	cache, err := openCache(opts.CacheDir)
	if err != nil {
		return nil, err
	}
	hc := *opts.HTTPClient
	base := hc.Transport
	if base == nil {
		base = http.DefaultTransport
	}
	hc.Transport = &authTransport{base: base, auth: opts.Auth}
	return &Client{opts: opts, http: &hc, cache: cache, log: opts.Logger, sleep: sleepContext}, nil
}

func (o *Options) setDefaults() error {
	if o.CacheDir == "" {
		dir, err := os.UserCacheDir()
		if err != nil {
			return fmt.Errorf("finding the cache directory (set Options.CacheDir): %w", err)
		}
		o.CacheDir = filepath.Join(dir, "rules_apk", "repo")
	}
	if o.HTTPClient == nil {
		o.HTTPClient = &http.Client{Transport: http.DefaultTransport.(*http.Transport).Clone()}
	}
	if o.Auth == nil {
		auth, err := LoadAuth()
		if err != nil {
			return err
		}
		o.Auth = auth
	}
	o.Attempts = cmpOr(o.Attempts, 5)
	o.BaseDelay = cmpOr(o.BaseDelay, 500*time.Millisecond)
	o.MaxDelay = cmpOr(o.MaxDelay, 30*time.Second)
	o.StallTimeout = cmpOr(o.StallTimeout, 30*time.Second)
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return nil
}

// cmpOr is cmp.Or for positive settings: v unless it is zero or negative.
func cmpOr[T int | time.Duration](v, def T) T {
	if v <= 0 {
		return def
	}
	return v
}

// Fetch gets one file, from the cache when it can. Every error is a
// *FetchError naming the URL.
func (c *Client) Fetch(ctx context.Context, req Request) (Result, error) {
	t, err := parseTarget(req.URL)
	if err != nil {
		return Result{}, &FetchError{URL: redactString(req.URL), Attempts: 0, Err: err}
	}
	want, err := normalizeDigest(req.SHA256)
	if err != nil {
		return Result{}, &FetchError{URL: t.shown, Attempts: 0, Err: err}
	}
	var res Result
	var attempts int
	if t.local != "" {
		res, err = c.fetchLocal(t, want, req.Size)
		attempts = 1
	} else {
		res, attempts, err = c.fetchRemote(ctx, t, want, req)
	}
	if err != nil {
		c.emit(Event{Kind: EventFailed, URL: t.shown, Attempt: attempts, Err: err})
		return Result{}, &FetchError{URL: t.shown, Attempts: attempts, Err: err}
	}
	kind := EventCached
	if res.Source == SourceNetwork {
		kind = EventFinished
	}
	c.emit(Event{Kind: kind, URL: t.shown, Done: res.Size, Total: res.Size, Source: res.Source})
	return res, nil
}

// fetchLocal hashes a local file in place.
func (c *Client) fetchLocal(t target, want string, size int64) (Result, error) {
	sum, n, err := hashFile(t.local)
	if err != nil {
		return Result{}, fmt.Errorf("reading local file: %w", err)
	}
	if err := check(want, sum, size, n); err != nil {
		return Result{}, err
	}
	return Result{URL: t.shown, Path: t.local, SHA256: sum, Size: n, Source: SourceLocal}, nil
}

// check compares a content's digest and size with the expected ones.
func check(want, got string, wantSize, gotSize int64) error {
	if wantSize > 0 && gotSize != wantSize {
		return &SizeError{Want: wantSize, Got: gotSize}
	}
	if want != "" && got != want {
		return &DigestError{Want: want, Got: got}
	}
	return nil
}

// fetchRemote serves a remote URL from the cache or downloads it under the
// entry's lock.
func (c *Client) fetchRemote(ctx context.Context, t target, want string,
	req Request) (Result, int, error) {
	revalidate := req.Revalidate && want == ""
	if !revalidate {
		if res, ok := c.lookup(t, want, req.Size); ok {
			return res, 0, nil
		}
	}
	lockName := "url-" + hashString(t.key)
	if want != "" {
		lockName = "sha256-" + want
	}
	unlock, err := lockFile(ctx, c.cache.lockPath(lockName))
	if err != nil {
		return Result{}, 0, err
	}
	defer unlock()

	// Another Client may have stored the entry while this one waited.
	if !revalidate {
		if res, ok := c.lookup(t, want, req.Size); ok {
			return res, 0, nil
		}
	}
	return c.download(ctx, t, want, req.Size, revalidate)
}

// lookup finds a cached entry: by digest when one is expected, else through
// the URL's record.
func (c *Client) lookup(t target, want string, size int64) (Result, bool) {
	sum := want
	if sum == "" {
		r := c.cache.readRecord(t.key)
		if r == nil {
			return Result{}, false
		}
		sum = r.SHA256
	}
	path, n, ok := c.cache.blob(sum)
	if !ok || check("", "", size, n) != nil {
		return Result{}, false
	}
	c.log.Debug("cache hit", "url", t.shown, "sha256", sum)
	return Result{URL: t.shown, Path: path, SHA256: sum, Size: n, Source: SourceCache}, true
}

// download fetches t with retries and stores it. With revalidate, a cached
// copy is offered to the server with a conditional request.
func (c *Client) download(ctx context.Context, t target, want string, size int64,
	revalidate bool) (Result, int, error) {
	var cond *record
	if revalidate {
		if r := c.cache.readRecord(t.key); r != nil {
			if _, _, ok := c.cache.blob(r.SHA256); ok {
				cond = r
			}
		}
	}
	var got *record
	attempts, err := c.retry(ctx, t, func(ctx context.Context) error {
		var err error
		got, err = c.attempt(ctx, t, attemptSpec{want: want, size: size, cond: cond})
		return err
	})
	if err != nil {
		return Result{}, attempts, err
	}
	src := SourceNetwork
	if got == cond {
		src = SourceNotModified
	} else if err := c.cache.writeRecord(t.key, got); err != nil {
		return Result{}, attempts, err
	}
	res := Result{URL: t.shown, Path: c.cache.blobPath(got.SHA256), SHA256: got.SHA256,
		Size: got.Size, Source: src}
	return res, attempts, nil
}

// emit sends ev to the progress callback, if any.
func (c *Client) emit(ev Event) {
	if c.opts.Progress != nil {
		c.opts.Progress(ev)
	}
}

// errNotModified is a 304 answer to a request that was not conditional.
var errNotModified = errors.New("server answered 304 Not Modified to an unconditional request")
