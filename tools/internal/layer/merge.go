package layer

import (
	"archive/tar"
	"errors"
	"fmt"
	"path"
	"strings"

	"github.com/rules-apk/rules_apk/tools/internal/apk"
)

// installed is one package being merged: what it ships, and what the
// installed database will list for it.
type installed struct {
	pos  int // install position
	data *pkgData
	info *apk.Package
	// dirs and files are the package's entries as shipped (the paths the
	// installed database records), with the nodes they became.
	dirs  []shippedDir
	files []shippedFile
}

type shippedDir struct {
	path string
	acl  apk.ACL
}

type shippedFile struct {
	path string
	node *node
	acl  apk.ACL
	sum  apk.Checksum
}

// ConflictError reports two packages shipping the same path without the
// same origin or a replaces between them (§1.5, apk-tools 2.14
// database.c:apk_db_install_archive_entry).
type ConflictError struct {
	Path     string // the path in the root, after symlinks
	Package  string // name-version of the package being installed
	Shipped  string // the path as that package ships it
	Owner    string // name-version of the package that installed Path first
	Reason   string
	Original string // the path as Owner ships it, when known
}

// Error names both packages and the path, and the remedy.
func (e *ConflictError) Error() string {
	s := fmt.Sprintf("package %s ships %s", e.Package, e.Shipped)
	if e.Shipped != e.Path {
		s += " (" + e.Path + " in the root)"
	}
	s += fmt.Sprintf(", which %s already installed", e.Owner)
	if e.Reason != "" {
		s += ": " + e.Reason
	}
	return s + "; the packages conflict: drop one of them from the world, or have one " +
		"declare replaces on the other"
}

// DeviceError reports a device node in a package. Layers hold no device
// nodes: the container runtime provides /dev.
type DeviceError struct {
	Package string
	Path    string
}

// Error names the package and the entry.
func (e *DeviceError) Error() string {
	return fmt.Sprintf("package %s ships device node %s: layers hold no device nodes (the "+
		"container runtime provides /dev); refusing the package", e.Package, e.Path)
}

// DuplicateError reports a package that ships one path twice: the same
// name twice (which apk.ReadPackage refuses first), or two names that lead
// to one path in the root through symlinks (lib/x and usr/lib/x where lib
// -> usr/lib). apk-tools would let the last entry win; a layer refuses it,
// so that a package cannot replace a file it shipped with something else.
type DuplicateError struct {
	Package       string // name-version
	Path          string // the path in the root, after symlinks
	First, Second string // the paths as the package ships them, in order
}

// Error names the package, both entries and the remedy.
func (e *DuplicateError) Error() string {
	s := fmt.Sprintf("package %s ships %s twice", e.Package, e.Path)
	if e.First != e.Path || e.Second != e.Path {
		s += fmt.Sprintf(" (as %s and then as %s)", e.First, e.Second)
	}
	return s + ": a package must ship each path once; refusing the package (rebuild it " +
		"without the duplicate entry)"
}

// merger applies packages to the tree in install order.
type merger struct {
	t    *tree
	pkgs []*installed // by install position
}

// apply merges the entries of one package into the tree.
func (m *merger) apply(ip *installed) error {
	// Regular files already placed by this package, by shipped path, for
	// its hard links (which apk requires to target the same package).
	own := map[string]int{}
	for i := range ip.data.entries {
		e := &ip.data.entries[i]
		if err := m.applyEntry(ip, i, e, own); err != nil {
			return err
		}
	}
	return nil
}

func (m *merger) applyEntry(ip *installed, i int, e *entry, own map[string]int) error {
	nv := ip.info.NameVersion()
	dir, base := path.Split(e.path)
	if e.typ != tar.TypeDir && strings.HasPrefix(base, ".keep_") {
		return nil // apk does not install .keep_* files (§1.5)
	}
	if e.typ == tar.TypeChar || e.typ == tar.TypeBlock {
		return &DeviceError{Package: nv, Path: e.path}
	}
	parent, err := m.t.resolveDir(dir, false)
	if err != nil {
		var esc *EscapeError
		if errors.As(err, &esc) {
			esc.Package, esc.Path = nv, e.path
			return esc
		}
		return fmt.Errorf("installing %s from %s: %w", e.path, nv, err)
	}
	if e.typ == tar.TypeDir {
		return m.applyDir(ip, parent, base, e)
	}
	if e.typ == tar.TypeReg {
		own[e.path] = i
	}
	n := m.newNode(ip, i, e, own)
	if n == nil {
		return fmt.Errorf("installing %s from %s: hard link target %s is not a file of the "+
			"package", e.path, nv, e.link)
	}
	placed, err := m.place(ip, parent, base, e, n)
	if err != nil || !placed {
		return err
	}
	ip.files = append(ip.files, shippedFile{path: e.path, node: n,
		acl: aclOf(n.mode, n.uid, n.gid, n.xattrs), sum: n.sum})
	return nil
}

// newNode makes the node of a non-directory entry. A hard link becomes a
// regular file with its target's content and attributes (one inode), keyed
// like the target so that pass 2 writes it as a tar hard link.
func (m *merger) newNode(ip *installed, i int, e *entry, own map[string]int) *node {
	n := &node{typ: e.typ, mode: e.mode, uid: e.uid, gid: e.gid, link: e.link,
		xattrs: e.xattrs, size: e.size, sum: e.sum, content: e.content,
		key: contentKey{ip.pos, i}, owner: ip.pos}
	if e.typ != tar.TypeLink {
		return n
	}
	ti, ok := own[e.link]
	if !ok {
		return nil
	}
	t := &ip.data.entries[ti]
	return &node{typ: tar.TypeReg, mode: t.mode, uid: t.uid, gid: t.gid, xattrs: t.xattrs,
		size: t.size, sum: t.sum, content: t.content, key: contentKey{ip.pos, ti},
		owner: ip.pos}
}

// place puts n at parent/base, applying apk's overwrite rules against what
// is there. It reports false when an earlier package keeps the path
// (it replaces the new one).
func (m *merger) place(ip *installed, parent *node, base string, e *entry, n *node) (bool, error) {
	old := parent.children[base]
	if old != nil {
		keep, err := m.overwrite(ip, old, e)
		if err != nil || keep {
			return false, err
		}
	}
	n.name, n.parent = base, parent
	parent.children[base] = n
	return true, nil
}

// overwrite decides whether ip may replace old. keep reports that old stays
// (the package that installed it replaces ip with a higher priority).
func (m *merger) overwrite(ip *installed, old *node, e *entry) (keep bool, err error) {
	conflict := &ConflictError{Path: old.path(), Package: ip.info.NameVersion(), Shipped: e.path}
	if old.typ == tar.TypeDir {
		if e.typ == tar.TypeSymlink && len(old.children) == 0 {
			return false, nil // an empty directory becomes a symlink
		}
		conflict.Owner = m.dirOwners(old)
		conflict.Reason = "it is a directory there, and a directory is not replaced by a file"
		return false, conflict
	}
	if old.owner == generated {
		return false, fmt.Errorf("installing %s: %s is generated", e.path, old.path())
	}
	if old.owner == ip.pos {
		dup := &DuplicateError{Package: ip.info.NameVersion(), Path: old.path(),
			First: old.path(), Second: e.path}
		for _, f := range ip.files {
			if f.node == old {
				dup.First = f.path
			}
		}
		return false, dup
	}
	op := m.pkgs[old.owner]
	conflict.Owner = op.info.NameVersion()
	switch replacesFile(op.info, ip.info) {
	case replaceYes:
		return false, nil
	case replaceNo:
		return true, nil
	}
	return false, conflict
}

func (m *merger) dirOwners(n *node) string {
	if len(n.shippers) == 0 {
		return "a generated directory"
	}
	names := make([]string, len(n.shippers))
	for i, s := range n.shippers {
		names[i] = m.pkgs[s].info.NameVersion()
	}
	return strings.Join(names, ", ")
}

type replaceDecision int

const (
	replaceConflict replaceDecision = iota
	replaceYes
	replaceNo
)

// replacesFile is apk-tools 2.14's decision when package b ships a file
// package a installed (database.c:apk_db_install_archive_entry): the same
// name or the same origin overwrite; otherwise a replaces of a on b with a
// higher priority keeps a's file, a replaces of b on a overwrites, and
// neither is a conflict.
func replacesFile(a, b *apk.Package) replaceDecision {
	if a.Name == b.Name || (b.Origin != "" && a.Origin == b.Origin) {
		return replaceYes
	}
	aPrio, bPrio := -1, -1
	if replaces(a, b) {
		aPrio = int(a.ReplacesPriority)
	}
	if replaces(b, a) {
		bPrio = int(b.ReplacesPriority)
	}
	switch {
	case aPrio > bPrio:
		return replaceNo
	case bPrio >= 0:
		return replaceYes
	}
	return replaceConflict
}

// replaces reports whether a's replaces list names b (its own name, with a
// matching version if one is given: apk_dep_is_materialized).
func replaces(a, b *apk.Package) bool {
	for _, f := range apk.ListFields(a.Replaces) {
		c, err := apk.ParseConstraint(f)
		if err == nil && !c.Conflict && c.Name == b.Name && c.SatisfiedBy(b) {
			return true
		}
	}
	return false
}

// applyDir merges a directory entry. A directory the root already has (or
// a symlink to one: lib -> usr/lib on usr-merged Wolfi) is shared; its
// owner and mode follow apk-tools 2.14 (apk_db_dir_apply_diri_permissions):
// the lowest uid:gid wins with its mode, and equal owners AND their modes,
// whatever the install order.
func (m *merger) applyDir(ip *installed, parent *node, base string, e *entry) error {
	ip.dirs = append(ip.dirs, shippedDir{path: e.path, acl: aclOf(e.mode, e.uid, e.gid, e.xattrs)})
	n := parent.children[base]
	switch {
	case n == nil:
		n = &node{name: base, parent: parent, typ: tar.TypeDir, children: map[string]*node{},
			owner: generated}
		parent.children[base] = n
	case n.typ == tar.TypeSymlink:
		if _, err := m.t.resolveDir(e.path, false); err != nil {
			var esc *EscapeError
			if errors.As(err, &esc) {
				esc.Package, esc.Path = ip.info.NameVersion(), e.path
				return esc
			}
			return &ConflictError{Path: n.path(), Package: ip.info.NameVersion(),
				Shipped: e.path, Owner: m.ownerName(n),
				Reason: "it is a symlink there that does not lead to a directory"}
		}
		return nil // the directory behind the symlink keeps its attributes
	case n.typ != tar.TypeDir:
		return &ConflictError{Path: n.path(), Package: ip.info.NameVersion(),
			Shipped: e.path, Owner: m.ownerName(n),
			Reason: "it is a file there, and a file is not replaced by a directory"}
	}
	n.shippers = append(n.shippers, ip.pos)
	switch {
	case !n.aclSet || e.uid < n.uid || (e.uid == n.uid && e.gid < n.gid):
		n.mode, n.uid, n.gid, n.xattrs, n.aclSet = e.mode, e.uid, e.gid, e.xattrs, true
	case e.uid == n.uid && e.gid == n.gid:
		n.mode &= e.mode
	}
	return nil
}

func (m *merger) ownerName(n *node) string {
	if n.owner == generated {
		return "a generated file"
	}
	return m.pkgs[n.owner].info.NameVersion()
}

// aclOf makes the installed-database ACL of an entry (§5.2): owner, mode
// and the digest of its extended attributes.
func aclOf(mode int64, uid, gid int, xs []xattr) apk.ACL {
	return apk.ACL{UID: uint32(uid), GID: uint32(gid), Mode: uint32(mode & 0o7777),
		Xattrs: xattrDigest(xs)}
}
