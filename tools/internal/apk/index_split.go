package apk

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"sync"
)

// indexChunkSize is how much APKINDEX text the reading goroutine hands to
// the parsing goroutine at a time: large enough that hand-overs are rare,
// small enough that both goroutines start working almost at once.
const indexChunkSize = 512 << 10

// indexChunkBuffers is the number of chunk buffers in flight; chunks are
// recycled so that reading a large index makes no garbage.
const indexChunkBuffers = 4

// asyncMinChunks is the text size, in chunks, from which a second
// goroutine reads while the first parses. Below it the hand-overs cost more
// than they save: on a loaded machine every hand-over may wait for the
// scheduler.
const asyncMinChunks = 4

// parseIndexRecords parses APKINDEX text from src. sizeHint is the size of
// the text when known (from the tar header), or -1 (then src is read on
// the calling goroutine).
//
// A large text is read by a second goroutine (for an index that means
// decompressing it and hashing the signed bytes) that cuts it into chunks
// of whole records, while the calling goroutine parses them: the two
// halves of the work overlap on two cores.
func parseIndexRecords(src io.Reader, sizeHint int64, lim indexLimits) ([]Package, error) {
	s := &recordSplitter{src: src, lim: lim}
	p := newIndexParser(sizeHint, lim)
	var err error
	if sizeHint >= int64(asyncMinChunks*lim.chunkSize) {
		err = parseAsync(s, p)
	} else {
		err = parseSync(s, p)
	}
	if err != nil {
		return nil, err
	}
	if err := p.endRecord(); err != nil {
		return nil, err
	}
	return p.pkgs, nil
}

// parseSync reads and parses on the calling goroutine, alternating two
// buffers.
func parseSync(s *recordSplitter, p *indexParser) error {
	var spare []byte
	for {
		chunk, err := s.next(spare)
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		if err := p.parse(chunk); err != nil {
			return err
		}
		spare = chunk
	}
}

// indexChunk is a run of whole records, or the error that ended reading.
type indexChunk struct {
	data []byte
	err  error
}

// parseAsync reads on a second goroutine and parses on the calling one.
// Chunk buffers go back and forth, so reading a large index makes no
// garbage.
func parseAsync(s *recordSplitter, p *indexParser) error {
	out := make(chan indexChunk, indexChunkBuffers-1)
	free := make(chan []byte, indexChunkBuffers)
	done := make(chan struct{})
	for range indexChunkBuffers - 1 {
		free <- nil // allocated on first use
	}
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		defer close(out)
		s.feed(out, free, done)
	}()
	// Stop the reader before returning, so that src is no longer read.
	defer func() {
		close(done)
		wg.Wait()
	}()

	for chunk := range out {
		if chunk.err != nil {
			return chunk.err
		}
		err := p.parse(chunk.data)
		free <- chunk.data
		if err != nil {
			return err
		}
	}
	return nil
}

// feed sends chunks to out until src ends, an error occurs or done closes.
func (s *recordSplitter) feed(out chan<- indexChunk, free <-chan []byte, done <-chan struct{}) {
	for {
		var spare []byte
		select {
		case spare = <-free:
		case <-done:
			return
		}
		chunk, err := s.next(spare)
		if errors.Is(err, io.EOF) {
			return
		}
		select {
		case out <- indexChunk{data: chunk, err: err}:
		case <-done:
			return
		}
		if err != nil {
			return
		}
	}
}

// recordSplitter reads APKINDEX text and cuts it after blank lines, so
// that every chunk but the last ends with a complete record.
type recordSplitter struct {
	src  io.Reader
	lim  indexLimits
	buf  []byte // text read but not returned yet
	read int64
	eof  bool
}

// next returns the next run of whole records, or io.EOF after the last.
// spare is a buffer the caller is done with (nil for none); next keeps the
// incomplete record that follows the chunk in it.
func (s *recordSplitter) next(spare []byte) ([]byte, error) {
	if s.buf == nil {
		s.buf = make([]byte, 0, s.lim.chunkSize)
	}
	for !s.eof {
		n, err := s.fill(s.buf[len(s.buf):cap(s.buf)])
		s.buf = s.buf[:len(s.buf)+n]
		if errors.Is(err, io.EOF) {
			s.eof = true
			break
		}
		if err != nil {
			return nil, err
		}
		end := lastRecordEnd(s.buf)
		if end < 0 {
			if err := s.grow(); err != nil {
				return nil, err
			}
			continue
		}
		chunk, rest := s.buf[:end], s.buf[end:]
		if cap(spare) < max(len(rest), s.lim.chunkSize) {
			spare = make([]byte, 0, max(2*len(rest), s.lim.chunkSize))
		}
		s.buf = append(spare[:0], rest...)
		return chunk, nil
	}
	chunk := s.buf
	s.buf = spare[:0]
	if len(chunk) == 0 {
		return nil, io.EOF
	}
	return chunk, nil
}

// grow makes room in a full buffer that holds no complete record, up to
// the record size limit.
func (s *recordSplitter) grow() error {
	if len(s.buf) > s.lim.maxRecordSize {
		return fmt.Errorf("reading APKINDEX: a record is longer than %d bytes: %w",
			s.lim.maxRecordSize, ErrTooLarge)
	}
	grown := make([]byte, len(s.buf), 2*cap(s.buf))
	copy(grown, s.buf)
	s.buf = grown
	return nil
}

// fill reads into p until it is full or src ends, enforcing the total size
// limit.
func (s *recordSplitter) fill(p []byte) (int, error) {
	n := 0
	for n < len(p) {
		m, err := s.src.Read(p[n:])
		n += m
		s.read += int64(m)
		if s.read > s.lim.maxSize {
			return n, fmt.Errorf("reading APKINDEX: larger than %d bytes: %w",
				s.lim.maxSize, ErrTooLarge)
		}
		if err != nil {
			return n, err
		}
	}
	return n, nil
}

// lastRecordEnd returns the offset just past the last blank line of b, or
// -1 when b holds no blank line.
func lastRecordEnd(b []byte) int {
	for end := len(b); end > 1; {
		i := bytes.LastIndexByte(b[:end], '\n')
		if i < 1 {
			return -1
		}
		if b[i-1] == '\n' {
			return i + 1
		}
		end = i
	}
	return -1
}
