package lock

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/rules-apk/rules_apk/tools/internal/testutil"
)

func sample() *Lockfile {
	sha := strings.Repeat("ab", 32)
	return &Lockfile{
		Version:    Version,
		SpecDigest: "sha256:" + strings.Repeat("0", 64),
		World:      []string{"so:libcurl.so.4", "wolfi-baselayout"},
		Archs:      []string{"x86_64", "aarch64"},
		Repositories: []Repository{{
			URL: "https://example.test/os",
			Indexes: []Index{
				{Arch: "aarch64", URL: "https://example.test/os/aarch64/APKINDEX.tar.gz", SignedBy: "demo.rsa.pub"},
				{Arch: "x86_64", URL: "https://example.test/os/x86_64/APKINDEX.tar.gz", SignedBy: "demo.rsa.pub"},
			},
		}},
		Keyring: []Key{{Name: "demo.rsa.pub", URL: "https://example.test/os/demo.rsa.pub", SHA256: sha}},
		Packages: []Package{
			{Name: "zlib", Version: "1.3.1-r0", Arch: "x86_64", Repository: "https://example.test/os",
				URL: "https://example.test/os/x86_64/zlib-1.3.1-r0.apk", SHA256: sha, Size: 100,
				Checksum: "Q1LLq2qDNrS/qRnhxQ3hsY/sHbQnc=", DataHash: sha, Origin: "zlib", License: "Zlib",
				BuildTime: 1700000000, Depends: []string{"so:libc.so.6"}, Provides: []string{"so:libz.so.1=1"}},
			{Name: "glibc", Version: "2.36-r0", Arch: "x86_64", Repository: "https://example.test/os",
				URL: "https://example.test/os/x86_64/glibc-2.36-r0.apk", SHA256: sha, Size: 200,
				Checksum: "Q1LLq2qDNrS/qRnhxQ3hsY/sHbQnc=", Base: true},
			{Name: "zlib", Version: "1.3.1-r0", Arch: "aarch64", Repository: "https://example.test/os",
				URL: "https://example.test/os/aarch64/zlib-1.3.1-r0.apk", SHA256: sha, Size: 100,
				Checksum: "Q1LLq2qDNrS/qRnhxQ3hsY/sHbQnc="},
		},
	}
}

func TestMarshalGolden(t *testing.T) {
	b, err := sample().Marshal()
	if err != nil {
		t.Fatal(err)
	}
	testutil.Golden(t, "sample.apk.lock.json", b)

	// Stable bytes: marshalling what was parsed gives the same bytes.
	l, err := Parse(b)
	if err != nil {
		t.Fatal(err)
	}
	again, err := l.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(string(b), string(again)); diff != "" {
		t.Errorf("re-marshalled lockfile differs (-first +second):\n%s", diff)
	}
	if got := l.PackagesFor("x86_64"); len(got) != 2 || got[0].Name != "glibc" || got[1].Name != "zlib" {
		t.Errorf("PackagesFor(x86_64) = %+v, want glibc then zlib", got)
	}
}

func TestParseErrors(t *testing.T) {
	good, err := sample().Marshal()
	if err != nil {
		t.Fatal(err)
	}
	s := string(good)
	tests := []struct {
		name, in, want string
	}{
		{"not json", "{", "parsing JSON"},
		{"no version", `{"packages": []}`, "not an apkpack lockfile"},
		{"future version", `{"version": 2}`, "schema version 2 is not supported"},
		{"unknown field", strings.Replace(s, `"world"`, `"wrld"`, 1), "unknown field"},
		{"bad sha256", strings.Replace(s, strings.Repeat("ab", 32), "abc", 1), "sha256"},
		{"bad checksum", strings.Replace(s, "Q1LLq2qDNrS/qRnhxQ3hsY/sHbQnc=", "Q1short", 1), "checksum"},
		{"arch not locked", strings.Replace(s, `"arch": "aarch64",
      "repository"`, `"arch": "riscv64",
      "repository"`, 1), "arch riscv64 is not in archs"},
		{"bad os_release", strings.Replace(s, `"packages": [`, `"os_release": {"id": "Acme"},
  "packages": [`, 1), `os_release: id "Acme"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse([]byte(tt.in))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Parse error = %v, want it to contain %q", err, tt.want)
			}
		})
	}
}

func TestDuplicatePackage(t *testing.T) {
	l := sample()
	l.Packages = append(l.Packages, l.Packages[0])
	if err := l.Validate(); err == nil || !strings.Contains(err.Error(), "locked twice") {
		t.Errorf("Validate = %v, want 'locked twice'", err)
	}
}

func TestWriteFileLoad(t *testing.T) {
	path := filepath.Join(t.TempDir(), "x.apk.lock.json")
	if err := sample().WriteFile(path); err != nil {
		t.Fatal(err)
	}
	l, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	want := sample()
	want.Sort()
	if diff := cmp.Diff(want, l); diff != "" {
		t.Errorf("Load(WriteFile(x)) (-want +got):\n%s", diff)
	}
	if err := os.WriteFile(path, []byte(`{"version": 1, "packages": [{}]}`), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(path); err == nil || !strings.Contains(err.Error(), path) {
		t.Errorf("Load of an invalid lockfile = %v, want an error naming the file", err)
	}
}

func FuzzParse(f *testing.F) {
	b, err := sample().Marshal()
	if err != nil {
		f.Fatal(err)
	}
	f.Add(b)
	f.Add([]byte(`{"version": 1}`))
	f.Fuzz(func(t *testing.T, in []byte) {
		l, err := Parse(in)
		if err != nil {
			return
		}
		out, err := l.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		if _, err := Parse(out); err != nil {
			t.Fatalf("re-parsing a marshalled lockfile: %v", err)
		}
	})
}
