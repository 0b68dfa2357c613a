package deps

import (
	"debug/elf"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// scanResult is the part of a Result the table tests compare.
type scanResult struct {
	Provides, Depends []string
	Warnings          []Warning
}

// scan runs Scan and returns its result without nil/empty distinctions.
func scan(t *testing.T, root string, opts Options) scanResult {
	t.Helper()
	res, err := Scan(root, opts)
	if err != nil {
		t.Fatalf("Scan: %v", err)
	}
	return scanResult{Provides: res.Provides, Depends: res.Depends, Warnings: res.Warnings}
}

// TestScanHostELF scans trees made of real glibc files copied from the
// host: the loader, libc, zlib and a program.
func TestScanHostELF(t *testing.T) {
	ld := hostFile(t, hostLibDir+"/ld-linux-x86-64.so.2")
	libc := hostFile(t, hostLibDir+"/libc.so.6")
	libz := hostFile(t, hostLibDir+"/libz.so.1.*")
	trueBin := hostFile(t, "/usr/bin/true")
	libzName := filepath.Base(libz)
	ml := "usr/lib/x86_64-linux-gnu/"

	tests := []struct {
		name  string
		nodes []node
		want  scanResult
	}{{
		name: "whole glibc runtime needs nothing outside itself",
		nodes: []node{
			copyOf(ml+"ld-linux-x86-64.so.2", ld),
			symlink("lib64/ld-linux-x86-64.so.2", "/"+ml+"ld-linux-x86-64.so.2"),
			copyOf(ml+"libc.so.6", libc),
			copyOf(ml+libzName, libz),
			symlink(ml+"libz.so.1", libzName),
			copyOf("usr/bin/true", trueBin),
		},
		want: scanResult{Provides: []string{
			"cmd:true=1.0-r0",
			"so:ld-linux-x86-64.so.2=2",
			"so:libc.so.6=6",
			"so:libz.so.1=1",
		}},
	}, {
		name:  "a program alone needs libc and its interpreter",
		nodes: []node{copyOf("usr/bin/true", trueBin)},
		want: scanResult{
			Provides: []string{"cmd:true=1.0-r0"},
			Depends:  []string{"so:ld-linux-x86-64.so.2", "so:libc.so.6"},
		},
	}, {
		name: "zlib with its development link",
		nodes: []node{
			copyOf(ml+libzName, libz),
			symlink(ml+"libz.so.1", libzName),
			symlink(ml+"libz.so", "libz.so.1"),
			// libc.so is a linker script, not ELF: ignored.
			file(ml+"libc.so", "/* GNU ld script */\nGROUP ( libc.so.6 )\n", 0o644),
		},
		want: scanResult{
			Provides: []string{"so:libz.so.1=1"},
			Depends:  []string{"so:libc.so.6"},
		},
	}, {
		name: "a library outside library directories provides nothing but is shipped",
		nodes: []node{
			copyOf("opt/app/"+libzName, libz),
			copyOf("usr/lib/python3/dist-packages/libc.so.6", libc),
			copyOf("usr/bin/true", trueBin),
		},
		want: scanResult{
			Provides: []string{"cmd:true=1.0-r0"},
			Depends:  []string{"so:ld-linux-x86-64.so.2"},
		},
	}, {
		name: "links never reach host files",
		nodes: []node{
			symlink("usr/bin/hosttrue", "/usr/bin/true"),
			symlink(ml+"libz.so.1", hostLibDir+"/"+libzName),
			symlink("usr/lib/libc.so.6", "../../../../../../../../"+hostLibDir[1:]+"/libc.so.6"),
		},
		want: scanResult{},
	}, {
		name: "relative links climbing past the root stop at it",
		nodes: []node{
			copyOf("opt/true", trueBin),
			symlink("usr/bin/true", "../../../../../../../../opt/true"),
		},
		want: scanResult{
			Provides: []string{"cmd:true=1.0-r0"},
			Depends:  []string{"so:ld-linux-x86-64.so.2", "so:libc.so.6"},
		},
	}, {
		name:  "a truncated ELF file is a warning",
		nodes: []node{file("usr/bin/cut", readHead(t, trueBin, 1000), 0o755)},
		want: scanResult{
			Provides: []string{"cmd:cut=1.0-r0"},
			Warnings: []Warning{
				{"usr/bin/cut", "has the ELF magic number but is truncated; it is left out"},
			},
		},
	}, {
		name:  "a program without section headers needs only its interpreter",
		nodes: []node{file("usr/bin/sstrip", withoutSectionHeaders(t, trueBin), 0o755)},
		want: scanResult{
			Provides: []string{"cmd:sstrip=1.0-r0"},
			Depends:  []string{"so:ld-linux-x86-64.so.2"},
			Warnings: []Warning{{"usr/bin/sstrip", errNoDynamicSection.Error()}},
		},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root := buildTree(t, tt.nodes...)
			got := scan(t, root, Options{Version: "1.0-r0"})
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("Scan (-want +got):\n%s", diff)
			}
		})
	}
}

// readHead returns the first n bytes of a host file.
func readHead(t *testing.T, name string, n int) string {
	t.Helper()
	data, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	return string(data[:min(n, len(data))])
}

// withoutSectionHeaders returns a host ELF64 file with its section header
// table dropped from the ELF header (e_shoff, e_shnum, e_shstrndx), as
// sstrip leaves programs: the program headers alone still describe it.
func withoutSectionHeaders(t *testing.T, name string) string {
	t.Helper()
	data, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	if len(data) < 64 || data[elf.EI_CLASS] != byte(elf.ELFCLASS64) {
		t.Fatalf("%s is not an ELF64 file", name)
	}
	clear(data[0x28:0x30]) // e_shoff
	clear(data[0x3c:0x40]) // e_shnum, e_shstrndx
	return string(data)
}

// elfNames is what binutils' readelf reports for one file: the oracle the
// curl test checks Scan against.
type elfNames struct {
	needed, sonames []string
	interp          string
}

// readelf runs `readelf -d -l -W` on file and collects its DT_NEEDED,
// DT_SONAME and PT_INTERP.
func readelf(t *testing.T, file string) elfNames {
	t.Helper()
	out := run(t, hostTool(t, "readelf"), "-d", "-l", "-W", file)
	var n elfNames
	for line := range strings.Lines(string(out)) {
		_, v, _ := strings.Cut(line, "[")
		v, _, _ = strings.Cut(v, "]")
		switch {
		case strings.Contains(line, "(NEEDED)"):
			n.needed = append(n.needed, v)
		case strings.Contains(line, "(SONAME)"):
			n.sonames = append(n.sonames, v)
		case strings.Contains(line, "Requesting program interpreter: "):
			n.interp = strings.TrimPrefix(v, "Requesting program interpreter: ")
		}
	}
	return n
}

// TestScanCurl scans the host's curl and libcurl and checks the result
// against readelf's view of the same files.
func TestScanCurl(t *testing.T) {
	curl := hostFile(t, "/usr/bin/curl")
	libcurl := hostFile(t, hostLibDir+"/libcurl.so.4.*")
	curlNames, libNames := readelf(t, curl), readelf(t, libcurl)
	if diff := cmp.Diff([]string{"libcurl.so.4"}, libNames.sonames); diff != "" {
		t.Fatalf("readelf SONAME of %s (-want +got):\n%s", libcurl, diff)
	}
	if !slices.Contains(curlNames.needed, "libcurl.so.4") || curlNames.interp == "" {
		t.Fatalf("readelf of %s: want NEEDED libcurl.so.4 and an interpreter, got %+v",
			curl, curlNames)
	}

	// Expected: everything both files need, minus the SONAME the tree ships.
	var want []string
	for _, lib := range append(curlNames.needed, libNames.needed...) {
		if lib != "libcurl.so.4" {
			want = append(want, "so:"+lib)
		}
	}
	want = append(want, "so:"+path.Base(curlNames.interp))
	slices.Sort(want)
	want = slices.Compact(want)

	root := buildTree(t,
		copyOf("usr/bin/curl", curl),
		copyOf("usr/lib/"+filepath.Base(libcurl), libcurl),
		symlink("usr/lib/libcurl.so.4", filepath.Base(libcurl)),
	)
	got := scan(t, root, Options{Version: "8.5.0-r0"})
	wantRes := scanResult{
		Provides: []string{"cmd:curl=8.5.0-r0", "so:libcurl.so.4=4"},
		Depends:  want,
	}
	if diff := cmp.Diff(wantRes, got); diff != "" {
		t.Errorf("Scan (-want +got):\n%s", diff)
	}
}

// cBuild compiles the test's C sources with the host gcc into dir.
type cBuild struct {
	t   *testing.T
	gcc string
	dir string
}

// write writes a source file and returns its path.
func (b cBuild) write(name, src string) string {
	p := filepath.Join(b.dir, name)
	if err := os.WriteFile(p, []byte(src), 0o644); err != nil {
		b.t.Fatal(err)
	}
	return p
}

// gccOut runs gcc with args plus "-o <dir>/out" and returns the output path.
func (b cBuild) gccOut(out string, args ...string) string {
	b.t.Helper()
	p := filepath.Join(b.dir, out)
	run(b.t, b.gcc, append(args, "-o", p)...)
	return p
}

// sharedLib links the position-independent object obj into a shared
// library with the given SONAME ("" for none).
func (b cBuild) sharedLib(out, obj, soname string, extra ...string) string {
	b.t.Helper()
	args := []string{"-shared", obj}
	if soname != "" {
		args = append(args, "-Wl,-soname,"+soname)
	}
	return b.gccOut(out, append(args, extra...)...)
}

// compiledFixtures builds the programs and libraries of TestScanCompiled.
func compiledFixtures(t *testing.T) map[string]string {
	hostFile(t, hostLibDir+"/libc.so.6")
	hostFile(t, hostLibDir+"/libc.a") // for the static program
	b := cBuild{t: t, gcc: hostTool(t, "gcc"), dir: t.TempDir()}
	lib := b.write("lib.c", "int greet(void) { return 42; }\n")
	plugin := b.write("plugin.c", "#include <math.h>\n"+
		"double plug(double x) { return sqrt(x) + cos(x); }\n")
	app := b.write("app.c", "int greet(void);\nint main(void) { return greet() == 42 ? 0 : 1; }\n")
	static := b.write("static.c", "int main(void) { return 0; }\n")
	libObj := b.gccOut("lib.o", "-c", "-fPIC", lib)

	f := map[string]string{
		"greet":  b.sharedLib("libgreet.so.1.2.3", libObj, "libgreet.so.1"),
		"inner":  b.sharedLib("libinner.so.7.1.0", libObj, "libinner.so.7.1"),
		"other":  b.sharedLib("libother.so.2", libObj, "libother.so.2"),
		"multi":  b.sharedLib("libmulti.so.3", libObj, "libmulti.so.3"),
		"sub":    b.sharedLib("libsub.so.4", libObj, "libsub.so.4"),
		"weird":  b.sharedLib("libweird.so.1a", libObj, "libweird.so.1a"),
		"nover":  b.sharedLib("libnover.so", libObj, "libnover.so"),
		"plain":  b.sharedLib("libplain", libObj, "libplain"),
		"priv":   b.sharedLib("libpriv.so", libObj, ""),
		"plugin": b.sharedLib("plugin.so", plugin, "plugin.so", "-fPIC", "-lm"),
		"static": b.gccOut("static", "-static", static),
	}
	f["app"] = b.gccOut("app", app, f["greet"])
	// app2 links a library without SONAME through -l, so its DT_NEEDED is
	// the file name "libpriv.so", and a private library with one.
	f["app2"] = b.gccOut("app2", app, "-L"+b.dir, "-lpriv", f["other"])
	// A position-independent program that carries a SONAME, as jlink
	// output does.
	f["helper"] = b.gccOut("helper", "-pie", "-fPIE", static, "-Wl,-soname,libhelper.so.9")
	// app3 links libpriv.so by path, so its DT_NEEDED is "./libpriv.so".
	runIn(t, b.dir, b.gcc, app, "./libpriv.so", "-o", "app3")
	f["app3"] = filepath.Join(b.dir, "app3")
	// A separate debug file, as -dbg packages carry.
	f["debug"] = filepath.Join(b.dir, "app.debug")
	run(t, hostTool(t, "objcopy"), "--only-keep-debug", f["app"], f["debug"])
	return f
}

// TestScanCompiled scans a tree of programs and libraries compiled by the
// host gcc: a library the tree both ships and uses, plugins and private
// libraries outside the library directories, ld.so.conf directories,
// multiarch directories, unusual SONAMEs, a static program, a program with
// a SONAME, a DT_NEEDED that is a path, and a separate debug file.
func TestScanCompiled(t *testing.T) {
	f := compiledFixtures(t)
	root := buildTree(t,
		copyOf("usr/lib/libgreet.so.1.2.3", f["greet"]),
		symlink("usr/lib/libgreet.so.1", "libgreet.so.1.2.3"),
		symlink("usr/lib/libgreet.so", "libgreet.so.1"),
		copyOf("usr/bin/app", f["app"]),
		symlink("usr/bin/app-link", "app"),
		copyOf("usr/bin/app2", f["app2"]),
		copyOf("usr/lib/app/libpriv.so", f["priv"]),
		copyOf("usr/lib/app/plugins/plugin.so", f["plugin"]),
		file("etc/ld.so.conf", "include /etc/ld.so.conf.d/*.conf\n", 0o644),
		file("etc/ld.so.conf.d/app.conf", "# the app's libraries\n/opt/app/lib/\n", 0o644),
		copyOf("opt/app/lib/libinner.so.7.1.0", f["inner"]),
		copyOf("opt/other/lib/libother.so.2", f["other"]),
		copyOf("usr/lib/x86_64-linux-gnu/libmulti.so.3", f["multi"]),
		copyOf("usr/lib/notatriplet/libsub.so.4", f["sub"]),
		copyOf("usr/lib/libweird.so.1a", f["weird"]),
		copyOf("usr/lib/libnover.so", f["nover"]),
		copyOf("usr/lib/libplain", f["plain"]),
		copyOf("usr/lib/helper", f["helper"]),
		copyOf("usr/bin/static", f["static"]),
		copyOf("usr/libexec/app3", f["app3"]),
		file("usr/lib/debug/.build-id/ab/cdef.debug", readHead(t, f["debug"], 1<<30), 0o644),
	)
	want := scanResult{
		Provides: []string{
			"cmd:app-link=2.0-r1",
			"cmd:app2=2.0-r1",
			"cmd:app=2.0-r1",
			"cmd:static=2.0-r1",
			"so:libgreet.so.1=1",
			"so:libinner.so.7.1=7.1",
			"so:libmulti.so.3=3",
			"so:libnover.so=0",
			"so:libplain=0",
			"so:libweird.so.1a=0",
		},
		Depends: []string{"so:ld-linux-x86-64.so.2", "so:libc.so.6", "so:libm.so.6"},
		Warnings: []Warning{{"usr/libexec/app3",
			`DT_NEEDED "./libpriv.so" is a path, not a library name; it is left out`}},
	}
	got := scan(t, root, Options{Version: "2.0-r1"})
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Scan (-want +got):\n%s", diff)
	}
}
