package apk

import (
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// InstalledDBPaths are the places, relative to the root of an image or
// sysroot, where the installed database can live (§5.1). apk-tools always
// uses lib/apk/db/installed; on usr-merged Wolfi, lib is a symlink to usr/lib,
// and apko writes usr/lib/apk/db/installed directly. A reader must check
// both, in this order; in a layer tar "lib" may be a symlink rather than a
// directory, so look for both names.
var InstalledDBPaths = []string{"lib/apk/db/installed", "usr/lib/apk/db/installed"}

// MaxInstalledDBSize bounds the input ReadInstalled accepts. A large image
// (100 packages, 50,000 files) has a database of a few megabytes; the bound
// only keeps hostile input from exhausting memory.
const MaxInstalledDBSize = 256 << 20

// InstalledDB is the installed database, lib/apk/db/installed (§5.2): one
// record per installed package, in file order.
type InstalledDB struct {
	Packages []InstalledPackage
}

// InstalledPackage is one record of the installed database: the package's
// index fields (§2.2), the installed-only fields r, q, s, f, and the package's
// directories and files.
type InstalledPackage struct {
	// Package holds the index header fields and r (Replaces) and q
	// (ReplacesPriority). apko's "i:[]" reads as an empty InstallIf and its
	// "k:0" as ProviderPriority 0 (§5.2). Triggers and DataHash are not
	// part of a record: a package's globs live in the triggers file
	// (ReadInstalledTriggers).
	Package

	// Tag is s:, the repository tag the package was installed from
	// ("edge" for "@edge"); empty for an untagged repository.
	Tag string

	// Flags is f: as written, one letter per flag (§5.2): f (broken files),
	// s (broken script), x (broken xattrs), S (sha256-160 file checksums).
	Flags string

	// Dirs are the package's own directories (F:) in file order, each with
	// its files. Directories shared by several packages appear in each.
	Dirs []InstalledDir

	// Unknown holds the lines with a lower-case letter this reader does not
	// know, in file order. They are tolerated as §8 item 4 asks, but
	// WriteInstalled does not write them back: apk-tools 2.14 refuses an
	// installed database with unknown letters ("This apk-tools is too old to
	// handle installed packages", database.c:apk_db_fdb_read).
	Unknown []InstalledField
}

// InstalledField is one "X:value" line of an installed-database record.
type InstalledField struct {
	Letter byte
	Value  string
}

// InstalledDir is one F: line (a directory relative to the root, without
// leading or trailing slash; "" is the root itself) with its M: ACL and the
// R: files that follow it.
type InstalledDir struct {
	Path  string
	ACL   ACL
	Files []InstalledFile
}

// InstalledFile is one R: line (a base name inside its directory) with its
// a: ACL and its Z: checksum: the SHA-1 of the content, of the link target
// for a symlink, or of the target's content for a hardlink (§1.5). Checksum
// is zero when the record has no Z: line.
type InstalledFile struct {
	Name     string
	ACL      ACL
	Checksum Checksum
}

// ACL is the owner, mode and extended-attribute digest of a directory (M:) or
// file (a:), written "uid:gid:mode[:xattr-checksum]" with an octal mode
// (§5.2).
//
// An omitted line means the default: 0:0:755 for a directory, 0:0:644 for a
// file. ReadInstalled fills the default in, so ACL always holds the effective
// values, and WriteInstalled omits exactly the defaults, as apk-tools does.
// Symlinks have no default of their own: apk writes their 0:0:777.
type ACL struct {
	UID, GID uint32
	// Mode is the permission bits including setuid, setgid and sticky
	// (0o1777 for /tmp); apk keeps mode & 07777.
	Mode uint32
	// Xattrs is the checksum of the file's extended attributes; zero when it
	// has none.
	Xattrs Checksum
}

var (
	defaultDirACL  = ACL{Mode: 0o755}
	defaultFileACL = ACL{Mode: 0o644}
)

// InstalledSyntaxError reports a malformed installed database: the line, the
// package of the record (when its P: line could be read) and what is wrong.
type InstalledSyntaxError struct {
	Line    int    // 1-based line number
	Package string // P: of the record; empty when unknown
	Err     error
}

// Error formats the error as "installed database line N (package P): …".
func (e *InstalledSyntaxError) Error() string {
	if e.Package == "" {
		return fmt.Sprintf("installed database line %d: %v", e.Line, e.Err)
	}
	return fmt.Sprintf("installed database line %d (package %s): %v", e.Line, e.Package, e.Err)
}

// Unwrap returns the underlying error.
func (e *InstalledSyntaxError) Unwrap() error { return e.Err }

// ReadInstalled parses an installed database written by apk-tools or by apko.
//
// Records are separated by blank lines (apk-tools treats any line shorter than
// two bytes as the end of a record, and so does this reader); a missing final
// blank line is fine. Header lines may come in any order and anywhere in the
// record, values may be empty, and lines may be of any length up to
// MaxInstalledDBSize. apko's dialect reads as apk's: "i:[]" is an empty
// install_if, "k:0" a zero priority, and "%04o" modes are plain octal (§5.2).
// Records, directories and files keep their file order.
func ReadInstalled(r io.Reader) (*InstalledDB, error) {
	text, err := idbReadAll(r, MaxInstalledDBSize, "installed database")
	if err != nil {
		return nil, err
	}
	db := &InstalledDB{}
	var rec []idbLine
	flush := func() error {
		if len(rec) == 0 {
			return nil
		}
		p, err := parseInstalledRecord(rec)
		if err != nil {
			return err
		}
		db.Packages = append(db.Packages, p)
		rec = rec[:0]
		return nil
	}
	for no := 1; len(text) > 0; no++ {
		var line string
		line, text, _ = strings.Cut(text, "\n")
		if len(line) >= 2 {
			rec = append(rec, idbLine{no: no, text: line})
			continue
		}
		if err := flush(); err != nil {
			return nil, err
		}
	}
	if err := flush(); err != nil {
		return nil, err
	}
	return db, nil
}

// idbReadAll reads all of r into a string, failing with ErrTooLarge past
// limit bytes.
func idbReadAll(r io.Reader, limit int64, what string) (string, error) {
	b, err := io.ReadAll(io.LimitReader(r, limit+1))
	if err != nil {
		return "", fmt.Errorf("reading %s: %w", what, err)
	}
	if int64(len(b)) > limit {
		return "", fmt.Errorf("reading %s: larger than %d bytes: %w", what, limit, ErrTooLarge)
	}
	return string(b), nil
}

// idbLine is one non-blank line of a record and its 1-based line number.
type idbLine struct {
	no   int
	text string
}

// idbRecord is the parsing state of one record: the current directory and
// whether it has a current file (the target of a: and Z:).
type idbRecord struct {
	p       InstalledPackage
	hasFile bool
}

func parseInstalledRecord(lines []idbLine) (InstalledPackage, error) {
	// Name the record in errors even when P: comes late (apko writes it
	// first, apk-tools second, after C:).
	var name string
	for _, l := range lines {
		if strings.HasPrefix(l.text, "P:") {
			name = l.text[2:]
		}
	}
	var rec idbRecord
	for _, l := range lines {
		if err := rec.parseLine(l.text); err != nil {
			return InstalledPackage{}, &InstalledSyntaxError{Line: l.no, Package: name, Err: err}
		}
	}
	if err := rec.p.checkRequired(); err != nil {
		return InstalledPackage{}, &InstalledSyntaxError{Line: lines[0].no, Package: name, Err: err}
	}
	return rec.p, nil
}

func (rec *idbRecord) parseLine(line string) error {
	letter, value := line[0], line[2:]
	if line[1] != ':' || !isASCIILetter(letter) {
		return fmt.Errorf("%q is not a field line (a letter, ':', the value)", idbTruncate(line))
	}
	p := &rec.p
	if handled, err := p.setHeaderField(letter, value); handled {
		return err
	}
	switch letter {
	case 'F', 'M', 'R', 'a', 'Z':
		return rec.parseFileLine(letter, value)
	}
	if letter >= 'a' && letter <= 'z' {
		p.Unknown = append(p.Unknown, InstalledField{Letter: letter, Value: value})
		return nil
	}
	return fmt.Errorf("unknown field %c: (apk-tools 2.14 rejects unknown upper-case letters)",
		letter)
}

func isASCIILetter(c byte) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }

// idbTruncate shortens a line quoted in an error message.
func idbTruncate(s string) string {
	if len(s) > 60 {
		return s[:60] + "…"
	}
	return s
}

// setHeaderField stores a header line; handled is false for the file-list
// letters and unknown letters.
func (p *InstalledPackage) setHeaderField(letter byte, value string) (handled bool, err error) {
	if s := p.stringField(letter); s != nil {
		*s = value
		return true, nil
	}
	if s := p.listField(letter); s != nil {
		if letter == 'i' && value == "[]" {
			// apko prints an empty Go slice as "[]" (§5.2); apk-tools would
			// read it as a dependency on a package named "[]", which is
			// never satisfied, so the two readings agree: nothing.
			value = ""
		}
		*s = idbJoinList(*s, value)
		return true, nil
	}
	if n := p.uintField(letter); n != nil {
		v, err := idbParseUint(value)
		*n = v
		return true, err
	}
	switch letter {
	case 'C':
		c, err := ParseChecksum(value)
		p.Checksum = c
		return true, err
	case 't':
		v, err := idbParseUint(value)
		if err == nil && v > 1<<63-1 {
			err = fmt.Errorf("build time %s is out of range", value)
		}
		p.BuildTime = int64(v)
		return true, err
	}
	return false, nil
}

// idbJoinList appends a repeated list line to what came before, as apk's
// apk_blob_pull_deps appends to the array.
func idbJoinList(prev, value string) string {
	switch {
	case prev == "":
		return value
	case value == "":
		return prev
	}
	return prev + " " + value
}

func idbParseUint(s string) (uint64, error) {
	if s == "" {
		return 0, nil // apk reads an empty number as 0
	}
	v, err := strconv.ParseUint(s, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("%q is not a decimal number", idbTruncate(s))
	}
	return v, nil
}

func (p *InstalledPackage) stringField(letter byte) *string {
	switch letter {
	case 'P':
		return &p.Name
	case 'V':
		return &p.Version
	case 'A':
		return &p.Arch
	case 'T':
		return &p.Description
	case 'U':
		return &p.URL
	case 'L':
		return &p.License
	case 'o':
		return &p.Origin
	case 'm':
		return &p.Maintainer
	case 'c':
		return &p.Commit
	case 's':
		return &p.Tag
	case 'f':
		return &p.Flags
	}
	return nil
}

func (p *InstalledPackage) listField(letter byte) *string {
	switch letter {
	case 'D':
		return &p.Depends
	case 'p':
		return &p.Provides
	case 'i':
		return &p.InstallIf
	case 'r':
		return &p.Replaces
	}
	return nil
}

func (p *InstalledPackage) uintField(letter byte) *uint64 {
	switch letter {
	case 'S':
		return &p.Size
	case 'I':
		return &p.InstalledSize
	case 'k':
		return &p.ProviderPriority
	case 'q':
		return &p.ReplacesPriority
	}
	return nil
}

// parseFileLine handles F, M, R, a and Z, which refer to the directory and
// file lines before them, as in database.c:apk_db_fdb_read.
func (rec *idbRecord) parseFileLine(letter byte, value string) error {
	p := &rec.p
	if letter == 'F' {
		p.Dirs = append(p.Dirs, InstalledDir{Path: value, ACL: defaultDirACL})
		rec.hasFile = false
		return nil
	}
	if len(p.Dirs) == 0 {
		return fmt.Errorf("%c: line before any F: line", letter)
	}
	dir := &p.Dirs[len(p.Dirs)-1]
	switch letter {
	case 'M':
		acl, err := ParseACL(value)
		dir.ACL = acl
		return err
	case 'R':
		if value == "" {
			return errors.New("empty file name in R: line")
		}
		dir.Files = append(dir.Files, InstalledFile{Name: value, ACL: defaultFileACL})
		rec.hasFile = true
		return nil
	}
	if !rec.hasFile {
		return fmt.Errorf("%c: line before any R: line in directory %q", letter, dir.Path)
	}
	file := &dir.Files[len(dir.Files)-1]
	var err error
	if letter == 'a' {
		file.ACL, err = ParseACL(value)
	} else {
		file.Checksum, err = ParseChecksum(value)
	}
	return err
}

func (p *InstalledPackage) checkRequired() error {
	switch {
	case p.Name == "":
		return errors.New("record has no P: (package name)")
	case p.Version == "":
		return errors.New("record has no V: (version)")
	case p.Checksum.IsZero():
		return errors.New("record has no C: (package checksum)")
	}
	return nil
}

// ParseACL parses "uid:gid:mode[:xattr-checksum]" with a decimal uid and gid
// and an octal mode, with or without leading zeros (apk writes "755", apko
// "0755"; §5.2).
func ParseACL(s string) (ACL, error) {
	parts := strings.Split(s, ":")
	if len(parts) != 3 && len(parts) != 4 {
		return ACL{}, fmt.Errorf("ACL %q is not uid:gid:mode[:xattr-checksum]", idbTruncate(s))
	}
	uid, err1 := strconv.ParseUint(parts[0], 10, 32)
	gid, err2 := strconv.ParseUint(parts[1], 10, 32)
	mode, err3 := strconv.ParseUint(parts[2], 8, 32)
	if err := errors.Join(err1, err2, err3); err != nil {
		return ACL{}, fmt.Errorf("parsing ACL %q: uid and gid must be decimal, mode octal", s)
	}
	if mode > 0o7777 {
		return ACL{}, fmt.Errorf("parsing ACL %q: mode %o has bits beyond 07777", s, mode)
	}
	acl := ACL{UID: uint32(uid), GID: uint32(gid), Mode: uint32(mode)}
	if len(parts) == 4 {
		if acl.Xattrs, err1 = ParseChecksum(parts[3]); err1 != nil {
			return ACL{}, fmt.Errorf("parsing ACL xattr checksum: %w", err1)
		}
	}
	return acl, nil
}

// String formats the ACL as apk-tools does: decimal uid and gid, octal mode
// without leading zeros, and the xattr checksum when there is one.
func (a ACL) String() string {
	s := strconv.FormatUint(uint64(a.UID), 10) + ":" + strconv.FormatUint(uint64(a.GID), 10) +
		":" + strconv.FormatUint(uint64(a.Mode), 8)
	if !a.Xattrs.IsZero() {
		s += ":" + a.Xattrs.String()
	}
	return s
}
