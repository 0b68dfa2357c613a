package layer

import (
	"archive/tar"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"testing"
	"testing/fstest"

	"github.com/google/go-cmp/cmp"
	"github.com/rules-apk/rules_apk/tools/internal/ldso"
	"github.com/rules-apk/rules_apk/tools/internal/lock"
)

// hostLib reads a real x86_64 glibc library of the host (Debian keeps them
// in /lib/x86_64-linux-gnu); the test skips where there is none.
func hostLib(t *testing.T, name string) string {
	t.Helper()
	if runtime.GOARCH != "amd64" {
		t.Skip("needs the host's x86_64 glibc libraries")
	}
	b, err := os.ReadFile(filepath.Join("/lib/x86_64-linux-gnu", name))
	if err != nil {
		t.Skipf("needs the host's x86_64 glibc libraries: %v", err)
	}
	return string(b)
}

// glibcClosure is shaped like Wolfi's glibc: ld.so.conf with an include,
// the loader and libc in usr/lib reached through lib -> usr/lib, an
// ldconfig commit hook, and an old-style ldconfig trigger; plus a library
// shipped without its SONAME symlink.
func glibcClosure(t *testing.T) []pkgSpec {
	base := pkg("wolfi-baselayout", dir("usr"), dir("usr/lib"), symlink("lib", "usr/lib"),
		symlink("lib64", "usr/lib"))
	base.info.Provides = "merged-lib"
	glibc := pkg("glibc", dir("etc"), file("etc/ld.so.conf", "include /etc/ld.so.conf.d/*.conf\n"),
		dir("etc/ld.so.conf.d"), file("etc/ld.so.conf.d/libc.conf", "/usr/local/lib\n/usr/lib\n"),
		dir("etc/apk"), dir("etc/apk/commit_hooks.d"),
		fileSpec{path: "etc/apk/commit_hooks.d/ldconfig-commit.sh", mode: 0o755,
			data: "#!/bin/sh\n[ \"$1\" = post-commit ] && /usr/bin/ldconfig\n"},
		dir("lib"),
		fileSpec{path: "lib/ld-linux-x86-64.so.2", mode: 0o755, data: hostLib(t, "ld-linux-x86-64.so.2")},
		fileSpec{path: "lib/libc.so.6", mode: 0o755, data: hostLib(t, "libc.so.6")})
	glibc.info.Depends = "wolfi-baselayout"
	glibc.info.Triggers = "/lib /usr/lib"
	glibc.scripts = map[string]string{".trigger": "#!/bin/sh\n/usr/bin/ldconfig\n"}
	zlib := pkg("zlib", dir("usr"), dir("usr/lib"),
		fileSpec{path: "usr/lib/libz.so.1.2.13", mode: 0o755, data: hostLib(t, "libz.so.1.2.13")})
	zlib.info.Depends = "glibc"
	return []pkgSpec{base, glibc, zlib}
}

func TestLdsoCache(t *testing.T) {
	l, d := fixture(t, glibcClosure(t)...)
	r := mustBuild(t, l, d, nil)
	if len(r.Scripts) != 0 {
		t.Errorf("scripts not emulated: %v", r.Scripts)
	}
	m := entryMap(readTar(t, r.Layers[0].Path))
	if e := m["usr/lib/libz.so.1"]; e.Type != tar.TypeSymlink || e.Link != "libz.so.1.2.13" {
		t.Errorf("usr/lib/libz.so.1 is %+v, want the SONAME symlink ldconfig makes", e)
	}
	c, err := ldso.Parse([]byte(m["etc/ld.so.cache"].Data))
	if err != nil {
		t.Fatalf("parsing the written ld.so.cache: %v", err)
	}
	var got []string
	for _, e := range c.Entries {
		got = append(got, e.SOName+" "+e.Path)
	}
	want := []string{"libz.so.1 /usr/lib/libz.so.1", "libc.so.6 /usr/lib/libc.so.6",
		"ld-linux-x86-64.so.2 /usr/lib/ld-linux-x86-64.so.2"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("cache entries (-want +got):\n%s", diff)
	}
}

// TestLdsoCacheGlibcVersion: the cache follows the ldconfig of the
// closure's glibc; before 2.37 it descends into legacy hwcap
// subdirectories such as tls/, from 2.37 on it does not.
func TestLdsoCacheGlibcVersion(t *testing.T) {
	for _, tc := range []struct {
		version string
		tls     bool
	}{{"2.36-r914", true}, {"2.42-r3", false}} {
		t.Run(tc.version, func(t *testing.T) {
			specs := glibcClosure(t)
			specs[1].info.Version = tc.version
			specs[2].files = append(specs[2].files, dir("usr/lib/tls"),
				fileSpec{path: "usr/lib/tls/libz.so.1", mode: 0o755,
					data: hostLib(t, "libz.so.1.2.13")})
			l, d := fixture(t, specs...)
			r := mustBuild(t, l, d, nil)
			m := entryMap(readTar(t, r.Layers[0].Path))
			c, err := ldso.Parse([]byte(m["etc/ld.so.cache"].Data))
			if err != nil {
				t.Fatal(err)
			}
			found := false
			for _, e := range c.Entries {
				found = found || e.Path == "/usr/lib/tls/libz.so.1"
			}
			if found != tc.tls {
				t.Errorf("glibc %s: /usr/lib/tls/libz.so.1 in the cache is %v, want %v",
					tc.version, found, tc.tls)
			}
		})
	}
}

// TestTreeFS checks the io/fs view ldso.Build scans with the standard
// library's checker.
func TestTreeFS(t *testing.T) {
	l, d := fixture(t, wolfiLike()...)
	g, err := NewGraph(l.Packages)
	if err != nil {
		t.Fatal(err)
	}
	var pkgs []lock.Package
	var paths []string
	for _, i := range InstallOrder(l.Packages, g) {
		p := l.Packages[i]
		pkgs = append(pkgs, p)
		paths = append(paths, filepath.Join(d, p.Name+"-"+p.Version+".apk"))
	}
	opts := &Options{Lockfile: l, Arch: "x86_64", Locate: DirLocator(d), Output: "unused",
		OSRelease: []byte("ID=x\n"), Parallelism: 2, TempDir: t.TempDir()}
	if err := opts.check(); err != nil {
		t.Fatal(err)
	}
	data, spools, err := readAll(t.Context(), opts, pkgs, paths)
	if err != nil {
		t.Fatal(err)
	}
	defer closeSpools(spools)
	a, err := assemble(opts, data)
	if err != nil {
		t.Fatal(err)
	}
	fsys := &treeFS{t: a.tree}
	if err := fstest.TestFS(fsys, "usr/bin/tool", "usr/lib/libfoo.so.1.2", "etc/os-release",
		"bin", "lib"); err != nil {
		t.Error(err)
	}
	if target, err := fsys.ReadLink("lib"); err != nil || target != "usr/lib" {
		t.Errorf("ReadLink(lib) = %q, %v", target, err)
	}
	b, err := fs.ReadFile(fsys, "lib/libfoo.so.1")
	if err != nil || string(b) != "ELF libfoo" {
		t.Errorf("lib/libfoo.so.1 reads %q, %v through two symlinks", b, err)
	}
}
