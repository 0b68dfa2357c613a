package apk

import (
	"errors"
	"fmt"
	"io"

	"github.com/klauspost/compress/gzip"
)

// ErrTooLarge is returned (wrapped) when an input exceeds a size limit.
var ErrTooLarge = errors.New("exceeds size limit")

// MemberReader splits a stream of concatenated gzip members on their exact
// boundaries (§1.1, §1.6) while handing each member's raw compressed bytes to
// a sink, so that C: (SHA-1 of the control member), datahash (SHA-256 of the
// data member) and signatures (over raw bytes) are computed in one streaming
// pass, without buffering a member.
//
// It implements io.ByteReader, which makes compress/flate read from it
// directly instead of reading ahead past the end of a member.
type MemberReader struct {
	src    io.Reader
	buf    []byte
	r, w   int
	synced int       // buf[:synced] already handed to sink
	sink   io.Writer // receives the current member's raw bytes
	offset int64     // raw bytes consumed before buf[0]
	err    error
	zr     *gzip.Reader
	cur    *memberData
}

// NewMemberReader reads gzip members from src.
func NewMemberReader(src io.Reader) *MemberReader {
	return &MemberReader{src: src, buf: make([]byte, 64<<10)}
}

// Offset is the number of raw bytes consumed so far; right after a member
// ends it is that member's end offset.
func (m *MemberReader) Offset() int64 { return m.offset + int64(m.r) }

// ReadByte implements io.ByteReader for compress/flate.
func (m *MemberReader) ReadByte() (byte, error) {
	if m.r == m.w {
		if err := m.fill(); err != nil {
			return 0, err
		}
	}
	b := m.buf[m.r]
	m.r++
	return b, nil
}

// Read implements io.Reader (gzip reads member headers and trailers with it).
func (m *MemberReader) Read(p []byte) (int, error) {
	if m.r == m.w {
		if err := m.fill(); err != nil {
			return 0, err
		}
	}
	n := copy(p, m.buf[m.r:m.w])
	m.r += n
	return n, nil
}

// sync hands the consumed, not yet synced bytes to the sink.
func (m *MemberReader) sync() {
	if m.sink != nil && m.synced < m.r {
		m.sink.Write(m.buf[m.synced:m.r])
	}
	m.synced = m.r
}

func (m *MemberReader) fill() error {
	m.sync()
	if m.err != nil {
		return m.err
	}
	m.offset += int64(m.r)
	m.r, m.w, m.synced = 0, 0, 0
	n, err := io.ReadAtLeast(m.src, m.buf, 1)
	m.w = n
	if err != nil {
		if errors.Is(err, io.ErrUnexpectedEOF) {
			err = io.EOF
		}
		m.err = err
		if n == 0 {
			return err
		}
	}
	return nil
}

// Next starts the next member. The returned reader yields its decompressed
// bytes and fails with ErrTooLarge past limit bytes; sink (may be nil)
// receives the member's raw bytes, complete once the returned reader has
// reported io.EOF or the next call to Next or Close. At the end of the stream
// Next returns io.EOF.
func (m *MemberReader) Next(sink io.Writer, limit int64) (io.Reader, error) {
	if err := m.finish(); err != nil {
		return nil, err
	}
	if m.r == m.w {
		if err := m.fill(); err != nil {
			if errors.Is(err, io.EOF) {
				return nil, io.EOF
			}
			return nil, fmt.Errorf("reading gzip member at offset %d: %w", m.Offset(), err)
		}
	}
	m.synced = m.r
	m.sink = sink
	var err error
	if m.zr == nil {
		m.zr, err = gzip.NewReader(m)
	} else {
		err = m.zr.Reset(m)
	}
	if err != nil {
		return nil, fmt.Errorf("reading gzip member at offset %d: %w", m.Offset(), err)
	}
	m.zr.Multistream(false)
	m.cur = &memberData{m: m, left: limit}
	return m.cur, nil
}

// finish drains the current member, if any, and hands its last raw bytes
// to its sink.
func (m *MemberReader) finish() error {
	if m.cur == nil {
		return nil
	}
	cur := m.cur
	if !cur.done {
		if _, err := io.Copy(io.Discard, cur); err != nil {
			return err
		}
	}
	m.cur = nil
	return nil
}

// Close drains the current member so that its sink has every raw byte.
func (m *MemberReader) Close() error { return m.finish() }

type memberData struct {
	m    *MemberReader
	left int64
	done bool
}

func (d *memberData) Read(p []byte) (int, error) {
	if d.done {
		return 0, io.EOF
	}
	if d.left <= 0 {
		// At the limit: fine if the member ends here, too large otherwise.
		var one [1]byte
		n, err := d.m.zr.Read(one[:])
		if n == 0 && errors.Is(err, io.EOF) {
			return d.end()
		}
		return 0, fmt.Errorf("decompressed gzip member %w", ErrTooLarge)
	}
	if int64(len(p)) > d.left {
		p = p[:d.left]
	}
	n, err := d.m.zr.Read(p)
	d.left -= int64(n)
	if errors.Is(err, io.EOF) {
		_, err = d.end()
		return n, err
	}
	if err != nil {
		return n, fmt.Errorf("decompressing gzip member: %w", err)
	}
	return n, nil
}

// end marks the member complete and hands its last raw bytes to the sink.
func (d *memberData) end() (int, error) {
	d.done = true
	d.m.sync()
	d.m.sink = nil
	return 0, io.EOF
}
