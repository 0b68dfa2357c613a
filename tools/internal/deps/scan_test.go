package deps

import (
	"errors"
	"io/fs"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestScanPkgConfig scans a tree of .pc files: variables, escapes,
// continuation lines, CRLF, versioned requirements with and without
// spaces, pre-release versions, versions apk cannot hold, aliases made
// with links, conflicting files, and files outside pkgconfig directories.
func TestScanPkgConfig(t *testing.T) {
	const pc = "usr/lib/pkgconfig/"
	root := buildTree(t,
		file(pc+"libfoo.pc", `# libfoo's pkg-config file
prefix=/usr
libdir=${prefix}/lib
major=2
minor=5
version=${major}.${minor}.1

Name: libfoo \# the first
Description: Foo library
Version: ${version}
Requires: libssl >= 3.0, zlib
Requires.private: libbar = 1.2 libfoo-internal,libzstd>=1.5.0-rc1
Libs: -L${libdir} -lfoo
`, 0o644),
		file(pc+"libfoo-internal.pc", "Version: 2.5.1\nRequires: zlib >= 1.2.11\n", 0o644),
		symlink(pc+"alias.pc", "libfoo.pc"),
		file(pc+"noversion.pc", "Name: x\n", 0o644),
		file(pc+"ops.pc", "Version: 1\nRequires: x =< 2, y >=\n", 0o644),
		file(pc+"undef.pc", "Version: ${nope}1.0\n", 0o644),
		file(pc+"weird.pc",
			"Version: 1.0+git20230101\nRequires: gtk+-3.0 != 3.1, glib-2.0 >= 2.0~beta\n", 0o644),
		file("usr/lib/x86_64-linux-gnu/pkgconfig/multi.pc",
			"Version: 1.0\r\nRequires: a \\\r\n  b\r\n", 0o644),
		file("usr/share/pkgconfig/proto.pc", "Name: proto\nVersion: 2.0-rc1\n", 0o644),
		file("usr/share/pkgconfig/libfoo.pc", "Version: 9.9\n", 0o644),
		file("opt/foo/lib/pkgconfig/outside.pc", "Version: 1\nRequires: outside-dep\n", 0o644),
	)
	want := scanResult{
		Provides: []string{
			"pc:alias=2.5.1",
			"pc:libfoo-internal=2.5.1",
			"pc:libfoo=2.5.1",
			"pc:multi=1.0",
			"pc:ops=1",
			"pc:proto=2.0_rc1",
			"pc:undef=1.0",
		},
		Depends: []string{
			"pc:a",
			"pc:b",
			"pc:glib-2.0",
			"pc:gtk+-3.0",
			"pc:libbar=1.2",
			"pc:libssl>=3.0",
			"pc:libzstd>=1.5.0_rc1",
			"pc:x",
			"pc:y",
			"pc:zlib>=1.2.11",
		},
		Warnings: []Warning{
			{pc + "noversion.pc", "no Version field; pc:noversion is not provided"},
			{pc + "ops.pc", `module x: unknown operator "=<"; any version is accepted`},
			{pc + "ops.pc", `module y: operator ">=" has no version; any version is accepted`},
			{pc + "undef.pc", `variable "nope" is not defined; it expands to nothing`},
			{pc + "weird.pc",
				`Version "1.0+git20230101" is not a valid apk version; pc:weird is not provided`},
			{pc + "weird.pc", "apk has no != constraint; pc:gtk+-3.0 is needed at any version"},
			{pc + "weird.pc", `pc:glib-2.0>=2.0~beta: "2.0~beta" is not a valid apk version; ` +
				"pc:glib-2.0 is needed at any version"},
			{"usr/share/pkgconfig/libfoo.pc",
				"pc:libfoo=9.9 is left out: " + pc + "libfoo.pc already provides pc:libfoo=2.5.1"},
		},
	}
	got := scan(t, root, Options{Version: "1.0-r0"})
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Scan (-want +got):\n%s", diff)
	}
}

// TestScanCommands checks which files and links provide cmd: names.
func TestScanCommands(t *testing.T) {
	const script = "#!/bin/sh\nexit 0\n"
	root := buildTree(t,
		file("bin/sh", script, 0o644), // no x bit
		file("usr/bin/tool", script, 0o755),
		file("usr/sbin/daemon", script, 0o700),
		file("usr/local/bin/local", script, 0o711),
		file("usr/libexec/helper", script, 0o755),
		file("usr/bin/sub/deep", script, 0o755),
		file("usr/bin/bad name", script, 0o755),
		file("opt/app/bin/real", script, 0o755),
		file("usr/share/doc/readme", "text\n", 0o644),
		symlink("usr/bin/rel", "tool"),
		symlink("usr/bin/abs", "/opt/app/bin/real"),
		symlink("usr/bin/up", "../../../../../opt/app/bin/real"),
		symlink("usr/bin/through-dir", "/usr/../opt/app/bin/real"),
		symlink("usr/bin/broken", "missing"),
		symlink("usr/bin/loop1", "loop2"),
		symlink("usr/bin/loop2", "loop1"),
		symlink("usr/bin/dirlink", "../lib"),
		symlink("usr/bin/readme", "../share/doc/readme"),
		symlink("usr/bin/file-as-dir", "tool/x"),
	)
	want := scanResult{
		Provides: []string{
			"cmd:abs=1.2.3-r4",
			"cmd:daemon=1.2.3-r4",
			"cmd:local=1.2.3-r4",
			"cmd:rel=1.2.3-r4",
			"cmd:through-dir=1.2.3-r4",
			"cmd:tool=1.2.3-r4",
			"cmd:up=1.2.3-r4",
		},
		Warnings: []Warning{
			{"usr/bin/bad name",
				`"cmd:bad name" cannot be written as a provided name; it is left out`},
			{"usr/bin/loop1", "too many levels of symbolic links; the link is ignored"},
			{"usr/bin/loop2", "too many levels of symbolic links; the link is ignored"},
		},
	}
	got := scan(t, root, Options{Version: "1.2.3-r4"})
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Scan (-want +got):\n%s", diff)
	}
}

// TestScanOptions turns each detector and each output off in turn.
func TestScanOptions(t *testing.T) {
	libz := hostFile(t, hostLibDir+"/libz.so.1.*")
	root := buildTree(t,
		copyOf("usr/bin/true", hostFile(t, "/usr/bin/true")),
		copyOf("usr/lib/libz.so.1", libz),
		file("usr/lib/pkgconfig/zlib.pc", "Version: 1.2.13\nRequires.private: libfoo\n", 0o644),
	)
	all := scanResult{
		Provides: []string{"cmd:true=1-r0", "pc:zlib=1.2.13", "so:libz.so.1=1"},
		Depends:  []string{"pc:libfoo", "so:ld-linux-x86-64.so.2", "so:libc.so.6"},
	}
	tests := []struct {
		name string
		opts Options
		want scanResult
	}{
		{"everything", Options{Version: "1-r0"}, all},
		{"no commands, no version", Options{NoCommands: true}, scanResult{
			Provides: all.Provides[1:], Depends: all.Depends,
		}},
		{"no shared objects", Options{Version: "1-r0", NoSharedObjects: true}, scanResult{
			Provides: all.Provides[:2], Depends: all.Depends[:1],
		}},
		{"no pkg-config", Options{Version: "1-r0", NoPkgConfig: true}, scanResult{
			Provides: []string{all.Provides[0], all.Provides[2]}, Depends: all.Depends[1:],
		}},
		{"no provides", Options{Version: "1-r0", NoProvides: true}, scanResult{
			Depends: all.Depends,
		}},
		{"no depends", Options{Version: "1-r0", NoDepends: true}, scanResult{
			Provides: all.Provides,
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, scan(t, root, tt.opts)); diff != "" {
				t.Errorf("Scan (-want +got):\n%s", diff)
			}
		})
	}
}

// TestScanErrors checks the failures a caller can act on.
func TestScanErrors(t *testing.T) {
	dir := buildTree(t, file("a-file", "x", 0o644))
	tests := []struct {
		name    string
		root    string
		opts    Options
		wantIs  error  // errors.Is target, or nil
		wantMsg string // substring of the message
	}{
		{"missing root", filepath.Join(dir, "missing"), Options{Version: "1-r0"},
			fs.ErrNotExist, "opening package tree"},
		// os.OpenRoot reports this with an error value of its own.
		{"root is a file", filepath.Join(dir, "a-file"), Options{Version: "1-r0"},
			nil, "a-file: not a directory"},
		{"invalid version", dir, Options{Version: "1.0-beta"},
			nil, `package version "1.0-beta" is not a valid apk version`},
		{"empty version", dir, Options{}, nil, `package version "" is not a valid apk version`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Scan(tt.root, tt.opts)
			if err == nil || !strings.Contains(err.Error(), tt.wantMsg) {
				t.Fatalf("Scan error = %v, want one containing %q", err, tt.wantMsg)
			}
			if tt.wantIs != nil && !errors.Is(err, tt.wantIs) {
				t.Errorf("Scan error = %v, want errors.Is %v", err, tt.wantIs)
			}
			var verr *VersionError
			if errors.As(err, &verr) != (tt.opts.Version != "1-r0") {
				t.Errorf("Scan error = %#v: VersionError only for an invalid version", err)
			}
		})
	}

	// Without the cmd: detector the version is not needed.
	if _, err := Scan(dir, Options{NoCommands: true}); err != nil {
		t.Errorf("Scan with NoCommands and no version: %v", err)
	}
}
