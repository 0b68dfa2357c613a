package repo

import (
	"context"
	"errors"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// retry runs attempt until it succeeds, fails for good, or Options.Attempts
// attempts have been made, sleeping between attempts. It returns the number
// of attempts made.
func (c *Client) retry(ctx context.Context, t target,
	attempt func(context.Context) error) (int, error) {
	for n := 1; ; n++ {
		err := attempt(ctx)
		if err == nil {
			return n, nil
		}
		if ctx.Err() != nil {
			return n, context.Cause(ctx)
		}
		if n >= c.opts.Attempts || !retryable(err) {
			return n, err
		}
		delay := c.delay(n, err)
		c.emit(Event{Kind: EventRetrying, URL: t.shown, Attempt: n, Delay: delay, Err: err})
		c.log.Debug("retrying", "url", t.shown, "attempt", n, "delay", delay, "err", err)
		if err := c.sleep(ctx, delay); err != nil {
			return n, err
		}
	}
}

// retryable says whether another attempt may succeed after err: transient
// network failures and the HTTP answers that mean "try again later".
func retryable(err error) bool {
	var se *StatusError
	if errors.As(err, &se) {
		switch se.StatusCode {
		case http.StatusRequestTimeout, http.StatusTooManyRequests:
			return true
		}
		return se.StatusCode >= 500
	}
	var (
		te  *truncatedError
		to  *timeoutError
		dns *net.DNSError
		ne  net.Error
	)
	switch {
	case errors.As(err, &te), errors.As(err, &to):
		return true
	case errors.As(err, &dns):
		return dns.IsTimeout || dns.IsTemporary
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF),
		errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.ECONNREFUSED),
		errors.Is(err, syscall.ECONNABORTED), errors.Is(err, syscall.EPIPE):
		return true
	case errors.As(err, &ne):
		return ne.Timeout()
	}
	return false
}

// Unreachable reports whether err comes from a server that could not be
// reached: a host name that does not resolve, a connection that failed or
// was refused, or a timeout. Even after the retries, another run from the
// same machine is unlikely to help; a mirror it can reach will.
func Unreachable(err error) bool {
	var (
		dns     *net.DNSError
		op      *net.OpError
		timeout interface{ Timeout() bool } // net.Error's, and timeoutError's
	)
	return errors.As(err, &dns) ||
		errors.As(err, &op) && op.Op == "dial" ||
		errors.Is(err, syscall.ECONNREFUSED) ||
		errors.As(err, &timeout) && timeout.Timeout()
}

// delay returns how long to wait after failed attempt n (1-based): the
// server's Retry-After when it sent one, else BaseDelay·2^(n-1) with equal
// jitter (half fixed, half random) so that clients that failed together do not
// retry together. Both are capped at MaxDelay.
func (c *Client) delay(n int, err error) time.Duration {
	var se *StatusError
	if errors.As(err, &se) && se.RetryAfter > 0 {
		return min(se.RetryAfter, c.opts.MaxDelay)
	}
	d := c.opts.BaseDelay
	for i := 1; i < n && d < c.opts.MaxDelay; i++ {
		d *= 2
	}
	d = min(d, c.opts.MaxDelay)
	half := d / 2
	return half + rand.N(d-half+1)
}

// parseRetryAfter reads a Retry-After header: delay-seconds or an HTTP date
// (RFC 9110 §10.2.3). It returns 0 when the header is absent or unreadable.
// A delay past a day is cut to a day (MaxDelay cuts it further), so that a
// hostile or broken server cannot overflow a time.Duration.
func parseRetryAfter(v string, now time.Time) time.Duration {
	const most = 24 * time.Hour
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	if secs, err := strconv.ParseInt(v, 10, 64); err == nil {
		if secs <= 0 {
			return 0
		}
		return time.Duration(min(secs, int64(most/time.Second))) * time.Second
	}
	if at, err := http.ParseTime(v); err == nil && at.After(now) {
		if at.After(now.Add(most)) {
			return most
		}
		return at.Sub(now)
	}
	return 0
}

// sleepContext waits for d or until ctx is done.
func sleepContext(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return context.Cause(ctx)
	case <-t.C:
		return nil
	}
}
