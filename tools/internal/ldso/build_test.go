package ldso

import (
	"debug/elf"
	"fmt"
	"io/fs"
	"slices"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/google/go-cmp/cmp"
	"github.com/rules-apk/rules_apk/tools/internal/testutil"
)

// wolfiRoot is a small aarch64 root laid out as Wolfi's: usr-merged, with
// glibc's ld.so.conf and libc.conf (apk-reference.md §6.2).
func wolfiRoot() fstest.MapFS {
	lib := func(soname string, needed ...string) *fstest.MapFile {
		return &fstest.MapFile{Data: makeELF(elfSpec{machine: elf.EM_AARCH64,
			soname: soname, needed: needed}), Mode: 0o755}
	}
	return fstest.MapFS{
		"etc/ld.so.conf":                file("include /etc/ld.so.conf.d/*.conf\n"),
		"etc/ld.so.conf.d/libc.conf":    file("/usr/local/lib\n/usr/lib\n"),
		"lib":                           symlink("usr/lib"),
		"lib64":                         symlink("usr/lib"),
		"usr/lib64":                     symlink("lib"),
		"usr/lib/ld-linux-aarch64.so.1": lib("ld-linux-aarch64.so.1"),
		"usr/lib/libc.so.6":             lib("libc.so.6", "ld-linux-aarch64.so.1"),
		"usr/lib/libc.so":               file("/* GNU ld script */\nGROUP ( libc.so.6 )\n"),
		"usr/lib/libz.so.1.3.1":         lib("libz.so.1", "libc.so.6"),
		"usr/lib/libz.so.1":             symlink("libz.so.1.3.1"),
		"usr/lib/libz.so":               symlink("libz.so.1.3.1"),
		"usr/lib/libcrypto.so.3":        lib("libcrypto.so.3"),
		"usr/lib/libssl.so.3":           lib("libssl.so.3", "libcrypto.so.3"),
		"usr/lib/libcurl.so.4.8.0":      lib("libcurl.so.4"),
		"usr/lib/libcurl.so":            symlink("libcurl.so.4"),
		"usr/lib/libnghttp2.so.14.28.0": lib("libnghttp2.so.14"),
		"usr/lib/libnghttp2.so.14":      symlink("/usr/lib/libnghttp2.so.14.28.0"),
		"usr/lib/libplugin.so":          lib(""),
		"usr/lib/libgcc_s.so.1":         lib("libgcc_s.so.1"),
		"usr/lib/libstale.so.2":         symlink("libstale.so.2.0"),
		"usr/lib/libwrong.so.1":         file("not a library\n"),
		"usr/lib/libwrong.so.1.0":       lib("libwrong.so.1"),
		"usr/local/lib/libgcc_s.so.1":   lib("libgcc_s.so.1"),
		"usr/share/doc/libnot.so.1":     lib("libnot.so.1"),
	}
}

// dump renders a cache and its links as ldconfig -p lists them.
func dump(c *Cache, links []Link) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%d libs, generator %q, glibc-hwcaps %q\n", len(c.Entries),
		c.Generator, c.HWCaps)
	for _, e := range c.Entries {
		fmt.Fprintf(&b, "\t%s (%#04x", e.SOName, e.Flags)
		if e.HWCap != 0 {
			fmt.Fprintf(&b, ", hwcap %#016x", e.HWCap)
		}
		fmt.Fprintf(&b, ") => %s\n", e.Path)
	}
	for _, l := range links {
		fmt.Fprintf(&b, "link %s -> %s\n", l.Path, l.Target)
	}
	return b.String()
}

func TestBuildGolden(t *testing.T) {
	c, links, err := Build(wolfiRoot(), Options{Arch: "aarch64"})
	if err != nil {
		t.Fatal(err)
	}
	testutil.Golden(t, "wolfi-aarch64.txt", []byte(dump(c, links)))
	out, err := Encode(c)
	if err != nil {
		t.Fatal(err)
	}
	testutil.Golden(t, "wolfi-aarch64.ld.so.cache", out)
	back, err := Parse(out)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(c, back, cmp.AllowUnexported(Cache{})); diff != "" {
		t.Errorf("Parse(Encode(Build)) (-want +got):\n%s", diff)
	}
}

// TestBuildSecondRun applies the links of a first Build and builds again,
// as running ldconfig twice would: no more links are wanted, and the only
// new entry is the libcurl.so development symlink, whose target libcurl.so.4
// the first run's link created. Build, like ldconfig, describes the root as
// it was before its links.
func TestBuildSecondRun(t *testing.T) {
	root := wolfiRoot()
	first, links, err := Build(root, Options{Arch: "aarch64"})
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range links {
		root[strings.TrimPrefix(l.Path, "/")] = symlink(l.Target)
	}
	second, more, err := Build(root, Options{Arch: "aarch64"})
	if err != nil {
		t.Fatal(err)
	}
	if len(more) != 0 {
		t.Errorf("second Build wants more links: %+v", more)
	}
	var added []Entry
	for _, e := range second.Entries {
		if !slices.Contains(first.Entries, e) {
			added = append(added, e)
		}
	}
	want := []Entry{{Flags: 0x0a03, SOName: "libcurl.so", Path: "/usr/lib/libcurl.so"}}
	if diff := cmp.Diff(want, added); diff != "" || len(second.Entries) != len(first.Entries)+1 {
		t.Errorf("entries added by the second run (-want +got):\n%s", diff)
	}
}

func TestBuildOptions(t *testing.T) {
	root := wolfiRoot()
	root["etc/ld.so.conf.x"] = file("/usr/local/lib\n")
	c, _, err := Build(root, Options{Arch: "aarch64", ConfigFile: "/etc/ld.so.conf.x",
		SystemDirs: []string{}, Generator: "test generator"})
	if err != nil {
		t.Fatal(err)
	}
	want := &Cache{HeaderFlags: EndianLittle, Generator: "test generator", Entries: []Entry{
		{Flags: 0x0a03, SOName: "libgcc_s.so.1", Path: "/usr/local/lib/libgcc_s.so.1"}}}
	if diff := cmp.Diff(want, c, cmp.AllowUnexported(Cache{})); diff != "" {
		t.Errorf("cache (-want +got):\n%s", diff)
	}
}

// TestBuildHWCaps covers glibc-hwcaps subdirectories on x86_64: entries keyed
// by SONAME, pointing at the file itself, carrying the ISA level and the
// index of their subdirectory in name order, before the plain entry; no
// links inside them; unused subdirectory names kept in the string table.
func TestBuildHWCaps(t *testing.T) {
	lib := func(isa uint32) *fstest.MapFile {
		return &fstest.MapFile{Data: makeELF(elfSpec{machine: elf.EM_X86_64,
			soname: "libm.so.6", isaNeeded: isa})}
	}
	root := fstest.MapFS{
		"usr/lib/libm.so.6":                        lib(0),
		"usr/lib/glibc-hwcaps/x86-64-v4/libm-2.so": lib(1 << 3),
		"usr/lib/glibc-hwcaps/x86-64-v3/libm-2.so": lib(1 << 2),
		"usr/lib/glibc-hwcaps/x86-64-v2":           &fstest.MapFile{Mode: fs.ModeDir},
	}
	c, links, err := Build(root, Options{Arch: "x86_64"})
	if err != nil {
		t.Fatal(err)
	}
	ext := func(idx, isa uint64) uint64 { return HWCapExtension | isa<<32 | idx }
	want := &Cache{
		HeaderFlags: EndianLittle,
		Generator:   DefaultGenerator,
		HWCaps:      []string{"x86-64-v3", "x86-64-v4"},
		Entries: []Entry{
			{Flags: 0x0303, SOName: "libm.so.6",
				Path: "/usr/lib/glibc-hwcaps/x86-64-v3/libm-2.so", HWCap: ext(0, 2)},
			{Flags: 0x0303, SOName: "libm.so.6",
				Path: "/usr/lib/glibc-hwcaps/x86-64-v4/libm-2.so", HWCap: ext(1, 3)},
			{Flags: 0x0303, SOName: "libm.so.6", Path: "/usr/lib/libm.so.6"},
		},
		internOnly: []string{"x86-64-v2"},
	}
	if diff := cmp.Diff(want, c, cmp.AllowUnexported(Cache{})); diff != "" {
		t.Errorf("cache (-want +got):\n%s", diff)
	}
	if len(links) != 0 {
		t.Errorf("links in glibc-hwcaps directories: %+v", links)
	}
}
