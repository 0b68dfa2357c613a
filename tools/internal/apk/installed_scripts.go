package apk

import (
	"archive/tar"
	"bufio"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Size limits of the installed database's companion files (§5.3). Real ones
// are a few kilobytes; the limits only keep hostile input from exhausting
// memory.
const (
	MaxScriptsTarSize = 256 << 20 // lib/apk/db/scripts.tar
	MaxTriggersSize   = 16 << 20  // lib/apk/db/triggers
	MaxWorldSize      = 16 << 20  // etc/apk/world
)

// installedScriptTypes are the script types apk-tools 2.14 knows, in the
// order it writes a package's scripts (package.c:apk_script_types).
var installedScriptTypes = []string{
	"pre-install", "post-install", "pre-deinstall", "post-deinstall",
	"pre-upgrade", "post-upgrade", "trigger",
}

// InstalledScript is one entry of lib/apk/db/scripts.tar (§5.3): a script of
// an installed package, stored as "<name>-<version>.<checksum>.<type>", e.g.
// "busybox-1.35.0-r17.Q1Meo+LHGPSi3uY9gIouEVb9z8Fbo=.trigger".
type InstalledScript struct {
	Name     string   // package name
	Version  string   // package version
	Checksum Checksum // the package's C:, which apk uses to find the package
	// Type is the script type without its dot: "pre-install",
	// "post-install", "pre-deinstall", "post-deinstall", "pre-upgrade",
	// "post-upgrade" or "trigger". Other types are kept as read; apk-tools
	// ignores them.
	Type string
	Data []byte // the script itself, run as <root>/lib/apk/exec/<name>-<ver>.<type>
	// ModTime is the tar entry's time. apk-tools writes the time of writing
	// (or SOURCE_DATE_EPOCH); a reproducible writer sets a fixed one. The
	// zero Time is written as the Unix epoch.
	ModTime time.Time
}

// EntryName is the tar entry name of the script.
func (s *InstalledScript) EntryName() string {
	return s.Name + "-" + s.Version + "." + s.Checksum.String() + "." + s.Type
}

// ReadInstalledScripts reads scripts.tar, keeping the entries in archive
// order. Every entry must be a regular file named
// "<name>-<version>.<checksum>.<type>".
func ReadInstalledScripts(r io.Reader) ([]InstalledScript, error) {
	tr := tar.NewReader(&idbLimitReader{r: r, n: MaxScriptsTarSize, what: "scripts.tar"})
	var scripts []InstalledScript
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return scripts, nil
		}
		if err != nil {
			return nil, fmt.Errorf("reading scripts.tar: %w", err)
		}
		s, err := readInstalledScript(tr, hdr)
		if err != nil {
			return nil, fmt.Errorf("reading scripts.tar entry %q: %w", hdr.Name, err)
		}
		scripts = append(scripts, s)
	}
}

func readInstalledScript(tr *tar.Reader, hdr *tar.Header) (InstalledScript, error) {
	// '\x00' is the pre-POSIX regular-file flag.
	if hdr.Typeflag != tar.TypeReg && hdr.Typeflag != '\x00' {
		return InstalledScript{}, fmt.Errorf("type %q is not a regular file", hdr.Typeflag)
	}
	s, err := ParseInstalledScriptName(hdr.Name)
	if err != nil {
		return InstalledScript{}, err
	}
	if err := s.check(); err != nil {
		return InstalledScript{}, err
	}
	if s.Data, err = io.ReadAll(tr); err != nil {
		return InstalledScript{}, err
	}
	// Whole seconds, as apk's headers hold them; a PAX time may carry more.
	s.ModTime = time.Unix(hdr.ModTime.Unix(), 0)
	return s, nil
}

// ParseInstalledScriptName splits a scripts.tar entry name into package name,
// version, checksum and type (the returned script has no Data). Like
// apk-tools, it takes the type after the last dot and the checksum after the
// dot before it; the version starts at the last "-" followed by a digit that
// has at most one other "-" after it (package.c:apk_pkg_parse_name), so
// "alpine-baselayout-3.2.0-r22" is alpine-baselayout 3.2.0-r22.
func ParseInstalledScriptName(entry string) (InstalledScript, error) {
	rest, typ, ok1 := idbCutLast(entry, '.')
	nameVer, csum, ok2 := idbCutLast(rest, '.')
	if !ok1 || !ok2 || typ == "" || csum == "" {
		return InstalledScript{}, fmt.Errorf("name %q is not <name>-<version>.<checksum>.<type>",
			entry)
	}
	c, err := ParseChecksum(csum)
	if err != nil {
		return InstalledScript{}, fmt.Errorf("name %q: %w", entry, err)
	}
	name, version, ok := idbSplitNameVersion(nameVer)
	if !ok {
		return InstalledScript{}, fmt.Errorf(
			"name %q: cannot tell the package name from the version in %q", entry, nameVer)
	}
	return InstalledScript{Name: name, Version: version, Checksum: c, Type: typ}, nil
}

func idbCutLast(s string, sep byte) (before, after string, found bool) {
	i := strings.LastIndexByte(s, sep)
	if i < 0 {
		return s, "", false
	}
	return s[:i], s[i+1:], true
}

// idbSplitNameVersion splits "name-version" the way apk_pkg_parse_name does:
// scanning back from the end for a "-" followed by a digit, passing at most
// one other "-" (the one of "-r<N>").
func idbSplitNameVersion(s string) (name, version string, ok bool) {
	dashes := 0
	for i := len(s) - 2; i >= 0; i-- {
		if s[i] != '-' {
			continue
		}
		if s[i+1] >= '0' && s[i+1] <= '9' {
			return s[:i], s[i+1:], i > 0
		}
		if dashes++; dashes >= 2 {
			break
		}
	}
	return "", "", false
}

// SortInstalledScripts orders scripts the way apk-tools 2.14 writes them:
// by package name in apk's display order, then by script type in apk's order
// (pre-install … post-upgrade, trigger; unknown types last, by name).
func SortInstalledScripts(scripts []InstalledScript) {
	slices.SortStableFunc(scripts, func(a, b InstalledScript) int {
		if c := idbCompareName(a.Name, b.Name); c != 0 {
			return c
		}
		ia, ib := idbScriptTypeRank(a.Type), idbScriptTypeRank(b.Type)
		if ia != ib {
			return ia - ib
		}
		return strings.Compare(a.Type, b.Type)
	})
}

func idbScriptTypeRank(typ string) int {
	if i := slices.Index(installedScriptTypes, typ); i >= 0 {
		return i
	}
	return len(installedScriptTypes)
}

// WriteInstalledScripts writes scripts.tar in the order given, with tar
// headers laid out byte for byte as apk-tools writes them
// (io_archive.c:apk_tar_write_entry): old-GNU "ustar  " magic, mode 0755,
// owner root:root (0:0), 12-digit size and time fields without terminator,
// and an end-of-archive of two zero blocks. An entry name longer than 99
// bytes is preceded by a GNU long-name entry, as GNU tar writes it.
func WriteInstalledScripts(w io.Writer, scripts []InstalledScript) error {
	bw := bufio.NewWriter(w)
	for i := range scripts {
		if err := writeInstalledScript(bw, &scripts[i]); err != nil {
			return fmt.Errorf("writing scripts.tar entry %d (%s-%s %s): %w",
				i+1, scripts[i].Name, scripts[i].Version, scripts[i].Type, err)
		}
	}
	bw.Write(make([]byte, 2*idbTarBlock))
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("writing scripts.tar: %w", err)
	}
	return nil
}

const idbTarBlock = 512

func writeInstalledScript(bw *bufio.Writer, s *InstalledScript) error {
	if err := s.check(); err != nil {
		return err
	}
	e := idbTarEntry{typeflag: '0', name: s.EntryName(), data: s.Data}
	if !s.ModTime.IsZero() {
		e.mtime = s.ModTime.Unix()
	}
	if e.mtime < 0 || e.mtime > idbMaxOctal12 || int64(len(e.data)) > idbMaxOctal12 {
		return fmt.Errorf("time %v (before 1970 or after 4147) or size %d does not fit "+
			"a tar header", s.ModTime, len(e.data))
	}
	if len(e.name) > 99 {
		long := idbTarEntry{typeflag: 'L', name: "././@LongLink",
			data: append([]byte(e.name), 0), mtime: e.mtime}
		long.write(bw)
		e.name = e.name[:99]
	}
	e.write(bw)
	return nil
}

func (s *InstalledScript) check() error {
	switch {
	case s.Name == "" || s.Version == "" || s.Type == "":
		return errors.New("name, version and type must be set")
	case s.Checksum.IsZero():
		return errors.New("package checksum is unset")
	case strings.ContainsAny(s.Name+s.Version+s.Type, "/\x00"):
		return fmt.Errorf("entry name %q contains '/' or NUL", s.EntryName())
	}
	// Write only names that read back as the same package and type.
	back, err := ParseInstalledScriptName(s.EntryName())
	if err != nil || back.Name != s.Name || back.Version != s.Version || back.Type != s.Type {
		return fmt.Errorf("entry name %q would not read back as package %q version %q type %q",
			s.EntryName(), s.Name, s.Version, s.Type)
	}
	return nil
}

// idbMaxOctal12 is the largest number twelve octal digits hold.
const idbMaxOctal12 = 1<<36 - 1

// idbTarEntry is one tar entry of scripts.tar; the caller checks that size
// and time fit.
type idbTarEntry struct {
	typeflag byte
	name     string
	data     []byte
	mtime    int64
}

// write writes the header as apk_tar_write_entry lays it out, then the data
// padded to a whole block. Errors stick in bw.
func (e *idbTarEntry) write(bw *bufio.Writer) {
	var h [idbTarBlock]byte
	copy(h[0:100], e.name)
	idbPutOctal(h[100:108], 0o755, true)
	idbPutOctal(h[108:116], 0, true) // uid
	idbPutOctal(h[116:124], 0, true) // gid
	idbPutOctal(h[124:136], uint64(len(e.data)), false)
	idbPutOctal(h[136:148], uint64(e.mtime), false)
	h[156] = e.typeflag
	copy(h[257:265], "ustar  \x00")
	copy(h[265:297], "root")
	copy(h[297:329], "root")
	// The checksum is summed with its own field as spaces, then written as
	// six digits, NUL, and the last space left in place.
	copy(h[148:156], "        ")
	sum := 0
	for _, b := range h {
		sum += int(b)
	}
	idbPutOctal(h[148:155], uint64(sum), true)
	bw.Write(h[:])
	bw.Write(e.data)
	if pad := len(e.data) % idbTarBlock; pad != 0 {
		bw.Write(make([]byte, idbTarBlock-pad))
	}
}

// idbPutOctal fills field with zero-padded octal digits, the last byte being
// NUL when nul is set (apk's put_octal).
func idbPutOctal(field []byte, v uint64, nul bool) {
	digits := field
	if nul {
		digits = field[:len(field)-1]
		field[len(field)-1] = 0
	}
	s := strconv.FormatUint(v, 8)
	for i := range digits {
		digits[i] = '0'
	}
	copy(digits[max(len(digits)-len(s), 0):], s)
}

// idbLimitReader fails with ErrTooLarge once more than n bytes were read.
type idbLimitReader struct {
	r    io.Reader
	n    int64
	what string
}

func (l *idbLimitReader) Read(p []byte) (int, error) {
	if l.n <= 0 {
		// Probe one byte: input of exactly the limit is fine.
		var one [1]byte
		if k, err := l.r.Read(one[:]); k == 0 {
			return 0, err
		}
		return 0, fmt.Errorf("%s is larger than its limit: %w", l.what, ErrTooLarge)
	}
	if int64(len(p)) > l.n {
		p = p[:l.n]
	}
	k, err := l.r.Read(p)
	l.n -= int64(k)
	return k, err
}

// InstalledTrigger is one line of lib/apk/db/triggers (§5.3, §6.1): the
// package's checksum and the directory globs its .trigger script watches.
type InstalledTrigger struct {
	Checksum Checksum
	Globs    []string
}

// ReadInstalledTriggers reads the triggers file: one "Q1<checksum> <glob> …"
// line per package, globs separated by spaces (database.c:
// apk_db_triggers_read). Blank lines are skipped.
func ReadInstalledTriggers(r io.Reader) ([]InstalledTrigger, error) {
	text, err := idbReadAll(r, MaxTriggersSize, "triggers")
	if err != nil {
		return nil, err
	}
	var triggers []InstalledTrigger
	for no := 1; len(text) > 0; no++ {
		var line string
		line, text, _ = strings.Cut(text, "\n")
		if line == "" {
			continue
		}
		csum, globs, _ := strings.Cut(line, " ")
		c, err := ParseChecksum(csum)
		if err != nil {
			return nil, fmt.Errorf("reading triggers line %d: %w", no, err)
		}
		t := InstalledTrigger{Checksum: c}
		for g := range strings.SplitSeq(globs, " ") {
			if g != "" {
				t.Globs = append(t.Globs, g)
			}
		}
		triggers = append(triggers, t)
	}
	return triggers, nil
}

// WriteInstalledTriggers writes the triggers file in the order given. Like
// apk-tools, it skips packages without globs.
func WriteInstalledTriggers(w io.Writer, triggers []InstalledTrigger) error {
	bw := bufio.NewWriter(w)
	for i, t := range triggers {
		if len(t.Globs) == 0 {
			continue
		}
		if err := t.check(); err != nil {
			return fmt.Errorf("writing triggers entry %d: %w", i+1, err)
		}
		bw.WriteString(t.Checksum.String())
		for _, g := range t.Globs {
			bw.WriteByte(' ')
			bw.WriteString(g)
		}
		bw.WriteByte('\n')
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("writing triggers: %w", err)
	}
	return nil
}

func (t *InstalledTrigger) check() error {
	if t.Checksum.IsZero() {
		return errors.New("package checksum is unset")
	}
	for _, g := range t.Globs {
		if g == "" || strings.ContainsAny(g, " \n") {
			return fmt.Errorf("glob %q is empty or contains a space or newline", g)
		}
	}
	return nil
}

// ReadWorld reads etc/apk/world: constraints separated by newlines or spaces
// (§5.3), kept as text in file order.
func ReadWorld(r io.Reader) ([]string, error) {
	text, err := idbReadAll(r, MaxWorldSize, "world")
	if err != nil {
		return nil, err
	}
	if world := ListFields(text); len(world) > 0 {
		return world, nil
	}
	return nil, nil
}

// WriteWorld writes etc/apk/world as apk-tools 2.14 does: one constraint per
// line, sorted by package name (apk's display order; a leading "!" and any
// "@tag" or version are not part of the name), ending in a newline. A world
// holds one constraint per name (§3.1), so two constraints on the same name
// are an error: merge them first.
func WriteWorld(w io.Writer, world []string) error {
	sorted := slices.Clone(world)
	slices.SortStableFunc(sorted, func(a, b string) int {
		return idbCompareName(idbWorldName(a), idbWorldName(b))
	})
	var b strings.Builder
	for i, c := range sorted {
		if c == "" || strings.ContainsAny(c, " \t\n") {
			return fmt.Errorf("writing world: constraint %q is empty or contains whitespace", c)
		}
		if i > 0 && idbWorldName(sorted[i-1]) == idbWorldName(c) {
			return fmt.Errorf("writing world: %q and %q constrain the same name; keep one",
				sorted[i-1], c)
		}
		b.WriteString(c)
		b.WriteByte('\n')
	}
	if len(sorted) == 0 {
		b.WriteByte('\n') // apk writes the separator-joined list, then "\n"
	}
	if _, err := io.WriteString(w, b.String()); err != nil {
		return fmt.Errorf("writing world: %w", err)
	}
	return nil
}

// idbWorldName is the name a world constraint is about (§3.1): without the
// "!" of a conflict, and ending at "@" or a version operator.
func idbWorldName(c string) string {
	c = strings.TrimPrefix(c, "!")
	if i := strings.IndexAny(c, "@<=>~"); i >= 0 {
		return c[:i]
	}
	return c
}
