package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/rules-apk/rules_apk/tools/internal/apk"
	"github.com/rules-apk/rules_apk/tools/internal/testutil"
)

// apkpack runs the CLI in-process and returns its exit code, stdout and
// stderr.
func apkpack(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code := run(context.Background(), args, &out, &errOut)
	return code, out.String(), errOut.String()
}

// inspectJSON runs apkpack inspect --json on path and decodes its output.
func inspectJSON[V any](t *testing.T, path string) V {
	t.Helper()
	var v V
	code, stdout, stderr := apkpack(t, "inspect", "--json", path)
	if code != 0 {
		t.Fatalf("inspect --json %s: exit %d: %s", path, code, stderr)
	}
	if err := json.Unmarshal([]byte(stdout), &v); err != nil {
		t.Fatalf("inspect --json %s: %v\n%s", path, err, stdout)
	}
	return v
}

func TestVersionCommands(t *testing.T) {
	tests := []struct {
		args []string
		code int
		out  string
	}{
		{[]string{"version", "compare", "1.0_rc1", "1.0"}, 0, "<\n"},
		{[]string{"version", "compare", "1.0-r1", "1.0"}, 0, ">\n"},
		{[]string{"version", "compare", "2.0", "2.0"}, 0, "=\n"},
		{[]string{"version", "check", "1.2.3-r4"}, 0, ""},
		{[]string{"version", "check", "1.0~abc"}, 1, ""},
		{[]string{"version", "compare", "1"}, 1, ""},
		{[]string{"version", "compare", "1.0", "foo"}, 1, ""},
		{[]string{"version", "compare", "1.0~abc", "1.0"}, 1, ""},
		{[]string{"--version"}, 0, "apkpack version " + selfVersion() + "\n"},
		{[]string{"version"}, 0, "apkpack version " + selfVersion() + "\n"},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			code, out, _ := apkpack(t, tt.args...)
			if code != tt.code || out != tt.out {
				t.Errorf("exit %d, stdout %q; want %d, %q", code, out, tt.code, tt.out)
			}
		})
	}
}

func TestVerifyRealFiles(t *testing.T) {
	real := testutil.RealData(t)
	code, out, stderr := apkpack(t, "verify",
		"--keyring", filepath.Join(real, "alpine-3.16-x86_64"),
		"--keyring", filepath.Join(real, "alpine-3.16-aarch64"),
		"--keyring", filepath.Join(real, "wolfi-aarch64-resigned", "keys"),
		"--keyring", filepath.Join(real, "wolfi", "wolfi-signing.rsa.pub"),
		filepath.Join(real, "alpine-3.16-x86_64", "APKINDEX.tar.gz"),
		filepath.Join(real, "alpine-3.16-aarch64", "alpine-baselayout-3.2.0-r23.apk"),
		filepath.Join(real, "wolfi-aarch64-resigned", "APKINDEX.tar.gz"),
		filepath.Join(real, "wolfi", "libcap-2.69-r0.apk"),
	)
	if code != 0 {
		t.Fatalf("verify exit %d\nstdout:\n%s\nstderr:\n%s", code, out, stderr)
	}
	for _, want := range []string{
		"index of 4929 packages: signature by alpine-devel@lists.alpinelinux.org-6165ee59.rsa.pub",
		"package alpine-baselayout-3.2.0-r23 (aarch64): signature by alpine-devel@lists.alpinelinux.org-616ae350.rsa.pub, C:Q1LLq2qDNrS/qRnhxQ3hsY/sHbQnc=, datahash 1a3a8e47d228…",
		"index of 16 packages: signature by chainguard-",
		"package libcap-2.69-r0 (aarch64): signature by wolfi-signing.rsa.pub",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("verify output lacks %q:\n%s", want, out)
		}
	}
	if n := strings.Count(out, "OK   "); n != 4 {
		t.Errorf("%d OK lines, want 4:\n%s", n, out)
	}
}

func TestVerifyFailures(t *testing.T) {
	real := testutil.RealData(t)
	tampered := filepath.Join(real, "tampered", "aws-c-s3-0.4.9-r0.apk")
	code, out, _ := apkpack(t, "verify", "--keyring", filepath.Join(real, "wolfi", "wolfi-signing.rsa.pub"),
		tampered, filepath.Join(real, "wolfi", "wolfi-base-1-r1.apk"))
	if code != 1 {
		t.Errorf("verify of a tampered package: exit %d, want 1", code)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 2 || !strings.HasPrefix(lines[0], "FAIL "+tampered) ||
		!strings.Contains(lines[0], "signature") || !strings.Contains(lines[0], "datahash") ||
		!strings.HasPrefix(lines[1], "OK   ") {
		t.Errorf("want a FAIL line naming signature and datahash, then an OK line; got:\n%s", out)
	}

	// The Alpine key does not sign Wolfi's index.
	code, out, _ = apkpack(t, "verify", "--keyring", filepath.Join(real, "alpine-3.16-x86_64"),
		filepath.Join(real, "wolfi-aarch64-resigned", "APKINDEX.tar.gz"))
	if code != 1 || !strings.Contains(out, "UNTRUSTED") {
		t.Errorf("verify with the wrong key: exit %d, output %q; want 1 and UNTRUSTED", code, out)
	}

	code, _, stderr := apkpack(t, "verify", tampered)
	if code != 1 || !strings.Contains(stderr, "no --keyring given") {
		t.Errorf("verify without a keyring: exit %d, stderr %q", code, stderr)
	}
}

// TestPackIndexVerify builds a repository with the CLI alone: a key, two
// packages, a signed index; then verifies and inspects it.
func TestPackIndexVerify(t *testing.T) {
	dir := t.TempDir()
	key, err := apk.GenerateSigningKey("", 2048)
	if err != nil {
		t.Fatal(err)
	}
	priv, err := key.PrivateKeyPEM()
	if err != nil {
		t.Fatal(err)
	}
	pub, err := key.PublicKeyPEM()
	if err != nil {
		t.Fatal(err)
	}
	write := func(name string, b []byte) string {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	keyPath := write("demo.rsa", priv)
	pubPath := write("keys/demo.rsa.pub", pub)
	write("root/usr/bin/hello", []byte("#!/bin/true\n"))
	if err := os.Chmod(filepath.Join(dir, "root/usr/bin/hello"), 0o755); err != nil {
		t.Fatal(err)
	}
	meta := write("hello.pkginfo", []byte("pkgname = hello\npkgver = 1.0-r0\narch = x86_64\nlicense = MIT\n"))
	post := write("post.sh", []byte("#!/bin/sh\necho hi\n"))

	apkPath := filepath.Join(dir, "repo", "x86_64", "hello-1.0-r0.apk")
	if err := os.MkdirAll(filepath.Dir(apkPath), 0o755); err != nil {
		t.Fatal(err)
	}
	code, out, stderr := apkpack(t, "pack", "--signing-key", keyPath, "--metadata", meta,
		"--description", "says hello", "--depend", "so:libc.so.6", "--provide", "cmd:hello=1.0-r0",
		"--builddate", "1700000000", "--script", "post-install="+post,
		filepath.Join(dir, "root"), "-o", apkPath)
	if code != 0 {
		t.Fatalf("pack: exit %d: %s", code, stderr)
	}
	if !strings.Contains(out, "hello-1.0-r0 C:Q1") {
		t.Errorf("pack output %q", out)
	}
	code, _, stderr = apkpack(t, "pack", "--signing-key", keyPath, "--name", "meta", "--version", "1-r0",
		"--arch", "x86_64", "--depend", "hello", t.TempDir(), "-o", filepath.Join(dir, "repo", "x86_64", "meta-1-r0.apk"))
	if code != 0 {
		t.Fatalf("pack meta: exit %d: %s", code, stderr)
	}

	indexPath := filepath.Join(dir, "repo", "x86_64", "APKINDEX.tar.gz")
	code, _, stderr = apkpack(t, "index", "--signing-key", keyPath, "-d", "demo", "-o", indexPath,
		filepath.Join(dir, "repo", "x86_64", "meta-1-r0.apk"), apkPath)
	if code != 0 {
		t.Fatalf("index: exit %d: %s", code, stderr)
	}

	code, out, _ = apkpack(t, "verify", "--keyring", filepath.Dir(pubPath), indexPath, apkPath)
	if code != 0 || strings.Count(out, "OK   ") != 2 {
		t.Fatalf("verify: exit %d:\n%s", code, out)
	}

	code, out, stderr = apkpack(t, "inspect", "--json", indexPath)
	if code != 0 {
		t.Fatalf("inspect: exit %d: %s", code, stderr)
	}
	var idx indexView
	if err := json.Unmarshal([]byte(out), &idx); err != nil {
		t.Fatal(err)
	}
	if idx.Description != "demo" || len(idx.Packages) != 2 || idx.Packages[0].Name != "hello" ||
		idx.Packages[0].Description != "says hello" || idx.Packages[1].Depends[0] != "hello" {
		t.Errorf("inspected index: %+v", idx)
	}

	code, out, _ = apkpack(t, "inspect", "--keyring", pubPath, apkPath)
	for _, want := range []string{"package         hello-1.0-r0", "verified by demo.rsa.pub",
		"scripts         .post-install (18 B)", "file  0755  0:0  12  usr/bin/hello"} {
		if code != 0 || !strings.Contains(out, want) {
			t.Errorf("inspect output lacks %q (exit %d):\n%s", want, code, out)
		}
	}

	// A bad metadata file leaves no output behind.
	bad := write("bad.pkginfo", []byte("pkgname hello\n"))
	out2 := filepath.Join(dir, "bad.apk")
	if code, _, stderr := apkpack(t, "pack", "--signing-key", keyPath, "--metadata", bad,
		filepath.Join(dir, "root"), "-o", out2); code == 0 || !strings.Contains(stderr, bad) {
		t.Errorf("pack with bad metadata: exit %d, stderr %q", code, stderr)
	}
	if _, err := os.Stat(out2); !os.IsNotExist(err) {
		t.Errorf("a failed pack left %s behind", out2)
	}
}

func TestInspectRealPackageGolden(t *testing.T) {
	path := testutil.RealData(t, "alpine-3.16-aarch64", "alpine-baselayout-3.2.0-r23.apk")
	code, out, stderr := apkpack(t, "inspect", path)
	if code != 0 {
		t.Fatalf("inspect: exit %d: %s", code, stderr)
	}
	// The path of the shared data differs between machines.
	testutil.Golden(t, "inspect-alpine-baselayout.txt", []byte(strings.ReplaceAll(out, path, "PACKAGE")))
}

func TestPackDetectsProvides(t *testing.T) {
	root := t.TempDir()
	bin := filepath.Join(root, "usr", "bin")
	if err := os.MkdirAll(bin, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(bin, "tool"), []byte("#!/bin/true\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name  string
		flags []string
		want  []string
	}{
		{"detected", nil, []string{"cmd:tool=2.0-r1"}},
		{"detection off", []string{"--detect="}, nil},
		{"skipped by name", []string{"--skip-provide", "cmd:tool"}, nil},
		{"hand-written entry wins", []string{"--provide", "cmd:tool=9"}, []string{"cmd:tool=9"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "tool.apk")
			args := append([]string{"pack", "--unsigned", "--name", "tool", "--version", "2.0-r1",
				"--arch", "x86_64", root, "-o", out}, tt.flags...)
			if code, _, stderr := apkpack(t, args...); code != 0 {
				t.Fatalf("pack: exit %d: %s", code, stderr)
			}
			v := inspectJSON[packageView](t, out)
			if diff := cmp.Diff(tt.want, v.Package.Provides); diff != "" {
				t.Errorf("provides (-want +got):\n%s", diff)
			}
		})
	}
}

func TestPackOwners(t *testing.T) {
	root := t.TempDir()
	if err := os.MkdirAll(filepath.Join(root, "home", "nonroot"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, "home", "nonroot", ".profile"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "base.apk")
	pack := func(flags ...string) (int, string) {
		args := append([]string{"pack", "--unsigned", "--name", "base", "--version", "1-r0",
			"--arch", "x86_64", root, "-o", out}, flags...)
		code, _, stderr := apkpack(t, args...)
		return code, stderr
	}
	if code, stderr := pack("--owner", "/home/nonroot=65532:65532"); code != 0 {
		t.Fatalf("pack --owner: exit %d: %s", code, stderr)
	}
	v := inspectJSON[packageView](t, out)
	got := map[string]string{}
	for _, f := range v.Files {
		got[f.Path] = fmt.Sprintf("%d:%d", f.UID, f.GID)
	}
	want := map[string]string{"home": "0:0", "home/nonroot": "65532:65532",
		"home/nonroot/.profile": "65532:65532"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("owners (-want +got):\n%s", diff)
	}

	for _, tc := range []struct{ flag, want string }{
		{"home/nonroot=nonroot", "write PATH=UID:GID"},
		{"home/nonroot=65532:x", "write PATH=UID:GID"},
		{"home/root=0:0", "owner of home/root: no such entry"},
	} {
		if code, stderr := pack("--owner", tc.flag); code != 1 || !strings.Contains(stderr, tc.want) {
			t.Errorf("--owner %s: exit %d, stderr %q; want it to say %q", tc.flag, code, stderr,
				tc.want)
		}
	}
}

func TestKeygen(t *testing.T) {
	key := filepath.Join(t.TempDir(), "demo.rsa")
	if code, out, stderr := apkpack(t, "keygen", "-o", key, "--bits", "2048"); code != 0 ||
		out != key+"\n"+key+".pub\n" {
		t.Fatalf("keygen: exit %d, stdout %q, stderr %q", code, out, stderr)
	}
	sk, err := apk.LoadSigningKey(key)
	if err != nil {
		t.Fatal(err)
	}
	kr, err := apk.LoadKeyring(key + ".pub")
	if err != nil {
		t.Fatal(err)
	}
	sig, err := sk.Sign(apk.SigRSA256, []byte("x"))
	if err != nil {
		t.Fatal(err)
	}
	d := apk.NewDigester([]apk.Signature{sig})
	d.Write([]byte("x"))
	if _, err := kr.Verify([]apk.Signature{sig}, d); err != nil {
		t.Errorf("the public key does not verify the private key's signature: %v", err)
	}
	if fi, err := os.Stat(key); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("private key mode %v, %v; want 0600", fi.Mode(), err)
	}
	if code, _, stderr := apkpack(t, "keygen", "-o", key); code == 0 || !strings.Contains(stderr, "--force") {
		t.Errorf("keygen over an existing key: exit %d, stderr %q", code, stderr)
	}
}
