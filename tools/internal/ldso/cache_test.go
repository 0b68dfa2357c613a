package ldso

import (
	"bytes"
	"encoding/binary"
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/rules-apk/rules_apk/tools/internal/testutil"
)

func readRealCache(t testing.TB) []byte {
	t.Helper()
	data, err := os.ReadFile(testutil.RealData(t, "ldso", "ld.so.cache.glibc-2.36-aarch64"))
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func TestParseRealCache(t *testing.T) {
	data := readRealCache(t)
	c, err := Parse(data)
	if err != nil {
		t.Fatal(err)
	}
	le := binary.LittleEndian
	got := map[string]any{
		"size":           len(data),
		"entries":        len(c.Entries),
		"header flags":   c.HeaderFlags,
		"generator":      c.Generator,
		"hwcaps":         len(c.HWCaps),
		"string table":   le.Uint32(data[24:]),
		"extension at":   le.Uint32(data[32:]),
		"sections":       le.Uint32(data[3032+4:]),
		"generator tag":  le.Uint32(data[3032+8:]),
		"generator at":   le.Uint32(data[3032+16:]),
		"generator size": le.Uint32(data[3032+20:]),
		"first":          c.Entries[0],
		"last":           c.Entries[64],
	}
	want := map[string]any{
		"size":           3103,
		"entries":        65,
		"header flags":   EndianLittle,
		"generator":      "ldconfig (GNU libc) stable release version 2.36",
		"hwcaps":         0,
		"string table":   uint32(1421), // strings end at 48+65*24+1421 = 3029
		"extension at":   uint32(3032), // the next multiple of 4
		"sections":       uint32(1),
		"generator tag":  uint32(tagGenerator),
		"generator at":   uint32(3056),
		"generator size": uint32(47),
		"first":          Entry{Flags: 0x0a03, SOName: "libz.so.1", Path: "/lib/libz.so.1"},
		"last": Entry{Flags: 0x0a03, SOName: "ld-linux-aarch64.so.1",
			Path: "/lib/ld-linux-aarch64.so.1"},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("parsed cache (-want +got):\n%s", diff)
	}
	for i, e := range c.Entries {
		if e.Flags != FlagAArch64Lib64|FlagELFLibc6 || e.HWCap != 0 || e.OSVersion != 0 {
			t.Errorf("entry %d = %+v, want flags 0x0a03 and no hwcap", i, e)
		}
	}
	if diff := cmp.Diff(c.Entries, sortedEntries(c)); diff != "" {
		t.Errorf("real cache is not in the order Encode sorts to (-real +sorted):\n%s", diff)
	}
}

// TestRoundTrip checks that glibc-written caches survive Parse then Encode
// byte for byte: the real aarch64 cache, and the host's own cache when it has
// one (glibc's layout on another machine, with several hundred entries).
func TestRoundTrip(t *testing.T) {
	for _, tc := range []struct {
		name string
		load func(t *testing.T) []byte
	}{
		{"glibc-2.36-aarch64", func(t *testing.T) []byte { return readRealCache(t) }},
		{"host /etc/ld.so.cache", func(t *testing.T) []byte {
			data, err := os.ReadFile("/etc/ld.so.cache")
			if err != nil || !bytes.HasPrefix(data, []byte(magicNew)) {
				t.Skipf("no new-format /etc/ld.so.cache on this host (%v)", err)
			}
			return data
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			data := tc.load(t)
			c, err := Parse(data)
			if err != nil {
				t.Fatal(err)
			}
			out, err := Encode(c)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(data, out) {
				t.Errorf("round trip differs: %d bytes, want %d; first difference at %d",
					len(out), len(data), firstDiff(data, out))
			}
		})
	}
}

// sampleCache has a plain entry, a glibc-hwcaps entry and a generator.
func sampleCache() *Cache {
	return &Cache{
		HeaderFlags: EndianLittle,
		Entries: []Entry{
			{Flags: 0x0303, SOName: "liba.so.1", Path: "/lib/glibc-hwcaps/x86-64-v3/liba.so.1",
				HWCap: HWCapExtension | 3<<32},
			{Flags: 0x0303, SOName: "libb.so.1", Path: "/lib/libb.so.1"},
		},
		Generator: "gen",
		HWCaps:    []string{"x86-64-v3"},
	}
}

func TestEncodeLayout(t *testing.T) {
	out, err := Encode(sampleCache())
	if err != nil {
		t.Fatal(err)
	}
	le := binary.LittleEndian
	// Strings sort by their reversed bytes, largest first, so "x86-64-v3"
	// (ending in '3') comes first at 96; "/lib/libb.so.1" at 106 holds
	// "libb.so.1" at 111; "/lib/glibc-hwcaps/x86-64-v3/liba.so.1" at 121
	// holds "liba.so.1" at 149. The table ends at 159, the extension starts
	// at the next multiple of 4, 160.
	wantStrings := "x86-64-v3\x00/lib/libb.so.1\x00/lib/glibc-hwcaps/x86-64-v3/liba.so.1\x00"
	got := map[string]any{
		"nlibs":         le.Uint32(out[20:]),
		"strings":       string(out[96:159]),
		"entry 0":       [4]uint32{le.Uint32(out[48:]), le.Uint32(out[52:]), le.Uint32(out[56:]), 0},
		"entry 1 hwcap": le.Uint64(out[72+16:]),
		"entry 1 key":   le.Uint32(out[72+4:]),
		"extension at":  le.Uint32(out[32:]),
		"sections":      [2][4]uint32{readSection(out, 168), readSection(out, 184)},
		"hwcaps array":  le.Uint32(out[200:]),
		"generator":     string(out[204:]),
	}
	want := map[string]any{
		"nlibs":         uint32(2),
		"strings":       wantStrings,
		"entry 0":       [4]uint32{0x0303, 111, 106, 0}, // libb sorts first
		"entry 1 hwcap": HWCapExtension | 3<<32,
		"entry 1 key":   uint32(149),
		"extension at":  uint32(160),
		"sections":      [2][4]uint32{{tagGenerator, 0, 204, 3}, {tagGlibcHWCaps, 0, 200, 4}},
		"hwcaps array":  uint32(96),
		"generator":     "gen",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("encoded layout (-want +got):\n%s", diff)
	}
}

func readSection(b []byte, at int) [4]uint32 {
	le := binary.LittleEndian
	return [4]uint32{le.Uint32(b[at:]), le.Uint32(b[at+4:]), le.Uint32(b[at+8:]),
		le.Uint32(b[at+12:])}
}

func TestEncodeWithoutExtension(t *testing.T) {
	c := &Cache{HeaderFlags: EndianLittle, Entries: []Entry{
		{Flags: 0x0a03, SOName: "libz.so.1", Path: "/usr/lib/libz.so.1"}}}
	out, err := Encode(c)
	if err != nil {
		t.Fatal(err)
	}
	// 48 + 24 + len("/usr/lib/libz.so.1\x00"), no padding, offset 0.
	if len(out) != 91 || binary.LittleEndian.Uint32(out[32:]) != 0 {
		t.Errorf("got %d bytes, extension offset %d; want 91 bytes and offset 0",
			len(out), binary.LittleEndian.Uint32(out[32:]))
	}
	back, err := Parse(out)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(c, back, cmp.AllowUnexported(Cache{})); diff != "" {
		t.Errorf("parse after encode (-want +got):\n%s", diff)
	}
}

func TestEncodeRejects(t *testing.T) {
	for _, tc := range []struct {
		name string
		edit func(c *Cache)
		want string
	}{
		{"NUL in a name", func(c *Cache) { c.Entries[0].SOName = "lib\x00a.so" },
			`entry 0 name: "lib\x00a.so" holds a NUL byte`},
		{"path too long", func(c *Cache) { c.Entries[1].Path = strings.Repeat("/a", 2049) },
			"entry 1 (libb.so.1) path: \"/a/a/a"},
		{"hwcaps index out of range", func(c *Cache) { c.HWCaps = nil },
			"refers to glibc-hwcaps subdirectory 0"},
		{"NUL in a hwcaps name", func(c *Cache) { c.HWCaps[0] = "x\x00" },
			`glibc-hwcaps name: "x\x00" holds a NUL byte`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := sampleCache()
			tc.edit(c)
			_, err := Encode(c)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Encode error = %v, want one containing %q", err, tc.want)
			}
		})
	}
}

// TestParseMalformed damages one field of an encoded sampleCache at a time.
// Its layout: entries at 48 and 72, strings 96 to 159, extension at 160 with
// the generator section header at 168, the glibc-hwcaps one at 184, the
// hwcaps array at 200 and the generator at 204 (TestEncodeLayout).
func TestParseMalformed(t *testing.T) {
	put := func(at int, v uint32) func([]byte) []byte {
		return func(b []byte) []byte { binary.LittleEndian.PutUint32(b[at:], v); return b }
	}
	for _, tc := range []struct {
		name   string
		damage func([]byte) []byte
		offset int64
		msg    string
	}{
		{"shorter than the header", func(b []byte) []byte { return b[:40] }, 0, "shorter than"},
		{"bad magic", func(b []byte) []byte { b[0] = 'G'; return b }, 0, "magic"},
		{"bad version", func(b []byte) []byte { b[19] = '2'; return b }, 17, `version "1.2"`},
		{"big-endian", func(b []byte) []byte { b[28] = 3; return b }, 28, "little-endian"},
		{"too many entries", put(20, 1000), 20, "1000 entries do not fit"},
		{"string table past the end", put(24, 10000), 24, "ends past the end"},
		{"key outside the string table", put(52, 20), 52, "outside the string table"},
		{"key without NUL", put(24, 20), 52, "has no NUL"},
		{"misaligned extension", put(32, 161), 32, "not a multiple of 4"},
		{"extension over the strings", put(32, 148), 32, "overlaps the string table"},
		{"extension past the end", put(32, 204), 32, "ends past the end"},
		{"bad extension magic", put(160, 1), 160, "extension magic"},
		{"too many sections", put(164, 1000), 164, "do not fit"},
		{"section past the end", put(180, 1000), 176, "ends past the end"},
		{"duplicate section", put(184, tagGenerator), 184, "appears twice"},
		{"hwcaps size not a multiple of 4", put(196, 3), 192, "4-byte offsets"},
		{"hwcaps name offset", put(200, 5), 200, "outside the string table"},
		{"hwcaps index out of range", put(88, 7), 88, "subdirectory 7"},
		{"string longer than PATH_MAX", func(b []byte) []byte {
			long := append(b[:96:96], bytes.Repeat([]byte("a"), 2*maxString)...)
			binary.LittleEndian.PutUint32(long[24:], uint32(2*maxString+1))
			binary.LittleEndian.PutUint32(long[32:], 0)
			return append(long, 0)
		}, 52, "longer than 4096 bytes"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, err := Encode(sampleCache())
			if err != nil {
				t.Fatal(err)
			}
			_, err = Parse(tc.damage(out))
			var fe *FormatError
			if !errors.As(err, &fe) {
				t.Fatalf("Parse error = %v, want a *FormatError", err)
			}
			if fe.Offset != tc.offset || !strings.Contains(fe.Msg, tc.msg) {
				t.Errorf("Parse error at %d %q, want at %d containing %q",
					fe.Offset, fe.Msg, tc.offset, tc.msg)
			}
		})
	}
}

func TestParseOldFormat(t *testing.T) {
	_, err := Parse(append([]byte(magicOld), make([]byte, 64)...))
	if !errors.Is(err, ErrUnsupportedFormat) {
		t.Errorf("Parse error = %v, want ErrUnsupportedFormat", err)
	}
}

func TestParseSkipsUnknownSections(t *testing.T) {
	out, err := Encode(sampleCache())
	if err != nil {
		t.Fatal(err)
	}
	binary.LittleEndian.PutUint32(out[184:], 7) // hwcaps section becomes tag 7
	binary.LittleEndian.PutUint64(out[88:], 0)  // and the entry a plain one
	c, err := Parse(out)
	if err != nil {
		t.Fatal(err)
	}
	if c.HWCaps != nil || c.Generator != "gen" {
		t.Errorf("HWCaps = %q, Generator = %q; want nil and %q", c.HWCaps, c.Generator, "gen")
	}
}
