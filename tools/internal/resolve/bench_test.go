package resolve

import (
	"bytes"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/rules-apk/rules_apk/tools/internal/apk"
	"github.com/rules-apk/rules_apk/tools/internal/synth"
)

var (
	syntheticOnce sync.Once
	synthetic     []*apk.Package
)

// syntheticFull is the benchmark index of package synth: 20,000 Wolfi-like
// names × 10 versions with a 30-package closure of so:libcurl.so.4.
func syntheticFull() []*apk.Package {
	syntheticOnce.Do(func() {
		pkgs := synth.Packages()
		synthetic = make([]*apk.Package, len(pkgs))
		for i := range pkgs {
			synthetic[i] = &pkgs[i]
		}
	})
	return synthetic
}

// TestSyntheticIndex checks that the benchmark's solve is meaningful: a
// complete closure of the intended size.
func TestSyntheticIndex(t *testing.T) {
	if testing.Short() {
		t.Skip("generates 200,000 records")
	}
	pkgs := syntheticFull()
	if len(pkgs) != synth.Records {
		t.Fatalf("generated %d records, want %d", len(pkgs), synth.Records)
	}
	req := Request{World: world(t, synth.Curl)}
	sol, err := Solve([]Repository{{Packages: pkgs}}, req)
	if err != nil {
		t.Fatal(err)
	}
	if err := checkSolution(req, sol); err != nil {
		t.Fatal(err)
	}
	closure, _ := synth.Closure()
	got := make([]string, len(sol.Packages))
	for i, p := range sol.Packages {
		got[i] = p.Name
	}
	// The closure is a chain: install order is the dependency order, and
	// the provider with the highest provider_priority comes last.
	if diff := cmp.Diff(closure, got); diff != "" {
		t.Errorf("closure of %s (-want +got):\n%s", synth.Curl, diff)
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
	req := Request{World: world(b, synth.Curl)}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := s.Solve(req); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkLockPipeline measures what `apkpack lock` does per architecture
// on a Wolfi-sized index: read and verify the 200,000-record
// APKINDEX.tar.gz (RSA256), prune it to what the world reaches, build the
// provider index, solve so:libcurl.so.4.
func BenchmarkLockPipeline(b *testing.B) {
	index, keyring := syntheticIndexFile(b)
	req := Request{World: world(b, synth.Curl)}
	b.SetBytes(int64(len(index)))
	b.ReportAllocs()
	for b.Loop() {
		idx, err := apk.ReadIndex(bytes.NewReader(index), apk.IndexOptions{Keyring: keyring})
		if err != nil {
			b.Fatal(err)
		}
		repos, err := Prune([]Repository{NewRepository("", idx.Packages)}, req)
		if err != nil {
			b.Fatal(err)
		}
		s, err := NewSolver(repos)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := s.Solve(req); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkPrune measures pruning the 200,000-record index to what a solve
// of so:libcurl.so.4 can reach.
func BenchmarkPrune(b *testing.B) {
	repos := []Repository{{Packages: syntheticFull()}}
	req := Request{World: world(b, synth.Curl)}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Prune(repos, req); err != nil {
			b.Fatal(err)
		}
	}
}

// syntheticIndexFile returns the signed APKINDEX.tar.gz of package synth
// (written into the user cache directory on first use) and its keyring.
func syntheticIndexFile(b *testing.B) ([]byte, *apk.Keyring) {
	key, err := apk.LoadSigningKey(filepath.Join("..", "apk", "testdata", "index-test.rsa"))
	if err != nil {
		b.Fatal(err)
	}
	dir, err := synth.CachedRepo(key)
	if err != nil {
		b.Fatal(err)
	}
	keyring, err := apk.LoadKeyring(synth.KeyPath(dir, key))
	if err != nil {
		b.Fatal(err)
	}
	index, err := os.ReadFile(synth.IndexPath(dir))
	if err != nil {
		b.Fatal(err)
	}
	return index, keyring
}

// BenchmarkSolveAlpine measures one solve of build-base (21 packages)
// against the real Alpine 3.16 index (4,929 records).
func BenchmarkSolveAlpine(b *testing.B) {
	s, err := NewSolver([]Repository{alpineIndex(b)})
	if err != nil {
		b.Fatal(err)
	}
	req := Request{World: world(b, "build-base")}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := s.Solve(req); err != nil {
			b.Fatal(err)
		}
	}
}
