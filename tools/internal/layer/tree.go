package layer

import (
	"archive/tar"
	"fmt"
	"path"
	"strings"

	"github.com/rules-apk/rules_apk/tools/internal/apk"
)

// generated is the owner of what no package ships: the installed database,
// etc/apk, ld.so.cache, busybox links, os-release.
const generated = -1

// node is one path of the merged root.
type node struct {
	name     string
	parent   *node
	typ      byte // tar typeflag: TypeDir, TypeReg, TypeSymlink or TypeFifo
	mode     int64
	uid, gid int
	link     string // symlink target
	xattrs   []xattr
	size     int64
	sum      apk.Checksum
	content  contentRef
	// key identifies the content of a regular file: nodes with the same
	// key are hard links to one another.
	key contentKey
	// owner is the install position of the package that owns a non-directory
	// node, or generated.
	owner    int
	children map[string]*node
	// shippers are the install positions of the packages shipping a
	// directory; aclSet says whether one of them set its ACL yet.
	shippers []int
	aclSet   bool
}

// contentKey names one shipped file content: package position and entry
// index.
type contentKey struct{ pkg, entry int }

// tree is the merged root, built in install order.
type tree struct {
	root *node
}

func newTree() *tree {
	return &tree{root: &node{typ: tar.TypeDir, mode: 0o755, owner: generated,
		children: map[string]*node{}, aclSet: true}}
}

// path returns the node's path relative to the root ("" for the root).
func (n *node) path() string {
	if n.parent == nil {
		return ""
	}
	if n.parent.parent == nil {
		return n.name
	}
	return n.parent.path() + "/" + n.name
}

// attached reports whether the node is still part of the tree.
func (n *node) attached() bool {
	for ; n.parent != nil; n = n.parent {
		if n.parent.children[n.name] != n {
			return false
		}
	}
	return true
}

// maxSymlinkHops bounds the symlinks followed while resolving one path, as
// Linux's ELOOP threshold does.
const maxSymlinkHops = 40

// EscapeError reports a path that would be written outside the root through
// a symlink whose target climbs above it.
type EscapeError struct {
	Package string // name-version, or "" for a generated file
	Path    string // the path being written
	Link    string // the symlink followed
	Target  string // its target
}

// Error names the path, the symlink and the package.
func (e *EscapeError) Error() string {
	who := "a generated file"
	if e.Package != "" {
		who = "package " + e.Package
	}
	return fmt.Sprintf("%s writes %s through symlink %s -> %s, which leaves the root: "+
		"refusing it", who, e.Path, e.Link, e.Target)
}

// resolveDir returns the directory that dir (a root-relative path) names,
// following symlinks the way the kernel does inside a chroot: an absolute
// target restarts at the root, a relative one at the symlink's directory.
// A target that climbs above the root is an *EscapeError; a missing
// component is created when mkdir is set (generated files) and an error
// otherwise.
func (t *tree) resolveDir(dir string, mkdir bool) (*node, error) {
	cur := t.root
	rest := splitPath(dir)
	hops := 0
	var via, viaTarget string // the last symlink followed, for errors
	for len(rest) > 0 {
		c := rest[0]
		rest = rest[1:]
		switch c {
		case ".", "":
			continue
		case "..":
			if cur.parent == nil {
				return nil, &EscapeError{Path: dir, Link: via, Target: viaTarget}
			}
			cur = cur.parent
			continue
		}
		child := cur.children[c]
		switch {
		case child == nil && mkdir:
			child = &node{name: c, parent: cur, typ: tar.TypeDir, mode: 0o755,
				owner: generated, children: map[string]*node{}, aclSet: true}
			cur.children[c] = child
		case child == nil:
			return nil, fmt.Errorf("resolving %s: %s does not exist", dir, path.Join(cur.path(), c))
		}
		switch child.typ {
		case tar.TypeDir:
			cur = child
		case tar.TypeSymlink:
			if hops++; hops > maxSymlinkHops {
				return nil, fmt.Errorf("resolving %s: more than %d symlinks", dir, maxSymlinkHops)
			}
			via, viaTarget = child.path(), child.link
			if strings.HasPrefix(child.link, "/") {
				cur = t.root
			}
			rest = append(splitPath(child.link), rest...)
		default:
			return nil, fmt.Errorf("resolving %s: %s is not a directory", dir, child.path())
		}
	}
	return cur, nil
}

func splitPath(p string) []string {
	if p == "" {
		return nil
	}
	return strings.Split(strings.Trim(p, "/"), "/")
}

// lookup returns the node at p following symlinks in every component but
// the last, or nil.
func (t *tree) lookup(p string) *node {
	dir, base := path.Split(p)
	d, err := t.resolveDir(dir, false)
	if err != nil {
		return nil
	}
	return d.children[base]
}

// follow returns the node p names, following symlinks in every component,
// or nil.
func (t *tree) follow(p string) *node {
	n := t.lookup(p)
	for hops := 0; n != nil && n.typ == tar.TypeSymlink && hops < maxSymlinkHops; hops++ {
		target := n.link
		if !strings.HasPrefix(target, "/") {
			target = path.Join(n.parent.path(), target)
		}
		n = t.lookup(strings.TrimPrefix(target, "/"))
	}
	return n
}

// addGenerated places a generated file (or symlink) at p, creating missing
// directories. Generated files never replace what a package ships.
func (t *tree) addGenerated(p string, n *node) (*node, error) {
	dir, base := path.Split(p)
	d, err := t.resolveDir(dir, true)
	if err != nil {
		return nil, fmt.Errorf("placing generated %s: %w", p, err)
	}
	if old := d.children[base]; old != nil {
		return nil, fmt.Errorf("placing generated %s: %s already exists", p, old.path())
	}
	n.name, n.parent, n.owner = base, d, generated
	d.children[base] = n
	return n, nil
}
