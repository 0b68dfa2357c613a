package resolve

import (
	"errors"
	"testing"

	"github.com/rules-apk/rules_apk/tools/internal/testutil"
)

// TestErrorText pins the text of UnsatisfiableError for every problem kind
// and rejection reason in golden files (testdata/errors/*.txt; regenerate
// with go test -update).
func TestErrorText(t *testing.T) {
	fixtures := map[string][]Repository{
		"provides": {{Packages: parseRecords(t, providesRepo)}},
		"conflict": {{Packages: parseRecords(t, conflictRepo)}},
		"pinning":  {{Packages: parseRecords(t, stableRepo)}, {Tag: "edge", Packages: parseRecords(t, edgeRepo)}},
		"notinst":  {{Packages: parseRecords(t, notInstallableRepo)}},
		"errors":   {{Packages: parseRecords(t, errorRepo)}},
	}
	cases := []struct {
		name, fixture, world string
	}{
		{"missing", "provides", "nonexistent"},
		{"virtual", "provides", "mta"},
		{"same_name", "provides", "libcurl-openssl4 libcurl-rustls4"},
		{"provided_version", "provides", "curl-new"},
		{"unversioned_provide", "provides", "virt-user"},
		{"conflict_world", "conflict", "glibc musl"},
		{"conflict_in_world", "conflict", "tool-bb !busybox"},
		{"pinned", "pinning", "app"},
		{"not_installable", "notinst", "uses-future"},
		{"malformed", "notinst", "broken-deps"},
		{"version", "errors", "app lib>=2"},
		{"dependency_chain", "errors", "top"},
		{"self_conflict", "errors", "selfconflicting"},
		{"several", "errors", "nothere app lib>=2 selfconflicting"},
		{"same_name_dependency", "errors", "libcurl-openssl4 curl-rustls"},
		{"conflict_version", "errors", "lib-b>=2 lib-c"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			req := Request{World: world(t, tc.world)}
			sol, err := Solve(fixtures[tc.fixture], req)
			checkPrune(t, fixtures[tc.fixture], req, sol, err)
			var ue *UnsatisfiableError
			if !errors.As(err, &ue) {
				t.Fatalf("got %v, want an *UnsatisfiableError", err)
			}
			testutil.Golden(t, "errors/"+tc.name+".txt", []byte("world: "+tc.world+"\n"+err.Error()+"\n"))
		})
	}
}

// errorRepo holds the failing cases of TestErrorText that the scenario
// fixtures lack.
const errorRepo = `
P:lib
V:1.0

P:app
V:1.0
D:lib<2

P:top
V:1.0
D:middle

P:middle
V:1.0
D:bottom>=3

P:bottom
V:2.0

P:selfconflicting
V:1
p:selfprovided=2 selfprovided=3

P:libcurl-openssl4
V:8.11.1-r0
p:so:libcurl.so.4=4

P:libcurl-rustls4
V:8.11.1-r0
p:so:libcurl.so.4=4

P:curl-rustls
V:8.11.1-r0
D:libcurl-rustls4

P:lib-b
V:1

P:lib-b
V:2
D:!lib-c

P:lib-c
V:1
`
