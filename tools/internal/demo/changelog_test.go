package demo

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestParseFixes(t *testing.T) {
	tests := []struct {
		name, in string
		want     Fixes
	}{
		{
			name: "newest entry",
			in: `zlib (1:1.2.13.dfsg-1+deb12u1) bookworm-security; urgency=high

  * Non-maintainer upload by the LTS Team.
  * CVE-2026-85091 - Heap Buffer Overflow. (Closes: #1146895).
  * CVE-2026-27171 - DoS via infinite loop. (Closes: #1128336).

 -- Tobias Frost <tobi@debian.org>  Sat, 28 Nov 2026 21:17:18 +0100

zlib (1:1.2.11.dfsg-4.1) unstable; urgency=medium

  * Fix a bug (CVE-2022-37434) (Closes: #1016710)
`,
			want: Fixes{Version: "1:1.2.13.dfsg-1+deb12u1",
				CVEs: []string{"CVE-2026-27171", "CVE-2026-85091"}},
		},
		{
			name: "skips entries without CVEs",
			in: `curl (7.88.1-10+deb12u14) bookworm; urgency=medium

  * New patch to fix memory leak

 -- A <a@example.org>  Sat, 19 Jul 2025 21:04:59 +0200

curl (7.88.1-10+deb12u11) bookworm; urgency=medium

  * Import patch for CVE-2025-0167, and CVE-2025-0167 again.

 -- A <a@example.org>  Sat, 19 Jul 2025 21:04:59 +0200
`,
			want: Fixes{Version: "7.88.1-10+deb12u11", CVEs: []string{"CVE-2025-0167"}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseFixes(strings.NewReader(tt.in))
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("ParseFixes (-want +got):\n%s", diff)
			}
		})
	}
	noCVE := "x (1.0-1) unstable; urgency=low\n  * hi\n"
	if _, err := ParseFixes(strings.NewReader(noCVE)); err == nil {
		t.Error("ParseFixes of a changelog without CVEs gave no error")
	}
}
