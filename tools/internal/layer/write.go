package layer

import (
	"archive/tar"
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"time"

	"github.com/klauspost/compress/zstd"
	"github.com/klauspost/pgzip"
)

// Format is the compression of a layer file.
type Format int

// Layer formats.
const (
	FormatTar Format = iota
	FormatTarGzip
	FormatTarZstd
)

// DefaultGzipLevel is the gzip level of FormatTarGzip layers: level 6 of
// klauspost/compress's deflate, compressed in parallel 1 MiB blocks.
const DefaultGzipLevel = 6

// gzipBlockSize is the size of the blocks compressed in parallel. The
// compressed bytes depend on it (and on the klauspost/compress version
// pinned in go.mod), not on the number of cores.
const gzipBlockSize = 1 << 20

// ParseFormat reads "tar", "tar.gz" or "tar.zst".
func ParseFormat(s string) (Format, error) {
	switch s {
	case "", "tar":
		return FormatTar, nil
	case "tar.gz", "gzip":
		return FormatTarGzip, nil
	case "tar.zst", "zstd":
		return FormatTarZstd, nil
	}
	return 0, fmt.Errorf("layer format %q: use tar, tar.gz or tar.zst", s)
}

// Ext is the file extension: ".tar", ".tar.gz" or ".tar.zst".
func (f Format) Ext() string {
	return [...]string{".tar", ".tar.gz", ".tar.zst"}[f]
}

// MediaType is the OCI media type of a layer in this format.
func (f Format) MediaType() string {
	return "application/vnd.oci.image.layer.v1.tar" + [...]string{"", "+gzip", "+zstd"}[f]
}

// writeLayers writes every layer where s keeps it until Commit: a
// temporary file beside Output, or the files of a temporary directory.
func writeLayers(ctx context.Context, opts *Options, a *assembled, s *Staged) ([]Layer, error) {
	layers := make([]Layer, a.nLayers)
	for i := range layers {
		items := collect(a, i, i == a.nLayers-1)
		dst, final := s.layerPath(opts, i)
		tmp, l, err := writeLayer(ctx, opts, a, items, dst)
		if err == nil && !s.single {
			err = os.Rename(tmp, dst)
		}
		if s.single {
			s.tmp = tmp
		}
		if err != nil {
			return nil, err
		}
		l.Path, l.MediaType = final, opts.Format.MediaType()
		for pos, li := range a.layerOf {
			if li == i {
				l.Packages = append(l.Packages, a.pkgs[pos].info.Name)
			}
		}
		layers[i] = l
	}
	return layers, nil
}

// item is one tar entry of a layer.
type item struct {
	path string
	n    *node
}

// collect lists the entries of layer li sorted by path: the non-directory
// nodes its packages own (and the generated ones in the last layer), the
// directories its packages ship, and the parents of all of them.
func collect(a *assembled, li int, last bool) []item {
	var items []item
	var walk func(n *node, p string) bool
	walk = func(n *node, p string) bool {
		if n.typ != tar.TypeDir {
			in := (n.owner == generated && last) || (n.owner >= 0 && a.layerOf[n.owner] == li)
			if in {
				items = append(items, item{p, n})
			}
			return in
		}
		in := len(n.shippers) == 0 && last && n.parent != nil
		for _, s := range n.shippers {
			in = in || a.layerOf[s] == li
		}
		for name, c := range n.children {
			cp := name
			if p != "" {
				cp = p + "/" + name
			}
			in = walk(c, cp) || in
		}
		if in && n.parent != nil {
			items = append(items, item{p, n})
		}
		return in
	}
	walk(a.tree.root, "")
	slices.SortFunc(items, func(x, y item) int { return strings.Compare(x.path, y.path) })
	return items
}

// writeLayer writes one layer to a temporary file beside dst and returns
// its name and digests.
func writeLayer(ctx context.Context, opts *Options, a *assembled, items []item,
	dst string) (string, Layer, error) {
	f, err := os.CreateTemp(filepath.Dir(dst), "."+filepath.Base(dst)+".tmp-*")
	if err != nil {
		return "", Layer{}, fmt.Errorf("writing layer: %w", err)
	}
	tmp := f.Name()
	l, err := writeLayerTo(ctx, f, opts, a, items)
	if err == nil {
		// CreateTemp makes the file 0600; a layer is no secret.
		err = f.Chmod(0o644)
	}
	if cerr := f.Close(); err == nil && cerr != nil {
		err = cerr
	}
	if err != nil {
		return tmp, Layer{}, fmt.Errorf("writing layer %s: %w", dst, err)
	}
	return tmp, l, nil
}

// writeLayerTo streams the tar through the compressor into f, hashing the
// tar (diffID) and the file (digest) on the way.
func writeLayerTo(ctx context.Context, f *os.File, opts *Options, a *assembled,
	items []item) (Layer, error) {
	fileSum := newAsyncHash()
	defer fileSum.stop()
	count := &countWriter{}
	fileBuf := bufio.NewWriterSize(io.MultiWriter(f, fileSum, count), 1<<20)
	comp, err := compressor(opts, fileBuf)
	if err != nil {
		return Layer{}, err
	}
	diffSum := fileSum
	var tarDst io.Writer = fileBuf
	if comp != nil {
		diffSum = newAsyncHash()
		defer diffSum.stop()
		tarDst = io.MultiWriter(comp, diffSum)
	}
	tarBuf := bufio.NewWriterSize(tarDst, 1<<20)
	if err := writeTar(ctx, tarBuf, a.res.Epoch.Unix(), items); err != nil {
		return Layer{}, err
	}
	if err := tarBuf.Flush(); err != nil {
		return Layer{}, err
	}
	if comp != nil {
		if err := comp.Close(); err != nil {
			return Layer{}, fmt.Errorf("compressing: %w", err)
		}
	}
	// No fsync: a layer is a build output that is renamed into place
	// once complete; syncing hundreds of megabytes would cost seconds.
	if err := fileBuf.Flush(); err != nil {
		return Layer{}, err
	}
	return Layer{Digest: fileSum.digest(), DiffID: diffSum.digest(), Size: count.n}, nil
}

// compressor returns the compressing writer of the format, or nil for a
// plain tar. Both compressors give the same bytes whatever the number of
// cores: pgzip cuts fixed-size blocks, and zstd's output does not depend
// on its concurrency.
func compressor(opts *Options, w io.Writer) (io.WriteCloser, error) {
	switch opts.Format {
	case FormatTarGzip:
		z, err := pgzip.NewWriterLevel(w, opts.GzipLevel)
		if err != nil {
			return nil, fmt.Errorf("gzip level %d: %w", opts.GzipLevel, err)
		}
		if err := z.SetConcurrency(gzipBlockSize, 2*runtime.GOMAXPROCS(0)); err != nil {
			return nil, err
		}
		return z, nil
	case FormatTarZstd:
		z, err := zstd.NewWriter(w, zstd.WithEncoderLevel(zstd.SpeedDefault))
		if err != nil {
			return nil, fmt.Errorf("zstd: %w", err)
		}
		return z, nil
	}
	return nil, nil
}

type countWriter struct{ n int64 }

func (c *countWriter) Write(p []byte) (int, error) {
	c.n += int64(len(p))
	return len(p), nil
}

// writeTar writes the entries: numeric owners only, one mtime, no atime or
// ctime, PAX records only for xattrs and what USTAR cannot hold (Go's
// archive/tar picks USTAR when it can). The second and later paths of a
// hard-linked content are written as hard links to the first.
func writeTar(ctx context.Context, w io.Writer, epoch int64, items []item) error {
	tw := tar.NewWriter(w)
	first := map[contentKey]string{}
	buf := make([]byte, 1<<20)
	for i, it := range items {
		if i%1024 == 0 && ctx.Err() != nil {
			return ctx.Err()
		}
		hdr := header(it, epoch)
		if hdr.Typeflag == tar.TypeReg && it.n.key.pkg != generated {
			if p, ok := first[it.n.key]; ok {
				hdr.Typeflag, hdr.Linkname, hdr.Size = tar.TypeLink, p, 0
			} else {
				first[it.n.key] = it.path
			}
		}
		if err := tw.WriteHeader(hdr); err != nil {
			return fmt.Errorf("writing entry %s: %w", it.path, err)
		}
		if hdr.Typeflag == tar.TypeReg && hdr.Size > 0 {
			if err := copyContent(tw, it.n, buf); err != nil {
				return fmt.Errorf("writing entry %s: %w", it.path, err)
			}
		}
	}
	return tw.Close()
}

func header(it item, epoch int64) *tar.Header {
	n := it.n
	hdr := &tar.Header{Typeflag: n.typ, Name: it.path, Mode: n.mode, Uid: n.uid, Gid: n.gid}
	hdr.ModTime = unixTime(epoch)
	switch n.typ {
	case tar.TypeDir:
		hdr.Name += "/"
	case tar.TypeReg:
		hdr.Size = n.size
	case tar.TypeSymlink:
		hdr.Linkname = n.link
	}
	if len(n.xattrs) > 0 {
		hdr.PAXRecords = map[string]string{}
		for _, x := range n.xattrs {
			hdr.PAXRecords["SCHILY.xattr."+x.name] = x.value
		}
	}
	return hdr
}

func copyContent(w io.Writer, n *node, buf []byte) error {
	var r io.Reader
	if n.content.spool == nil {
		r = strings.NewReader(string(n.content.data))
	} else {
		r = io.NewSectionReader(n.content.spool.f, n.content.off, n.size)
	}
	written, err := io.CopyBuffer(w, r, buf)
	if err != nil {
		return err
	}
	if written != n.size {
		return fmt.Errorf("spool holds %d of %d bytes", written, n.size)
	}
	return nil
}

func unixTime(sec int64) time.Time { return time.Unix(sec, 0) }
