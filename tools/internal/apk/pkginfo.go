package apk

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// Limits for .PKGINFO text. A real .PKGINFO is a few hundred bytes to a few
// kilobytes: abuild and melange write one constraint per line, so even the
// longest provides list (Alpine's coq, 72 KB as one index line) stays far
// below these.
const (
	// MaxPkgInfoLine is the longest .PKGINFO line ParsePkgInfo accepts.
	MaxPkgInfoLine = 256 << 10
	// DefaultMaxPkgInfoSize is the largest .PKGINFO ParsePkgInfo accepts.
	DefaultMaxPkgInfoSize = 4 << 20
)

// pkgInfoSep separates key and value: exactly " = " (§1.4). apk-tools splits
// each line at its first " = " and ignores lines without one.
const pkgInfoSep = " = "

// ParsePkgInfo reads a .PKGINFO (§1.4) the way apk-tools 2.14 reads it
// (package.c:read_info_line): lines starting with '#' and lines without " = "
// are ignored, unknown keys are ignored, values may be empty, and the list
// keys depend, provides, replaces, install_if and triggers accumulate across
// repeated lines into one space-separated string. A malformed number is an
// error, as it is for apk. Input longer than DefaultMaxPkgInfoSize or with a
// line longer than MaxPkgInfoLine fails with an error wrapping ErrTooLarge.
func ParsePkgInfo(r io.Reader) (Package, error) {
	return parsePkgInfo(r, DefaultMaxPkgInfoSize)
}

func parsePkgInfo(r io.Reader, maxSize int64) (Package, error) {
	var ps pkgInfoParser
	lr := &io.LimitedReader{R: r, N: maxSize + 1}
	sc := bufio.NewScanner(lr)
	sc.Buffer(make([]byte, 0, 4096), MaxPkgInfoLine)
	sc.Split(scanLF)
	for n := 1; sc.Scan(); n++ {
		if err := ps.line(sc.Text()); err != nil {
			return Package{}, fmt.Errorf("parsing .PKGINFO line %d: %w", n, err)
		}
	}
	if err := sc.Err(); err != nil {
		if errors.Is(err, bufio.ErrTooLong) {
			err = fmt.Errorf("line longer than %d bytes %w", MaxPkgInfoLine, ErrTooLarge)
		}
		return Package{}, fmt.Errorf("parsing .PKGINFO: %w", err)
	}
	if lr.N <= 0 {
		return Package{}, fmt.Errorf("parsing .PKGINFO: longer than %d bytes %w",
			maxSize, ErrTooLarge)
	}
	return ps.finish(), nil
}

// pkgInfoParser accumulates a .PKGINFO; lists grow in builders so that
// thousands of depend lines cost linear time.
type pkgInfoParser struct {
	p     Package
	lists [5]strings.Builder // depend, provides, replaces, install_if, triggers
}

var pkgInfoLists = [5]string{"depend", "provides", "replaces", "install_if", "triggers"}

func (ps *pkgInfoParser) finish() Package {
	p := ps.p
	for i, dst := range []*string{&p.Depends, &p.Provides, &p.Replaces, &p.InstallIf, &p.Triggers} {
		*dst = ps.lists[i].String()
	}
	return p
}

// line applies one .PKGINFO line.
func (ps *pkgInfoParser) line(line string) error {
	if line == "" || line[0] == '#' {
		return nil
	}
	key, val, ok := strings.Cut(line, pkgInfoSep)
	if !ok {
		return nil
	}
	if dst := ps.p.pkgInfoString(key); dst != nil {
		*dst = val
		return nil
	}
	for i, k := range pkgInfoLists {
		if k == key {
			appendList(&ps.lists[i], val)
			return nil
		}
	}
	return ps.p.setPkgInfoNumber(key, val)
}

// scanLF splits on '\n' only. bufio.ScanLines would also drop a '\r' before
// it, which apk-tools keeps as part of the value.
func scanLF(data []byte, atEOF bool) (int, []byte, error) {
	if i := bytes.IndexByte(data, '\n'); i >= 0 {
		return i + 1, data[:i], nil
	}
	if atEOF && len(data) > 0 {
		return len(data), data, nil
	}
	return 0, nil, nil
}

// pkgInfoString maps a single-valued text key to its field; a repeated key
// overwrites, as in apk-tools.
func (p *Package) pkgInfoString(key string) *string {
	switch key {
	case "pkgname":
		return &p.Name
	case "pkgver":
		return &p.Version
	case "pkgdesc":
		return &p.Description
	case "url":
		return &p.URL
	case "license":
		return &p.License
	case "arch":
		return &p.Arch
	case "origin":
		return &p.Origin
	case "maintainer":
		return &p.Maintainer
	case "commit":
		return &p.Commit
	case "datahash":
		return &p.DataHash
	}
	return nil
}

func (p *Package) setPkgInfoNumber(key, val string) error {
	var dst *uint64
	switch key {
	case "size":
		dst = &p.InstalledSize
	case "provider_priority":
		dst = &p.ProviderPriority
	case "replaces_priority":
		dst = &p.ReplacesPriority
	case "builddate":
		n, err := strconv.ParseUint(val, 10, 63)
		if err != nil {
			return fmt.Errorf("builddate %q is not a unix time in seconds", val)
		}
		p.BuildTime = int64(n)
		return nil
	default:
		return nil // unknown keys (packager, …) are ignored (§1.4)
	}
	n, err := strconv.ParseUint(val, 10, 64)
	if err != nil {
		return fmt.Errorf("%s %q is not an unsigned integer", key, val)
	}
	*dst = n
	return nil
}

// appendList adds the space-separated entries of val to list, keeping a
// single space between entries whatever the input spacing was. Like
// ListFields, it splits on spaces and tabs only.
func appendList(list *strings.Builder, val string) {
	for _, f := range strings.FieldsFunc(val, func(r rune) bool { return r == ' ' || r == '\t' }) {
		if list.Len() > 0 {
			list.WriteByte(' ')
		}
		list.WriteString(f)
	}
}

// FormatPkgInfo writes p as a .PKGINFO. The output is deterministic and
// follows melange's key order (chainguard-dev/melange:pkg/build/package.go,
// §1.4), so that a package written by apkpack reads like a Wolfi package:
//
//	pkgname pkgver arch size origin pkgdesc url commit [maintainer]
//	[builddate] license depend… provides… replaces… [install_if]
//	[provider_priority] [replaces_priority] [triggers] [datahash]
//
// Lists are written one entry per line, except install_if and triggers,
// which apk reads as one space-separated line. melange has no install_if; it
// goes after the other dependency lists. Unlike melange, triggers has no
// trailing space. Values must not contain a newline (WritePackage checks).
func FormatPkgInfo(p *Package) []byte {
	var b bytes.Buffer
	b.WriteString("# Generated by apkpack\n")
	kv := func(k, v string) { b.WriteString(k + pkgInfoSep + v + "\n") }
	kv("pkgname", p.Name)
	kv("pkgver", p.Version)
	kv("arch", p.Arch)
	kv("size", strconv.FormatUint(p.InstalledSize, 10))
	kv("origin", p.Origin)
	kv("pkgdesc", p.Description)
	kv("url", p.URL)
	kv("commit", p.Commit)
	if p.Maintainer != "" {
		kv("maintainer", p.Maintainer)
	}
	if p.BuildTime != 0 {
		kv("builddate", strconv.FormatInt(p.BuildTime, 10))
	}
	kv("license", p.License)
	for _, list := range []struct{ key, val string }{
		{"depend", p.Depends}, {"provides", p.Provides}, {"replaces", p.Replaces},
	} {
		for _, f := range ListFields(list.val) {
			kv(list.key, f)
		}
	}
	writeOptional(kv, p)
	return b.Bytes()
}

// writeOptional writes the keys melange omits when they are unset.
func writeOptional(kv func(k, v string), p *Package) {
	if p.InstallIf != "" {
		kv("install_if", strings.Join(ListFields(p.InstallIf), " "))
	}
	if p.ProviderPriority != 0 {
		kv("provider_priority", strconv.FormatUint(p.ProviderPriority, 10))
	}
	if p.ReplacesPriority != 0 {
		kv("replaces_priority", strconv.FormatUint(p.ReplacesPriority, 10))
	}
	if p.Triggers != "" {
		kv("triggers", strings.Join(ListFields(p.Triggers), " "))
	}
	if p.DataHash != "" {
		kv("datahash", p.DataHash)
	}
}

// checkPkgInfoValues rejects values FormatPkgInfo cannot write faithfully: a
// newline would end the line early and inject keys, and a negative
// builddate is not a unix time apk accepts.
func checkPkgInfoValues(p *Package) error {
	for _, kv := range [][2]string{
		{"pkgname", p.Name}, {"pkgver", p.Version}, {"arch", p.Arch},
		{"origin", p.Origin}, {"pkgdesc", p.Description}, {"url", p.URL},
		{"commit", p.Commit}, {"maintainer", p.Maintainer}, {"license", p.License},
		{"depend", p.Depends}, {"provides", p.Provides}, {"replaces", p.Replaces},
		{"install_if", p.InstallIf}, {"triggers", p.Triggers}, {"datahash", p.DataHash},
	} {
		if strings.ContainsAny(kv[1], "\n\r") {
			return fmt.Errorf(".PKGINFO %s %q contains a line break", kv[0], kv[1])
		}
	}
	if p.BuildTime < 0 {
		return fmt.Errorf(".PKGINFO builddate %d is negative", p.BuildTime)
	}
	return nil
}
