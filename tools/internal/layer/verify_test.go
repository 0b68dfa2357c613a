package layer

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rules-apk/rules_apk/tools/internal/apk"
	"github.com/rules-apk/rules_apk/tools/internal/lock"
)

// TestVerify checks that a package that is not the locked one stops the
// build before any output appears, with an error naming the package, the
// check and both values.
func TestVerify(t *testing.T) {
	var (
		verifyErr    *VerifyError
		apkVerifyErr *apk.VerifyError
		missingErr   *MissingError
	)
	tests := []struct {
		name   string
		mutate func(t *testing.T, l *lock.Lockfile, dir string)
		target any
		msg    string
	}{
		{"sha256", func(t *testing.T, l *lock.Lockfile, _ string) {
			l.Packages[0].SHA256 = strings.Repeat("0", 64)
		}, &verifyErr, "sha256 of"},
		{"size", func(t *testing.T, l *lock.Lockfile, _ string) {
			l.Packages[0].Size++
		}, &verifyErr, "size of"},
		{"datahash", func(t *testing.T, l *lock.Lockfile, _ string) {
			l.Packages[0].DataHash = strings.Repeat("1", 64)
		}, &verifyErr, "datahash of"},
		{"checksum", func(t *testing.T, l *lock.Lockfile, _ string) {
			l.Packages[0].Checksum = "Q1LLq2qDNrS/qRnhxQ3hsY/sHbQnc="
		}, &apkVerifyErr, "checksum C:"},
		{"tampered data", func(t *testing.T, l *lock.Lockfile, dir string) {
			damage(t, filepath.Join(dir, "a-1.0-r0.apk"))
		}, nil, "a-1.0-r0.apk"},
		{"missing", func(t *testing.T, l *lock.Lockfile, dir string) {
			os.Remove(filepath.Join(dir, "b-1.0-r0.apk"))
		}, &missingErr, "1 locked packages not found (b-1.0-r0)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l, d := fixture(t, pkg("a", dir("usr"), file("usr/a", strings.Repeat("a", 4096))),
				pkg("b", dir("usr"), file("usr/b", "b")))
			tt.mutate(t, l, d)
			out := filepath.Join(t.TempDir(), "layer.tar.gz")
			_, err := build(t, l, d, func(o *Options) { o.Output, o.Format = out, FormatTarGzip })
			if err == nil {
				t.Fatal("Build succeeded")
			}
			if tt.target != nil && !errors.As(err, tt.target) {
				t.Errorf("error %v is not a %T", err, tt.target)
			}
			if !strings.Contains(err.Error(), tt.msg) {
				t.Errorf("error %q does not say %q", err, tt.msg)
			}
			leftovers, _ := filepath.Glob(filepath.Join(filepath.Dir(out), "*"))
			if len(leftovers) > 0 {
				t.Errorf("files left after a failed build: %v", leftovers)
			}
		})
	}
}

func TestFilesLocator(t *testing.T) {
	l, d := fixture(t, pkg("a", dir("usr"), file("usr/a", "a")), pkg("b", dir("usr")))
	// Bazel's downloader may name a file "downloaded": it is matched by
	// its SHA-256.
	renamed := filepath.Join(t.TempDir(), "downloaded")
	if err := os.Rename(filepath.Join(d, "b-1.0-r0.apk"), renamed); err != nil {
		t.Fatal(err)
	}
	files := []string{filepath.Join(d, "a-1.0-r0.apk"), renamed}
	loc, err := FilesLocator(files, l.PackagesFor("x86_64"))
	if err != nil {
		t.Fatal(err)
	}
	mustBuild(t, l, d, func(o *Options) { o.Locate = loc })

	stray := filepath.Join(t.TempDir(), "stray.apk")
	os.WriteFile(stray, []byte("not a package"), 0o644)
	_, err = FilesLocator(append(files, stray), l.PackagesFor("x86_64"))
	if err == nil || !strings.Contains(err.Error(), "is not in the lockfile") {
		t.Errorf("a stray file gave %v, want an error saying it is not in the lockfile", err)
	}
}
