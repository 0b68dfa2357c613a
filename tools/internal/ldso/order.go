package ldso

import (
	"math/bits"
	"slices"
	"strings"
)

// libcmp compares two library names as glibc's _dl_cache_libcmp
// (elf/dl-cache.c) does; ld.so binary-searches the cache with it, so the
// entries must be sorted by it, in descending order.
//
// Runs of digits compare as numbers and a digit sorts after any other byte,
// so "libfoo.so.10" > "libfoo.so.9" > "libfoo.so.x". Other bytes compare as C
// chars: signed on x86, unsigned on aarch64, which matters only for bytes
// above 0x7f. Like glibc, numbers are accumulated in a 32-bit int that wraps.
//
// Worked example: libcmp("libc.so.6", "libcrypt.so.1") compares 'l','i','b',
// 'c' equal, then '.' (0x2e) < 'r' (0x72), so it is negative and libcrypt
// comes first in the cache.
func libcmp(a, b string, signedChar bool) int {
	i, j := 0, 0
	for at(a, i) != 0 {
		ca, cb := at(a, i), at(b, j)
		switch {
		case isDigit(ca) && isDigit(cb):
			var na, nb int32
			na, i = number(a, i)
			nb, j = number(b, j)
			if na != nb {
				return int(na - nb)
			}
		case isDigit(ca):
			return 1
		case isDigit(cb):
			return -1
		case ca != cb:
			return charDiff(ca, cb, signedChar)
		default:
			i++
			j++
		}
	}
	return charDiff(0, at(b, j), signedChar)
}

// at returns s[i], or 0 past the end, like reading a C string.
func at(s string, i int) byte {
	if i < len(s) {
		return s[i]
	}
	return 0
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

func number(s string, i int) (int32, int) {
	var n int32
	for ; isDigit(at(s, i)); i++ {
		n = n*10 + int32(s[i]-'0')
	}
	return n, i
}

func charDiff(a, b byte, signedChar bool) int {
	if signedChar {
		return int(int8(a)) - int(int8(b))
	}
	return int(a) - int(b)
}

// sortKey is what glibc's entry comparison looks at.
type sortKey struct {
	entry *Entry
	// hwcaps is the glibc-hwcaps subdirectory name, "" for other entries.
	hwcaps string
	ext    bool
	// legacy is the legacy hwcap value; glibc keeps it 0 for extension
	// entries while sorting.
	legacy uint64
}

// compareEntries orders two entries as glibc's cache.c:compare does
// (negative: a comes first): names descending by libcmp, then flags
// descending, then glibc-hwcaps entries before the others and among
// themselves by subdirectory name, then the most specific legacy hwcap first.
func compareEntries(a, b *sortKey, signedChar bool) int {
	if res := libcmp(b.entry.SOName, a.entry.SOName, signedChar); res != 0 {
		return res
	}
	switch {
	case a.entry.Flags != b.entry.Flags:
		return cmpDesc(int64(a.entry.Flags), int64(b.entry.Flags))
	case a.ext != b.ext:
		if a.ext {
			return -1
		}
		return 1
	case a.ext && a.hwcaps != b.hwcaps:
		return strings.Compare(a.hwcaps, b.hwcaps)
	}
	ba, bb := bits.OnesCount64(a.legacy), bits.OnesCount64(b.legacy)
	if ba != bb {
		return bb - ba
	}
	switch {
	case a.legacy > b.legacy:
		return -1
	case a.legacy < b.legacy:
		return 1
	}
	return 0
}

func cmpDesc(a, b int64) int {
	if a > b {
		return -1
	}
	return 1
}

// sortedEntries returns the entries of c in cache order. The sort is stable:
// glibc inserts each new entry after the equal ones, so among entries that
// compare equal (the same library name in two directories) the order of c,
// which Build makes the directory search order, is kept.
func sortedEntries(c *Cache) []Entry {
	keys := make([]sortKey, len(c.Entries))
	for i := range c.Entries {
		e := &c.Entries[i]
		keys[i] = sortKey{entry: e, legacy: e.HWCap}
		if idx, ok := hwcapsIndex(e.HWCap); ok {
			keys[i].ext, keys[i].legacy = true, 0
			if idx < uint64(len(c.HWCaps)) {
				keys[i].hwcaps = c.HWCaps[idx]
			}
		}
	}
	signed := signedCharFor(c.Entries)
	slices.SortStableFunc(keys, func(a, b sortKey) int {
		return compareEntries(&a, &b, signed)
	})
	out := make([]Entry, len(keys))
	for i, k := range keys {
		out[i] = *k.entry
	}
	return out
}

// signedCharFor tells whether the ld.so reading these entries compares
// chars as signed: x86 (x86-64, x32) does, aarch64 does not. A cache with
// neither kind of entry holds only ASCII names in practice, for which the
// two agree.
func signedCharFor(entries []Entry) bool {
	for _, e := range entries {
		switch e.Flags &^ 0xff {
		case FlagX8664Lib64, FlagX8664LibX32:
			return true
		}
	}
	return false
}
