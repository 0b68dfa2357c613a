package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rules-apk/rules_apk/tools/internal/apk"
)

func TestPackRejectsBadMetadata(t *testing.T) {
	root := t.TempDir()
	dir := t.TempDir()
	meta := filepath.Join(dir, "bad.pkginfo")
	if err := os.WriteFile(meta, []byte("pkgname = ok\npkgver = 1-r0\narch = x86_64\ndepend = foo>=\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		flags []string
		want  string
	}{
		{[]string{"--name", "my pkg"}, `--name "my pkg"`},
		{[]string{"--version", "abc"}, `--version "abc"`},
		{[]string{"--arch", "x 86"}, `--arch "x 86"`},
		{[]string{"--arch", "amd64"}, "the apk name of amd64 is x86_64"},
		{[]string{"--arch", "arm64"}, "the apk name of arm64 is aarch64"},
		{[]string{"--depend", "foo>="}, `--depend "foo>=": parsing constraint "foo>=": missing version`},
		{[]string{"--depend", "bar baz"}, `--depend "bar baz"`},
		{[]string{"--provide", "x@"}, `--provide "x@"`},
		{[]string{"--replaces", "!"}, `--replaces "!"`},
		{[]string{"--install-if", "a<"}, `--install-if "a<"`},
		{[]string{"--metadata", meta}, `depend in ` + meta + `: depend "foo>="`},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.flags, " "), func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "x.apk")
			args := append([]string{"pack", "--unsigned", root, "-o", out}, tt.flags...)
			if len(tt.flags) > 0 && tt.flags[0] != "--metadata" {
				args = append([]string{"pack", "--unsigned", "--name", "ok", "--version", "1-r0",
					"--arch", "x86_64", root, "-o", out}, tt.flags...)
			}
			code, _, stderr := apkpack(t, args...)
			if code != 1 || !strings.Contains(stderr, tt.want) {
				t.Errorf("exit %d, stderr %q; want 1 and %q", code, stderr, tt.want)
			}
			if _, err := os.Stat(out); !os.IsNotExist(err) {
				t.Errorf("a refused pack wrote %s", out)
			}
		})
	}
}

func TestIndexRejectsBadMetadata(t *testing.T) {
	dir := t.TempDir()
	pkg := filepath.Join(dir, "bad.apk")
	f, err := os.Create(pkg)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := apk.WritePackage(f, apk.WriteOptions{
		Info: apk.Package{Name: "my pkg", Version: "1-r0", Arch: "x86_64"}}); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "APKINDEX.tar.gz")
	code, _, stderr := apkpack(t, "index", "--unsigned", "-o", out, pkg)
	if code != 1 || !strings.Contains(stderr, "indexing "+pkg+": invalid metadata: pkgname \"my pkg\"") {
		t.Errorf("index of a package named \"my pkg\": exit %d, stderr %q", code, stderr)
	}
	if _, err := os.Stat(out); !os.IsNotExist(err) {
		t.Errorf("a refused index wrote %s", out)
	}
}

func TestSigningKeyAndUnsignedConflict(t *testing.T) {
	out := filepath.Join(t.TempDir(), "x")
	for _, args := range [][]string{
		{"pack", "--signing-key", "k.rsa", "--unsigned", "--name", "a", "--version", "1-r0",
			"--arch", "x86_64", t.TempDir(), "-o", out},
		{"index", "--signing-key", "k.rsa", "--unsigned", "-o", out, "a.apk"},
	} {
		code, _, stderr := apkpack(t, args...)
		if code != 1 || !strings.Contains(stderr, "signing-key") || !strings.Contains(stderr, "unsigned") ||
			strings.Contains(stderr, "k.rsa") {
			t.Errorf("%s --signing-key --unsigned: exit %d, stderr %q; want a usage error naming both flags",
				args[0], code, stderr)
		}
	}
}
