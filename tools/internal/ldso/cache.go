package ldso

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
)

// Layout constants of the new-format cache (glibc sysdeps/generic/dl-cache.h;
// apk-reference.md §6.3).
const (
	magicNew       = "glibc-ld.so.cache"
	magicVersion   = "1.1"
	magicOld       = "ld.so-1.7.0"
	headerSize     = 48
	entrySize      = 24
	extHeaderSize  = 8
	sectionSize    = 16
	extensionMagic = 0xEAA42174

	tagGenerator   = 0
	tagGlibcHWCaps = 1
)

// Header flag values of the byte at offset 28 (glibc dl-cache.h,
// cache_file_new_flags_endian_*). Only little-endian caches are supported:
// both architectures rules_apk builds for are little-endian.
const (
	// EndianUnset is written by ldconfig before glibc 2.33; ld.so accepts it.
	EndianUnset uint8 = 0
	// EndianLittle marks a little-endian cache, as glibc ≥ 2.33 writes.
	EndianLittle uint8 = 2
)

// Entry flag values (glibc sysdeps/generic/ldconfig.h). An entry's flags are
// a type in the low byte and an ABI in the high byte; ld.so uses only entries
// whose flags equal its own (x86-64: 0x0303, aarch64: 0x0a03).
const (
	FlagLibc4        int32 = 0x0000
	FlagELF          int32 = 0x0001
	FlagELFLibc5     int32 = 0x0002
	FlagELFLibc6     int32 = 0x0003
	FlagX8664Lib64   int32 = 0x0300
	FlagX8664LibX32  int32 = 0x0800
	FlagARMLibHF     int32 = 0x0900
	FlagAArch64Lib64 int32 = 0x0a00
	FlagARMLibSF     int32 = 0x0b00
)

// HWCapExtension is the bit of Entry.HWCap marking an entry found in a
// glibc-hwcaps subdirectory: the low 32 bits then index Cache.HWCaps and
// bits 32 to 41 hold the x86 ISA level the library needs (glibc dl-cache.h,
// DL_CACHE_HWCAP_EXTENSION).
const HWCapExtension uint64 = 1 << 62

// isaLevelMask covers the ISA level bits above bit 32 of an extension hwcap
// (DL_CACHE_HWCAP_ISA_LEVEL_MASK).
const isaLevelMask = 1<<10 - 1

// Entry is one library in the cache: ld.so looks SOName up and opens Path.
type Entry struct {
	// Flags is the library's type and ABI, such as FlagELFLibc6|FlagX8664Lib64.
	Flags int32
	// SOName is the lookup key: the DT_SONAME, or the file name of a library
	// without one, or the name of a libfoo.so development symlink.
	SOName string
	// Path is the absolute path of the library inside the root.
	Path string
	// OSVersion is unused since glibc 2.33 and is always 0 in new caches; it
	// is kept so that older caches survive a round trip.
	OSVersion uint32
	// HWCap is 0 for a plain entry, a legacy hwcap bit set (glibc ≤ 2.36), or
	// HWCapExtension plus an index into Cache.HWCaps.
	HWCap uint64
}

// Cache is the content of a new-format ld.so.cache.
type Cache struct {
	// HeaderFlags is EndianLittle for caches written by glibc ≥ 2.33 and by
	// Build; EndianUnset for older ones.
	HeaderFlags uint8
	// Entries are the libraries. Encode writes them in the order ld.so needs
	// whatever their order here.
	Entries []Entry
	// Generator names the program that wrote the cache (extension section 0),
	// such as "ldconfig (GNU libc) stable release version 2.36". Empty means
	// no generator section.
	Generator string
	// HWCaps are the glibc-hwcaps subdirectory names that entries with
	// HWCapExtension refer to by index (extension section 1).
	HWCaps []string

	// internOnly are strings glibc's ldconfig keeps in the string table
	// without any reference to them: glibc-hwcaps subdirectories that hold no
	// library. Build records them so that Encode matches ldconfig byte for
	// byte; Parse cannot see them.
	internOnly []string
}

// FormatError reports a malformed cache: what is wrong and at which byte.
type FormatError struct {
	// Offset is the byte offset of the faulty field in the cache.
	Offset int64
	// Msg says what is wrong.
	Msg string
}

// Error says where the cache is malformed and how.
func (e *FormatError) Error() string {
	return fmt.Sprintf("malformed ld.so.cache at byte %d: %s", e.Offset, e.Msg)
}

// ErrUnsupportedFormat is returned by Parse for caches in glibc's old or
// compat format, which Encode cannot write back.
var ErrUnsupportedFormat = errors.New("unsupported ld.so.cache format")

func formatErr(off uint64, format string, args ...any) error {
	return &FormatError{Offset: int64(off), Msg: fmt.Sprintf(format, args...)}
}

// Parse decodes a new-format ld.so.cache. It checks every count and offset
// against the size of b, so that a corrupt or hostile cache yields an error
// rather than a panic, and bounds its work and memory by the size of b:
// strings share one copy of the string table and may not exceed PATH_MAX.
// Extension sections with tags other than the generator and glibc-hwcaps
// ones are skipped, as ld.so skips them.
func Parse(b []byte) (*Cache, error) {
	p := parser{b: b, size: uint64(len(b))}
	c, err := p.parse()
	if err != nil {
		return nil, fmt.Errorf("parsing ld.so.cache: %w", err)
	}
	return c, nil
}

// maxString bounds the strings Parse accepts: PATH_MAX, beyond which ld.so
// could not open the path anyway. It keeps the work of a hostile cache
// proportional to its size.
const maxString = 4096

type parser struct {
	b    []byte
	size uint64
	// strStart and strEnd delimit the string table, which table holds as one
	// string that every parsed string shares.
	strStart, strEnd uint64
	table            string
}

func (p *parser) u32(off uint64) uint32 { return binary.LittleEndian.Uint32(p.b[off:]) }

func (p *parser) parse() (*Cache, error) {
	if err := p.checkMagic(); err != nil {
		return nil, err
	}
	flags := p.b[28]
	if flags != EndianUnset && flags != EndianLittle {
		return nil, formatErr(28, "header flags %d: only little-endian caches (2) "+
			"are supported; regenerate the cache on a little-endian system", flags)
	}
	nlibs := uint64(p.u32(20))
	if nlibs > (p.size-headerSize)/entrySize {
		return nil, formatErr(20, "%d entries do not fit in %d bytes", nlibs, p.size)
	}
	p.strStart = headerSize + nlibs*entrySize
	p.strEnd = p.strStart + uint64(p.u32(24))
	if p.strEnd > p.size {
		return nil, formatErr(24, "string table of %d bytes at %d ends past the "+
			"end of the %d-byte cache", p.strEnd-p.strStart, p.strStart, p.size)
	}
	p.table = string(p.b[p.strStart:p.strEnd])
	c := &Cache{HeaderFlags: flags, Entries: make([]Entry, nlibs)}
	for i := range c.Entries {
		if err := p.entry(headerSize+uint64(i)*entrySize, &c.Entries[i]); err != nil {
			return nil, err
		}
	}
	if err := p.extension(c); err != nil {
		return nil, err
	}
	return c, p.checkHWCapIndexes(c)
}

func (p *parser) checkMagic() error {
	if bytes.HasPrefix(p.b, []byte(magicOld)) {
		return fmt.Errorf("%w: old (libc5, %q) or compat format; regenerate the "+
			"cache with glibc ≥ 2.32 ldconfig, which writes the new format",
			ErrUnsupportedFormat, magicOld)
	}
	if p.size < headerSize {
		return formatErr(0, "%d bytes is shorter than the %d-byte header", p.size, headerSize)
	}
	if string(p.b[:len(magicNew)]) != magicNew {
		return formatErr(0, "magic %q is not %q", p.b[:len(magicNew)], magicNew)
	}
	if v := p.b[len(magicNew):20]; string(v) != magicVersion {
		return formatErr(17, "version %q is not %q", v, magicVersion)
	}
	return nil
}

func (p *parser) entry(off uint64, e *Entry) error {
	e.Flags = int32(p.u32(off))
	key, err := p.str(off+4, uint64(p.u32(off+4)))
	if err != nil {
		return err
	}
	value, err := p.str(off+8, uint64(p.u32(off+8)))
	if err != nil {
		return err
	}
	e.SOName, e.Path = key, value
	e.OSVersion = p.u32(off + 12)
	e.HWCap = binary.LittleEndian.Uint64(p.b[off+16:])
	return nil
}

// str reads the NUL-terminated string at file offset at, which the field at
// byte field holds. Strings must lie in the string table, where glibc's
// ldconfig puts every one of them.
func (p *parser) str(field, at uint64) (string, error) {
	if at < p.strStart || at >= p.strEnd {
		return "", formatErr(field, "string offset %d is outside the string table [%d, %d)",
			at, p.strStart, p.strEnd)
	}
	rel := at - p.strStart
	n := strings.IndexByte(p.table[rel:min(uint64(len(p.table)), rel+maxString+1)], 0)
	switch {
	case n >= 0:
		return p.table[rel : rel+uint64(n)], nil
	case rel+maxString+1 <= uint64(len(p.table)):
		return "", formatErr(field, "string at %d is longer than %d bytes", at, maxString)
	}
	return "", formatErr(field, "string at %d has no NUL before the end of the "+
		"string table", at)
}

// extension reads the optional extension directory (glibc dl-cache.h,
// cache_extension_load) with stricter checks: a section glibc would drop as
// invalid is an error here, so that nothing is lost silently.
func (p *parser) extension(c *Cache) error {
	off := uint64(p.u32(32))
	if off == 0 {
		return nil
	}
	switch {
	case off%4 != 0:
		return formatErr(32, "extension offset %d is not a multiple of 4", off)
	case off < p.strEnd:
		return formatErr(32, "extension offset %d overlaps the string table, "+
			"which ends at %d", off, p.strEnd)
	case off+extHeaderSize > p.size:
		return formatErr(32, "extension header at %d ends past the end of the "+
			"%d-byte cache", off, p.size)
	}
	if m := p.u32(off); m != extensionMagic {
		return formatErr(off, "extension magic %#x is not %#x", m, uint32(extensionMagic))
	}
	count := uint64(p.u32(off + 4))
	if count > (p.size-off-extHeaderSize)/sectionSize {
		return formatErr(off+4, "%d extension sections do not fit in the %d-byte cache",
			count, p.size)
	}
	seen := map[uint32]bool{}
	for i := range count {
		if err := p.section(c, off+extHeaderSize+i*sectionSize, seen); err != nil {
			return err
		}
	}
	return nil
}

func (p *parser) section(c *Cache, hdr uint64, seen map[uint32]bool) error {
	tag := p.u32(hdr)
	start, size := uint64(p.u32(hdr+8)), uint64(p.u32(hdr+12))
	if start+size > p.size {
		return formatErr(hdr+8, "extension section %d (%d bytes at %d) ends past the "+
			"end of the %d-byte cache", tag, size, start, p.size)
	}
	if tag != tagGenerator && tag != tagGlibcHWCaps {
		return nil
	}
	if seen[tag] {
		return formatErr(hdr, "extension section %d appears twice", tag)
	}
	seen[tag] = true
	if tag == tagGenerator {
		c.Generator = string(p.b[start : start+size])
		return nil
	}
	if size == 0 || size%4 != 0 || start%4 != 0 {
		return formatErr(hdr+8, "glibc-hwcaps section of %d bytes at %d is not a "+
			"non-empty array of 4-byte offsets", size, start)
	}
	c.HWCaps = make([]string, size/4)
	for i := range c.HWCaps {
		at := start + uint64(i)*4
		name, err := p.str(at, uint64(p.u32(at)))
		if err != nil {
			return err
		}
		c.HWCaps[i] = name
	}
	return nil
}

func (p *parser) checkHWCapIndexes(c *Cache) error {
	for i, e := range c.Entries {
		if idx, ok := hwcapsIndex(e.HWCap); ok && idx >= uint64(len(c.HWCaps)) {
			return formatErr(headerSize+uint64(i)*entrySize+16, "entry %d (%s) refers "+
				"to glibc-hwcaps subdirectory %d but the cache names %d",
				i, e.SOName, idx, len(c.HWCaps))
		}
	}
	return nil
}

// hwcapsIndex reports whether hwcap marks a glibc-hwcaps entry and, if so,
// the index of its subdirectory (glibc dl-cache.h, dl_cache_hwcap_extension).
func hwcapsIndex(hwcap uint64) (uint64, bool) {
	if (hwcap>>32)&^isaLevelMask != HWCapExtension>>32 {
		return 0, false
	}
	return hwcap & 0xffffffff, true
}
