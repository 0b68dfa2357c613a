package ldso

import (
	"bufio"
	"bytes"
	"debug/elf"
	"encoding/binary"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// The tests in this file compare Build with the host's own ldconfig on a
// root made of the host's libraries and synthetic ones. They run on x86_64
// hosts with glibc's ldconfig and skip elsewhere.

// hostLibPrefixes are the host library families copied into the test root,
// with every file and symlink of each family, so the host's link chains
// (libz.so -> /lib/x86_64-linux-gnu/libz.so.1.2.13, libbz2.so.1.0, …) come
// along. libc.so and libm.so are linker scripts, which ldconfig skips.
var hostLibPrefixes = []string{
	"ld-linux-x86-64.so", "libc.so", "libm.so", "libz.so", "libbz2.so", "libexpat.so",
	"libffi.so", "libstdc++.so", "libgcc_s.so", "libcurl-gnutls.so", "liblzma.so",
	"libpcre2-8.so", "libcap.so", "libssl.so", "libcrypto.so",
}

const hostLibDir = "/usr/lib/x86_64-linux-gnu"

// hostLdconfig returns the host's ldconfig and its glibc version, or skips.
func hostLdconfig(t *testing.T) (string, [2]int) {
	t.Helper()
	if runtime.GOOS != "linux" || runtime.GOARCH != "amd64" {
		t.Skipf("comparing with the host's ldconfig needs an x86_64 Linux host, not %s/%s",
			runtime.GOOS, runtime.GOARCH)
	}
	// RULES_APK_LDCONFIG names another glibc's ldconfig to compare with
	// (Debian's is static-pie, so another release's runs as it is).
	bin := os.Getenv("RULES_APK_LDCONFIG")
	for _, p := range []string{"/sbin/ldconfig", "/usr/sbin/ldconfig"} {
		if bin != "" {
			break
		}
		if _, err := os.Stat(p); err == nil {
			bin = p
			break
		}
	}
	if bin == "" {
		t.Skip("no /sbin/ldconfig on this host: install glibc's ldconfig to compare with it")
	}
	out, err := exec.Command(bin, "--version").Output()
	m := regexp.MustCompile(`(?m)^ldconfig .* (\d+)\.(\d+)$`).FindSubmatch(out)
	if err != nil || m == nil {
		t.Skipf("%s --version does not look like glibc's ldconfig (%v): %q", bin, err, out)
	}
	major, _ := strconv.Atoi(string(m[1]))
	minor, _ := strconv.Atoi(string(m[2]))
	if _, err := os.Stat(hostLibDir); err != nil {
		t.Skipf("no %s to copy libraries from: %v", hostLibDir, err)
	}
	return bin, [2]int{major, minor}
}

// hostSystemDirs asks ldconfig which directories it always scans: in a
// root where every candidate is a distinct directory, ldconfig -v lists them
// as "(from <builtin>:0)".
func hostSystemDirs(t *testing.T, ldconfig string) []string {
	t.Helper()
	root := t.TempDir()
	for _, d := range []string{"lib", "lib64", "libx32", "lib32", "usr/lib", "usr/lib64",
		"usr/libx32", "usr/lib32", "lib/x86_64-linux-gnu", "usr/lib/x86_64-linux-gnu"} {
		mustMkdir(t, filepath.Join(root, d))
	}
	out, err := exec.Command(ldconfig, "-v", "-N", "-X", "-r", root, "-f", "/none").Output()
	if err != nil {
		t.Fatalf("%s -v -N: %v", ldconfig, err)
	}
	var dirs []string
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		if dir, ok := strings.CutSuffix(sc.Text(), ": (from <builtin>:0)"); ok {
			dirs = append(dirs, dir)
		}
	}
	if len(dirs) == 0 {
		t.Fatalf("%s -v listed no built-in directory:\n%s", ldconfig, out)
	}
	return dirs
}

// makeHostRoot builds a usr-merged root (lib -> usr/lib) like Debian's,
// holding host libraries and synthetic ones that exercise ldconfig's rules.
func makeHostRoot(t *testing.T) string {
	t.Helper()
	root := t.TempDir()
	libDir := filepath.Join(root, "usr/lib/x86_64-linux-gnu")
	mustMkdir(t, libDir)
	copied := 0
	for _, prefix := range hostLibPrefixes {
		copied += copyHostFamily(t, libDir, prefix)
	}
	if copied < 12 {
		t.Skipf("only %d host library files found in %s; need a dozen", copied, hostLibDir)
	}
	mustSymlink(t, "usr/lib", filepath.Join(root, "lib"))
	mustSymlink(t, "usr/lib64", filepath.Join(root, "lib64"))
	mustMkdir(t, filepath.Join(root, "usr/lib64"))
	mustSymlink(t, "/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2",
		filepath.Join(root, "usr/lib64/ld-linux-x86-64.so.2"))
	writeTree(t, root, hostRootFiles())
	return root
}

// hostRootFiles are the configuration and synthetic libraries of the test
// root. Each synthetic file tests one rule of ldconfig, named alongside.
func hostRootFiles() map[string]string {
	x64 := func(soname string, needed ...string) string {
		return string(makeELF(elfSpec{machine: elf.EM_X86_64, soname: soname, needed: needed}))
	}
	x64With := func(edit func(*elfSpec)) string {
		s := elfSpec{machine: elf.EM_X86_64, soname: "libx.so.1"}
		edit(&s)
		return string(makeELF(s))
	}
	v3 := string(makeELF(elfSpec{machine: elf.EM_X86_64, soname: "libsynth.so.1",
		isaNeeded: 1<<0 | 1<<2}))
	return map[string]string{
		"etc/ld.so.conf":                "include /etc/ld.so.conf.d/*.conf\n",
		"etc/ld.so.conf.d/libc.conf":    "# libc default configuration\n/usr/local/lib\n",
		"etc/ld.so.conf.d/.hidden.conf": "/opt/hidden\n",
		"etc/ld.so.conf.d/zz-opt.conf":  "  /opt/lib=libc6  # typed\n/opt/missing\nhwcap 0 x\n",
		"etc/ld.so.conf.d/x86_64-linux-gnu.conf": "/usr/local/lib/x86_64-linux-gnu\n" +
			"/lib/x86_64-linux-gnu\n/usr/lib/x86_64-linux-gnu/\n",
		// A SONAME with no link yet: ldconfig creates libsynth.so.1.
		"usr/local/lib/libsynth.so.1.0": x64("libsynth.so.1"),
		// A development symlink to the SONAME: a cache entry of its own.
		"usr/local/lib/libsynth.so": "-> libsynth.so.1",
		// No DT_SONAME: the file name is the key.
		"usr/local/lib/libnosoname.so": x64(""),
		// Two versions of one SONAME: the newer name by libcmp wins.
		"usr/local/lib/libver.so.2.9":  x64("libver.so.2"),
		"usr/local/lib/libver.so.2.10": x64("libver.so.2"),
		// A SONAME unrelated to the file name.
		"usr/local/lib/libfile.so.1": x64("libother.so.7"),
		// Also in /usr/lib/x86_64-linux-gnu: two entries, in directory order.
		"usr/local/lib/libdup.so.3":            x64("libdup.so.3"),
		"usr/lib/x86_64-linux-gnu/libdup.so.3": x64("libdup.so.3"),
		// Not libraries: text, too short, an executable, another machine, no
		// dynamic segment, a name ldconfig ignores, dangling and looping
		// symlinks, a prelink temporary file.
		"usr/local/lib/libnotelf.so.3": "not an ELF file\n",
		"usr/local/lib/libtiny.so.1":   "\x7fELF",
		"usr/local/lib/libexec.so.1":   x64With(func(s *elfSpec) { s.typ = elf.ET_EXEC }),
		"usr/local/lib/libarm.so.1":    x64With(func(s *elfSpec) { s.machine = elf.EM_AARCH64 }),
		"usr/local/lib/libnodyn.so.1":  x64With(func(s *elfSpec) { s.noDynamic = true }),
		"usr/local/lib/notalib.so.1":   x64("notalib.so.1"),
		"usr/local/lib/libgone.so.1":   "-> libmissing.so.1",
		"usr/local/lib/libloop.so.1":   "-> libloop.so.1",

		"usr/local/lib/libsynth.so.1.0.#prelink#.aBcDeF": x64("libprelink.so.1"),
		// A relative symlink climbing above the root stays inside it.
		"usr/local/lib/libesc.so.1": "-> ../../../../../../usr/local/lib/libsynth.so.1.0",
		// i386 and x32 libraries are cached by x86_64's ldconfig too.
		"usr/local/lib/libi386.so.1": string(makeELF(elfSpec{class: elf.ELFCLASS32,
			machine: elf.EM_386, soname: "libi386.so.1", needed: []string{"libc.so.6"}})),
		"usr/local/lib/libx32.so.1": string(makeELF(elfSpec{class: elf.ELFCLASS32,
			machine: elf.EM_X86_64, soname: "libx32.so.1"})),
		// A generic i386 library in a "=libc6" directory takes that type.
		"opt/lib/libgeneric.so.1": string(makeELF(elfSpec{class: elf.ELFCLASS32,
			machine: elf.EM_386, soname: "libgeneric.so.1"})),
		"opt/hidden/libhidden.so.1": x64("libhidden.so.1"),
		// glibc-hwcaps: an entry keyed by file name with the ISA level; an
		// empty subdirectory whose name stays in the string table.
		"usr/local/lib/glibc-hwcaps/x86-64-v3/libsynth.so.1": v3,
		"usr/local/lib/glibc-hwcaps/x86-64-v2/":              "",
		// Legacy hwcap subdirectories (glibc ≤ 2.36).
		"usr/local/lib/tls/libsynth.so.1":     x64("libsynth.so.1"),
		"usr/local/lib/haswell/libsynth.so.1": x64("libsynth.so.1"),
		"usr/local/lib/libdir.so.d/":          "",
	}
}

func TestBuildMatchesHostLdconfig(t *testing.T) {
	ldconfig, version := hostLdconfig(t)
	sysDirs := hostSystemDirs(t, ldconfig)
	root := makeHostRoot(t)
	linkRoot := t.TempDir()
	copyTree(t, root, linkRoot)

	// Ours first, on the pristine root.
	legacy := version[0] == 2 && version[1] <= 36
	opts := Options{Arch: "x86_64", SystemDirs: sysDirs, LegacyHWCaps: legacy,
		LegacyTypes: legacy}
	got, links, err := Build(os.DirFS(root), opts)
	if err != nil {
		t.Fatal(err)
	}

	runLdconfig(t, ldconfig, root, "-X", "-C", "/etc/ld.so.cache.host")
	hostBytes := mustRead(t, filepath.Join(root, "etc/ld.so.cache.host"))
	want, err := Parse(hostBytes)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("host ldconfig %d.%d, system directories %q, %d entries",
		version[0], version[1], sysDirs, len(want.Entries))

	if diff := cmp.Diff(want.Entries, got.Entries); diff != "" {
		t.Errorf("entries differ from the host's ldconfig (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(want.HWCaps, got.HWCaps); diff != "" {
		t.Errorf("glibc-hwcaps names differ (-want +got):\n%s", diff)
	}

	// ldconfig keeps the name of the empty glibc-hwcaps/x86-64-v2 in its
	// string table; Build does too.
	if !bytes.Contains(hostBytes, []byte("x86-64-v2\x00")) {
		t.Errorf("host cache lacks the unused glibc-hwcaps name x86-64-v2")
	}
	got.Generator = want.Generator
	gotBytes, err := Encode(got)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(hostBytes, gotBytes) {
		t.Errorf("cache bytes differ from the host's ldconfig: %d bytes, want %d; "+
			"first difference at %d", len(gotBytes), len(hostBytes),
			firstDiff(hostBytes, gotBytes))
	}

	// Now let ldconfig create its links in a copy and compare.
	before := symlinks(t, linkRoot)
	runLdconfig(t, ldconfig, linkRoot, "-C", "/etc/ld.so.cache.links")
	var wantLinks []Link
	for p, target := range symlinks(t, linkRoot) {
		if old, ok := before[p]; !ok || old != target {
			wantLinks = append(wantLinks, Link{Path: p, Target: target})
		}
	}
	slices.SortFunc(wantLinks, func(a, b Link) int { return strings.Compare(a.Path, b.Path) })
	if diff := cmp.Diff(wantLinks, links); diff != "" {
		t.Errorf("SONAME links differ from the host's ldconfig (-want +got):\n%s", diff)
	}
}

func runLdconfig(t *testing.T, ldconfig, root string, args ...string) {
	t.Helper()
	cmd := exec.Command(ldconfig, append([]string{"-r", root}, args...)...)
	cmd.Env = []string{"LC_ALL=C"} // no LD_HWCAP_MASK from the environment
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%s: %v\n%s", cmd, err, out)
	}
}

func firstDiff(a, b []byte) int {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return i
		}
	}
	return min(len(a), len(b))
}

// symlinks maps the absolute in-root path of every symlink under root to
// its target.
func symlinks(t *testing.T, root string) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.Type()&fs.ModeSymlink == 0 {
			return err
		}
		target, err := os.Readlink(p)
		rel, _ := filepath.Rel(root, p)
		out["/"+filepath.ToSlash(rel)] = target
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// copyHostFamily copies the files and symlinks of hostLibDir whose names
// start with prefix, keeping symlink targets as they are.
func copyHostFamily(t *testing.T, dst, prefix string) int {
	t.Helper()
	ents, err := os.ReadDir(hostLibDir)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, e := range ents {
		if !strings.HasPrefix(e.Name(), prefix) {
			continue
		}
		src, to := filepath.Join(hostLibDir, e.Name()), filepath.Join(dst, e.Name())
		if e.Type()&fs.ModeSymlink != 0 {
			target, err := os.Readlink(src)
			if err != nil {
				t.Fatal(err)
			}
			mustSymlink(t, target, to)
		} else if e.Type().IsRegular() {
			writeFile(t, to, mustRead(t, src))
		}
		n++
	}
	return n
}

// writeTree writes files under root: a value "-> target" makes a symlink,
// a name ending in "/" a directory.
func writeTree(t *testing.T, root string, files map[string]string) {
	t.Helper()
	for name, content := range files {
		p := filepath.Join(root, name)
		switch {
		case strings.HasSuffix(name, "/"):
			mustMkdir(t, p)
		case strings.HasPrefix(content, "-> "):
			mustMkdir(t, filepath.Dir(p))
			mustSymlink(t, strings.TrimPrefix(content, "-> "), p)
		default:
			writeFile(t, p, []byte(content))
		}
	}
}

// copyTree copies a directory tree, keeping symlinks as symlinks.
func copyTree(t *testing.T, src, dst string) {
	t.Helper()
	err := filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		to := filepath.Join(dst, rel)
		switch {
		case d.Type()&fs.ModeSymlink != 0:
			target, err := os.Readlink(p)
			if err != nil {
				return err
			}
			return os.Symlink(target, to)
		case d.IsDir():
			return os.MkdirAll(to, 0o755)
		default:
			data, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			return os.WriteFile(to, data, 0o644)
		}
	})
	if err != nil {
		t.Fatal(err)
	}
}

func mustMkdir(t *testing.T, p string) {
	t.Helper()
	if err := os.MkdirAll(p, 0o755); err != nil {
		t.Fatal(err)
	}
}

func mustSymlink(t *testing.T, target, p string) {
	t.Helper()
	if err := os.Symlink(target, p); err != nil {
		t.Fatal(err)
	}
}

func writeFile(t *testing.T, p string, data []byte) {
	t.Helper()
	mustMkdir(t, filepath.Dir(p))
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

func mustRead(t *testing.T, p string) []byte {
	t.Helper()
	data, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// TestExtensionAlignmentMatchesHost checks where ldconfig puts the extension
// for string tables of every length modulo 8: glibc rounds its offset up to
// 4 bytes (cache.c), not 8 as apk-reference.md §6.3 says.
func TestExtensionAlignmentMatchesHost(t *testing.T) {
	ldconfig, _ := hostLdconfig(t)
	sysDirs := hostSystemDirs(t, ldconfig)
	seen := map[uint32]bool{}
	for n := range 8 {
		root := t.TempDir()
		name := "lib" + strings.Repeat("a", n) + ".so.1"
		writeFile(t, filepath.Join(root, "usr/lib", name),
			makeELF(elfSpec{machine: elf.EM_X86_64, soname: name}))
		runLdconfig(t, ldconfig, root, "-X", "-C", "/cache")
		want := mustRead(t, filepath.Join(root, "cache"))
		parsed, err := Parse(want)
		if err != nil {
			t.Fatal(err)
		}
		c, _, err := Build(os.DirFS(root), Options{Arch: "x86_64", SystemDirs: sysDirs,
			Generator: parsed.Generator})
		if err != nil {
			t.Fatal(err)
		}
		got, err := Encode(c)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(want, got) {
			t.Errorf("%s: cache differs from the host's at byte %d", name, firstDiff(want, got))
		}
		strEnd := headerSize + entrySize + binary.LittleEndian.Uint32(want[24:])
		seen[strEnd%8] = true
		if ext := binary.LittleEndian.Uint32(want[32:]); ext != (strEnd+3)&^3 {
			t.Errorf("%s: host extension at %d, strings end at %d", name, ext, strEnd)
		}
	}
	if len(seen) != 8 {
		t.Errorf("string table ends cover %d residues modulo 8, want all 8", len(seen))
	}
}
