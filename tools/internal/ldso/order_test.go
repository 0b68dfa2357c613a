package ldso

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func sign(n int) int {
	switch {
	case n < 0:
		return -1
	case n > 0:
		return 1
	}
	return 0
}

// TestLibcmp pins _dl_cache_libcmp's order (glibc elf/dl-cache.c).
func TestLibcmp(t *testing.T) {
	for _, tc := range []struct {
		a, b string
		want int // sign of libcmp(a, b)
	}{
		{"libc.so.6", "libc.so.6", 0},
		{"libfoo.so.10", "libfoo.so.9", 1},        // numbers, not bytes
		{"libfoo.so.2.10", "libfoo.so.2.9", 1},    // each run on its own
		{"libfoo.so.01", "libfoo.so.1", 0},        // leading zeros do not count
		{"libfoo.so.1", "libfoo.so.x", 1},         // a digit beats any other byte
		{"libfoo.so.x", "libfoo.so.1", -1},        // and loses from the other side
		{"libfoo.so.1", "libfoo.so.", 1},          // a digit beats the end too
		{"libfoo.so", "libfoo.so.1", -1},          // the end loses to '.'
		{"libc.so.6", "libcrypt.so.1", -1},        // '.' < 'r'
		{"libB.so", "liba.so", -1},                // bytes, so upper case first
		{"lib2.so", "lib10.so", -1},               // numbers in the middle
		{"libx.so.4294967297", "libx.so.2", -1},   // wraps in 32 bits like glibc: 1 < 2
		{"libx.so.2147483648", "libx.so.0", -1},   // wraps negative
		{"ld-linux-x86-64.so.2", "libc.so.6", -1}, // 'd' < 'i'
		{"", "a", -1},
		{"a", "", 1},
	} {
		t.Run(tc.a+" vs "+tc.b, func(t *testing.T) {
			for _, signed := range []bool{false, true} {
				if got := sign(libcmp(tc.a, tc.b, signed)); got != tc.want {
					t.Errorf("libcmp(%q, %q, signed=%v) sign = %d, want %d",
						tc.a, tc.b, signed, got, tc.want)
				}
			}
		})
	}
}

// TestLibcmpHighBytes shows the one place the char's signedness shows.
func TestLibcmpHighBytes(t *testing.T) {
	a, b := "lib\xe9.so", "libz.so"
	if got := sign(libcmp(a, b, true)); got != -1 {
		t.Errorf("signed (x86): sign = %d, want -1 (0xe9 is negative)", got)
	}
	if got := sign(libcmp(a, b, false)); got != 1 {
		t.Errorf("unsigned (aarch64): sign = %d, want 1", got)
	}
}

func TestSortedEntries(t *testing.T) {
	ext := func(idx, isa uint64) uint64 { return HWCapExtension | isa<<32 | idx }
	c := &Cache{
		HWCaps: []string{"x86-64-v4", "x86-64-v3"},
		Entries: []Entry{
			{Flags: 0x0303, SOName: "libz.so.1", Path: "/usr/lib/libz.so.1"},
			{Flags: 0x0303, SOName: "libfoo.so.9", Path: "/a/libfoo.so.9"},
			{Flags: 0x0003, SOName: "libfoo.so.10", Path: "/lib32/libfoo.so.10"},
			{Flags: 0x0303, SOName: "libfoo.so.10", Path: "/b/libfoo.so.10"},
			{Flags: 0x0303, SOName: "libfoo.so.10", Path: "/c/libfoo.so.10"},
			{Flags: 0x0303, SOName: "libfoo.so.10", Path: "/b/tls/libfoo.so.10", HWCap: 1 << 63},
			{Flags: 0x0303, SOName: "libfoo.so.10", Path: "/b/tls/haswell/libfoo.so.10",
				HWCap: 1<<63 | 1<<50},
			{Flags: 0x0303, SOName: "libfoo.so.10", Path: "/b/glibc-hwcaps/x86-64-v4/f",
				HWCap: ext(0, 3)},
			{Flags: 0x0303, SOName: "libfoo.so.10", Path: "/b/glibc-hwcaps/x86-64-v3/f",
				HWCap: ext(1, 2)},
		},
	}
	var got []string
	for _, e := range sortedEntries(c) {
		got = append(got, e.Path)
	}
	want := []string{
		"/usr/lib/libz.so.1",
		// Same name: flags descending, glibc-hwcaps entries by subdirectory
		// name, then more legacy hwcap bits, then the rest in input order.
		"/b/glibc-hwcaps/x86-64-v3/f",
		"/b/glibc-hwcaps/x86-64-v4/f",
		"/b/tls/haswell/libfoo.so.10",
		"/b/tls/libfoo.so.10",
		"/b/libfoo.so.10",
		"/c/libfoo.so.10",
		"/lib32/libfoo.so.10",
		"/a/libfoo.so.9",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("cache order (-want +got):\n%s", diff)
	}
}

func TestStringTable(t *testing.T) {
	c := &Cache{Entries: []Entry{
		{SOName: "libz.so.1", Path: "/lib/libz.so.1"},
		{SOName: "libz.so.1", Path: "/usr/lib/libz.so.1"},
		{SOName: "z.so.1", Path: "/opt/z.so.1"},
	}}
	tab := newStringTable(c, c.Entries)
	want := map[string]uint64{
		// Sorted by reversed bytes, largest first, a string before its
		// suffixes: "/usr/lib/libz.so.1" ends with "/lib/libz.so.1", which
		// ends with "libz.so.1"; "/opt/z.so.1" ends with "z.so.1".
		"/usr/lib/libz.so.1": 0,
		"/lib/libz.so.1":     4,
		"libz.so.1":          9,
		"/opt/z.so.1":        19,
		"z.so.1":             24,
	}
	if diff := cmp.Diff(want, tab.offsets); diff != "" {
		t.Errorf("offsets (-want +got):\n%s", diff)
	}
	if got := string(tab.data); got != "/usr/lib/libz.so.1\x00/opt/z.so.1\x00" {
		t.Errorf("data = %q", got)
	}
}
