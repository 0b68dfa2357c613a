package demo

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// needDpkg skips a test on a machine without dpkg-deb.
func needDpkg(t *testing.T) {
	t.Helper()
	if _, err := exec.LookPath("dpkg-deb"); err != nil {
		t.Skip("dpkg-deb is not installed; the .deb tests need Debian's dpkg")
	}
}

// testDeb is a .deb built by buildDeb.
type testDeb struct {
	Deb
	path string
}

// buildDeb makes a small real .deb with dpkg-deb --build: a control file,
// the given files, and a changelog naming cves.
func buildDeb(t *testing.T, name, version, source string, cves ...string) testDeb {
	t.Helper()
	root := t.TempDir()
	control := fmt.Sprintf("Package: %s\nVersion: %s\nArchitecture: amd64\n"+
		"Maintainer: Test <test@example.org>\nHomepage: https://example.org/%s\n"+
		"Description: test package %s\n second line\n", name, version, name, name)
	if source != "" {
		control += "Source: " + source + " (1.0-1)\n"
	}
	var changelog bytes.Buffer
	zw := gzip.NewWriter(&changelog)
	fmt.Fprintf(zw, "%s (%s) bookworm-security; urgency=high\n\n  * Fix %s.\n\n -- T <t@e.org>"+
		"  Sat, 28 Nov 2026 21:17:18 +0100\n", name, version, strings.Join(cves, ", "))
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	files := map[string][]byte{
		"DEBIAN/control": []byte(control),
		"usr/lib/x86_64-linux-gnu/lib" + name + ".so.1":  []byte("library"),
		"usr/share/doc/" + name + "/changelog.Debian.gz": changelog.Bytes(),
	}
	for p, b := range files {
		full := filepath.Join(root, p)
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	out := filepath.Join(t.TempDir(), name+".deb")
	cmd := exec.Command("dpkg-deb", "--root-owner-group", "--build", root, out)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("dpkg-deb --build: %v\n%s", err, b)
	}
	sum, err := fileSHA256(out)
	if err != nil {
		t.Fatal(err)
	}
	src := source
	if src == "" {
		src = name
	}
	return testDeb{Deb{Name: name, Version: version, Source: src, SHA256: sum}, out}
}

// fakeApt serves debs like apt-get download and records each call's specs.
// With noLists it behaves as apt on a fresh machine, whose package lists
// are empty until update runs.
type fakeApt struct {
	debs    map[string]testDeb // by name
	calls   [][]string
	noLists bool
	updates int
}

func (f *fakeApt) update(context.Context) error {
	f.updates++
	f.noLists = false
	return nil
}

func (f *fakeApt) download(_ context.Context, dir string, specs ...string) error {
	f.calls = append(f.calls, specs)
	for _, spec := range specs {
		if f.noLists {
			name, _, _ := strings.Cut(spec, "=")
			return fmt.Errorf("E: Unable to locate package %s", name)
		}
		name, version, pinned := strings.Cut(spec, "=")
		d, ok := f.debs[name]
		if !ok || pinned && version != d.Version {
			return fmt.Errorf("E: Version '%s' for '%s' was not found", version, name)
		}
		b, err := os.ReadFile(d.path)
		if err != nil {
			return err
		}
		file := fmt.Sprintf("%s_%s_amd64.deb", name, strings.ReplaceAll(d.Version, ":", "%3a"))
		if err := os.WriteFile(filepath.Join(dir, file), b, 0o644); err != nil {
			return err
		}
	}
	return nil
}

func TestDebCacheFetchAll(t *testing.T) {
	needDpkg(t)
	zlib := buildDeb(t, "zlib1g", "1:1.2.13.dfsg-1+deb12u1", "zlib", "CVE-2026-1111")
	curl := buildDeb(t, "libcurl4", "7.88.1-10+deb12u15", "curl", "CVE-2026-2222")
	apt := &fakeApt{debs: map[string]testDeb{"zlib1g": zlib, "libcurl4": curl}}
	cache := &DebCache{Dir: t.TempDir(), Download: apt.download}
	ctx := context.Background()
	pinned := []Deb{zlib.Deb, curl.Deb}

	paths, err := cache.FetchAll(ctx, pinned)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"zlib1g":   filepath.Join(cache.Dir, "zlib1g_1%3a1.2.13.dfsg-1+deb12u1.deb"),
		"libcurl4": filepath.Join(cache.Dir, "libcurl4_7.88.1-10+deb12u15.deb"),
	}
	if diff := cmp.Diff(want, paths); diff != "" {
		t.Errorf("paths (-want +got):\n%s", diff)
	}
	wantCalls := [][]string{{"zlib1g=1:1.2.13.dfsg-1+deb12u1", "libcurl4=7.88.1-10+deb12u15"}}
	if diff := cmp.Diff(wantCalls, apt.calls); diff != "" {
		t.Errorf("apt calls (-want +got):\n%s", diff)
	}

	// A second run downloads nothing; a damaged file is downloaded again.
	if err := os.WriteFile(want["libcurl4"], []byte("damaged"), 0o644); err != nil {
		t.Fatal(err)
	}
	apt.calls = nil
	if _, err := cache.FetchAll(ctx, pinned); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([][]string{{"libcurl4=7.88.1-10+deb12u15"}}, apt.calls); diff != "" {
		t.Errorf("apt calls after damage (-want +got):\n%s", diff)
	}
	if sum, _ := fileSHA256(want["libcurl4"]); sum != curl.SHA256 {
		t.Errorf("the damaged file was not replaced")
	}
}

func TestDebCacheFetchAllErrors(t *testing.T) {
	needDpkg(t)
	zlib := buildDeb(t, "zlib1g", "1.2.13-1", "", "CVE-2026-1111")
	ctx := context.Background()

	t.Run("version gone", func(t *testing.T) {
		apt := &fakeApt{debs: map[string]testDeb{"zlib1g": zlib}}
		cache := &DebCache{Dir: t.TempDir(), Download: apt.download}
		gone := Deb{Name: "libgone1", Version: "1.0-1", Source: "gone", SHA256: zlib.SHA256}
		_, err := cache.FetchAll(ctx, []Deb{zlib.Deb, gone})
		var de *DownloadError
		if !errors.As(err, &de) || de.Deb.Name != "libgone1" {
			t.Fatalf("err = %v, want a *DownloadError for libgone1", err)
		}
		for _, s := range []string{"libgone1 1.0-1", "was not found", "--update-manifest"} {
			if !strings.Contains(err.Error(), s) {
				t.Errorf("error %q does not say %q", err, s)
			}
		}
	})
	t.Run("other bytes", func(t *testing.T) {
		apt := &fakeApt{debs: map[string]testDeb{"zlib1g": zlib}}
		cache := &DebCache{Dir: t.TempDir(), Download: apt.download}
		pin := zlib.Deb
		pin.SHA256 = strings.Repeat("0", 64)
		_, err := cache.FetchAll(ctx, []Deb{pin})
		var ce *ChecksumError
		if !errors.As(err, &ce) || ce.Got != zlib.SHA256 {
			t.Fatalf("err = %v, want a *ChecksumError with the served digest", err)
		}
		if _, err := os.Stat(cache.Path(pin)); err == nil {
			t.Error("a .deb with the wrong digest was cached")
		}
	})
}

func TestDebCacheAptUpdate(t *testing.T) {
	needDpkg(t)
	zlib := buildDeb(t, "zlib1g", "1.2.13-1", "", "CVE-2026-1111")
	ctx := context.Background()

	t.Run("empty lists, root", func(t *testing.T) {
		apt := &fakeApt{debs: map[string]testDeb{"zlib1g": zlib}, noLists: true}
		cache := &DebCache{Dir: t.TempDir(), Download: apt.download, Update: apt.update}
		if _, err := cache.FetchAll(ctx, []Deb{zlib.Deb}); err != nil {
			t.Fatal(err)
		}
		want := [][]string{{"zlib1g=1.2.13-1"}, {"zlib1g=1.2.13-1"}}
		if diff := cmp.Diff(want, apt.calls); diff != "" {
			t.Errorf("apt calls (-want +got):\n%s", diff)
		}
		if apt.updates != 1 {
			t.Errorf("apt-get update ran %d times, want 1", apt.updates)
		}

		// A version the archive does not serve fails without a second update.
		gone := Deb{Name: "libgone1", Version: "1.0-1", Source: "gone", SHA256: zlib.SHA256}
		if _, err := cache.FetchAll(ctx, []Deb{gone}); err == nil {
			t.Fatal("FetchAll of a missing version succeeded")
		}
		if apt.updates != 1 {
			t.Errorf("apt-get update ran %d times, want 1", apt.updates)
		}
	})
	t.Run("empty lists, no update", func(t *testing.T) {
		apt := &fakeApt{debs: map[string]testDeb{"zlib1g": zlib}, noLists: true}
		cache := &DebCache{Dir: t.TempDir(), Download: apt.download}
		_, err := cache.FetchAll(ctx, []Deb{zlib.Deb})
		var de *DownloadError
		if !errors.As(err, &de) || de.Deb.Name != "zlib1g" {
			t.Fatalf("err = %v, want a *DownloadError for zlib1g", err)
		}
		for _, s := range []string{"Unable to locate package zlib1g", "run apt-get update as root"} {
			if !strings.Contains(err.Error(), s) {
				t.Errorf("error %q does not say %q", err, s)
			}
		}
	})
	t.Run("update fails", func(t *testing.T) {
		apt := &fakeApt{debs: map[string]testDeb{"zlib1g": zlib}, noLists: true}
		failing := func(context.Context) error { return errors.New("E: Could not open lock file") }
		cache := &DebCache{Dir: t.TempDir(), Download: apt.download, Update: failing}
		_, err := cache.FetchAll(ctx, []Deb{zlib.Deb})
		if err == nil || !strings.Contains(err.Error(), "Could not open lock file") {
			t.Fatalf("err = %v, want it to carry apt-get update's error", err)
		}
	})
}

func TestDebCacheFetchCurrent(t *testing.T) {
	needDpkg(t)
	idn := buildDeb(t, "libidn2-0", "2.3.3-1+b1", "libidn2", "CVE-2026-3333")
	apt := &fakeApt{debs: map[string]testDeb{"libidn2-0": idn}}
	cache := &DebCache{Dir: t.TempDir(), Download: apt.download}
	got, err := cache.FetchCurrent(context.Background(), []string{"libidn2-0"})
	if err != nil {
		t.Fatal(err)
	}
	// The binNMU's "(1.0-1)" is cut off the Source field.
	if diff := cmp.Diff([]Deb{idn.Deb}, got); diff != "" {
		t.Errorf("FetchCurrent (-want +got):\n%s", diff)
	}
	if _, err := os.Stat(cache.Path(idn.Deb)); err != nil {
		t.Errorf("the current .deb is not cached: %v", err)
	}
}

func TestDebContents(t *testing.T) {
	needDpkg(t)
	ctx := context.Background()
	d := buildDeb(t, "libssl3", "3.0.22-1~deb12u2", "openssl", "CVE-2026-9999", "CVE-2026-10000")

	ctl, err := ReadControl(ctx, d.path)
	if err != nil {
		t.Fatal(err)
	}
	if got := ctl["Description"]; got != "test package libssl3\nsecond line" {
		t.Errorf("Description = %q", got)
	}
	if got := ctl["Homepage"]; got != "https://example.org/libssl3" {
		t.Errorf("Homepage = %q", got)
	}

	fixes, err := DebFixes(ctx, d.path, "libssl3")
	if err != nil {
		t.Fatal(err)
	}
	want := Fixes{Version: "3.0.22-1~deb12u2", CVEs: []string{"CVE-2026-10000", "CVE-2026-9999"}}
	if diff := cmp.Diff(want, fixes); diff != "" {
		t.Errorf("DebFixes (-want +got):\n%s", diff)
	}
	if _, err := DebFixes(ctx, d.path, "libother"); err == nil {
		t.Error("DebFixes found the changelog of a package the .deb lacks")
	}

	dir := t.TempDir()
	if err := Extract(ctx, d.path, dir); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(dir, "usr/lib/x86_64-linux-gnu/liblibssl3.so.1"))
	if err != nil || string(b) != "library" {
		t.Errorf("extracted library = %q, %v", b, err)
	}
}
