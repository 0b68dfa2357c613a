package ldso

import (
	"encoding/binary"
	"fmt"
	"math"
	"slices"
	"strings"
)

// Encode writes c as a new-format ld.so.cache laid out the way glibc 2.36's
// ldconfig lays it out (glibc elf/cache.c:save_cache): the 48-byte header,
// the entries in ld.so's search order, the string table, then, at the next
// 4-byte boundary, the extension directory with the glibc-hwcaps array and
// the generator string. The output depends only on the content of c.
func Encode(c *Cache) ([]byte, error) {
	if err := checkEncodable(c); err != nil {
		return nil, fmt.Errorf("encoding ld.so.cache: %w", err)
	}
	entries := sortedEntries(c)
	tab := newStringTable(c, entries)
	strStart := uint64(headerSize + len(entries)*entrySize)
	strEnd := strStart + uint64(len(tab.data))
	ext := extensionLayout(c, strEnd)
	if ext.end > math.MaxUint32 {
		return nil, fmt.Errorf("encoding ld.so.cache: %d bytes exceed the format's 4 GiB "+
			"limit", ext.end)
	}

	out := make([]byte, ext.end)
	copy(out, magicNew+magicVersion)
	le := binary.LittleEndian
	le.PutUint32(out[20:], uint32(len(entries)))
	le.PutUint32(out[24:], uint32(len(tab.data)))
	out[28] = c.HeaderFlags
	le.PutUint32(out[32:], uint32(ext.offset))
	for i, e := range entries {
		b := out[headerSize+i*entrySize:]
		le.PutUint32(b, uint32(e.Flags))
		le.PutUint32(b[4:], uint32(strStart+tab.offsets[e.SOName]))
		le.PutUint32(b[8:], uint32(strStart+tab.offsets[e.Path]))
		le.PutUint32(b[12:], e.OSVersion)
		le.PutUint64(b[16:], e.HWCap)
	}
	copy(out[strStart:], tab.data)
	ext.write(out, c, strStart, tab)
	return out, nil
}

func checkEncodable(c *Cache) error {
	for i, e := range c.Entries {
		if err := checkString(e.SOName); err != nil {
			return fmt.Errorf("entry %d name: %w", i, err)
		}
		if err := checkString(e.Path); err != nil {
			return fmt.Errorf("entry %d (%s) path: %w", i, e.SOName, err)
		}
		if idx, ok := hwcapsIndex(e.HWCap); ok && idx >= uint64(len(c.HWCaps)) {
			return fmt.Errorf("entry %d (%s) refers to glibc-hwcaps subdirectory %d "+
				"but Cache.HWCaps has %d", i, e.SOName, idx, len(c.HWCaps))
		}
	}
	for _, s := range append(slices.Clone(c.HWCaps), c.internOnly...) {
		if err := checkString(s); err != nil {
			return fmt.Errorf("glibc-hwcaps name: %w", err)
		}
	}
	return nil
}

// checkString refuses what Parse would refuse: a NUL, which would cut the
// string short, or more than PATH_MAX bytes.
func checkString(s string) error {
	switch {
	case strings.IndexByte(s, 0) >= 0:
		return fmt.Errorf("%.64q holds a NUL byte", s)
	case len(s) > maxString:
		return fmt.Errorf("%.64q… is longer than %d bytes", s, maxString)
	}
	return nil
}

// stringTable is glibc's finalized string table (elf/stringtable.c): each
// distinct string once, and a string that ends another one stored inside it.
type stringTable struct {
	offsets map[string]uint64
	data    []byte
}

// newStringTable interns every string of the cache. ldconfig interns
// library paths, names and glibc-hwcaps subdirectory names, and nothing else.
func newStringTable(c *Cache, entries []Entry) *stringTable {
	t := &stringTable{offsets: map[string]uint64{}}
	for _, e := range entries {
		t.offsets[e.SOName] = 0
		t.offsets[e.Path] = 0
	}
	for _, s := range append(slices.Clone(c.HWCaps), c.internOnly...) {
		t.offsets[s] = 0
	}
	if len(t.offsets) == 0 {
		return t
	}
	t.layout()
	return t
}

// layout sorts the strings by their reversed bytes, descending, with a
// string before its suffixes (glibc finalize_compare), then gives each
// string either the tail of the previous one, when it is a suffix of it, or
// the next free offset. For example "/lib/libz.so.1" gets offset 0 and
// "libz.so.1", sorted right after it, gets offset 5.
func (t *stringTable) layout() {
	strs := make([]string, 0, len(t.offsets))
	for s := range t.offsets {
		strs = append(strs, s)
	}
	slices.SortFunc(strs, tailCompare)
	var prev string
	var prevOff uint64
	for i, s := range strs {
		off := uint64(0)
		switch {
		case i == 0:
		case strings.HasSuffix(prev, s):
			off = prevOff + uint64(len(prev)-len(s))
		default:
			off = prevOff + uint64(len(prev)) + 1
		}
		t.offsets[s] = off
		prev, prevOff = s, off
	}
	t.data = make([]byte, prevOff+uint64(len(prev))+1)
	for s, off := range t.offsets {
		copy(t.data[off:], s)
	}
}

// tailCompare is glibc's finalize_compare: bytes compared from the end as
// unsigned chars, the larger first; a string before its own suffixes.
func tailCompare(l, r string) int {
	for i := 1; i <= min(len(l), len(r)); i++ {
		lc, rc := l[len(l)-i], r[len(r)-i]
		if lc != rc {
			return int(rc) - int(lc)
		}
	}
	return len(r) - len(l)
}

// extension places the extension directory as glibc's write_extensions
// does: the directory, then the glibc-hwcaps offsets, then the generator
// string without a NUL.
type extension struct {
	offset     uint64 // 0 when there is no extension
	hwcapsAt   uint64
	generAt    uint64
	sections   int
	end        uint64 // file size
	hasGener   bool
	hasHWCaps  bool
	hwcapsSize uint64
}

func extensionLayout(c *Cache, strEnd uint64) extension {
	x := extension{hasGener: c.Generator != "", hasHWCaps: len(c.HWCaps) > 0}
	if !x.hasGener && !x.hasHWCaps {
		x.end = strEnd
		return x
	}
	if x.hasGener {
		x.sections++
	}
	if x.hasHWCaps {
		x.sections++
	}
	// glibc rounds to 4, not 8: cache.c uses roundup (extension_offset, 4).
	x.offset = (strEnd + 3) &^ 3
	x.hwcapsAt = x.offset + extHeaderSize + uint64(x.sections)*sectionSize
	x.hwcapsSize = uint64(len(c.HWCaps)) * 4
	x.generAt = x.hwcapsAt + x.hwcapsSize
	x.end = x.generAt + uint64(len(c.Generator))
	return x
}

func (x *extension) write(out []byte, c *Cache, strStart uint64, tab *stringTable) {
	if x.offset == 0 {
		return
	}
	le := binary.LittleEndian
	le.PutUint32(out[x.offset:], extensionMagic)
	le.PutUint32(out[x.offset+4:], uint32(x.sections))
	hdr := x.offset + extHeaderSize
	if x.hasGener {
		putSection(out[hdr:], tagGenerator, x.generAt, uint64(len(c.Generator)))
		hdr += sectionSize
	}
	if x.hasHWCaps {
		putSection(out[hdr:], tagGlibcHWCaps, x.hwcapsAt, x.hwcapsSize)
	}
	for i, name := range c.HWCaps {
		le.PutUint32(out[x.hwcapsAt+uint64(i)*4:], uint32(strStart+tab.offsets[name]))
	}
	copy(out[x.generAt:], c.Generator)
}

func putSection(b []byte, tag uint32, offset, size uint64) {
	le := binary.LittleEndian
	le.PutUint32(b, tag)
	le.PutUint32(b[4:], 0)
	le.PutUint32(b[8:], uint32(offset))
	le.PutUint32(b[12:], uint32(size))
}
