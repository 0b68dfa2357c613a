package resolve

import (
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/rules-apk/rules_apk/tools/internal/apk"
	"github.com/rules-apk/rules_apk/tools/internal/testutil"
)

// realIndex reads a real, signed index of the shared test data (§7) with
// its keys.
func realIndex(t testing.TB, dir string, keys string) []apk.Package {
	t.Helper()
	path := testutil.RealData(t, dir, "APKINDEX.tar.gz")
	keyring, err := apk.LoadKeyring(filepath.Join(filepath.Dir(path), keys))
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	idx, err := apk.ReadIndex(f, apk.IndexOptions{Keyring: keyring})
	if err != nil {
		t.Fatalf("reading index %s: %v", path, err)
	}
	return idx.Packages
}

// wolfiIndex is the real Wolfi aarch64 metadata: the wolfi-base closure
// and 7zip (§7).
func wolfiIndex(t testing.TB) Repository {
	return NewRepository("", realIndex(t, "wolfi-aarch64-resigned", "keys"))
}

// alpineIndex is the real Alpine v3.16 main x86_64 index, 4,929 records.
func alpineIndex(t testing.TB) Repository {
	return NewRepository("", realIndex(t, "alpine-3.16-x86_64",
		"alpine-devel@lists.alpinelinux.org-6165ee59.rsa.pub"))
}

// wolfiBase is the expected closure of world wolfi-base, in apk-tools 2.14
// install order (§3.4).
var wolfiBase = []string{
	"ca-certificates-bundle-20241121-r1", "wolfi-baselayout-20230201-r15", "ld-linux-2.40-r4",
	"glibc-locale-posix-2.40-r4", "libgcc-14.2.0-r7", "glibc-2.40-r4", "libcrypto3-3.4.0-r5",
	"libssl3-3.4.0-r5", "zlib-1.3.1-r5", "apk-tools-2.14.4-r2", "libxcrypt-4.4.38-r0",
	"libcrypt1-2.40-r4", "busybox-1.37.0-r0", "wolfi-keys-1-r8", "wolfi-base-1-r6",
}

func TestWolfiBase(t *testing.T) {
	s, err := NewSolver([]Repository{wolfiIndex(t)})
	if err != nil {
		t.Fatal(err)
	}
	req := Request{World: world(t, "wolfi-base")}
	sol, err := s.Solve(req)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(wolfiBase, names(sol.Packages)); diff != "" {
		t.Errorf("closure (-want +got):\n%s", diff)
	}
	if err := checkSolution(req, sol); err != nil {
		t.Error(err)
	}

	// libstdc++ is absent from the 16-record subset.
	_, err = s.Solve(Request{World: world(t, "7zip")})
	ue := unsat(t, err)
	if p := ue.Problems[0]; p.Kind != ProblemMissing || p.Constraint.Name != "so:libstdc++.so.6" {
		t.Errorf("7zip: got %v, want so:libstdc++.so.6 (no such package)", err)
	}
	testutil.Golden(t, "errors/wolfi_7zip.txt", []byte(err.Error()+"\n"))
}

// wolfiUpdates is the synthetic second repository of the §3.4 worked
// example: a newer zlib and two so:libcurl.so.4 providers.
const wolfiUpdates = `
P:zlib
V:1.3.1-r6
D:so:ld-linux-aarch64.so.1 so:libc.so.6
p:so:libz.so.1=1

P:libcurl-openssl4
V:8.11.1-r0
D:so:ld-linux-aarch64.so.1 so:libc.so.6 so:libcrypto.so.3 so:libssl.so.3 so:libz.so.1
p:so:libcurl.so.4=4
k:10

P:libcurl-rustls4
V:8.11.1-r0
D:so:ld-linux-aarch64.so.1 so:libc.so.6 so:libz.so.1
p:so:libcurl.so.4=4
k:5

P:libcurl-zlib-new
V:8.12.0-r0
D:so:ld-linux-aarch64.so.1 so:libc.so.6 zlib>=1.3.1-r6
p:so:libcurl.so.5=5
`

// TestWorkedExample replays §3.4: the real wolfi-base closure installed,
// the synthetic updates repository added.
func TestWorkedExample(t *testing.T) {
	wolfi := wolfiIndex(t)
	s0, err := NewSolver([]Repository{wolfi})
	if err != nil {
		t.Fatal(err)
	}
	base, err := s0.Solve(Request{World: world(t, "wolfi-base")})
	if err != nil {
		t.Fatal(err)
	}
	repos := []Repository{wolfi, {Packages: parseRecords(t, wolfiUpdates)}}
	s, err := NewSolver(repos)
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name  string
		req   Request
		world string
		want  []string
	}{
		{"add so:libcurl.so.4", Request{}, "wolfi-base so:libcurl.so.4",
			[]string{"Installing libcurl-openssl4 (8.11.1-r0)"}},
		{"add -u so:libcurl.so.4", Request{UpgradeNames: []string{"so:libcurl.so.4"}},
			"wolfi-base so:libcurl.so.4",
			[]string{"Upgrading zlib (1.3.1-r5 -> 1.3.1-r6)", "Installing libcurl-openssl4 (8.11.1-r0)"}},
		{"provider needs the newer zlib", Request{}, "wolfi-base so:libcurl.so.5",
			[]string{"Upgrading zlib (1.3.1-r5 -> 1.3.1-r6)", "Installing libcurl-zlib-new (8.12.0-r0)"}},
		{"add wolfi-base again", Request{}, "wolfi-base", []string{}},
		{"upgrade", Request{Upgrade: true}, "wolfi-base",
			[]string{"Upgrading zlib (1.3.1-r5 -> 1.3.1-r6)"}},
		{"orphans", Request{}, "busybox zlib",
			[]string{"Purging wolfi-base (1-r6)", "Purging apk-tools (2.14.4-r2)",
				"Purging wolfi-keys (1-r8)", "Purging libssl3 (3.4.0-r5)", "Purging libcrypto3 (3.4.0-r5)"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			req := tc.req
			req.World = world(t, tc.world)
			req.Installed = base.Packages
			sol, err := s.Solve(req)
			checkPrune(t, repos, req, sol, err)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, changeLines(sol)); diff != "" {
				t.Errorf("changes (-want +got):\n%s", diff)
			}
			if err := checkSolution(req, sol); err != nil {
				t.Error(err)
			}
		})
	}
}

// TestDelta is the runtime stage of the Dockerfile pattern (design.md):
// a 7-package glibc-dynamic base is installed, and the world becomes the
// base plus so:libcurl.so.4. Only the added packages are new; the base is
// kept as it is.
func TestDelta(t *testing.T) {
	wolfi := wolfiIndex(t)
	baseWorld := "ca-certificates-bundle glibc glibc-locale-posix ld-linux libgcc libxcrypt wolfi-baselayout"
	s, err := NewSolver([]Repository{wolfi, {Packages: parseRecords(t, wolfiUpdates)}})
	if err != nil {
		t.Fatal(err)
	}
	base, err := s.Solve(Request{World: world(t, baseWorld)})
	if err != nil {
		t.Fatal(err)
	}
	if len(base.Packages) != 7 {
		t.Fatalf("base closure has %d packages, want 7: %v", len(base.Packages), names(base.Packages))
	}

	req := Request{World: world(t, baseWorld+" so:libcurl.so.4"), Installed: base.Packages}
	sol, err := s.Solve(req)
	checkPrune(t, []Repository{wolfi, {Packages: parseRecords(t, wolfiUpdates)}}, req, sol, err)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"Installing libcrypto3 (3.4.0-r5)", "Installing libssl3 (3.4.0-r5)",
		"Installing zlib (1.3.1-r6)", "Installing libcurl-openssl4 (8.11.1-r0)",
	}
	if diff := cmp.Diff(want, changeLines(sol)); diff != "" {
		t.Errorf("changes (-want +got):\n%s", diff)
	}
	if len(sol.Packages) != 7+len(want) || len(sol.Removed) != 0 {
		t.Errorf("closure %v, removed %v: want the base plus %d packages", names(sol.Packages),
			names(sol.Removed), len(want))
	}
	for _, c := range sol.Changes {
		if c.Kind() == Keep && c.Old == nil {
			t.Errorf("kept package %s has no installed record", c.New.NameVersion())
		}
	}
	if err := checkSolution(req, sol); err != nil {
		t.Error(err)
	}
}

// alpineWorlds are closures pinned in testdata/alpine. Under apk-tools 2.14
// semantics "curl" alone fails on this index: only busybox provides /bin/sh,
// without a version or provider_priority (§3.2), so the world must name it.
var alpineWorlds = []string{
	"alpine-base", "build-base", "busybox curl", "busybox git", "python3",
	"alpine-sdk busybox", "busybox docs bash",
}

// TestAlpineClosures solves real worlds on the Alpine 3.16 index, checks
// that each closure is complete and consistent, and pins it.
func TestAlpineClosures(t *testing.T) {
	s, err := NewSolver([]Repository{alpineIndex(t)})
	if err != nil {
		t.Fatal(err)
	}
	for _, w := range alpineWorlds {
		t.Run(w, func(t *testing.T) {
			req := Request{World: world(t, w)}
			sol, err := s.Solve(req)
			if err != nil {
				t.Fatal(err)
			}
			if err := checkSolution(req, sol); err != nil {
				t.Error(err)
			}
			got := fmt.Sprintf("world: %s\n%s\n", w, strings.Join(names(sol.Packages), "\n"))
			testutil.Golden(t, "alpine/"+strings.ReplaceAll(w, " ", "_")+".txt", []byte(got))
		})
	}
	_, err = s.Solve(Request{World: world(t, "curl")})
	if ue := unsat(t, err); ue.Problems[0].Kind != ProblemVirtual {
		t.Errorf("curl: got %v, want /bin/sh (virtual)", err)
	}
	testutil.Golden(t, "errors/alpine_curl.txt", []byte(err.Error()+"\n"))
}

// TestDeterminism solves the same worlds repeatedly and against shuffled
// copies of the index: the record order inside an index and Go's map order
// must not change any answer.
func TestDeterminism(t *testing.T) {
	repo := alpineIndex(t)
	worlds := []string{"alpine-base", "build-base", "busybox curl", "busybox docs bash", "curl"}
	answer := func(s *Solver, w string) string {
		sol, err := s.Solve(Request{World: world(t, w)})
		if err != nil {
			return err.Error()
		}
		return strings.Join(names(sol.Packages), " ")
	}
	ref, err := NewSolver([]Repository{repo})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{}
	for _, w := range worlds {
		want[w] = answer(ref, w)
	}
	for i := range 5 {
		shuffled := Repository{Packages: append([]*apk.Package(nil), repo.Packages...)}
		rng := rand.New(rand.NewPCG(uint64(i), 7))
		rng.Shuffle(len(shuffled.Packages), func(a, b int) {
			shuffled.Packages[a], shuffled.Packages[b] = shuffled.Packages[b], shuffled.Packages[a]
		})
		s, err := NewSolver([]Repository{shuffled})
		if err != nil {
			t.Fatal(err)
		}
		for _, w := range worlds {
			for _, solver := range []*Solver{s, ref} {
				if got := answer(solver, w); got != want[w] {
					t.Errorf("shuffle %d, world %q:\ngot  %s\nwant %s", i, w, got, want[w])
				}
			}
		}
	}
}

// TestConcurrentSolve runs solves in parallel on one Solver (run it with
// -race): the D: lists are parsed lazily into the shared index.
func TestConcurrentSolve(t *testing.T) {
	s, err := NewSolver([]Repository{alpineIndex(t)})
	if err != nil {
		t.Fatal(err)
	}
	results := make([][]string, len(alpineWorlds))
	done := make(chan int)
	for i, w := range alpineWorlds {
		req := Request{World: world(t, w)}
		go func() {
			defer func() { done <- i }()
			sol, err := s.Solve(req)
			if err != nil {
				t.Error(err)
				return
			}
			results[i] = names(sol.Packages)
		}()
	}
	for range alpineWorlds {
		<-done
	}
	fresh, err := NewSolver([]Repository{alpineIndex(t)})
	if err != nil {
		t.Fatal(err)
	}
	for i, w := range alpineWorlds {
		sol, err := fresh.Solve(Request{World: world(t, w)})
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(names(sol.Packages), results[i]); diff != "" {
			t.Errorf("world %q solved concurrently (-sequential +concurrent):\n%s", w, diff)
		}
	}
}
