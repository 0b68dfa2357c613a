package repo

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"net/http"
	"net/url"
	"os"
	"time"
)

// userAgent names rules_apk to servers.
const userAgent = "rules_apk-apkpack"

// attemptSpec is what one attempt must fetch.
type attemptSpec struct {
	want string  // expected SHA-256, or ""
	size int64   // expected size, or 0
	cond *record // cached copy to revalidate, or nil
}

// attempt makes one request. It returns the record of the stored content, or
// spec.cond itself when the server answered 304 Not Modified.
func (c *Client) attempt(ctx context.Context, t target, spec attemptSpec) (*record, error) {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	if c.opts.Timeout > 0 {
		var stop context.CancelFunc
		ctx, stop = context.WithTimeoutCause(ctx, c.opts.Timeout,
			&timeoutError{what: "attempt not finished after", after: c.opts.Timeout})
		defer stop()
	}
	stall := time.AfterFunc(c.opts.StallTimeout, func() {
		cancel(&timeoutError{what: "no data received for", after: c.opts.StallTimeout})
	})
	defer stall.Stop()

	resp, err := c.http.Do(newRequest(ctx, t, spec.cond))
	if err != nil {
		return nil, cause(ctx, err)
	}
	defer resp.Body.Close()
	stall.Reset(c.opts.StallTimeout)

	switch {
	case resp.StatusCode == http.StatusNotModified && spec.cond != nil:
		return spec.cond, nil
	case resp.StatusCode == http.StatusNotModified:
		return nil, errNotModified
	case resp.StatusCode != http.StatusOK:
		return nil, newStatusError(resp)
	case spec.size > 0 && resp.ContentLength >= 0 && resp.ContentLength != spec.size:
		return nil, &SizeError{Want: spec.size, Got: resp.ContentLength}
	}
	r, err := c.receive(ctx, t, resp, spec, stall)
	if err != nil {
		return nil, cause(ctx, err)
	}
	return r, nil
}

// newRequest builds the GET for t, conditional when cond is set.
func newRequest(ctx context.Context, t target, cond *record) *http.Request {
	// The URL was parsed already, so NewRequest cannot fail; build by hand.
	u := *t.u
	req := (&http.Request{Method: http.MethodGet, URL: &u, Header: http.Header{}}).WithContext(ctx)
	req.Host = u.Host
	req.Header.Set("User-Agent", userAgent)
	// Asking for identity stops net/http from transparently gunzipping a body
	// served with Content-Encoding: gzip: the signed, hashed bytes of
	// APKINDEX.tar.gz and .apk files are the gzip stream itself (§1.1, §2.1).
	req.Header.Set("Accept-Encoding", "identity")
	if cond != nil {
		if cond.ETag != "" {
			req.Header.Set("If-None-Match", cond.ETag)
		}
		if cond.LastModified != "" {
			req.Header.Set("If-Modified-Since", cond.LastModified)
		}
	}
	return req
}

// receive streams the body into a temporary file while hashing it, checks
// it and moves it into the cache.
func (c *Client) receive(ctx context.Context, t target, resp *http.Response, spec attemptSpec,
	stall *time.Timer) (*record, error) {
	total := resp.ContentLength
	if total < 0 && spec.size > 0 {
		total = spec.size
	}
	c.emit(Event{Kind: EventStarted, URL: t.shown, Total: total})
	f, err := c.cache.tempFile()
	if err != nil {
		return nil, err
	}
	h := sha256.New()
	cs := copySpec{t: t, total: total, limit: spec.size, stall: stall}
	n, err := c.copyBody(f, h, resp.Body, cs)
	if err == nil || errors.Is(err, io.ErrUnexpectedEOF) {
		// A broken connection shows as an unexpected EOF; say how much came.
		if lerr := checkLength(n, resp.ContentLength); lerr != nil {
			err = lerr
		}
	}
	sum := hex.EncodeToString(h.Sum(nil))
	if err == nil {
		err = check(spec.want, sum, spec.size, n)
	}
	if err != nil {
		c.cache.discard(f)
		return nil, err
	}
	if err := c.cache.commit(f, c.cache.blobPath(sum)); err != nil {
		return nil, err
	}
	return &record{
		URL: t.shown, SHA256: sum, Size: n,
		ETag: resp.Header.Get("ETag"), LastModified: resp.Header.Get("Last-Modified"),
	}, nil
}

// copySpec parameterises copyBody.
type copySpec struct {
	t     target
	total int64       // for progress events; -1 when unknown
	limit int64       // stop reading past this many bytes; 0: no limit
	stall *time.Timer // reset on every read
}

// copyBody copies body to f and h, reporting progress. A body longer than
// spec.limit is cut one byte past it, which the size check then rejects.
func (c *Client) copyBody(f *os.File, h hash.Hash, body io.Reader, spec copySpec) (int64, error) {
	if spec.limit > 0 {
		body = io.LimitReader(body, spec.limit+1)
	}
	buf := make([]byte, 64<<10)
	var done int64
	for {
		m, rerr := body.Read(buf)
		if m > 0 {
			spec.stall.Reset(c.opts.StallTimeout)
			h.Write(buf[:m])
			if _, err := f.Write(buf[:m]); err != nil {
				return done, fmt.Errorf("writing to cache: %w", err)
			}
			done += int64(m)
			c.emit(Event{Kind: EventProgress, URL: spec.t.shown, Done: done, Total: spec.total})
		}
		if rerr == io.EOF {
			return done, nil
		}
		if rerr != nil {
			return done, fmt.Errorf("reading body after %d bytes: %w", done, rerr)
		}
	}
}

// checkLength reports a body shorter or longer than its Content-Length.
func checkLength(n, contentLength int64) error {
	if contentLength >= 0 && n != contentLength {
		return &truncatedError{got: n, want: contentLength}
	}
	return nil
}

// cause turns an error of a cancelled attempt into the reason it was
// cancelled (a timeout), and strips url.Error, whose text repeats the URL.
func cause(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		if c := context.Cause(ctx); c != nil {
			var te *timeoutError
			if errors.As(c, &te) {
				return te
			}
		}
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}
