package demo

import (
	"bytes"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/rules-apk/rules_apk/tools/internal/apk"
	"github.com/rules-apk/rules_apk/tools/internal/testutil"
)

// committedManifest returns e2e/demo/packages.txt, the fuzz targets' seed.
func committedManifest(f *testing.F) []byte {
	b, err := os.ReadFile(filepath.Join(testutil.RepoRoot(f), "e2e/demo/packages.txt"))
	if err != nil {
		f.Fatal(err)
	}
	return b
}

// FuzzAPKVersion checks that every version APKVersion returns is one apk
// accepts.
func FuzzAPKVersion(f *testing.F) {
	m, err := ParseManifest(bytes.NewReader(committedManifest(f)), "packages.txt")
	if err != nil {
		f.Fatal(err)
	}
	for _, d := range m.Debs {
		f.Add(d.Version)
	}
	f.Add("1.1.1w-0+deb11u1")
	f.Fuzz(func(t *testing.T, debian string) {
		v, err := APKVersion(debian)
		if err != nil {
			return
		}
		if !apk.ValidVersion(v) {
			t.Fatalf("APKVersion(%q) = %q, not a valid apk version", debian, v)
		}
		if _, err := BumpRevision(v, 1); err != nil {
			t.Fatalf("BumpRevision(%q): %v", v, err)
		}
	})
}

// FuzzParseManifest checks that a manifest that parses survives Format.
func FuzzParseManifest(f *testing.F) {
	f.Add(committedManifest(f))
	f.Add([]byte("a 1 b " + sumA + "\n#x\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := ParseManifest(bytes.NewReader(data), "fuzz")
		if err != nil {
			return
		}
		again, err := ParseManifest(bytes.NewReader(m.Format()), "formatted")
		if err != nil {
			t.Fatalf("the formatted manifest does not parse: %v\n%s", err, m.Format())
		}
		if diff := cmp.Diff(m.Debs, again.Debs); diff != "" && len(m.Debs) > 0 {
			t.Fatalf("round trip (-want +got):\n%s", diff)
		}
	})
}

// FuzzParseFixes checks that a changelog that parses gives a version and
// sorted, distinct CVE identifiers.
func FuzzParseFixes(f *testing.F) {
	f.Add("zlib (1:1.2.13.dfsg-1+deb12u1) bookworm-security; urgency=high\n\n" +
		"  * CVE-2026-27171 - DoS via infinite loop.\n  * CVE-2026-85091.\n\n" +
		" -- T <t@e.org>  Sat, 28 Nov 2026 21:17:18 +0100\n\nzlib (1:1.2.11) unstable; x\n")
	f.Add("curl (7.88.1-10+deb12u14) bookworm; urgency=medium\n  * leak\n" +
		"curl (7.88.1-10+deb12u11) bookworm; urgency=medium\n  * CVE-2025-0167\n")
	f.Fuzz(func(t *testing.T, text string) {
		fixes, err := ParseFixes(strings.NewReader(text))
		if err != nil {
			return
		}
		if len(fixes.CVEs) == 0 || !slices.IsSorted(fixes.CVEs) ||
			len(slices.Compact(slices.Clone(fixes.CVEs))) != len(fixes.CVEs) {
			t.Fatalf("ParseFixes gave %q", fixes.CVEs)
		}
		for _, id := range fixes.CVEs {
			if !cveID.MatchString(id) {
				t.Fatalf("ParseFixes gave %q, not a CVE identifier", id)
			}
		}
	})
}
