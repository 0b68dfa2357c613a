package layer

import (
	"archive/tar"
	"bytes"
	"io"
	"io/fs"
	"path"
	"slices"
	"strings"
	"time"
)

// treeFS is a read-only io/fs view of the merged root, with symlinks
// (fs.ReadLinkFS), so that ldso.Build can scan it as ldconfig -r would scan
// an extracted root. File contents come from the spools.
type treeFS struct {
	t     *tree
	epoch time.Time
}

var _ fs.ReadLinkFS = (*treeFS)(nil)

// lnode returns the node at name without following a final symlink.
func (f *treeFS) lnode(op, name string) (*node, error) {
	if !fs.ValidPath(name) {
		return nil, &fs.PathError{Op: op, Path: name, Err: fs.ErrInvalid}
	}
	if name == "." {
		return f.t.root, nil
	}
	n := f.t.lookup(name)
	if n == nil {
		return nil, &fs.PathError{Op: op, Path: name, Err: fs.ErrNotExist}
	}
	return n, nil
}

// Open opens name, following symlinks.
func (f *treeFS) Open(name string) (fs.File, error) {
	n, err := f.lnode("open", name)
	if err != nil {
		return nil, err
	}
	if n.typ == tar.TypeSymlink {
		if n = f.t.follow(name); n == nil {
			return nil, &fs.PathError{Op: "open", Path: name, Err: fs.ErrNotExist}
		}
	}
	info := nodeInfo{n: n, name: path.Base(name), epoch: f.epoch}
	switch n.typ {
	case tar.TypeDir:
		return &treeDir{info: info}, nil
	case tar.TypeReg:
		var r io.ReaderAt = bytes.NewReader(n.content.data)
		if n.content.spool != nil {
			r = n.content.spool.f
		}
		off := n.content.off
		return &treeFile{info: info, SectionReader: io.NewSectionReader(r, off, n.size)}, nil
	}
	return &treeFile{info: info, SectionReader: io.NewSectionReader(bytes.NewReader(nil), 0, 0)}, nil
}

// Lstat describes name without following a final symlink.
func (f *treeFS) Lstat(name string) (fs.FileInfo, error) {
	n, err := f.lnode("lstat", name)
	if err != nil {
		return nil, err
	}
	return nodeInfo{n: n, name: path.Base(name), epoch: f.epoch}, nil
}

// ReadLink returns a symlink's target.
func (f *treeFS) ReadLink(name string) (string, error) {
	n, err := f.lnode("readlink", name)
	if err != nil {
		return "", err
	}
	if n.typ != tar.TypeSymlink {
		return "", &fs.PathError{Op: "readlink", Path: name, Err: fs.ErrInvalid}
	}
	return n.link, nil
}

// nodeInfo is the fs.FileInfo and fs.DirEntry of a node.
type nodeInfo struct {
	n     *node
	name  string
	epoch time.Time
}

func (i nodeInfo) Name() string       { return i.name }
func (i nodeInfo) Size() int64        { return i.n.size }
func (i nodeInfo) ModTime() time.Time { return i.epoch }
func (i nodeInfo) IsDir() bool        { return i.n.typ == tar.TypeDir }
func (i nodeInfo) Sys() any           { return nil }
func (i nodeInfo) Type() fs.FileMode  { return i.Mode().Type() }

func (i nodeInfo) Info() (fs.FileInfo, error) { return i, nil }

func (i nodeInfo) Mode() fs.FileMode {
	m := fs.FileMode(i.n.mode & 0o777)
	if i.n.mode&0o4000 != 0 {
		m |= fs.ModeSetuid
	}
	if i.n.mode&0o2000 != 0 {
		m |= fs.ModeSetgid
	}
	if i.n.mode&0o1000 != 0 {
		m |= fs.ModeSticky
	}
	switch i.n.typ {
	case tar.TypeDir:
		m |= fs.ModeDir
	case tar.TypeSymlink:
		m |= fs.ModeSymlink
	case tar.TypeFifo:
		m |= fs.ModeNamedPipe
	}
	return m
}

type treeFile struct {
	info nodeInfo
	*io.SectionReader
}

func (f *treeFile) Stat() (fs.FileInfo, error) { return f.info, nil }
func (f *treeFile) Close() error               { return nil }

type treeDir struct {
	info    nodeInfo
	entries []fs.DirEntry
	read    bool
}

func (d *treeDir) Stat() (fs.FileInfo, error) { return d.info, nil }
func (d *treeDir) Close() error               { return nil }

func (d *treeDir) Read([]byte) (int, error) {
	return 0, &fs.PathError{Op: "read", Path: d.info.name, Err: fs.ErrInvalid}
}

// ReadDir lists the directory in name order.
func (d *treeDir) ReadDir(n int) ([]fs.DirEntry, error) {
	if !d.read {
		d.read = true
		names := sortedNames(d.info.n)
		for _, name := range names {
			d.entries = append(d.entries, nodeInfo{n: d.info.n.children[name], name: name,
				epoch: d.info.epoch})
		}
		slices.SortFunc(d.entries, func(a, b fs.DirEntry) int {
			return strings.Compare(a.Name(), b.Name())
		})
	}
	if n <= 0 {
		out := d.entries
		d.entries = nil
		return out, nil
	}
	if len(d.entries) == 0 {
		return nil, io.EOF
	}
	k := min(n, len(d.entries))
	out := d.entries[:k]
	d.entries = d.entries[k:]
	return out, nil
}
