package lock

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/rules-apk/rules_apk/tools/internal/testutil"
)

func pkg(arch, name, version, sha string) Package {
	return Package{Name: name, Version: version, Arch: arch, Origin: map[string]string{
		"libcurl-openssl4": "curl"}[name], SHA256: strings.Repeat(sha, 64)}
}

func TestDiff(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("testdata", "security.json"))
	if err != nil {
		t.Fatal(err)
	}
	sec, err := ParseSecDB(b)
	if err != nil {
		t.Fatal(err)
	}
	old := &Lockfile{Packages: []Package{
		pkg("x86_64", "libcurl-openssl4", "8.4.0-r0", "a"),
		pkg("x86_64", "zlib", "1.3.1-r0", "a"),
		pkg("x86_64", "busybox", "1.37.0-r0", "a"),
		pkg("x86_64", "glibc", "2.40-r1", "a"),
		pkg("x86_64", "ca-certificates-bundle", "20240101-r0", "a"),
		pkg("aarch64", "zlib", "1.3.1-r0", "a"),
	}}
	new := &Lockfile{Packages: []Package{
		pkg("x86_64", "libcurl-openssl4", "8.6.0-r0", "b"),
		pkg("x86_64", "zlib", "1.3.1-r1", "b"),
		pkg("x86_64", "glibc", "2.40-r0", "b"),
		pkg("x86_64", "ca-certificates-bundle", "20240101-r0", "c"),
		pkg("x86_64", "libnghttp2-14", "1.58.0-r0", "b"),
		pkg("aarch64", "zlib", "1.3.1-r0", "a"),
	}}
	got := Diff(old, new, sec)
	want := []Change{
		{Arch: "x86_64", Name: "busybox", Kind: Removed, OldVersion: "1.37.0-r0"},
		{Arch: "x86_64", Name: "ca-certificates-bundle", Kind: Rebuilt, OldVersion: "20240101-r0", NewVersion: "20240101-r0"},
		{Arch: "x86_64", Name: "glibc", Kind: Downgraded, OldVersion: "2.40-r1", NewVersion: "2.40-r0"},
		// Looked up by origin (curl): the fixes of 8.5.0-r0 and 8.6.0-r0,
		// not those of 8.4.0-r0 (already had) nor of "0" (never affected).
		{Arch: "x86_64", Name: "libcurl-openssl4", Kind: Upgraded, OldVersion: "8.4.0-r0", NewVersion: "8.6.0-r0",
			Fixes: []string{"CVE-2023-46218", "CVE-2024-0853", "GHSA-xxxx-yyyy-zzzz"}},
		{Arch: "x86_64", Name: "libnghttp2-14", Kind: Added, NewVersion: "1.58.0-r0"},
		// No origin recorded: looked up by name.
		{Arch: "x86_64", Name: "zlib", Kind: Upgraded, OldVersion: "1.3.1-r0", NewVersion: "1.3.1-r1",
			Fixes: []string{"CVE-2023-45853"}},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Diff (-want +got):\n%s", diff)
	}

	var text bytes.Buffer
	if err := WriteText(&text, got); err != nil {
		t.Fatal(err)
	}
	testutil.Golden(t, "diff.txt", text.Bytes())

	if changes := Diff(new, new, sec); len(changes) != 0 {
		t.Errorf("Diff of a lockfile with itself = %v, want none", changes)
	}
	text.Reset()
	if err := WriteText(&text, nil); err != nil || text.String() != "no changes\n" {
		t.Errorf("WriteText(nil) = %q, %v", text.String(), err)
	}
}

func TestParseSecDBErrors(t *testing.T) {
	for name, in := range map[string]string{
		"not json":    "[",
		"bad version": `{"packages":[{"pkg":{"name":"x","secfixes":{"1.0~zz":["CVE-1"]}}}]}`,
		"no packages": `{"apkindex": []}`,
		"a lockfile":  `{"version":1,"world":["zlib"],"packages":[{"name":"zlib","version":"1.3-r0"}]}`,
		"no secfixes": `{"packages":[{"pkg":{"name":"x"}}]}`,
		"no name":     `{"packages":[{"pkg":{"secfixes":{}}}]}`,
	} {
		t.Run(name, func(t *testing.T) {
			if _, err := ParseSecDB([]byte(in)); err == nil || !strings.Contains(err.Error(), "security database") {
				t.Errorf("ParseSecDB error = %v", err)
			}
		})
	}
}
