package layer

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/rules-apk/rules_apk/tools/internal/apk"
	"github.com/rules-apk/rules_apk/tools/internal/lock"
	"github.com/rules-apk/rules_apk/tools/internal/repo"
	"github.com/rules-apk/rules_apk/tools/internal/spec"
	"github.com/rules-apk/rules_apk/tools/internal/testrepo"
	"github.com/rules-apk/rules_apk/tools/internal/testutil"
)

// TestFromRepository runs the whole flow on a signed fixture repository
// written with apk.WritePackage and apk.WriteIndex: lock a spec, then build
// the layer from the repository cache, and read the installed database
// back.
func TestFromRepository(t *testing.T) {
	dir := t.TempDir()
	repoDir := filepath.Join(dir, "repo")
	testrepo.Build(t, repoDir, []testrepo.Pkg{
		{Name: "baselayout", Version: "1-r0", BuildTime: 100, Provides: []string{"merged-lib"},
			Files: map[string]string{"etc/os-release": "ID=fixture\nVERSION_ID=3\n",
				"usr/lib/": "", "lib": "->usr/lib"}},
		{Name: "glibc", Version: "2.40-r0", BuildTime: 200, Depends: []string{"baselayout"},
			Provides: []string{"so:libc.so.6=6"}, Files: map[string]string{"lib/libc.so.6": "libc"}},
		{Name: "zlib", Version: "1.3.1-r0", BuildTime: 300, Depends: []string{"so:libc.so.6"},
			Provides: []string{"so:libz.so.1=1"},
			Files:    map[string]string{"usr/lib/libz.so.1": "zlib"},
			Scripts:  map[string]string{".post-install": "#!/bin/sh\ntrue\n"}},
	})
	testrepo.WriteKey(t, dir)
	s, err := spec.Parse([]byte("contents:\n  repositories: [file://"+repoDir+"]\n"+
		"  keyring: [test.rsa.pub]\n  packages: [zlib]\narchs: [x86_64]\n"), dir)
	if err != nil {
		t.Fatal(err)
	}
	client, err := repo.New(repo.Options{CacheDir: filepath.Join(dir, "cache"), Auth: &repo.Auth{}})
	if err != nil {
		t.Fatal(err)
	}
	l, err := lock.Generate(context.Background(), lock.GenerateOptions{Spec: s, SpecDir: dir,
		Client: client})
	if err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "layer.tar.gz")
	r, err := Build(context.Background(), Options{Lockfile: l, Arch: "x86_64",
		Locate: RepoLocator(client, nil), Output: out, Format: FormatTarGzip})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"baselayout", "glibc", "zlib"}, names(r.Packages)); diff != "" {
		t.Errorf("install order (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"zlib-1.3.1-r0.post-install"}, r.Scripts); diff != "" {
		t.Errorf("scripts (-want +got):\n%s", diff)
	}
	m := entryMap(readTar(t, out))
	db := readDB(t, m["usr/lib/apk/db/installed"].Data)
	if diff := cmp.Diff([]string{"baselayout", "glibc", "zlib"}, dbNames(db)); diff != "" {
		t.Errorf("installed database (-want +got):\n%s", diff)
	}
	for _, p := range l.PackagesFor("x86_64") {
		i := slices.IndexFunc(db.Packages, func(ip apk.InstalledPackage) bool { return ip.Name == p.Name })
		if got := db.Packages[i].Checksum.String(); got != p.Checksum {
			t.Errorf("%s: C:%s in the database, %s in the lockfile", p.Name, got, p.Checksum)
		}
	}
	if m["usr/lib/libc.so.6"].Data != "libc" {
		t.Error("glibc's lib/libc.so.6 is not at usr/lib/libc.so.6")
	}
	scripts, err := apk.ReadInstalledScripts(stringsReader(m["usr/lib/apk/db/scripts.tar"].Data))
	if err != nil || len(scripts) != 1 || scripts[0].Type != "post-install" {
		t.Errorf("scripts.tar holds %+v (%v), want zlib's post-install", scripts, err)
	}
}

// TestRealWolfi builds a layer from real Wolfi packages (aarch64, signed
// by Wolfi) and checks the installed database against their metadata.
func TestRealWolfi(t *testing.T) {
	var pkgs []lock.Package
	for _, name := range []string{"libcap-2.69-r0.apk", "wolfi-base-1-r1.apk"} {
		pkgs = append(pkgs, realLockEntry(t, testutil.RealData(t, "wolfi", name)))
	}
	l := &lock.Lockfile{Version: lock.Version, World: []string{"libcap", "wolfi-base"},
		Archs: []string{"aarch64"}, Packages: pkgs,
		Repositories: []lock.Repository{{URL: "https://packages.wolfi.dev/os"}}}
	osRelease, err := os.ReadFile(testutil.RealData(t, "os-release", "wolfi"))
	if err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "layer.tar")
	r, err := Build(context.Background(), Options{Lockfile: l, Arch: "aarch64",
		Locate: DirLocator(filepath.Dir(testutil.RealData(t, "wolfi", "wolfi-base-1-r1.apk"))),
		Output: out, OSRelease: osRelease})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(OSRelease{ID: "wolfi", VersionID: "20220914"}, r.OSRelease); diff != "" {
		t.Errorf("os-release (-want +got):\n%s", diff)
	}
	es := readTar(t, out)
	testutil.Golden(t, "real-wolfi.listing", listing(es))
	m := entryMap(es)
	testutil.Golden(t, "real-wolfi.installed", []byte(m["lib/apk/db/installed"].Data))
	db := readDB(t, m["lib/apk/db/installed"].Data)
	if diff := cmp.Diff([]string{"libcap", "wolfi-base"}, dbNames(db)); diff != "" {
		t.Errorf("installed database (-want +got):\n%s", diff)
	}
}

// realLockEntry makes a lockfile entry from a real package, as `apkpack
// lock` would from its index record.
func realLockEntry(t *testing.T, path string) lock.Package {
	t.Helper()
	pf, err := apk.ReadPackageFile(path, apk.ReadOptions{AllowUntrusted: true})
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	info := pf.Info
	return lockEntry(info, b, path)
}

// TestRealAlpineScripts builds Alpine's real alpine-baselayout, whose four
// scripts apkpack does not run: a warning each, or an error with
// StrictScripts.
func TestRealAlpineScripts(t *testing.T) {
	path := testutil.RealData(t, "alpine-3.16-aarch64", "alpine-baselayout-3.2.0-r23.apk")
	l := &lock.Lockfile{Version: lock.Version, World: []string{"alpine-baselayout"},
		Archs: []string{"aarch64"}, Packages: []lock.Package{realLockEntry(t, path)}}
	want := []string{"alpine-baselayout-3.2.0-r23.post-install",
		"alpine-baselayout-3.2.0-r23.post-upgrade", "alpine-baselayout-3.2.0-r23.pre-install",
		"alpine-baselayout-3.2.0-r23.pre-upgrade"}
	for _, strict := range []bool{false, true} {
		var logs bytes.Buffer
		r, err := Build(context.Background(), Options{Lockfile: l, Arch: "aarch64",
			Locate: DirLocator(filepath.Dir(path)), StrictScripts: strict,
			Output: filepath.Join(t.TempDir(), "layer.tar"),
			Logger: slog.New(slog.NewTextHandler(&logs, nil))})
		if strict {
			var se *ScriptsError
			if !errors.As(err, &se) {
				t.Fatalf("strict: error %v is not a *ScriptsError", err)
			}
			if diff := cmp.Diff(want, se.Scripts); diff != "" {
				t.Errorf("strict: scripts (-want +got):\n%s", diff)
			}
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(want, r.Scripts); diff != "" {
			t.Errorf("scripts (-want +got):\n%s", diff)
		}
		for _, s := range want {
			if !strings.Contains(logs.String(), "script="+s) {
				t.Errorf("no warning names %s; logs:\n%s", s, logs.String())
			}
		}
		m := entryMap(readTar(t, r.Layers[0].Path))
		if e := m["var/run"]; e.Type != tar.TypeSymlink || e.Link != "/run" {
			t.Errorf("var/run is %+v, want a symlink to /run", e)
		}
		if e := m["tmp"]; e.Mode != 0o1777 {
			t.Errorf("tmp has mode %o, want 1777", e.Mode)
		}
	}
}
