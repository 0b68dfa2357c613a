package apk

import (
	"bufio"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
)

// idbHeaderOrder is the order apk-tools 2.14 writes a record's header lines
// in: the index header of package.c:apk_pkg_write_index_header, then the
// installed-only lines of database.c:apk_db_fdb_write (§5.2).
const idbHeaderOrder = "CPVASITULomtckDpirqsf"

// idbAlwaysWritten are the letters apk writes even when empty or zero; the
// others are omitted then (apk writes A: whenever the arch is known, which is
// always when it is non-empty).
const idbAlwaysWritten = "CPVSITUL"

// WriteInstalled writes db in apk-tools 2.14's format (§5.2), keeping the
// order of records, directories and files it is given (call SortByName first
// for a database apk-tools 2.14 would write). Per record: the header lines in
// the order C P V A S I T U L o m t c k D p i r q s f (C P V S I T U L always,
// the others only when non-empty and non-zero), each directory (F:, then M:
// unless 0:0:755), and each file (R:, a: unless 0:0:644, Z: when set), then a
// blank line. Unknown lines are not written (see InstalledPackage.Unknown).
//
// An apk-tools-written database read with ReadInstalled comes back byte for
// byte.
func WriteInstalled(w io.Writer, db *InstalledDB) error {
	bw := bufio.NewWriter(w)
	for i := range db.Packages {
		p := &db.Packages[i]
		if err := p.write(bw); err != nil {
			return fmt.Errorf("writing installed database record %d (%s): %w", i+1, p.Name, err)
		}
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("writing installed database: %w", err)
	}
	return nil
}

func (p *InstalledPackage) write(bw *bufio.Writer) error {
	if err := p.checkRequired(); err != nil {
		return err
	}
	for _, letter := range []byte(idbHeaderOrder) {
		value, set := p.headerField(letter)
		if set || strings.IndexByte(idbAlwaysWritten, letter) >= 0 {
			if err := idbWriteLine(bw, letter, value); err != nil {
				return err
			}
		}
	}
	for _, d := range p.Dirs {
		if err := d.write(bw); err != nil {
			return err
		}
	}
	return bw.WriteByte('\n')
}

// headerField formats a header field; set reports a non-empty, non-zero
// value.
func (p *InstalledPackage) headerField(letter byte) (value string, set bool) {
	if s := p.stringField(letter); s != nil {
		return *s, *s != ""
	}
	if s := p.listField(letter); s != nil {
		return *s, *s != ""
	}
	if n := p.uintField(letter); n != nil {
		return strconv.FormatUint(*n, 10), *n != 0
	}
	switch letter {
	case 'C':
		return p.Checksum.String(), true
	case 't':
		return strconv.FormatInt(p.BuildTime, 10), p.BuildTime != 0
	}
	return "", false
}

func (d *InstalledDir) write(bw *bufio.Writer) error {
	if err := idbWriteLine(bw, 'F', d.Path); err != nil {
		return err
	}
	if d.ACL != defaultDirACL {
		if err := idbWriteLine(bw, 'M', d.ACL.String()); err != nil {
			return err
		}
	}
	for _, f := range d.Files {
		if f.Name == "" {
			return fmt.Errorf("directory %q has a file with an empty name", d.Path)
		}
		if err := idbWriteLine(bw, 'R', f.Name); err != nil {
			return err
		}
		if f.ACL != defaultFileACL {
			if err := idbWriteLine(bw, 'a', f.ACL.String()); err != nil {
				return err
			}
		}
		if !f.Checksum.IsZero() {
			if err := idbWriteLine(bw, 'Z', f.Checksum.String()); err != nil {
				return err
			}
		}
	}
	return nil
}

// idbWriteLine writes "X:value\n", refusing values that would break the
// line structure.
func idbWriteLine(bw *bufio.Writer, letter byte, value string) error {
	if strings.IndexByte(value, '\n') >= 0 {
		return fmt.Errorf("field %c: value %q contains a newline", letter, idbTruncate(value))
	}
	bw.WriteByte(letter)
	bw.WriteByte(':')
	bw.WriteString(value)
	return bw.WriteByte('\n')
}

// SortByName orders the records by package name the way apk-tools 2.14 writes
// them (§5.2): case-insensitively first, then bytewise
// (apk_name_cmp_display). apk breaks ties by version; an installed database
// holds one package per name, so ties keep their order here.
func (db *InstalledDB) SortByName() {
	slices.SortStableFunc(db.Packages, func(a, b InstalledPackage) int {
		return idbCompareName(a.Name, b.Name)
	})
}

// idbCompareName is apk's display order of names: strcasecmp, then
// strcmp.
func idbCompareName(a, b string) int {
	if c := idbCompareFold(a, b); c != 0 {
		return c
	}
	return strings.Compare(a, b)
}

// idbCompareFold compares like C's strcasecmp in the C locale: ASCII
// letters folded to lower case, other bytes as they are.
func idbCompareFold(a, b string) int {
	for i := 0; i < len(a) && i < len(b); i++ {
		ca, cb := idbLower(a[i]), idbLower(b[i])
		if ca != cb {
			return int(ca) - int(cb)
		}
	}
	return len(a) - len(b)
}

func idbLower(c byte) byte {
	if c >= 'A' && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}
