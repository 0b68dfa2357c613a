package image

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"hash"
	"io"
	"os"
	"path/filepath"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/klauspost/compress/gzip"
)

// LayerError reports a layer file that cannot be used: missing, unreadable,
// not a tar, or compressed with an unsupported algorithm.
type LayerError struct {
	Path string // the layer file as given
	Err  error
}

func (e *LayerError) Error() string {
	return fmt.Sprintf("reading layer %s: %v", e.Path, e.Err)
}

func (e *LayerError) Unwrap() error { return e.Err }

// errNotTar is wrapped in a LayerError when the (decompressed) content is
// not a tar archive.
var errNotTar = errors.New("not a tar archive; give a tar, tar.gz or tar.zst file")

// compression is how a layer file is compressed, told by its magic bytes.
type compression int

const (
	compressionNone compression = iota
	compressionGzip
	compressionZstd
)

// magics are the first bytes of the compressed formats; gzip is RFC 1952
// §2.3.1, zstd is RFC 8878 §3.1.1. The last two are recognized only to name
// them in the error.
var magics = []struct {
	prefix []byte
	kind   compression
	name   string
}{
	{[]byte{0x1f, 0x8b}, compressionGzip, "gzip"},
	{[]byte{0x28, 0xb5, 0x2f, 0xfd}, compressionZstd, "zstd"},
	{[]byte{0xfd, '7', 'z', 'X', 'Z', 0}, -1, "xz"},
	{[]byte("BZh"), -1, "bzip2"},
}

// sniff tells the compression of a layer file from its first bytes.
func sniff(head []byte) (compression, error) {
	for _, m := range magics {
		if !bytes.HasPrefix(head, m.prefix) {
			continue
		}
		if m.kind < 0 {
			return 0, fmt.Errorf("%s-compressed layers are not supported; "+
				"recompress the tar with gzip or zstd", m.name)
		}
		return m.kind, nil
	}
	return compressionNone, nil
}

// fileLayer is a layer whose compressed bytes sit in a file: the layer file
// itself, or the gzip copy of a plain tar. It implements v1.Layer.
type fileLayer struct {
	blob      string // the compressed bytes
	source    string // the uncompressed tar, when blob is a copy of it
	mediaType types.MediaType
	digest    v1.Hash
	diffID    v1.Hash
	size      int64
}

func (l *fileLayer) Digest() (v1.Hash, error)            { return l.digest, nil }
func (l *fileLayer) DiffID() (v1.Hash, error)            { return l.diffID, nil }
func (l *fileLayer) Size() (int64, error)                { return l.size, nil }
func (l *fileLayer) MediaType() (types.MediaType, error) { return l.mediaType, nil }
func (l *fileLayer) Compressed() (io.ReadCloser, error)  { return os.Open(l.blob) }

// Uncompressed implements v1.Layer. fileLayer only holds gzip blobs (zstd
// layers stay ggcr layers), so the copy's source or a gzip reader serves it.
func (l *fileLayer) Uncompressed() (io.ReadCloser, error) {
	if l.source != "" {
		return os.Open(l.source)
	}
	f, err := os.Open(l.blob)
	if err != nil {
		return nil, err
	}
	zr, err := gzip.NewReader(f)
	if err != nil {
		f.Close()
		return nil, err
	}
	return readCloser{zr, f}, nil
}

// readCloser reads from one reader and closes the file under it.
type readCloser struct {
	io.Reader
	io.Closer
}

// loadLayer reads the layer file at path once through, checking that it
// holds a tar and computing its digest and diffID. A plain tar is
// compressed into tmpDir (created on demand by mkTemp).
func loadLayer(ctx context.Context, path string, mkTemp func() (string, error)) (v1.Layer, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, &LayerError{Path: path, Err: err}
	}
	defer f.Close()

	head := make([]byte, 8)
	n, err := io.ReadFull(f, head)
	if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, io.EOF) {
		return nil, &LayerError{Path: path, Err: err}
	}
	kind, err := sniff(head[:n])
	if err != nil {
		return nil, &LayerError{Path: path, Err: err}
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return nil, &LayerError{Path: path, Err: err}
	}

	r := &ctxReader{ctx: ctx, r: f}
	var l v1.Layer
	switch kind {
	case compressionGzip:
		l, err = loadGzip(path, r)
	case compressionZstd:
		l, err = loadZstd(path)
	default:
		l, err = compressTar(path, r, mkTemp)
	}
	if err != nil {
		return nil, &LayerError{Path: path, Err: err}
	}
	return l, nil
}

// loadGzip hashes the compressed and the uncompressed bytes of a gzip layer
// in one pass while walking its tar.
func loadGzip(path string, r io.Reader) (v1.Layer, error) {
	digest := newCountingHash()
	tee := io.TeeReader(r, digest)
	zr, err := gzip.NewReader(tee)
	if err != nil {
		return nil, fmt.Errorf("reading gzip: %w", err)
	}
	diffID := sha256.New()
	dr := &decompressReader{format: "gzip", r: zr}
	if err := walkTar(io.TeeReader(dr, diffID)); err != nil {
		return nil, err
	}

	// The gzip reader stops at the end of the last member; the digest
	// covers the whole file.
	if _, err := io.Copy(io.Discard, tee); err != nil {
		return nil, err
	}
	return &fileLayer{
		blob:      path,
		mediaType: types.OCILayer,
		digest:    digest.hash(),
		diffID:    toHash(diffID),
		size:      digest.n,
	}, nil
}

// loadZstd leaves zstd layers to ggcr, whose decoder the module already
// depends on, and walks the decompressed tar once more to check it.
func loadZstd(path string) (v1.Layer, error) {
	l, err := tarball.LayerFromFile(path, tarball.WithMediaType(types.OCILayerZStd))
	if err != nil {
		return nil, fmt.Errorf("reading zstd: %w", err)
	}
	rc, err := l.Uncompressed()
	if err != nil {
		return nil, fmt.Errorf("reading zstd: %w", err)
	}
	defer rc.Close()
	if err := walkTar(&decompressReader{format: "zstd", r: rc}); err != nil {
		return nil, err
	}
	return l, nil
}

// compressTar gzips a plain tar into a temporary file, hashing the tar
// (diffID) and the gzip stream (digest) as it goes.
func compressTar(path string, r io.Reader, mkTemp func() (string, error)) (v1.Layer, error) {
	dir, err := mkTemp()
	if err != nil {
		return nil, err
	}
	tmp, err := os.CreateTemp(dir, filepath.Base(path)+".*.gz")
	if err != nil {
		return nil, err
	}
	defer tmp.Close()

	digest := newCountingHash()
	zw, err := gzip.NewWriterLevel(io.MultiWriter(tmp, digest), gzip.DefaultCompression)
	if err != nil {
		return nil, err
	}
	diffID := sha256.New()
	if err := walkTar(io.TeeReader(r, io.MultiWriter(diffID, zw))); err != nil {
		return nil, err
	}
	if err := zw.Close(); err != nil {
		return nil, fmt.Errorf("compressing: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return nil, fmt.Errorf("compressing: %w", err)
	}
	return &fileLayer{
		blob:      tmp.Name(),
		source:    path,
		mediaType: types.OCILayer,
		digest:    digest.hash(),
		diffID:    toHash(diffID),
		size:      digest.n,
	}, nil
}

// walkTar reads a tar stream to its end, headers and contents, so that
// every byte passes through the hashes teed into r. An empty input is not a
// tar: even an empty archive holds its two zero end blocks.
func walkTar(r io.Reader) error {
	cr := &countingReader{r: r}
	tr := tar.NewReader(cr)
	for entries := 0; ; entries++ {
		_, err := tr.Next()
		var de *decompressError
		switch {
		case isContextErr(err):
			return err
		case errors.Is(err, io.EOF):
			if cr.n == 0 {
				return fmt.Errorf("%w (the file is empty)", errNotTar)
			}
			// Bytes after the end-of-archive blocks are part of the layer too.
			_, err := io.Copy(io.Discard, cr)
			return err
		case errors.As(err, &de):
			return err
		case err != nil && entries == 0:
			return fmt.Errorf("%w (%v)", errNotTar, err)
		case err != nil:
			return fmt.Errorf("reading the tar after %d entries: truncated or corrupt: %w",
				entries, err)
		}
	}
}

// decompressError marks a failure of the decompressor, as opposed to one
// of the tar inside.
type decompressError struct {
	format string
	err    error
}

func (e *decompressError) Error() string {
	return fmt.Sprintf("decompressing %s: %v (the file is truncated or corrupt)", e.format, e.err)
}

func (e *decompressError) Unwrap() error { return e.err }

// decompressReader tags a decompressor's errors other than io.EOF.
type decompressReader struct {
	format string
	r      io.Reader
}

func (d *decompressReader) Read(p []byte) (int, error) {
	n, err := d.r.Read(p)
	if err != nil && !errors.Is(err, io.EOF) && !isContextErr(err) {
		err = &decompressError{format: d.format, err: err}
	}
	return n, err
}

// countingHash is a sha256 that counts what it hashed.
type countingHash struct {
	h hash.Hash
	n int64
}

func newCountingHash() *countingHash { return &countingHash{h: sha256.New()} }

func (c *countingHash) Write(p []byte) (int, error) {
	c.n += int64(len(p))
	return c.h.Write(p)
}

func (c *countingHash) hash() v1.Hash { return toHash(c.h) }

func toHash(h hash.Hash) v1.Hash {
	return v1.Hash{Algorithm: "sha256", Hex: fmt.Sprintf("%x", h.Sum(nil))}
}

// countingReader counts the bytes read through it.
type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

func isContextErr(err error) bool {
	return errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)
}

// ctxReader stops a long read when its context ends.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c *ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}
