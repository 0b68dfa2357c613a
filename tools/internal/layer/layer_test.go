package layer

import (
	"archive/tar"
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/rules-apk/rules_apk/tools/internal/apk"
	"github.com/rules-apk/rules_apk/tools/internal/testutil"
)

// wolfiLike is a small usr-merged closure shaped like Wolfi's: a
// baselayout with the lib, bin and sbin symlinks, a library shipped under
// lib/, busybox with its path list and trigger, and a tool with a setuid
// binary, a hard link, an xattr, an owned directory and a post-install
// script.
func wolfiLike() []pkgSpec {
	base := pkg("wolfi-baselayout",
		dir("etc"), fileSpec{path: "etc/os-release", mode: 0o644,
			data: "ID=wolfi\nNAME=\"Wolfi\"\nVERSION_ID=\"20230201\"\n"},
		symlink("bin", "usr/bin"), symlink("lib", "usr/lib"), symlink("lib64", "usr/lib"),
		dir("run"), symlink("sbin", "usr/bin"), fileSpec{path: "tmp", typ: tar.TypeDir, mode: 0o1777},
		dir("usr"), dir("usr/bin"), dir("usr/lib"), symlink("usr/sbin", "bin"),
		dir("var"), symlink("var/run", "../run"))
	base.info.Provides = "merged-lib merged-bin merged-sbin merged-usrsbin"

	lib := pkg("libfoo", dir("lib"), file("lib/libfoo.so.1.2", "ELF libfoo"),
		symlink("lib/libfoo.so.1", "libfoo.so.1.2"))
	lib.info.Provides = "so:libfoo.so.1=1"

	bb := pkg("busybox", dir("etc"), dir("etc/busybox-paths.d"),
		file("etc/busybox-paths.d/busybox", "usr/bin/sh\nusr/bin/ls\nusr/sbin/ip\nbin/cat\n"+
			"usr/bin/busybox\nusr/local/bin/missing\n"),
		dir("usr"), dir("usr/bin"), fileSpec{path: "usr/bin/busybox", mode: 0o755, data: "ELF bb"})
	bb.info.Triggers = "/bin /usr/bin /sbin /usr/sbin"
	bb.scripts = map[string]string{".trigger": "#!/usr/bin/busybox sh\n/usr/bin/busybox --install -s\n"}
	bb.info.Provides = "cmd:sh=1.0-r0"

	tool := pkg("tool", dir("usr"), dir("usr/bin"),
		fileSpec{path: "usr/bin/tool", mode: 0o4755, data: "ELF tool"},
		fileSpec{path: "usr/bin/tool2", typ: tar.TypeLink, link: "usr/bin/tool", mode: 0o4755},
		fileSpec{path: "usr/bin/ping", mode: 0o755, data: "ELF ping",
			xattrs: map[string]string{"security.capability": "\x01\x00\x00\x02"}},
		dir("var"), dir("var/lib"),
		fileSpec{path: "var/lib/tool", typ: tar.TypeDir, mode: 0o700, uid: 100, gid: 101},
		fileSpec{path: "var/lib/tool/.keep_tool", mode: 0o644},
		fileSpec{path: "usr/bin/.keep_x", mode: 0o644})
	tool.info.Depends = "so:libfoo.so.1 busybox"
	tool.scripts = map[string]string{".post-install": "#!/bin/sh\nadduser tool\n"}
	return []pkgSpec{base, lib, bb, tool}
}

func TestBuildWolfiLike(t *testing.T) {
	l, d := fixture(t, wolfiLike()...)
	r := mustBuild(t, l, d, nil)

	if diff := cmp.Diff([]string{"wolfi-baselayout", "busybox", "libfoo", "tool"},
		names(r.Packages)); diff != "" {
		t.Errorf("install order (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"tool-1.0-r0.post-install"}, r.Scripts); diff != "" {
		t.Errorf("scripts not run (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(OSRelease{ID: "wolfi", VersionID: "20230201"}, r.OSRelease); diff != "" {
		t.Errorf("os-release (-want +got):\n%s", diff)
	}
	entries := readTar(t, r.Layers[0].Path)
	testutil.Golden(t, "wolfi-like.listing", listing(entries))
	m := entryMap(entries)

	// Usr-merge: what packages ship under lib/ and bin/ lands under usr/.
	for _, p := range []string{"usr/lib/libfoo.so.1.2", "usr/bin/cat", "usr/bin/ip",
		"usr/lib/apk/db/installed"} {
		if _, ok := m[p]; !ok {
			t.Errorf("%s missing from the layer", p)
		}
	}
	for _, e := range entries {
		for _, link := range []string{"lib/", "bin/", "sbin/", "usr/sbin/", "lib64/"} {
			if strings.HasPrefix(e.Name, link) {
				t.Errorf("entry %s lies under the symlink %s", e.Name, link)
			}
		}
	}
	db := readDB(t, m["usr/lib/apk/db/installed"].Data)
	if diff := cmp.Diff([]string{"busybox", "libfoo", "tool", "wolfi-baselayout"},
		dbNames(db)); diff != "" {
		t.Errorf("installed database records (-want +got):\n%s", diff)
	}
}

func names(ps []Package) []string {
	var out []string
	for _, p := range ps {
		out = append(out, p.Name)
	}
	return out
}

func readDB(t testing.TB, data string) *apk.InstalledDB {
	t.Helper()
	db, err := apk.ReadInstalled(strings.NewReader(data))
	if err != nil {
		t.Fatalf("reading the written installed database: %v", err)
	}
	return db
}

func dbNames(db *apk.InstalledDB) []string {
	var out []string
	for _, p := range db.Packages {
		out = append(out, p.Name)
	}
	return out
}

// listing prints a layer as the golden files hold it: type, mode, owner,
// size, path, link target and PAX records.
func listing(es []tarEntry) []byte {
	var b bytes.Buffer
	for _, e := range es {
		fmt.Fprintf(&b, "%c %04o %d:%d %6d %s", e.Type, e.Mode, e.UID, e.GID, e.Size, e.Name)
		if e.Link != "" {
			fmt.Fprintf(&b, " -> %s", e.Link)
		}
		for _, k := range sortedKeys(e.PAX) {
			fmt.Fprintf(&b, " %s=%q", k, e.PAX[k])
		}
		b.WriteByte('\n')
	}
	return b.Bytes()
}

// TestHostile builds closures that must be refused, and checks that the
// error says what is wrong and that no output appears.
func TestHostile(t *testing.T) {
	var (
		entryErr    *apk.EntryError
		escapeErr   *EscapeError
		conflictErr *ConflictError
		deviceErr   *DeviceError
		dupErr      *DuplicateError
	)
	tests := []struct {
		name   string
		specs  []pkgSpec
		target any
		msg    string
	}{
		{"traversal", []pkgSpec{pkg("a", dir("etc"), file("etc/../../x", "x"))},
			&entryErr, "path traversal"},
		{"absolute", []pkgSpec{pkg("a", file("/etc/passwd", "x"))}, &entryErr, "absolute path"},
		{"symlink escape", []pkgSpec{pkg("a", symlink("escape", "../../..")),
			pkg("b", dir("escape"), file("escape/x", "x"))}, &escapeErr,
			"package b-1.0-r0 writes escape through symlink escape -> ../../.., which leaves the root"},
		{"nested symlink escape", []pkgSpec{pkg("a", dir("usr"), symlink("usr/up", "../../x")),
			pkg("b", dir("usr"), dir("usr/up"), file("usr/up/f", "x"))}, &escapeErr,
			"leaves the root"},
		{"hard link outside the package", []pkgSpec{pkg("a", dir("usr"), file("usr/a", "a")),
			pkg("b", dir("usr"), fileSpec{path: "usr/b", typ: tar.TypeLink, link: "usr/a"})},
			&entryErr, "hard link"},
		{"hard link traversal", []pkgSpec{pkg("a", dir("usr"),
			fileSpec{path: "usr/b", typ: tar.TypeLink, link: "../etc/shadow"})},
			&entryErr, "hard link"},
		{"duplicate path", []pkgSpec{pkg("a", dir("usr"), file("usr/x", "a")),
			pkg("b", dir("usr"), file("usr/x", "b"))}, &conflictErr,
			"package b-1.0-r0 ships usr/x, which a-1.0-r0 already installed"},
		{"duplicate through usr-merge", []pkgSpec{pkg("a", dir("usr"), dir("usr/lib"),
			file("usr/lib/x", "a"), symlink("lib", "usr/lib")), pkg("b", dir("lib"), file("lib/x", "b"))},
			&conflictErr, "package b-1.0-r0 ships lib/x (usr/lib/x in the root)"},
		{"file twice in one package", []pkgSpec{pkg("a", dir("usr"), file("usr/x", "a"),
			file("usr/x", "b"))}, &entryErr,
			`a-1.0-r0.apk: refusing data entry "usr/x": the package already has an entry`},
		{"file then symlink in one package", []pkgSpec{pkg("a", dir("usr"), file("usr/x", "a"),
			symlink("usr/x", "/etc/passwd"))}, &entryErr,
			`a-1.0-r0.apk: refusing data entry "usr/x": the package already has an entry ` +
				"for this path (a regular file; this one is a symlink)"},
		{"directory twice with other owners", []pkgSpec{pkg("a", dir("usr"),
			fileSpec{path: "usr", typ: tar.TypeDir, mode: 0o755, uid: 1000})}, &entryErr,
			`a-1.0-r0.apk: refusing data entry "usr": the package already has an entry`},
		{"file twice in one package through usr-merge", []pkgSpec{pkg("a", dir("usr"),
			dir("usr/lib"), symlink("lib", "usr/lib")), pkg("b", dir("lib"), file("lib/x", "1"),
			dir("usr"), dir("usr/lib"), file("usr/lib/x", "2"))}, &dupErr,
			"package b-1.0-r0 ships usr/lib/x twice (as lib/x and then as usr/lib/x)"},
		{"directory over file", []pkgSpec{pkg("a", file("x", "a")), pkg("b", dir("x"))},
			&conflictErr, "a file is not replaced by a directory"},
		{"file over directory", []pkgSpec{pkg("a", dir("x"), file("x/y", "a")), pkg("b", file("x", "b"))},
			&conflictErr, "a directory is not replaced by a file"},
		{"device", []pkgSpec{pkg("a", dir("dev"),
			fileSpec{path: "dev/null", typ: tar.TypeChar, mode: 0o666})}, &deviceErr,
			"package a-1.0-r0 ships device node dev/null"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l, d := fixture(t, tt.specs...)
			out := filepath.Join(t.TempDir(), "layer.tar")
			_, err := build(t, l, d, func(o *Options) { o.Output = out })
			if err == nil {
				t.Fatal("Build succeeded")
			}
			if !errors.As(err, tt.target) {
				t.Errorf("error %v is not a %T", err, tt.target)
			}
			if !strings.Contains(err.Error(), tt.msg) {
				t.Errorf("error %q does not say %q", err, tt.msg)
			}
			if _, serr := os.Stat(out); !errors.Is(serr, os.ErrNotExist) {
				t.Errorf("output exists after a failed build: %v", serr)
			}
		})
	}
}

// TestDirectoryAttributes checks how a directory several packages ship
// gets its owner and mode (apk-tools 2.14 apk_db_dir_apply_diri_permissions):
// the lowest uid:gid wins with its mode, equal owners AND their modes, and
// the install order does not matter.
func TestDirectoryAttributes(t *testing.T) {
	d := func(p string, mode int64, uid, gid int) fileSpec {
		return fileSpec{path: p, typ: tar.TypeDir, mode: mode, uid: uid, gid: gid}
	}
	a := pkg("a", d("srv", 0o755, 0, 0), d("var", 0o755, 0, 0), d("var/x", 0o777, 100, 100),
		d("var/y", 0o700, 0, 5))
	b := pkg("b", d("srv", 0o2750, 0, 0), d("var", 0o755, 0, 0), d("var/x", 0o750, 50, 60),
		d("var/y", 0o755, 0, 4))
	want := map[string]string{"srv": "0750 0:0", "var/x": "0750 50:60", "var/y": "0755 0:4"}
	for _, first := range []string{"a", "b"} {
		t.Run(first+" first", func(t *testing.T) {
			a, b := a, b
			if first == "a" {
				b.info.Depends = "a"
			} else {
				a.info.Depends = "b"
			}
			l, dir := fixture(t, a, b)
			r := mustBuild(t, l, dir, nil)
			if diff := cmp.Diff([]string{first}, names(r.Packages)[:1]); diff != "" {
				t.Fatalf("install order (-want +got):\n%s", diff)
			}
			m := entryMap(readTar(t, r.Layers[0].Path))
			got := map[string]string{}
			for p := range want {
				e := m[p]
				got[p] = fmt.Sprintf("%04o %d:%d", e.Mode, e.UID, e.GID)
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("directory attributes (-want +got):\n%s", diff)
			}
		})
	}
}

// TestOverwrite checks apk-tools 2.14's rules for two packages shipping one
// path: same origin or replaces overwrite, a replaces on the other side
// keeps the first file, replaces_priority breaks a mutual replaces.
func TestOverwrite(t *testing.T) {
	with := func(s pkgSpec, f func(*apk.Package)) pkgSpec { f(&s.info); return s }
	a := pkg("a", dir("usr"), file("usr/x", "from a"))
	b := pkg("b", dir("usr"), file("usr/x", "from b"))
	tests := []struct {
		name  string
		a, b  pkgSpec
		want  string // content of usr/x
		owner string // the installed database record listing usr/x
	}{
		{"same origin", a, with(b, func(p *apk.Package) { p.Origin = "a" }), "from b", "b"},
		{"b replaces a", a, with(b, func(p *apk.Package) { p.Replaces = "a" }), "from b", "b"},
		{"b replaces a's version", a, with(b, func(p *apk.Package) { p.Replaces = "a<2" }),
			"from b", "b"},
		{"a replaces b", with(a, func(p *apk.Package) { p.Replaces = "b" }), b, "from a", "a"},
		{"both, b higher", with(a, func(p *apk.Package) { p.Replaces = "b"; p.ReplacesPriority = 1 }),
			with(b, func(p *apk.Package) { p.Replaces = "a"; p.ReplacesPriority = 2 }), "from b", "b"},
		{"both, a higher", with(a, func(p *apk.Package) { p.Replaces = "b"; p.ReplacesPriority = 3 }),
			with(b, func(p *apk.Package) { p.Replaces = "a"; p.ReplacesPriority = 2 }), "from a", "a"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.b.info.Depends = "a" // b installs after a
			l, d := fixture(t, tt.a, tt.b)
			r := mustBuild(t, l, d, nil)
			m := entryMap(readTar(t, r.Layers[0].Path))
			if got := m["usr/x"].Data; got != tt.want {
				t.Errorf("usr/x holds %q, want %q", got, tt.want)
			}
			db := readDB(t, m["lib/apk/db/installed"].Data)
			var owners []string
			for _, p := range db.Packages {
				for _, dir := range p.Dirs {
					for _, f := range dir.Files {
						if dir.Path == "usr" && f.Name == "x" {
							owners = append(owners, p.Name)
						}
					}
				}
			}
			if diff := cmp.Diff([]string{tt.owner}, owners); diff != "" {
				t.Errorf("records listing usr/x (-want +got):\n%s", diff)
			}
		})
	}
}
