package spec

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

const minimal = "contents:\n  repositories: [https://r]\n  packages: [a]\narchs: [x86_64]\n"

func TestParseOSRelease(t *testing.T) {
	in := minimal + `os-release:
  id: acme
  version-id: "2026.12"
  name: Acme Linux
  pretty-name: Acme "distroless" $HOME
  home-url: https://acme.example/
  bug-report-url: https://acme.example/bugs
`
	s, err := Parse([]byte(in), "")
	if err != nil {
		t.Fatal(err)
	}
	want := &OSRelease{ID: "acme", VersionID: "2026.12", Name: "Acme Linux",
		PrettyName: `Acme "distroless" $HOME`, HomeURL: "https://acme.example/",
		BugReportURL: "https://acme.example/bugs"}
	if diff := cmp.Diff(want, s.OSRelease); diff != "" {
		t.Errorf("OSRelease (-want +got):\n%s", diff)
	}
	wantFile := `NAME="Acme Linux"
ID=acme
VERSION_ID=2026.12
PRETTY_NAME="Acme \"distroless\" \$HOME"
HOME_URL="https://acme.example/"
BUG_REPORT_URL="https://acme.example/bugs"
`
	if got := string(s.OSRelease.File()); got != wantFile {
		t.Errorf("File() =\n%s\nwant\n%s", got, wantFile)
	}
	if got := string((&OSRelease{ID: "x"}).File()); got != "ID=x\n" {
		t.Errorf("File() of an ID alone = %q, want %q", got, "ID=x\n")
	}
}

func TestParseOSReleaseErrors(t *testing.T) {
	tests := []struct{ name, in, want string }{
		{"unknown field", "os-release:\n  id: a\n  version: 1\n",
			`key "os-release.version" is not supported: a spec holds only os-release.id, os-release.version-id`},
		{"no id", "os-release:\n  name: A\n", "os-release: id is required"},
		{"upper-case id", "os-release:\n  id: Acme\n", `os-release: id "Acme": only lower-case letters`},
		{"space in version", "os-release:\n  id: a\n  version-id: 1 2\n", `os-release: version-id "1 2"`},
		{"two lines", "os-release:\n  id: a\n  name: \"A\\nB\"\n", "os-release: name \"A\\nB\": a value is one line"},
		{"scalar", "os-release: acme\n", "parsing spec"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse([]byte(minimal+tt.in), "")
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Parse error = %v, want it to contain %q", err, tt.want)
			}
		})
	}
}

// TestDigestOSRelease: os-release is part of what a lockfile records, so a
// change makes the lockfile stale; a spec without the key keeps the digest
// it had before the key existed, so existing lockfiles stay current.
func TestDigestOSRelease(t *testing.T) {
	digest := func(in string) string {
		s, err := Parse([]byte(in), "/x")
		if err != nil {
			t.Fatal(err)
		}
		return s.Digest("/x")
	}
	// The digest of minimal before os-release existed (apkpack 58f87eb).
	const before = "sha256:190b62edd1c185518fe87ce094aca860c338ed66e206bef0fe3229e2512ebe72"
	plain := digest(minimal)
	if plain != before {
		t.Errorf("digest of a spec without os-release = %s, want %s as before", plain, before)
	}
	if plain == digest(minimal+"os-release:\n  id: a\n") {
		t.Error("adding os-release leaves the digest unchanged")
	}
	if digest(minimal+"os-release:\n  id: a\n") == digest(minimal+"os-release:\n  id: b\n") {
		t.Error("digests of different os-release ids are equal")
	}
}
