package resolve

import (
	"strings"
	"testing"

	"github.com/rules-apk/rules_apk/tools/internal/apk"
	"github.com/rules-apk/rules_apk/tools/internal/synth"
)

// TestPruneSynthetic prunes the Wolfi-sized benchmark index for
// so:libcurl.so.4: a few hundred of the 200,000 records are left, as
// copies, and the solve is the same. The scenario, error, real-data and
// fuzz tests compare pruned and full solves too (checkPrune).
func TestPruneSynthetic(t *testing.T) {
	if testing.Short() {
		t.Skip("generates 200,000 records")
	}
	repos := []Repository{{Packages: syntheticFull()}}
	req := Request{World: world(t, synth.Curl)}
	pruned, err := Prune(repos, req)
	if err != nil {
		t.Fatal(err)
	}
	closure, _ := synth.Closure()
	// Every version of the closure's names and of the other provider.
	if n, max := len(pruned[0].Packages), 10*(len(closure)+1); n < len(closure) || n > max {
		t.Errorf("pruned to %d records, want at most %d", n, max)
	}
	orig := map[*apk.Package]bool{}
	for _, p := range repos[0].Packages {
		orig[p] = true
	}
	for _, p := range pruned[0].Packages {
		if orig[p] {
			t.Fatalf("%s: pruned record is the original, not a copy", p.NameVersion())
		}
	}
	sol, err := Solve(repos, req)
	checkPrune(t, repos, req, sol, err)
}

// TestPruneBadRecord: Prune names a record the solver cannot take by its
// place in the repositories given, as NewSolver does.
func TestPruneBadRecord(t *testing.T) {
	repos := []Repository{{Packages: []*apk.Package{{Name: "a", Version: "1"}, {Name: "b"}}}}
	_, err := Prune(repos, Request{World: world(t, "a")})
	_, want := NewSolver(repos)
	if err == nil || want == nil || err.Error() != want.Error() {
		t.Errorf("Prune: %v; NewSolver: %v", err, want)
	}
	_, err = Prune(repos[:0], Request{World: world(t, "a"), Installed: []*apk.Package{nil}})
	if err == nil || !strings.Contains(err.Error(), "installed package 0") {
		t.Errorf("Prune with a nil installed package: %v", err)
	}
}
