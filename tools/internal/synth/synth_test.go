package synth

import (
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestWolfiLikeDeterministic: the records come from a fixed seed, so that
// the cached repository and every benchmark see the same index.
func TestWolfiLikeDeterministic(t *testing.T) {
	a, b := WolfiLike(200), WolfiLike(200)
	if len(a) != 200*synthVersions {
		t.Fatalf("%d records, want %d", len(a), 200*synthVersions)
	}
	if diff := cmp.Diff(a, b); diff != "" {
		t.Errorf("two generations differ (-first +second):\n%s", diff)
	}
}

// TestClosure checks the curl closure's shape in the full record set: 30
// distinct names, each depending only on closure names, two providers of
// Curl.
func TestClosure(t *testing.T) {
	if testing.Short() {
		t.Skip("generates 200,000 records")
	}
	names, other := Closure()
	if len(names) != closureSize || slices.Contains(names, other) {
		t.Fatalf("closure %v, other provider %s", names, other)
	}
	in := map[string]bool{other: true}
	for _, n := range names {
		in[n] = true
	}
	providers := map[string]bool{}
	for _, p := range Packages() {
		if !in[p.Name] {
			continue
		}
		for _, d := range strings.Fields(p.Depends) {
			dep := strings.TrimSuffix(strings.TrimPrefix(d, "so:lib"), ".so.1")
			if !in[dep] {
				t.Fatalf("%s depends on %s, outside the closure", p.NameVersion(), d)
			}
		}
		if strings.Contains(p.Provides, Curl+"=") {
			providers[p.Name] = true
		}
	}
	want := map[string]bool{names[len(names)-1]: true, other: true}
	if diff := cmp.Diff(want, providers); diff != "" {
		t.Errorf("providers of %s (-want +got):\n%s", Curl, diff)
	}
}
