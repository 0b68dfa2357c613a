package apk

import "strings"

// Package is the metadata of one package, as it appears in .PKGINFO, in an
// index record and in an installed-database record (§1.4, §2.2, §5.2).
//
// The dependency-like lists (Depends, Provides, InstallIf, Replaces) are kept
// as the space-separated text apk writes in index records ("so:libc.so.6
// zlib>=1.3"): an index of 200,000 records then costs one string header per
// list instead of a slice of parsed constraints. Parse them on demand with
// [ParseConstraints] or walk them with [ListFields].
type Package struct {
	Name          string // P, pkgname
	Version       string // V, pkgver
	Arch          string // A, arch
	Size          uint64 // S: size of the .apk file (index, installed database)
	InstalledSize uint64 // I, size
	Description   string // T, pkgdesc
	URL           string // U, url
	License       string // L, license
	Origin        string // o, origin
	Maintainer    string // m, maintainer
	BuildTime     int64  // t, builddate (unix seconds)
	Commit        string // c, commit

	// ProviderPriority is k / provider_priority; apk writes it only when
	// non-zero.
	ProviderPriority uint64

	Depends   string // D, depend (space-separated constraints)
	Provides  string // p, provides
	InstallIf string // i, install_if

	// Checksum is the package identity C: (§1.2): SHA-1 of the control
	// member when the package has a datahash.
	Checksum Checksum

	// Replaces (r), ReplacesPriority (q) and Triggers come from .PKGINFO
	// and the installed database; they are not part of an index record.
	Replaces         string
	ReplacesPriority uint64
	Triggers         string // space-separated directory globs

	// DataHash is the .PKGINFO datahash: lowercase hex SHA-256 of the data
	// member.
	DataHash string

	// NotInstallable is set when an index record carried an unknown
	// upper-case field letter: apk-tools 2.14 keeps such a record but never
	// installs it ("compat_notinstallable", §2.2).
	NotInstallable bool
}

// Filename is the package's file name in a repository: name-version.apk.
func (p *Package) Filename() string { return p.Name + "-" + p.Version + ".apk" }

// NameVersion is "name-version", the way apk prints a package.
func (p *Package) NameVersion() string { return p.Name + "-" + p.Version }

// ListFields splits a space- or newline-separated list (Depends, Provides,
// InstallIf, Replaces, Triggers) into its entries without copying them.
func ListFields(s string) []string {
	return strings.FieldsFunc(s, func(r rune) bool { return r == ' ' || r == '\n' || r == '\t' })
}
