package resolve

import (
	"crypto/sha1"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"

	"github.com/rules-apk/rules_apk/tools/internal/apk"
)

// syntheticIndex generates a large index deterministically: groups of
// names, each name in versions "1.<v>.0-r<n>". A name provides
// so:lib<name>.so.1=1 plus 0–4 more versioned names, and depends on 1–4
// so: names of the six members below it in its group plus 1–2 of the ten
// members of the base group 0 (2–6 in all), the same for all its versions,
// as real packages mostly do. The top members of
// group 1 provide so:libcurl.so.4, with different provider priorities.
// Records come sorted by name, as apk index writes them.
func syntheticIndex(groups, members, versions int) []*apk.Package {
	out := make([]*apk.Package, 0, groups*members*versions)
	for g := range groups {
		for m := range members {
			name := fmt.Sprintf("pkg-%03d-%02d", g, m)
			rng := rand.New(rand.NewPCG(uint64(g), uint64(m)))
			deps := syntheticDeps(rng, g, m)
			extra := rng.IntN(5)
			for v := range versions {
				out = append(out, syntheticPackage(rng, name, v, deps, extra, g, m, members))
			}
		}
	}
	return out
}

func syntheticDeps(rng *rand.Rand, g, m int) string {
	var pool []string
	for j := max(0, m-6); j < m; j++ {
		pool = append(pool, fmt.Sprintf("so:libpkg-%03d-%02d.so.1", g, j))
	}
	rng.Shuffle(len(pool), func(i, j int) { pool[i], pool[j] = pool[j], pool[i] })
	deps := pool[:min(len(pool), 1+rng.IntN(4))]
	if g != 0 {
		for range 1 + rng.IntN(2) {
			deps = append(deps, fmt.Sprintf("so:libpkg-000-%02d.so.1", rng.IntN(10)))
		}
	}
	return strings.Join(deps, " ")
}

func syntheticPackage(rng *rand.Rand, name string, v int, deps string, extra, g, m, members int) *apk.Package {
	version := fmt.Sprintf("1.%d.0-r%d", v, rng.IntN(4))
	provides := []string{"so:lib" + name + ".so.1=1"}
	kinds := []string{"cmd:%s=%s", "pc:%s=%s", "so:lib%s-extra.so.2=%.0s2", "%s-compat=%s"}
	for i := range extra {
		provides = append(provides, fmt.Sprintf(kinds[i%len(kinds)], name, version))
	}
	p := &apk.Package{
		Name:          name,
		Version:       version,
		Arch:          "x86_64",
		InstalledSize: 4096,
		Depends:       deps,
	}
	if g >= 1 && g <= 2 && m == members-1 {
		provides = append(provides, "so:libcurl.so.4=4")
		p.ProviderPriority = uint64(15 - 5*g)
	}
	p.Provides = strings.Join(provides, " ")
	sum := sha1.Sum([]byte(name + "-" + version))
	p.Checksum = apk.SHA1Checksum(sum[:])
	return p
}

var (
	syntheticOnce sync.Once
	synthetic     []*apk.Package
)

// syntheticFull is the benchmark index: 20,000 names × 10 versions.
func syntheticFull() []*apk.Package {
	syntheticOnce.Do(func() { synthetic = syntheticIndex(1000, 20, 10) })
	return synthetic
}

// TestSyntheticIndex checks that the benchmark's solve is meaningful: a
// complete closure of the intended size.
func TestSyntheticIndex(t *testing.T) {
	if testing.Short() {
		t.Skip("generates 200,000 records")
	}
	pkgs := syntheticFull()
	if len(pkgs) != 200000 {
		t.Fatalf("generated %d records, want 200000", len(pkgs))
	}
	req := Request{World: world(t, "so:libcurl.so.4")}
	sol, err := Solve([]Repository{{Packages: pkgs}}, req)
	if err != nil {
		t.Fatal(err)
	}
	if err := checkSolution(req, sol); err != nil {
		t.Fatal(err)
	}
	if n := len(sol.Packages); n < 20 || n > 40 {
		t.Errorf("closure of so:libcurl.so.4 has %d packages, want about 30: %v", n, names(sol.Packages))
	}
	if top := sol.Packages[len(sol.Packages)-1]; top.Name != "pkg-001-19" {
		t.Errorf("so:libcurl.so.4 resolved to %s, want pkg-001-19 (highest provider_priority)", top.NameVersion())
	}
}

// BenchmarkNewSolver measures building the provider index of 200,000
// records (20,000 names × 10 versions).
func BenchmarkNewSolver(b *testing.B) {
	repos := []Repository{{Packages: syntheticFull()}}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := NewSolver(repos); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkSolve measures one solve of so:libcurl.so.4 against the
// 200,000-record index.
func BenchmarkSolve(b *testing.B) {
	s, err := NewSolver([]Repository{{Packages: syntheticFull()}})
	if err != nil {
		b.Fatal(err)
	}
	req := Request{World: world(b, "so:libcurl.so.4")}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := s.Solve(req); err != nil {
			b.Fatal(err)
		}
	}
}
