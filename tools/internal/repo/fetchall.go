package repo

import (
	"context"
	"errors"
	"sync"
)

// DefaultParallelism is FetchAll's bound when it is given none.
const DefaultParallelism = 8

// errOtherFailed is why FetchAll cancels the requests still running.
var errOtherFailed = errors.New("cancelled because another fetch failed")

// FetchAll fetches reqs with at most parallelism requests at a time (below 1:
// DefaultParallelism) and returns their results in the order of reqs. The
// first request that fails for good cancels the others, and its error (a
// *FetchError naming its URL) is returned with no results.
func (c *Client) FetchAll(ctx context.Context, reqs []Request, parallelism int) ([]Result, error) {
	if parallelism < 1 {
		parallelism = DefaultParallelism
	}
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)

	results := make([]Result, len(reqs))
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		firstErr error
		launched int
		slots    = make(chan struct{}, parallelism)
	)
	fail := func(err error) {
		mu.Lock()
		defer mu.Unlock()
		if firstErr == nil {
			firstErr = err
			cancel(errOtherFailed)
		}
	}
	for i, req := range reqs {
		select {
		case slots <- struct{}{}:
		case <-ctx.Done():
		}
		if ctx.Err() != nil {
			break
		}
		launched++
		wg.Go(func() {
			defer func() { <-slots }()
			res, err := c.Fetch(ctx, req)
			if err != nil {
				fail(err)
				return
			}
			results[i] = res
		})
	}
	wg.Wait()
	if firstErr != nil {
		return nil, firstErr
	}
	if launched < len(reqs) {
		// The caller's context ended before every request was started.
		return nil, context.Cause(ctx)
	}
	return results, nil
}
