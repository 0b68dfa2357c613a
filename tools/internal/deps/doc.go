// Package deps derives what a package provides and what it needs from the
// files of its tree, the way melange's SCA (chainguard-dev/melange:
// pkg/sca/sca.go) and abuild do when they write .PKGINFO. `apkpack pack`
// uses it, and so can anyone packaging their own binaries.
//
// Three detectors produce names in the namespaces of apk-reference.md §3.1:
//
//   - so: — ELF shared objects in library directories provide
//     so:<SONAME>=<libver>; the DT_NEEDED entries and the program
//     interpreter of every ELF file are needed as unversioned so:<name>.
//   - pc: — pkg-config files in pkgconfig directories provide
//     pc:<stem>=<Version>; their Requires and Requires.private lines are
//     needed as pc:<name>[<op><version>].
//   - cmd: — executables in bin directories provide cmd:<name>=<pkgver>.
//
// Whatever the package ships itself is removed from what it needs, so the
// result can go straight into the `provides` and `depend` lines of .PKGINFO
// (§1.4).
//
// The tree is read through an [os.Root]: symbolic links are resolved as a
// chroot would resolve them (an absolute target starts at the tree's root and
// ".." stops there), so no file outside the tree is ever opened.
package deps
