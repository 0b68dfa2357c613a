package ldso

import (
	"errors"
	"fmt"
	"io/fs"
	"path"
	"strings"
)

// maxSymlinks bounds the symlinks followed while resolving one path, as
// Linux's ELOOP threshold does (40, glibc eloop-threshold.h).
const maxSymlinks = 40

// errSymlinkLoop is returned when a path needs more than maxSymlinks hops.
var errSymlinkLoop = errors.New("too many levels of symbolic links")

// errNotDir is returned when a path goes through a file that is not a
// directory.
var errNotDir = errors.New("not a directory")

// rootFS resolves paths inside a root the way glibc's chroot_canon
// (elf/chroot_canon.c) does: an absolute symlink restarts at the root and
// ".." never climbs above it. Every path it hands to the file system is
// free of symlinks, so even an os.DirFS never follows a link out of the
// root.
type rootFS struct {
	fsys fs.ReadLinkFS
}

func newRootFS(fsys fs.FS) (*rootFS, error) {
	rl, ok := fsys.(fs.ReadLinkFS)
	if !ok {
		return nil, fmt.Errorf("root file system %T does not implement fs.ReadLinkFS, "+
			"so its symlinks cannot be resolved inside the root; use os.DirFS or a "+
			"file system with ReadLink and Lstat", fsys)
	}
	return &rootFS{fsys: rl}, nil
}

// resolve returns the symlink-free fs.FS path ("." for the root) of name, an
// absolute or root-relative path inside the root. Like chroot_canon, it
// succeeds when only the last component is missing, returning the path that
// component would have.
func (r *rootFS) resolve(name string) (string, error) {
	var out []string
	rest := splitPath(name)
	hops := 0
	for len(rest) > 0 {
		c := rest[0]
		rest = rest[1:]
		switch c {
		case ".":
			continue
		case "..":
			if len(out) > 0 {
				out = out[:len(out)-1]
			}
			continue
		}
		cand := path.Join(append(out, c)...)
		fi, err := r.fsys.Lstat(cand)
		if err != nil {
			if len(rest) == 0 && isMissing(err) {
				return cand, nil
			}
			return "", err
		}
		if fi.Mode()&fs.ModeSymlink == 0 {
			if !fi.IsDir() && len(rest) > 0 {
				return "", &fs.PathError{Op: "resolve", Path: cand, Err: errNotDir}
			}
			out = append(out, c)
			continue
		}
		if hops++; hops > maxSymlinks {
			return "", &fs.PathError{Op: "resolve", Path: name, Err: errSymlinkLoop}
		}
		target, err := r.fsys.ReadLink(cand)
		if err != nil {
			return "", err
		}
		if strings.HasPrefix(target, "/") {
			out = out[:0]
		}
		rest = append(splitPath(target), rest...)
	}
	if len(out) == 0 {
		return ".", nil
	}
	return path.Join(out...), nil
}

// stat resolves name and describes what it points to.
func (r *rootFS) stat(name string) (string, fs.FileInfo, error) {
	p, err := r.resolve(name)
	if err != nil {
		return "", nil, err
	}
	fi, err := r.fsys.Lstat(p)
	if err != nil {
		return "", nil, err
	}
	return p, fi, nil
}

// splitPath splits a slash-separated path into its non-empty components.
func splitPath(p string) []string {
	return strings.FieldsFunc(p, func(r rune) bool { return r == '/' })
}

// isMissing tells errors that ldconfig treats as "this file is not there"
// (and skips quietly) from real I/O failures.
func isMissing(err error) bool {
	return errors.Is(err, fs.ErrNotExist) || errors.Is(err, errNotDir) ||
		errors.Is(err, errSymlinkLoop) || errors.Is(err, fs.ErrInvalid)
}

// abs turns an fs.FS path back into an absolute path inside the root.
func abs(p string) string {
	if p == "." {
		return "/"
	}
	return "/" + p
}
