package spec

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestParse(t *testing.T) {
	in := `
contents:
  repositories:
    - https://packages.wolfi.dev/os/
    - "@local file:///srv/apk"
  keyring:
    - https://packages.wolfi.dev/os/wolfi-signing.rsa.pub
    - keys/local.rsa.pub
  packages:
    - so:libcurl.so.4
    - mytool@local
archs: [amd64, aarch64]
base:
  packages: [wolfi-baselayout, glibc]
`
	got, err := Parse([]byte(in), "/ws/examples")
	if err != nil {
		t.Fatal(err)
	}
	want := &Spec{
		Repositories: []Repository{
			{URL: "https://packages.wolfi.dev/os"},
			{Tag: "local", URL: "file:///srv/apk"},
		},
		Keyring:  []string{"https://packages.wolfi.dev/os/wolfi-signing.rsa.pub", "/ws/examples/keys/local.rsa.pub"},
		Packages: []string{"so:libcurl.so.4", "mytool@local"},
		Archs:    []string{"x86_64", "aarch64"},
		Base:     &Base{Packages: []string{"wolfi-baselayout", "glibc"}},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Parse (-want +got):\n%s", diff)
	}
}

func TestParseErrors(t *testing.T) {
	base := "contents:\n  repositories: [https://r]\n  packages: [a]\narchs: [x86_64]\n"
	tests := []struct {
		name, in, want string
	}{
		{"apko image key", base + "entrypoint:\n  command: /bin/sh\n", `key "entrypoint" is not supported`},
		{"apko contents key", "contents:\n  repositories: [https://r]\n  packages: [a]\n  build_repositories: [x]\narchs: [x86_64]\n",
			`key "contents.build_repositories" is not supported: a spec holds only contents.repositories, contents.keyring, contents.packages`},
		{"base key", base + "base:\n  image: foo\n", `key "base.image"`},
		{"no archs", "contents:\n  repositories: [https://r]\n  packages: [a]\n", "archs is missing"},
		{"bad arch", "contents:\n  repositories: [https://r]\n  packages: [a]\narchs: [sparc]\n", `unknown architecture "sparc"`},
		{"twice", "contents:\n  repositories: [https://r]\n  packages: [a]\narchs: [amd64, x86_64]\n", "x86_64 is listed twice"},
		{"no packages", "contents:\n  repositories: [https://r]\narchs: [x86_64]\n", "contents.packages is empty"},
		{"no repositories", "contents:\n  packages: [a]\narchs: [x86_64]\n", "contents.repositories is empty"},
		{"bad repository", "contents:\n  repositories: [\"@ x y\"]\n  packages: [a]\narchs: [x86_64]\n", "is not \"URL\" or \"@tag URL\""},
		{"ftp repository", "contents:\n  repositories: [ftp://r]\n  packages: [a]\narchs: [x86_64]\n", "not an http, https or file URL"},
		{"both bases", base + "base:\n  packages: [a]\n  lockfile: b.apk.lock.json\n", "either packages or lockfile"},
		{"not a mapping", "- a\n", "must be a YAML mapping"},
		{"empty", "", "the spec is empty"},
		{"bad yaml", "contents: [\n", "parsing YAML"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse([]byte(tt.in), "")
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Parse error = %v, want it to contain %q", err, tt.want)
			}
		})
	}
}

func TestDigest(t *testing.T) {
	a := "contents:\n  repositories: [https://r]\n  keyring: [k.pub]\n  packages: [a]\narchs: [x86_64, aarch64]\n"
	// Same meaning: comments, flow style and arch order differ.
	b := "# a comment\ncontents:\n  packages:\n    - a\n  keyring:\n    - k.pub\n  repositories:\n    - https://r/\narchs: [aarch64, x86_64]\n"
	c := strings.Replace(a, "[a]", "[a, b]", 1)
	digest := func(in, dir string) string {
		s, err := Parse([]byte(in), dir)
		if err != nil {
			t.Fatal(err)
		}
		return s.Digest(dir)
	}
	if digest(a, "/x") != digest(b, "/x") {
		t.Error("digests of equivalent specs differ")
	}
	if digest(a, "/x") != digest(a, "/elsewhere") {
		t.Error("digest depends on the checkout directory")
	}
	if digest(a, "/x") == digest(c, "/x") {
		t.Error("digests of different worlds are equal")
	}
	if d := digest(a, "/x"); !strings.HasPrefix(d, "sha256:") || len(d) != 71 {
		t.Errorf("digest %q is not sha256:<64 hex>", d)
	}
}

func TestLoad(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "runtime.apk.yaml")
	if err := os.WriteFile(p, []byte("contents:\n  repositories: [https://r]\n  packages: [a]\narchs: [x86_64]\n  bad: indentation\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(p); err == nil || !strings.Contains(err.Error(), p) {
		t.Errorf("Load error = %v, want one naming %s", err, p)
	}
	if _, err := Load(filepath.Join(dir, "missing.apk.yaml")); err == nil {
		t.Error("Load of a missing file succeeded")
	}
}

// TestLoadFromAnyDirectory: a spec loaded by a relative path from two
// working directories has the same absolute keyring and base paths and the
// same digest, so lockfiles do not depend on where apkpack lock ran.
func TestLoadFromAnyDirectory(t *testing.T) {
	root := t.TempDir()
	dir := filepath.Join(root, "ws", "images")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	body := "contents:\n  repositories: [https://r]\n  keyring: [keys/k.rsa.pub]\n  packages: [a]\n" +
		"archs: [x86_64]\nbase:\n  lockfile: base.apk.lock.json\n"
	if err := os.WriteFile(filepath.Join(dir, "s.apk.yaml"), []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	load := func(cwd, path string) *Spec {
		t.Chdir(cwd)
		s, err := Load(path)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	fromRoot := load(root, "ws/images/s.apk.yaml")
	fromDir := load(dir, "s.apk.yaml")
	if diff := cmp.Diff(fromRoot, fromDir); diff != "" {
		t.Errorf("spec loaded from two directories (-root +dir):\n%s", diff)
	}
	if want := filepath.Join(dir, "keys", "k.rsa.pub"); fromDir.Keyring[0] != want {
		t.Errorf("keyring = %s, want %s", fromDir.Keyring[0], want)
	}
	if fromRoot.Digest(dir) != fromDir.Digest(dir) {
		t.Error("digests differ by working directory")
	}
}

func FuzzParse(f *testing.F) {
	f.Add([]byte("contents:\n  repositories: [https://r]\n  packages: [a]\narchs: [x86_64]\n"))
	f.Add([]byte("contents:\n  repositories: [\"@t file:///x\"]\n  keyring: [k]\n  packages: [a]\narchs: [arm64]\nbase:\n  lockfile: x\n"))
	f.Add([]byte("contents:\n  repositories: [https://r]\n  packages: [a]\narchs: [x86_64]\nos-release:\n  id: a\n  name: \"A $B\"\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		s, err := Parse(b, "/d")
		if err != nil {
			return
		}
		if len(s.Archs) == 0 || len(s.Packages) == 0 || len(s.Repositories) == 0 {
			t.Fatalf("Parse accepted an incomplete spec: %+v", s)
		}
		_ = s.Digest("/d")
		if o := s.OSRelease; o != nil {
			// What was accepted renders to lines that parse back.
			again, err := Parse([]byte("contents:\n  repositories: [https://r]\n  packages: [a]\narchs: [x86_64]\nos-release:\n  id: "+o.ID+"\n"), "/d")
			if err != nil || again.OSRelease.ID != o.ID {
				t.Fatalf("accepted id %q does not parse back: %v", o.ID, err)
			}
			if n := strings.Count(string(o.File()), "\n"); n < 1 || n > 6 {
				t.Fatalf("File() has %d lines:\n%s", n, o.File())
			}
		}
	})
}
