package demo

import (
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
	"time"
)

// commonDrops are left out of every package: documentation, manual and info
// pages, translations and Debian's packaging notes, which no image needs.
var commonDrops = []string{
	"usr/share/doc", "usr/share/man", "usr/share/info", "usr/share/locale",
	"usr/share/lintian", "usr/share/bug",
}

// usrMerge maps the directories that demo-baselayout ships as links to
// where the links point, the usr-merged layout of Wolfi (§5.1 of
// apk-reference.md). A package that shipped lib/ as a directory would
// collide with the lib -> usr/lib link.
var usrMerge = []struct{ from, to string }{
	{"lib64", "usr/lib"}, {"lib", "usr/lib"}, {"bin", "usr/bin"}, {"sbin", "usr/bin"},
	{"usr/sbin", "usr/bin"},
}

// usrMerged returns where a path of a Debian package lives in the
// usr-merged layout: "lib/x86_64-linux-gnu/libc.so.6" becomes
// "usr/lib/x86_64-linux-gnu/libc.so.6". p is relative to the root.
func usrMerged(p string) string {
	for _, m := range usrMerge {
		if p == m.from {
			return m.to
		}
		if rest, ok := strings.CutPrefix(p, m.from+"/"); ok {
			return m.to + "/" + rest
		}
	}
	return p
}

// relinkTarget returns the target a symbolic link moved from oldPath to
// newPath must have to reach the same file in the usr-merged layout,
// written relative to the link so that the tree can be used as a sysroot
// anywhere: "lib64/ld-linux-x86-64.so.2 ->
// /lib/x86_64-linux-gnu/ld-linux-x86-64.so.2" becomes
// "usr/lib/ld-linux-x86-64.so.2 -> x86_64-linux-gnu/ld-linux-x86-64.so.2".
func relinkTarget(oldPath, newPath, target string) string {
	abs := target
	if !path.IsAbs(abs) {
		abs = path.Join("/", path.Dir(oldPath), target)
	}
	merged := usrMerged(strings.TrimPrefix(path.Clean(abs), "/"))
	rel, err := filepath.Rel("/"+path.Dir(newPath), "/"+merged)
	if err != nil {
		// Both paths are absolute, so Rel cannot fail; keep the
		// absolute form if it ever does.
		return "/" + merged
	}
	return filepath.ToSlash(rel)
}

// matchAny reports whether p, or a directory above it, matches one of the
// path.Match patterns: "usr/share/doc" matches every file under it.
func matchAny(patterns []string, p string) bool {
	for _, pat := range patterns {
		for q := p; q != "." && q != "/"; q = path.Dir(q) {
			if ok, _ := path.Match(pat, q); ok {
				return true
			}
		}
	}
	return false
}

// stager assembles the tree of one package from extracted .deb trees.
type stager struct {
	dir    string            // the package tree
	owner  map[string]string // path → the .deb that placed it
	links  map[string]string // path → target, for links placed
	newest time.Time         // latest mtime of the files placed
}

func newStager(dir string) *stager {
	return &stager{dir: dir, owner: map[string]string{}, links: map[string]string{}}
}

// filter says which paths of one .deb a package keeps.
type filter struct {
	keep []string // when not empty, only paths matching one of these
	drop []string // paths matching one of these are left out
}

func (f filter) keeps(p string) bool {
	if matchAny(commonDrops, p) || matchAny(f.drop, p) {
		return false
	}
	return len(f.keep) == 0 || matchAny(f.keep, p)
}

// addTree places the files and links of the extracted .deb at src (named
// label in errors) that f keeps, at their usr-merged paths. Regular files
// are hard-linked when the file system allows it, which also keeps the
// .deb's own hard links. Directories are created as needed with mode 0755;
// the .deb's directory entries are not copied, so no empty directory is
// left behind by what was dropped.
func (s *stager) addTree(src, label string, f filter) error {
	return filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, err := filepath.Rel(src, p)
		if err != nil {
			return err
		}
		rel = filepath.ToSlash(rel)
		merged := usrMerged(rel)
		if !f.keeps(merged) {
			return nil
		}
		return s.place(p, rel, merged, label)
	})
}

// place puts one entry of a .deb at its path in the package tree.
func (s *stager) place(src, rel, dst, label string) error {
	fi, err := os.Lstat(src)
	if err != nil {
		return err
	}
	switch {
	case fi.Mode()&fs.ModeSymlink != 0:
		target, err := os.Readlink(src)
		if err != nil {
			return err
		}
		return s.addLink(dst, relinkTarget(rel, dst, target), label)
	case fi.Mode().IsRegular():
		if err := s.claim(dst, label); err != nil {
			return err
		}
		if fi.ModTime().After(s.newest) {
			s.newest = fi.ModTime()
		}
		return linkOrCopy(src, filepath.Join(s.dir, dst), fi.Mode())
	}
	return fmt.Errorf("%s ships %s, a %s: only files and links can be repacked", label, rel,
		fi.Mode().Type())
}

// addLink places a symbolic link. Two .debs may ship the same link to the
// same target.
func (s *stager) addLink(p, target, label string) error {
	if old, ok := s.links[p]; ok && old == target {
		return nil
	}
	if err := s.claim(p, label); err != nil {
		return err
	}
	s.links[p] = target
	return os.Symlink(target, filepath.Join(s.dir, p))
}

// claim records that label places p, failing when another .deb did.
func (s *stager) claim(p, label string) error {
	if other, ok := s.owner[p]; ok {
		return fmt.Errorf("%s and %s both ship %s (after the usr merge)", other, label, p)
	}
	s.owner[p] = label
	return os.MkdirAll(filepath.Join(s.dir, path.Dir(p)), 0o755)
}

// linkOrCopy hard-links src to dst, or copies it with mode when the two
// are on different file systems.
func linkOrCopy(src, dst string, mode fs.FileMode) error {
	if err := os.Link(src, dst); err == nil {
		return nil
	}
	return copyFile(src, dst, mode)
}

// copyFile copies src to dst through a temporary file, so that dst is
// never seen half-written, and gives it mode (setuid bits included, which
// creating a file would lose to the umask).
func copyFile(src, dst string, mode fs.FileMode) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	tmp := dst + ".tmp"
	out, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	_, err = io.Copy(out, in)
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Chmod(tmp, mode&(fs.ModePerm|fs.ModeSetuid|fs.ModeSetgid|fs.ModeSticky))
	}
	if err != nil {
		os.Remove(tmp)
		return fmt.Errorf("copying %s: %w", src, err)
	}
	return os.Rename(tmp, dst)
}
