package repo

import (
	"fmt"
	"net/http"
	"time"
)

// FetchError reports that a URL could not be fetched: the cause of the last
// failure and how many attempts were made. URL has its credentials redacted,
// so the error can be printed as is.
type FetchError struct {
	URL      string
	Attempts int
	Err      error
}

// Error says which URL, after how many attempts, and why.
func (e *FetchError) Error() string {
	if e.Attempts > 1 {
		return fmt.Sprintf("fetching %s: giving up after %d attempts: %v", e.URL, e.Attempts, e.Err)
	}
	return fmt.Sprintf("fetching %s: %v", e.URL, e.Err)
}

// Unwrap returns the cause.
func (e *FetchError) Unwrap() error { return e.Err }

// StatusError is an HTTP answer other than 200 OK (or 304 Not Modified to a
// conditional request).
type StatusError struct {
	// StatusCode is the HTTP status code, such as 404.
	StatusCode int
	// Status is the status line's text, such as "404 Not Found".
	Status string
	// RetryAfter is the delay the server asked for, or 0.
	RetryAfter time.Duration
}

// Error gives the status and, for 401, 403 and 404, what to check.
func (e *StatusError) Error() string {
	msg := "server answered " + e.Status
	switch e.StatusCode {
	case http.StatusUnauthorized, http.StatusForbidden:
		msg += " (set credentials for this host in APKPACK_AUTH or in ~/.netrc)"
	case http.StatusNotFound:
		msg += " (check the repository URL and arch, and that the package is still published)"
	}
	return msg
}

// newStatusError describes resp, whose body the caller closes.
func newStatusError(resp *http.Response) *StatusError {
	status := resp.Status
	if status == "" {
		status = fmt.Sprintf("%d %s", resp.StatusCode, http.StatusText(resp.StatusCode))
	}
	return &StatusError{
		StatusCode: resp.StatusCode,
		Status:     status,
		RetryAfter: parseRetryAfter(resp.Header.Get("Retry-After"), time.Now()),
	}
}

// DigestError reports content whose SHA-256 is not the expected one. The
// content is not stored: it was changed upstream, or the lockfile or mirror
// is wrong.
type DigestError struct {
	Want, Got string // hex SHA-256
}

// Error gives both digests.
func (e *DigestError) Error() string {
	return fmt.Sprintf("sha256 mismatch: want %s, got %s", e.Want, e.Got)
}

// SizeError reports content whose size is not the expected one.
type SizeError struct {
	Want, Got int64
}

// Error gives both sizes.
func (e *SizeError) Error() string {
	return fmt.Sprintf("size mismatch: want %d bytes, got %d", e.Want, e.Got)
}

// truncatedError is a body shorter than its Content-Length: the connection
// broke, so another attempt may succeed.
type truncatedError struct {
	got, want int64
}

func (e *truncatedError) Error() string {
	return fmt.Sprintf("body truncated: received %d of %d bytes", e.got, e.want)
}

// timeoutError is an attempt cut short by Options.Timeout or
// Options.StallTimeout.
type timeoutError struct {
	what  string
	after time.Duration
}

func (e *timeoutError) Error() string { return fmt.Sprintf("%s %v", e.what, e.after) }

// Timeout marks the error as a timeout for net.Error-style checks.
func (e *timeoutError) Timeout() bool { return true }
