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

var _ = errors.New
var _ = os.Remove
var _ = filepath.Join
