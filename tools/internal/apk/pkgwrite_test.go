package apk

import (
	"archive/tar"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/rules-apk/rules_apk/tools/internal/testutil"
)

// makeTree builds the tree the writer tests package, with explicit modes so
// that the umask does not matter.
func makeTree(t testing.TB) string {
	t.Helper()
	dir := t.TempDir()
	type node struct {
		name string
		mode os.FileMode // fs.ModeDir for directories
		body string
		link string // symlink target
		hard string // hard link target
	}
	for _, n := range []node{
		{name: "etc", mode: os.ModeDir | 0o755},
		{name: "etc/conf", mode: 0o600, body: "a = b\n"},
		{name: "etc/empty", mode: 0o644},
		{name: "usr", mode: os.ModeDir | 0o755},
		{name: "usr/bin", mode: os.ModeDir | 0o755},
		{name: "usr/bin/hello", mode: 0o755, body: "#!/bin/sh\necho hello\n"},
		{name: "usr/bin/hi", hard: "usr/bin/hello"},
		{name: "usr/bin/suid", mode: os.ModeSetuid | 0o755, body: "x"},
		{name: "usr/lib", mode: os.ModeDir | 0o755},
		{name: "usr/lib/libx.so", link: "libx.so.1"},
		{name: "usr/lib/libx.so.1", mode: 0o644, body: strings.Repeat("libx", 750)},
		{name: "var", mode: os.ModeDir | 0o755},
		{name: "var/tmp", mode: os.ModeDir | os.ModeSticky | 0o777},
	} {
		p := filepath.Join(dir, n.name)
		var err error
		switch {
		case n.mode.IsDir():
			err = os.Mkdir(p, 0o700)
		case n.link != "":
			err = os.Symlink(n.link, p)
		case n.hard != "":
			err = os.Link(filepath.Join(dir, n.hard), p)
		default:
			err = os.WriteFile(p, []byte(n.body), 0o600)
		}
		if err == nil && n.mode != 0 {
			err = os.Chmod(p, n.mode)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func testInfo() Package {
	return Package{
		Name: "hello", Version: "2.12-r1", Arch: "x86_64", Origin: "hello",
		Description: "prints a greeting", URL: "https://example.org/hello", Commit: "0123abcd",
		BuildTime: 1700000000, License: "GPL-3.0-or-later", Depends: "so:libc.so.6 busybox",
		Provides: "cmd:hello=2.12-r1 so:libx.so.1=1", Triggers: "/usr/lib",
	}
}

var testScripts = map[string][]byte{
	".post-install": []byte("#!/bin/sh\necho installed\n"),
	".trigger":      []byte("#!/bin/sh\nldconfig\n"),
}

// writeTestPackage writes the test tree with testInfo and testScripts unless
// opts says otherwise.
func writeTestPackage(t testing.TB, opts WriteOptions) []byte {
	t.Helper()
	if opts.Info.Name == "" {
		opts.Info = testInfo()
	}
	if opts.Dir == "" {
		opts.Dir = makeTree(t)
	}
	if opts.Scripts == nil {
		opts.Scripts = testScripts
	}
	opts.TempDir = t.TempDir()
	var buf bytes.Buffer
	if _, err := WritePackage(&buf, opts); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestWritePackageRoundTrip(t *testing.T) {
	dir := makeTree(t)
	var buf bytes.Buffer
	p, err := WritePackage(&buf, WriteOptions{
		Info: testInfo(), Dir: dir, Scripts: testScripts, SigningKey: testSigningKey(t),
		TempDir: t.TempDir(), UID: 1000, GID: 100,
	})
	if err != nil {
		t.Fatal(err)
	}
	b := buf.Bytes()
	var mtimes []time.Time
	got := map[string]string{}
	pf, err := ReadPackage(bytes.NewReader(b), ReadOptions{
		Keyring: testKeyring(t), ListFiles: true,
		Visit: func(hdr *tar.Header, content io.Reader) error {
			mtimes = append(mtimes, hdr.ModTime)
			body, err := io.ReadAll(content)
			got[hdr.Name] = fmt.Sprintf("%c %s", hdr.Typeflag, sha1Hex(body))
			return err
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	checkAgainstStdlib(t, b, pf, got)

	want := testInfo()
	want.InstalledSize = uint64(len("a = b\n") + len("#!/bin/sh\necho hello\n") + 1 + 3000)
	want.DataHash, want.Checksum, want.Size = pf.DataHash, pf.Info.Checksum, uint64(len(b))
	if diff := cmp.Diff(want, *p); diff != "" {
		t.Errorf("WritePackage metadata (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(*p, pf.Info); diff != "" {
		t.Errorf("metadata read back (-written +read):\n%s", diff)
	}
	if diff := cmp.Diff(testScripts, pf.Scripts); diff != "" {
		t.Errorf("scripts (-want +got):\n%s", diff)
	}
	if pf.SignedBy != "test-signing.rsa.pub" || pf.Signatures[0].Alg != SigRSA256 {
		t.Errorf("signed by %q with %s, want test-signing.rsa.pub with RSA256",
			pf.SignedBy, pf.Signatures[0].Alg)
	}
	for _, m := range mtimes {
		if m.Unix() != 1700000000 {
			t.Errorf("entry mtime %v, want the build time", m)
		}
	}
	checkFiles(t, dir, pf.Files)
}

// checkFiles compares the entries read back with the tree.
func checkFiles(t *testing.T, dir string, files []FileEntry) {
	t.Helper()
	sum := func(name string) Checksum {
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		return sha1Sum(b)
	}
	type f = FileEntry
	want := []FileEntry{
		{Path: "etc", Type: tar.TypeDir, Mode: 0o755},
		{Path: "etc/conf", Type: tar.TypeReg, Mode: 0o600, Size: 6, Checksum: sum("etc/conf")},
		{Path: "etc/empty", Type: tar.TypeReg, Mode: 0o644, Checksum: sum("etc/empty")},
		{Path: "usr", Type: tar.TypeDir, Mode: 0o755},
		{Path: "usr/bin", Type: tar.TypeDir, Mode: 0o755},
		{Path: "usr/bin/hello", Type: tar.TypeReg, Mode: 0o755, Size: 21,
			Checksum: sum("usr/bin/hello")},
		{Path: "usr/bin/hi", Type: tar.TypeLink, Mode: 0o755, Linkname: "usr/bin/hello"},
		{Path: "usr/bin/suid", Type: tar.TypeReg, Mode: 0o4755, Size: 1, Checksum: sum("usr/bin/suid")},
		{Path: "usr/lib", Type: tar.TypeDir, Mode: 0o755},
		{Path: "usr/lib/libx.so", Type: tar.TypeSymlink, Mode: 0o777, Linkname: "libx.so.1",
			Checksum: sha1Sum([]byte("libx.so.1"))},
		{Path: "usr/lib/libx.so.1", Type: tar.TypeReg, Mode: 0o644, Size: 3000,
			Checksum: sum("usr/lib/libx.so.1")},
		{Path: "var", Type: tar.TypeDir, Mode: 0o755},
		{Path: "var/tmp", Type: tar.TypeDir, Mode: 0o1777},
	}
	for i := range want {
		want[i].UID, want[i].GID = 1000, 100
	}
	if diff := cmp.Diff(want, files); diff != "" {
		t.Errorf("entries (-want +got):\n%s", diff)
	}
}

func sha1Sum(b []byte) Checksum {
	c, _ := parseFileSHA1(sha1Hex(b))
	return c
}

// TestWritePackageDeterministic writes the same input twice and pins the
// result: the .PKGINFO and the digests of the whole file.
func TestWritePackageDeterministic(t *testing.T) {
	key := testSigningKey(t)
	first := writeTestPackage(t, WriteOptions{SigningKey: key})
	second := writeTestPackage(t, WriteOptions{SigningKey: key})
	if !bytes.Equal(first, second) {
		t.Fatalf("two writes differ: %s and %s", sha256Hex(first), sha256Hex(second))
	}
	pf, err := ReadPackage(bytes.NewReader(first), ReadOptions{Keyring: testKeyring(t)})
	if err != nil {
		t.Fatal(err)
	}
	testutil.Golden(t, "pkg/written.PKGINFO", pf.PkgInfo)
	digest := fmt.Sprintf("sha256 %s\nsize %d\nC: %s\ndatahash %s\n",
		sha256Hex(first), len(first), pf.Info.Checksum, pf.DataHash)
	testutil.Golden(t, "pkg/written.digest", []byte(digest))
}

func TestWritePackageSignatures(t *testing.T) {
	key := testSigningKey(t)
	tests := []struct {
		name    string
		key     *SigningKey
		alg     SigAlg
		wantAlg SigAlg
	}{
		{name: "default", key: key, wantAlg: SigRSA256},
		{name: "RSA", key: key, alg: SigRSA, wantAlg: SigRSA},
		{name: "RSA512", key: key, alg: SigRSA512, wantAlg: SigRSA512},
		{name: "unsigned"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := writeTestPackage(t, WriteOptions{SigningKey: tt.key, SigAlg: tt.alg})
			pf, err := ReadPackage(bytes.NewReader(b), ReadOptions{Keyring: testKeyring(t)})
			if tt.key == nil {
				var ve *VerifyError
				if !errors.As(err, &ve) || !strings.Contains(err.Error(), "file is not signed") {
					t.Fatalf("reading an unsigned package with a keyring: error = %v", err)
				}
				if len(pf.Members) != 2 {
					t.Errorf("unsigned package has %d members, want 2", len(pf.Members))
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(pf.Signatures) != 1 || pf.Signatures[0].Alg != tt.wantAlg || pf.SignedBy != key.Name {
				t.Errorf("signatures %+v signed by %q, want one %s by %s",
					pf.Signatures, pf.SignedBy, tt.wantAlg, key.Name)
			}
		})
	}
}

// TestWritePackageOwners gives a directory and a file their own owners: the
// entry and what lies under it take the longest matching path's owner.
func TestWritePackageOwners(t *testing.T) {
	b := writeTestPackage(t, WriteOptions{UID: 1, GID: 2, Owners: []Owner{
		{Path: "usr/bin", UID: 65532, GID: 65533},
		{Path: "usr/bin/suid", UID: 0, GID: 0},
		{Path: "var/tmp", UID: 7, GID: 8},
	}})
	pf, err := ReadPackage(bytes.NewReader(b), ReadOptions{ListFiles: true, AllowUntrusted: true})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, f := range pf.Files {
		got[f.Path] = fmt.Sprintf("%d:%d", f.UID, f.GID)
	}
	want := map[string]string{
		"etc": "1:2", "etc/conf": "1:2", "etc/empty": "1:2", "usr": "1:2",
		"usr/bin": "65532:65533", "usr/bin/hello": "65532:65533", "usr/bin/hi": "65532:65533",
		"usr/bin/suid": "0:0", "usr/lib": "1:2", "usr/lib/libx.so": "1:2",
		"usr/lib/libx.so.1": "1:2", "var": "1:2", "var/tmp": "7:8",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("owners (-want +got):\n%s", diff)
	}
}

func TestWritePackageMetapackage(t *testing.T) {
	var buf bytes.Buffer
	info := Package{Name: "meta", Version: "1-r0", Arch: "noarch", Depends: "a b"}
	p, err := WritePackage(&buf, WriteOptions{Info: info, TempDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	pf, err := ReadPackage(bytes.NewReader(buf.Bytes()), ReadOptions{ExpectChecksum: p.Checksum})
	if err != nil {
		t.Fatal(err)
	}
	if pf.Entries != 0 || pf.Info.InstalledSize != 0 || pf.Info.Depends != "a b" {
		t.Errorf("metapackage read back with %d entries, size %d, depends %q", pf.Entries,
			pf.Info.InstalledSize, pf.Info.Depends)
	}
}

func TestWritePackageErrors(t *testing.T) {
	dotTree := t.TempDir()
	if err := os.WriteFile(filepath.Join(dotTree, ".hidden"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	info := testInfo()
	noName := info
	noName.Name = ""
	injected := info
	injected.Description = "x\ndatahash = 00"
	tests := []struct {
		name    string
		opts    WriteOptions
		wantErr string
	}{
		{name: "no name", opts: WriteOptions{Info: noName}, wantErr: "needs a name"},
		{name: "line break in a value", opts: WriteOptions{Info: injected}, wantErr: "pkgdesc"},
		{name: "unknown script",
			opts:    WriteOptions{Info: info, Scripts: map[string][]byte{".install": nil}},
			wantErr: `script ".install" is not one apk runs`},
		{name: "DSA", opts: WriteOptions{Info: info, SigAlg: SigDSA}, wantErr: "use RSA256"},
		{name: "top-level dot file", opts: WriteOptions{Info: info, Dir: dotTree},
			wantErr: "top-level dot names"},
		{name: "missing tree", opts: WriteOptions{Info: info, Dir: filepath.Join(dotTree, "nope")},
			wantErr: "no such file"},
		{name: "owner of a missing entry",
			opts:    WriteOptions{Info: info, Owners: []Owner{{Path: "home/nonroot", UID: 65532}}},
			wantErr: "owner of home/nonroot: no such entry"},
		{name: "owner of an absolute path",
			opts:    WriteOptions{Info: info, Owners: []Owner{{Path: "/etc", UID: 1}}},
			wantErr: `owner of "/etc": not a relative path`},
		{name: "owner given twice",
			opts:    WriteOptions{Info: info, Owners: []Owner{{Path: "etc"}, {Path: "etc", UID: 1}}},
			wantErr: "owner of etc: given twice"},
		{name: "negative owner",
			opts:    WriteOptions{Info: info, Owners: []Owner{{Path: "etc", UID: -1}}},
			wantErr: "not a numeric uid:gid"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.opts.TempDir = t.TempDir()
			_, err := WritePackage(io.Discard, tt.opts)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("WritePackage error = %v, want it to contain %q", err, tt.wantErr)
			}
			if left, _ := os.ReadDir(tt.opts.TempDir); len(left) != 0 {
				t.Errorf("WritePackage left %d temporary files", len(left))
			}
		})
	}
}
