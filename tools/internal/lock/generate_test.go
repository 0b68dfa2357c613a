package lock

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/rules-apk/rules_apk/tools/internal/repo"
	"github.com/rules-apk/rules_apk/tools/internal/spec"
	"github.com/rules-apk/rules_apk/tools/internal/testrepo"
)

// fixture is the Dockerfile pattern in miniature: a base of a layout, glibc
// and certificates, and two providers of so:libcurl.so.4.
func fixture(zlib string) []testrepo.Pkg {
	return []testrepo.Pkg{
		{Name: "baselayout", Version: "1-r0", BuildTime: 100, Files: map[string]string{"etc/os-release": "ID=test\n"}},
		{Name: "glibc", Version: "2.40-r0", BuildTime: 200, Depends: []string{"baselayout"},
			Provides: []string{"so:libc.so.6=6"}, Files: map[string]string{"usr/lib/libc.so.6": "libc"}},
		{Name: "ca-certificates-bundle", Version: "20241121-r1", BuildTime: 100,
			Files: map[string]string{"etc/ssl/certs/ca-certificates.crt": "certs"}},
		{Name: "zlib", Version: zlib, BuildTime: 300, Depends: []string{"so:libc.so.6"},
			Provides: []string{"so:libz.so.1=1"}, Files: map[string]string{"usr/lib/libz.so.1": "zlib " + zlib}},
		{Name: "libcurl-openssl4", Version: "8.11.1-r0", Origin: "curl", ProviderPriority: 10, BuildTime: 400,
			Depends: []string{"so:libc.so.6", "so:libz.so.1"}, Provides: []string{"so:libcurl.so.4=4"},
			Files: map[string]string{"usr/lib/libcurl.so.4": "openssl"}},
		{Name: "libcurl-rustls4", Version: "8.11.1-r0", Origin: "curl", ProviderPriority: 5, BuildTime: 400,
			Depends: []string{"so:libc.so.6"}, Provides: []string{"so:libcurl.so.4=4"},
			Files: map[string]string{"usr/lib/libcurl.so.4": "rustls"}},
	}
}

type env struct {
	dir, repoDir, url string
	client            *repo.Client
}

func newEnv(t *testing.T, pkgs []testrepo.Pkg) *env {
	t.Helper()
	e := &env{dir: t.TempDir()}
	e.repoDir = filepath.Join(e.dir, "repo")
	testrepo.Build(t, e.repoDir, pkgs)
	testrepo.WriteKey(t, e.dir)
	e.url = testrepo.Serve(t, e.repoDir)
	var err error
	e.client, err = repo.New(repo.Options{CacheDir: filepath.Join(e.dir, "cache"), Auth: &repo.Auth{}})
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func (e *env) spec(t *testing.T, body string) (*spec.Spec, string) {
	t.Helper()
	y := "contents:\n  repositories: [" + e.url + "]\n  keyring: [test.rsa.pub]\n" + body
	s, err := spec.Parse([]byte(y), e.dir)
	if err != nil {
		t.Fatal(err)
	}
	return s, e.dir
}

func (e *env) generate(t *testing.T, s *spec.Spec, prev *Lockfile, upgrade bool) (*Lockfile, error) {
	t.Helper()
	return Generate(context.Background(), GenerateOptions{Spec: s, SpecDir: e.dir, Previous: prev,
		Upgrade: upgrade, Client: e.client})
}

func names(l *Lockfile) []string {
	var out []string
	for _, p := range l.Packages {
		s := p.Arch + " " + p.Name + "-" + p.Version
		if p.Base {
			s += " (base)"
		}
		out = append(out, s)
	}
	return out
}

func TestGenerate(t *testing.T) {
	e := newEnv(t, fixture("1.3.1-r5"))
	s, _ := e.spec(t, "  packages: [so:libcurl.so.4, ca-certificates-bundle]\narchs: [x86_64]\n")
	l, err := e.generate(t, s, nil, false)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"x86_64 baselayout-1-r0", "x86_64 ca-certificates-bundle-20241121-r1", "x86_64 glibc-2.40-r0",
		"x86_64 libcurl-openssl4-8.11.1-r0", "x86_64 zlib-1.3.1-r5",
	}
	if diff := cmp.Diff(want, names(l)); diff != "" {
		t.Errorf("closure (-want +got):\n%s", diff)
	}
	// Every pin is the SHA-256 of the file the repository serves.
	for _, p := range l.Packages {
		b, err := os.ReadFile(filepath.Join(e.repoDir, "x86_64", p.Name+"-"+p.Version+".apk"))
		if err != nil {
			t.Fatal(err)
		}
		sum := sha256.Sum256(b)
		if p.SHA256 != hex.EncodeToString(sum[:]) || p.Size != uint64(len(b)) {
			t.Errorf("%s: sha256 %s size %d; the file has %x and %d bytes", p.Name, p.SHA256, p.Size, sum, len(b))
		}
		if p.URL != e.url+"/x86_64/"+p.Name+"-"+p.Version+".apk" || p.DataHash == "" || p.Repository != e.url {
			t.Errorf("%s: url %s, repository %s, datahash %q", p.Name, p.URL, p.Repository, p.DataHash)
		}
	}
	if l.Keyring[0].Name != "test.rsa.pub" || l.Keyring[0].URL != "test.rsa.pub" {
		t.Errorf("keyring %+v: want the key by its path relative to the spec", l.Keyring)
	}
	if got := l.Repositories[0].Indexes; len(got) != 1 || got[0].SignedBy != "test.rsa.pub" {
		t.Errorf("indexes %+v", got)
	}
	if diff := cmp.Diff([]string{"ca-certificates-bundle", "so:libcurl.so.4"}, l.World); diff != "" {
		t.Errorf("world (-want +got):\n%s", diff)
	}

	// Locking again gives the same bytes.
	again, err := e.generate(t, s, nil, false)
	if err != nil {
		t.Fatal(err)
	}
	checkSameBytes(t, l, again, "two locks against the same indexes differ")
}

// checkSameBytes fails the test when two lockfiles marshal differently.
func checkSameBytes(t *testing.T, a, b *Lockfile, why string) {
	t.Helper()
	b1, err1 := a.Marshal()
	b2, err2 := b.Marshal()
	if err1 != nil || err2 != nil || string(b1) != string(b2) {
		t.Errorf("%s (marshal errors: %v, %v)", why, err1, err2)
	}
}

// TestGenerateKeepsAndUpgrades follows apk's "prefer installed": a newer
// zlib in the repository is taken only with --upgrade.
func TestGenerateKeepsAndUpgrades(t *testing.T) {
	e := newEnv(t, fixture("1.3.1-r5"))
	s, _ := e.spec(t, "  packages: [so:libcurl.so.4]\narchs: [x86_64]\n")
	old, err := e.generate(t, s, nil, false)
	if err != nil {
		t.Fatal(err)
	}
	// The repository gains zlib 1.3.1-r6 (both versions stay in the index).
	pkgs := append(fixture("1.3.1-r5"), testrepo.Pkg{Name: "zlib", Version: "1.3.1-r6", BuildTime: 500,
		Depends: []string{"so:libc.so.6"}, Provides: []string{"so:libz.so.1=1"},
		Files: map[string]string{"usr/lib/libz.so.1": "zlib r6"}})
	testrepo.Build(t, e.repoDir, pkgs)
	// http.FileServer validates by Last-Modified, which has a resolution of
	// a second: date the new index later, as a real update would be.
	later := time.Now().Add(time.Hour)
	if err := os.Chtimes(filepath.Join(e.repoDir, "x86_64", "APKINDEX.tar.gz"), later, later); err != nil {
		t.Fatal(err)
	}

	kept, err := e.generate(t, s, old, false)
	if err != nil {
		t.Fatal(err)
	}
	if diff := Diff(old, kept, nil); len(diff) != 0 {
		t.Errorf("without --upgrade the lockfile changed: %+v", diff)
	}
	up, err := e.generate(t, s, old, true)
	if err != nil {
		t.Fatal(err)
	}
	want := []Change{{Arch: "x86_64", Name: "zlib", Kind: Upgraded, OldVersion: "1.3.1-r5", NewVersion: "1.3.1-r6"}}
	if diff := cmp.Diff(want, Diff(old, up, nil)); diff != "" {
		t.Errorf("--upgrade diff (-want +got):\n%s", diff)
	}
	fresh, err := e.generate(t, s, nil, false)
	if err != nil {
		t.Fatal(err)
	}
	if diff := Diff(up, fresh, nil); len(diff) != 0 {
		t.Errorf("a fresh lock differs from the upgraded one: %+v", diff)
	}
}

// TestGenerateReplacesVanishedPackage: a locked version that no repository
// holds any more is not kept (its URL is gone); without --upgrade, only
// that name moves, to what the repository has now.
func TestGenerateReplacesVanishedPackage(t *testing.T) {
	e := newEnv(t, fixture("1.3.1-r5"))
	s, _ := e.spec(t, "  packages: [so:libcurl.so.4]\narchs: [x86_64]\n")
	old, err := e.generate(t, s, nil, false)
	if err != nil {
		t.Fatal(err)
	}
	// The repository replaces zlib 1.3.1-r5 with 1.3.1-r6.
	testrepo.Build(t, e.repoDir, fixture("1.3.1-r6"))
	later := time.Now().Add(time.Hour)
	if err := os.Chtimes(filepath.Join(e.repoDir, "x86_64", "APKINDEX.tar.gz"), later, later); err != nil {
		t.Fatal(err)
	}
	got, err := e.generate(t, s, old, false)
	if err != nil {
		t.Fatalf("relocking after zlib 1.3.1-r5 left the repository: %v", err)
	}
	want := []Change{{Arch: "x86_64", Name: "zlib", Kind: Upgraded, OldVersion: "1.3.1-r5", NewVersion: "1.3.1-r6"}}
	if diff := cmp.Diff(want, Diff(old, got, nil)); diff != "" {
		t.Errorf("diff (-want +got):\n%s", diff)
	}
}

// TestGenerateBase computes what apk add --root BASE would add: the base
// packages are in the closure, marked base, whether the base is a list of
// packages or another lockfile.
func TestGenerateBase(t *testing.T) {
	e := newEnv(t, fixture("1.3.1-r5"))
	baseSpec, _ := e.spec(t, "  packages: [glibc, ca-certificates-bundle]\narchs: [x86_64]\n")
	baseLock, err := e.generate(t, baseSpec, nil, false)
	if err != nil {
		t.Fatal(err)
	}
	if err := baseLock.WriteFile(filepath.Join(e.dir, "base.apk.lock.json")); err != nil {
		t.Fatal(err)
	}
	want := []string{
		"x86_64 baselayout-1-r0 (base)", "x86_64 ca-certificates-bundle-20241121-r1 (base)",
		"x86_64 glibc-2.40-r0 (base)", "x86_64 libcurl-openssl4-8.11.1-r0", "x86_64 zlib-1.3.1-r5",
	}
	for _, base := range []string{"packages: [glibc, ca-certificates-bundle]", "lockfile: base.apk.lock.json"} {
		t.Run(strings.TrimSuffix(strings.Fields(base)[0], ":"), func(t *testing.T) {
			s, _ := e.spec(t, "  packages: [so:libcurl.so.4]\narchs: [x86_64]\nbase:\n  "+base+"\n")
			l, err := e.generate(t, s, nil, false)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(want, names(l)); diff != "" {
				t.Errorf("closure (-want +got):\n%s", diff)
			}
		})
	}
}

func TestGenerateErrors(t *testing.T) {
	e := newEnv(t, fixture("1.3.1-r5"))
	tests := []struct {
		name, body, want string
		prepare          func(t *testing.T)
	}{
		{"unsatisfiable", "  packages: [nosuchthing]\narchs: [x86_64]\n", "nosuchthing", nil},
		{"bad constraint", "  packages: [\"zlib>=>\"]\narchs: [x86_64]\n", "contents.packages", nil},
		{"missing arch", "  packages: [zlib]\narchs: [aarch64]\n", "aarch64/APKINDEX.tar.gz", nil},
		{"tampered package", "  packages: [zlib]\narchs: [x86_64]\n", "zlib-1.3.1-r5", func(t *testing.T) {
			// Replace the served zlib with another build: its C: no longer
			// matches the signed index.
			other := t.TempDir()
			testrepo.Build(t, other, []testrepo.Pkg{{Name: "zlib", Version: "1.3.1-r5",
				Files: map[string]string{"usr/lib/libz.so.1": "evil"}}})
			b, err := os.ReadFile(filepath.Join(other, "x86_64", "zlib-1.3.1-r5.apk"))
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(e.repoDir, "x86_64", "zlib-1.3.1-r5.apk"), b, 0o644); err != nil {
				t.Fatal(err)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.prepare != nil {
				tt.prepare(t)
			}
			y := "contents:\n  repositories: [" + e.url + "]\n  keyring: [test.rsa.pub]\n" + tt.body
			s, err := spec.Parse([]byte(y), e.dir)
			if err == nil {
				_, err = e.generate(t, s, nil, false)
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error = %v, want one mentioning %q", err, tt.want)
			}
		})
	}

	// An index signed by a key the spec does not trust.
	other := t.TempDir()
	s, err := spec.Parse([]byte("contents:\n  repositories: ["+e.url+"]\n  keyring: [k.rsa.pub]\n  packages: [zlib]\narchs: [x86_64]\n"), other)
	if err != nil {
		t.Fatal(err)
	}
	pub, err := os.ReadFile(filepath.Join(e.dir, "test.rsa.pub"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(other, "k.rsa.pub"), pub, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := e.generate(t, s, nil, false); err == nil || !strings.Contains(err.Error(), "UNTRUSTED") {
		t.Errorf("index signed by an unknown key name: %v, want UNTRUSTED", err)
	}
}

// TestGenerateRebuiltPackage: the repository rebuilds a package under the
// same version after it was cached; the lock fetches it again instead of
// failing on the stale copy.
func TestGenerateRebuiltPackage(t *testing.T) {
	e := newEnv(t, fixture("1.3.1-r5"))
	s, _ := e.spec(t, "  packages: [zlib]\narchs: [x86_64]\n")
	first, err := e.generate(t, s, nil, false)
	if err != nil {
		t.Fatal(err)
	}
	pkgs := fixture("1.3.1-r5")
	pkgs[3].Files = map[string]string{"usr/lib/libz.so.1": "rebuilt"}
	testrepo.Build(t, e.repoDir, pkgs)
	later := time.Now().Add(time.Hour)
	for _, f := range []string{"APKINDEX.tar.gz", "zlib-1.3.1-r5.apk"} {
		if err := os.Chtimes(filepath.Join(e.repoDir, "x86_64", f), later, later); err != nil {
			t.Fatal(err)
		}
	}
	second, err := e.generate(t, s, nil, false)
	if err != nil {
		t.Fatalf("locking after a rebuild: %v", err)
	}
	want := []Change{{Arch: "x86_64", Name: "zlib", Kind: Rebuilt, OldVersion: "1.3.1-r5", NewVersion: "1.3.1-r5"}}
	if diff := cmp.Diff(want, Diff(first, second, nil)); diff != "" {
		t.Errorf("diff (-want +got):\n%s", diff)
	}
}

// TestGenerateMirror locks through a mirror: the packages come from the
// mirror, the lockfile names the canonical repository.
func TestGenerateMirror(t *testing.T) {
	e := newEnv(t, fixture("1.3.1-r5"))
	const canonical = "https://apk.example.invalid/os"
	y := "contents:\n  repositories: [" + canonical + "]\n  keyring: [test.rsa.pub]\n  packages: [zlib]\narchs: [x86_64]\n"
	s, err := spec.Parse([]byte(y), e.dir)
	if err != nil {
		t.Fatal(err)
	}
	from, to, err := ParseMirror(canonical + "/=" + e.url)
	if err != nil {
		t.Fatal(err)
	}
	l, err := Generate(context.Background(), GenerateOptions{Spec: s, SpecDir: e.dir, Client: e.client,
		Mirrors: map[string]string{from: to, "https://apk.example.invalid": "http://127.0.0.1:1"}})
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range l.Packages {
		if !strings.HasPrefix(p.URL, canonical+"/x86_64/") || p.Repository != canonical {
			t.Errorf("%s: url %s, repository %s; want the canonical repository", p.Name, p.URL, p.Repository)
		}
	}
	if _, _, err := ParseMirror("no-equals"); err == nil {
		t.Error("ParseMirror accepted a flag without =")
	}
}

func TestMirrorsRewrite(t *testing.T) {
	m, err := ParseMirrors([]string{
		"https://demo.rules-apk.invalid=file:///srv/demo/",
		"https://demo.rules-apk.invalid/v2=http://127.0.0.1:8080/snapshot2",
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ in, want string }{
		{"https://demo.rules-apk.invalid/v1/x86_64/APKINDEX.tar.gz",
			"file:///srv/demo/v1/x86_64/APKINDEX.tar.gz"},
		{"https://demo.rules-apk.invalid/keys/demo.rsa.pub", "file:///srv/demo/keys/demo.rsa.pub"},
		{"https://demo.rules-apk.invalid/v2/x86_64/a-1-r0.apk",
			"http://127.0.0.1:8080/snapshot2/x86_64/a-1-r0.apk"},
		{"https://demo.rules-apk.invalid", "file:///srv/demo"},
		{"https://demo.rules-apk.invalid2/x", "https://demo.rules-apk.invalid2/x"},
		{"https://packages.wolfi.dev/os/x86_64/APKINDEX.tar.gz",
			"https://packages.wolfi.dev/os/x86_64/APKINDEX.tar.gz"},
	} {
		if got := m.Rewrite(tc.in); got != tc.want {
			t.Errorf("Rewrite(%s) = %s, want %s", tc.in, got, tc.want)
		}
	}
	if got := Mirrors(nil).Rewrite("https://a/b"); got != "https://a/b" {
		t.Errorf("nil Mirrors rewrote https://a/b to %s", got)
	}
	if _, err := ParseMirrors([]string{"https://a=file:///b", "bad"}); err == nil {
		t.Error("ParseMirrors accepted a flag without =")
	}
}

// TestGenerateOSRelease: the spec's os-release goes into the lockfile, which
// round-trips it, and changing it changes the spec digest, so that
// `apkpack lock --check` reports the lockfile stale.
func TestGenerateOSRelease(t *testing.T) {
	e := newEnv(t, fixture("1.3.1-r5"))
	body := "  packages: [zlib]\narchs: [x86_64]\nos-release:\n  id: acme\n  version-id: \"7\"\n"
	s, _ := e.spec(t, body)
	l, err := e.generate(t, s, nil, false)
	if err != nil {
		t.Fatal(err)
	}
	want := &spec.OSRelease{ID: "acme", VersionID: "7"}
	if diff := cmp.Diff(want, l.OSRelease); diff != "" {
		t.Errorf("lockfile os_release (-want +got):\n%s", diff)
	}
	b, err := l.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), "\"os_release\": {\n    \"id\": \"acme\",\n    \"version_id\": \"7\"\n  },") {
		t.Errorf("marshalled lockfile lacks the os_release object:\n%s", b)
	}
	back, err := Parse(b)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, back.OSRelease); diff != "" {
		t.Errorf("os_release after Parse (-want +got):\n%s", diff)
	}
	other, _ := e.spec(t, strings.Replace(body, "acme", "other", 1))
	if s.Digest(e.dir) == other.Digest(e.dir) {
		t.Error("specs with different os-release ids have the same digest")
	}
	plain, _ := e.spec(t, "  packages: [zlib]\narchs: [x86_64]\n")
	l, err = e.generate(t, plain, nil, false)
	if err != nil {
		t.Fatal(err)
	}
	if b, _ := l.Marshal(); l.OSRelease != nil || strings.Contains(string(b), "os_release") {
		t.Errorf("a spec without os-release gave a lockfile with one:\n%s", b)
	}
}
