package demo

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestWriteBaselayout(t *testing.T) {
	dir := t.TempDir()
	if err := writeBaselayout(dir); err != nil {
		t.Fatal(err)
	}
	want := []string{
		"bin -> usr/bin",
		"dev drwxr-xr-x",
		"etc drwxr-xr-x",
		"etc/group -rw-r--r--",
		"etc/os-release -rw-r--r--",
		"etc/passwd -rw-r--r--",
		"home drwxr-xr-x",
		"home/nonroot drwxr-xr-x",
		"lib -> usr/lib",
		"lib64 -> usr/lib",
		"proc drwxr-xr-x",
		"root drwx------",
		"run drwxr-xr-x",
		"sbin -> usr/bin",
		"sys drwxr-xr-x",
		"tmp dtrwxrwxrwx",
		"usr drwxr-xr-x",
		"usr/bin drwxr-xr-x",
		"usr/lib drwxr-xr-x",
		"usr/sbin -> bin",
		"var drwxr-xr-x",
		"var/run -> ../run",
		"var/tmp dtrwxrwxrwx",
	}
	if diff := cmp.Diff(want, listTree(t, dir)); diff != "" {
		t.Errorf("baselayout (-want +got):\n%s", diff)
	}
	osRelease, err := os.ReadFile(filepath.Join(dir, "etc/os-release"))
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(baseFiles[2].content, string(osRelease)); diff != "" {
		t.Errorf("os-release (-want +got):\n%s", diff)
	}
}

func TestWriteCABundle(t *testing.T) {
	const a = "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"
	const b = "-----BEGIN CERTIFICATE-----\nBBBB\n-----END CERTIFICATE-----" // no newline
	dir := t.TempDir()
	certs := map[string]string{
		"usr/share/ca-certificates/mozilla/B_Root.crt": b,
		"usr/share/ca-certificates/mozilla/A_Root.crt": a,
		"usr/share/ca-certificates/mozilla/README":     "not a certificate",
	}
	for p, content := range certs {
		full := filepath.Join(dir, p)
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := writeCABundle(dir); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{
		"etc drwxr-xr-x", "etc/ssl drwxr-xr-x", "etc/ssl/certs drwxr-xr-x",
		"etc/ssl/certs/ca-certificates.crt -rw-r--r--",
	}, listTree(t, dir)); diff != "" {
		t.Errorf("tree (-want +got):\n%s", diff)
	}
	got, err := os.ReadFile(filepath.Join(dir, bundlePath))
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(a+b+"\n", string(got)); diff != "" {
		t.Errorf("bundle (-want +got):\n%s", diff)
	}
}

func TestWriteCABundleErrors(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "usr/share/ca-certificates/x/bad.crt")
	if err := os.MkdirAll(filepath.Dir(bad), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(bad, []byte("garbage"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := writeCABundle(dir); err == nil {
		t.Error("writeCABundle accepted a file that is not PEM")
	}
	if err := writeCABundle(t.TempDir()); err == nil {
		t.Error("writeCABundle accepted a tree without certificates")
	}
}
