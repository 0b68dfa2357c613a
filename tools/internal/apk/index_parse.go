package apk

import (
	"bytes"
	"fmt"
	"io"
	"math"
	"unsafe"
)

// Default limits of the index reader. They bound the memory hostile input
// can take before its signature is checked (a record costs about 300 bytes
// of Package plus its text), with room to grow: Wolfi's index holds about
// 200,000 records in 94 MB. A record (all of its lines) may take 16 MiB:
// Alpine's longest line (coq's provides, §2.2) is 72 KB.
const (
	DefaultIndexMaxSize       = 512 << 20 // decompressed bytes of the whole index
	DefaultIndexMaxRecords    = 2_000_000
	DefaultIndexMaxRecordSize = 16 << 20
)

// IndexError reports malformed APKINDEX text (§2.2): where it is and what
// is wrong with it.
type IndexError struct {
	Line    int    // 1-based line number in the APKINDEX text
	Record  int    // 1-based record number
	Package string // the record's P: value, when it was read before the error
	Err     error
}

// Error says where the text is malformed and how.
func (e *IndexError) Error() string {
	if e.Package != "" {
		return fmt.Sprintf("APKINDEX line %d (record %d, package %s): %v",
			e.Line, e.Record, e.Package, e.Err)
	}
	return fmt.Sprintf("APKINDEX line %d (record %d): %v", e.Line, e.Record, e.Err)
}

// Unwrap returns the underlying error, such as ErrTooLarge.
func (e *IndexError) Unwrap() error { return e.Err }

// indexLimits bounds what the parser accepts; chunkSize is a knob for tests
// that force records across chunk boundaries.
type indexLimits struct {
	maxSize       int64
	maxRecords    int
	maxRecordSize int
	chunkSize     int
}

func defaultIndexLimits() indexLimits {
	return indexLimits{
		maxSize:       DefaultIndexMaxSize,
		maxRecords:    DefaultIndexMaxRecords,
		maxRecordSize: DefaultIndexMaxRecordSize,
		chunkSize:     indexChunkSize,
	}
}

// ParseIndexText parses plain APKINDEX text (the APKINDEX member of an
// index, or an apk-tools solver fixture such as test/provides.repo) with
// the default limits. Records keep their order.
func ParseIndexText(r io.Reader) ([]Package, error) {
	return parseIndexRecords(r, -1, defaultIndexLimits())
}

// Slots of values the parser deduplicates. The versions of a name are
// usually adjacent and share their description, license, origin, often
// their depends…, so a value equal to the previous record's in the same
// slot is reused instead of stored again. Slots up to lastSharedSlot hold
// values that also repeat across names (arch, license, the origin of
// subpackages), which a table of earlier values catches; the other values
// are mostly unique, and looking them up would cost more than storing them.
const (
	slotName = iota
	slotArch
	slotDescription
	slotURL
	slotLicense
	slotOrigin
	slotMaintainer
	slotVersion
	slotCommit
	slotDepends
	slotProvides
	slotInstallIf
	numSlots

	lastSharedSlot = slotMaintainer
)

// maxInterned caps the table of shared values so that hostile input cannot
// grow it without bound; past the cap, values are simply stored.
const maxInterned = 1 << 18

// indexParser turns APKINDEX text into packages (§2.2). It is fed chunks
// of whole records in order.
type indexParser struct {
	pkgs     []Package
	cur      *Package // record being read, nil between records
	line     int      // lines read so far
	records  int      // records started so far
	textRead int64    // bytes parsed so far, to size pkgs from sizeHint
	sizeHint int64
	sized    bool

	lim         indexLimits
	recordStart int64 // text offset of the current record's first line

	arena  stringArena
	prev   [numSlots]string
	intern map[string]string
}

func newIndexParser(sizeHint int64, lim indexLimits) *indexParser {
	return &indexParser{
		sizeHint: min(sizeHint, lim.maxSize),
		lim:      lim,
		intern:   make(map[string]string, 1024),
	}
}

// parse reads the lines of chunk.
func (p *indexParser) parse(chunk []byte) error {
	base := p.textRead
	p.textRead += int64(len(chunk))
	for off := 0; off < len(chunk); {
		line := chunk[off:]
		start := off
		if i := bytes.IndexByte(line, '\n'); i >= 0 {
			line = line[:i]
			off += i + 1
		} else {
			off = len(chunk)
		}
		p.line++
		if len(line) == 0 {
			if err := p.endRecord(); err != nil {
				return err
			}
			continue
		}
		if p.cur == nil {
			if p.records == p.lim.maxRecords {
				return &IndexError{Line: p.line, Record: p.records + 1,
					Err: fmt.Errorf("more than %d records: %w", p.lim.maxRecords, ErrTooLarge)}
			}
			p.startRecord(base + int64(start))
		}
		if base+int64(off)-p.recordStart > int64(p.lim.maxRecordSize) {
			return p.errorf(p.cur, "record is longer than %d bytes: %w",
				p.lim.maxRecordSize, ErrTooLarge)
		}
		if err := p.field(line); err != nil {
			return err
		}
	}
	p.size()
	return nil
}

func (p *indexParser) startRecord(offset int64) {
	p.pkgs = append(p.pkgs, Package{})
	p.cur = &p.pkgs[len(p.pkgs)-1]
	p.records++
	p.recordStart = offset
}

// size gives pkgs its final capacity once the first chunk has shown how
// long a record is: appending 200,000 packages would otherwise copy the
// slice repeatedly and leave the old copies as garbage. The estimate
// leaves a margin, which costs address space but no memory: pages of the
// slice that are never written are never backed.
func (p *indexParser) size() {
	if p.sized || p.sizeHint <= 0 || len(p.pkgs) == 0 {
		return
	}
	p.sized = true
	perRecord := float64(p.textRead) / float64(len(p.pkgs))
	est := min(float64(p.sizeHint)/perRecord*1.08+16, float64(p.lim.maxRecords))
	if int(est) <= cap(p.pkgs) {
		return
	}
	grown := make([]Package, len(p.pkgs), int(est))
	copy(grown, p.pkgs)
	p.pkgs = grown
	if p.cur != nil {
		p.cur = &p.pkgs[len(p.pkgs)-1]
	}
}

// endRecord completes the current record at a blank line or at the end.
func (p *indexParser) endRecord() error {
	if p.cur == nil {
		return nil
	}
	pkg := p.cur
	p.cur = nil
	switch {
	case pkg.Name == "":
		return p.errorf(pkg, "record has no package name (P:)")
	case pkg.Version == "":
		return p.errorf(pkg, "record has no version (V:)")
	}
	return nil
}

func (p *indexParser) errorf(pkg *Package, format string, args ...any) error {
	e := &IndexError{Line: p.line, Record: p.records, Err: fmt.Errorf(format, args...)}
	if pkg != nil {
		e.Package = pkg.Name
	}
	return e
}

// field stores one X:value line (§2.2): the letters apk-tools 2.14 knows
// fill the package, installed-database letters are ignored, other
// lower-case letters are ignored and other upper-case letters mark the
// package not installable, as apk_pkg_add_info does.
func (p *indexParser) field(line []byte) error {
	if len(line) < 2 || line[1] != ':' {
		return p.errorf(p.cur, "want a field line X:value, got %q", clip(line))
	}
	pkg, v := p.cur, line[2:]
	switch line[0] {
	case 'C':
		return p.checksum(pkg, v)
	case 'P':
		pkg.Name = p.str(slotName, v)
	case 'V':
		pkg.Version = p.str(slotVersion, v)
	case 'A':
		pkg.Arch = p.str(slotArch, v)
	case 'T':
		pkg.Description = p.str(slotDescription, v)
	case 'U':
		pkg.URL = p.str(slotURL, v)
	case 'L':
		pkg.License = p.str(slotLicense, v)
	case 'o':
		pkg.Origin = p.str(slotOrigin, v)
	case 'm':
		pkg.Maintainer = p.str(slotMaintainer, v)
	case 'c':
		pkg.Commit = p.str(slotCommit, v)
	case 'D':
		pkg.Depends = p.list(pkg.Depends, slotDepends, v)
	case 'p':
		pkg.Provides = p.list(pkg.Provides, slotProvides, v)
	case 'i':
		pkg.InstallIf = p.list(pkg.InstallIf, slotInstallIf, v)
	case 'S', 'I', 't', 'k':
		return p.number(pkg, line[0], v)
	case 'F', 'M', 'R', 'Z', 'r', 'q', 'a', 's', 'f':
		// Installed-database letters (§5.2) carry nothing for an index.
	default:
		if line[0] >= 'A' && line[0] <= 'Z' {
			pkg.NotInstallable = true
		}
	}
	return nil
}

func (p *indexParser) checksum(pkg *Package, v []byte) error {
	if len(v) == 0 {
		return p.errorf(pkg, "empty checksum (C:)")
	}
	// The string view of v does not outlive ParseChecksum; error messages
	// copy it.
	c, err := ParseChecksum(unsafe.String(&v[0], len(v)))
	if err != nil {
		return p.errorf(pkg, "%w", err)
	}
	pkg.Checksum = c
	return nil
}

// number parses S, I, t and k strictly: decimal digits only, no sign, no
// spaces, no overflow.
func (p *indexParser) number(pkg *Package, letter byte, v []byte) error {
	n, ok := parseDecimal(v)
	if !ok || (letter == 't' && n > math.MaxInt64) {
		return p.errorf(pkg, "parsing %c: %q is not a decimal number in range", letter, clip(v))
	}
	switch letter {
	case 'S':
		pkg.Size = n
	case 'I':
		pkg.InstalledSize = n
	case 't':
		pkg.BuildTime = int64(n)
	case 'k':
		pkg.ProviderPriority = n
	}
	return nil
}

// list stores a D, p or i value. apk-tools appends the entries of a
// repeated letter to the same list (test/provides.repo has two p: lines in
// one record), so a repeated line is joined with a space.
func (p *indexParser) list(old string, slot int, v []byte) string {
	if old == "" {
		return p.str(slot, v)
	}
	if len(v) == 0 {
		return old
	}
	return old + " " + string(v)
}

// str returns v as a string, reusing an equal earlier value when there is
// one and copying v into the arena otherwise.
func (p *indexParser) str(slot int, v []byte) string {
	if prev := p.prev[slot]; prev == string(v) {
		return prev
	}
	var s string
	if slot <= lastSharedSlot {
		var ok bool
		if s, ok = p.intern[string(v)]; !ok {
			s = p.arena.str(v)
			if len(p.intern) < maxInterned {
				p.intern[s] = s
			}
		}
	} else {
		s = p.arena.str(v)
	}
	p.prev[slot] = s
	return s
}

// parseDecimal parses an unsigned decimal number without allocating.
func parseDecimal(b []byte) (uint64, bool) {
	if len(b) == 0 || len(b) > 20 {
		return 0, false
	}
	var n uint64
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		d := uint64(c - '0')
		if n > (math.MaxUint64-d)/10 {
			return 0, false
		}
		n = n*10 + d
	}
	return n, true
}

// clip shortens b for an error message.
func clip(b []byte) []byte {
	if len(b) > 64 {
		return b[:64]
	}
	return b
}

// arenaBlock is the size of the blocks field values are copied into.
const arenaBlock = 256 << 10

// stringArena stores many short strings in a few large blocks: one
// allocation per 256 KiB instead of one per value, and no per-string size
// class rounding. Blocks are never written again below their length, so
// the strings pointing into them stay immutable.
type stringArena struct {
	block []byte
}

func (a *stringArena) str(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	if len(b) > arenaBlock/16 {
		return string(b)
	}
	if len(a.block)+len(b) > cap(a.block) {
		a.block = make([]byte, 0, arenaBlock)
	}
	off := len(a.block)
	a.block = append(a.block, b...)
	return unsafe.String(&a.block[off], len(b))
}
