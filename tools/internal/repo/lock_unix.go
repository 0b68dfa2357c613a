//go:build unix

package repo

import (
	"context"
	"errors"
	"fmt"
	"os"
	"syscall"
	"time"
)

// lockFile takes an exclusive flock on path, creating it, and waits for it
// while ctx allows. Goroutines of one process exclude each other too, since
// each opens the file anew. The returned unlock removes the file before
// closing it; a waiter that then wins the lock on the removed file sees that
// path no longer names it and starts over, so removal is safe.
func lockFile(ctx context.Context, path string) (unlock func(), err error) {
	wait := time.Millisecond
	for {
		f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
		if err != nil {
			return nil, fmt.Errorf("opening lock file: %w", err)
		}
		for {
			err = syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
			if !errors.Is(err, syscall.EWOULDBLOCK) && !errors.Is(err, syscall.EINTR) {
				break
			}
			if err := sleepContext(ctx, wait); err != nil {
				f.Close()
				return nil, err
			}
			wait = min(2*wait, 50*time.Millisecond)
		}
		if err != nil {
			f.Close()
			return nil, fmt.Errorf("locking %s: %w", path, err)
		}
		if isCurrent(f, path) {
			return func() {
				os.Remove(path)
				f.Close()
			}, nil
		}
		f.Close()
	}
}

// isCurrent says whether path still names the open file f.
func isCurrent(f *os.File, path string) bool {
	a, err := f.Stat()
	if err != nil {
		return false
	}
	b, err := os.Stat(path)
	return err == nil && os.SameFile(a, b)
}
