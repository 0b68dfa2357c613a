package layer

import (
	"crypto/sha256"
	"encoding/hex"
	"hash"
	"sync"
)

// asyncHash computes a SHA-256 on another goroutine, so that hashing a
// layer overlaps with writing (and compressing) it on the other core. It
// copies what it is given into a few 1 MiB buffers, so memory stays
// bounded whatever the layer's size.
type asyncHash struct {
	h    hash.Hash
	work chan []byte
	free chan []byte
	done chan struct{}
	once sync.Once
}

const asyncHashBuffers = 4

func newAsyncHash() *asyncHash {
	a := &asyncHash{h: sha256.New(), work: make(chan []byte, asyncHashBuffers),
		free: make(chan []byte, asyncHashBuffers), done: make(chan struct{})}
	for range asyncHashBuffers {
		a.free <- make([]byte, 0, 1<<20)
	}
	go func() {
		for b := range a.work {
			a.h.Write(b)
			a.free <- b[:0]
		}
		close(a.done)
	}()
	return a
}

// Write queues p for hashing.
func (a *asyncHash) Write(p []byte) (int, error) {
	n := len(p)
	for len(p) > 0 {
		b := <-a.free
		k := min(len(p), cap(b))
		a.work <- append(b, p[:k]...)
		p = p[k:]
	}
	return n, nil
}

// stop ends the hashing goroutine; safe to call more than once.
func (a *asyncHash) stop() {
	a.once.Do(func() { close(a.work) })
	<-a.done
}

// digest waits for the queued bytes and returns "sha256:<hex>".
func (a *asyncHash) digest() string {
	a.stop()
	return "sha256:" + hex.EncodeToString(a.h.Sum(nil))
}
