package resolve

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/rules-apk/rules_apk/tools/internal/apk"
)

// The scenario repositories below are written for these tests in the
// APKINDEX text format; their expected outcomes are the apk-tools 2.14
// outcomes of apk-reference.md §3.2–§3.4.

// providesRepo exercises provider selection (§3.2, §3.3).
const providesRepo = `
P:mymailreader
V:0.1

P:mymailreader
V:1
p:mail-reader
k:1

P:mailreadplus
V:1
p:mail-reader
k:2

P:postfix
V:3.8.1-r0
p:mta cmd:sendmail=3.8.1-r0

P:exim
V:4.96-r0
p:mta cmd:sendmail=4.96-r0

P:jre-a
V:17.0.9-r0
p:jre
k:5

P:jre-b
V:21.0.1-r0
p:jre
k:3

P:sh-a
V:1.0-r0
p:cmd:sh=1.0
k:1

P:sh-b
V:1.0-r0
p:cmd:sh=2.0
k:100

P:dash
V:0.5-r0
p:cmd:dash-sh=3.0
k:1

P:mksh
V:59-r0
p:cmd:dash-sh=2.0
k:100

P:libcurl-openssl4
V:8.11.1-r0
p:so:libcurl.so.4=4
k:10

P:libcurl-rustls4
V:8.11.1-r0
p:so:libcurl.so.4=4
k:5

P:lib
V:3.6.9

P:lib
V:3.8.0

P:app-fuzzy
V:1.0
D:lib~3.6

P:zlib
V:1.3.1-r6
p:so:libz.so.1=1

P:curl-new
V:8.12.0-r0
D:so:libz.so.1>=1.3.1-r6

P:virt-impl
V:1.0
p:virt
k:1

P:virt-user
V:1.0
D:virt=1.0
`

// scenario is one solve of a table: a world against repositories, with
// the expected install order, or the expected error kinds.
type scenario struct {
	name      string
	world     string
	installed []string // name-version of fixture packages
	req       Request  // Upgrade, UpgradeNames, Latest
	want      []string // Solution.Packages, name-version
	changes   []string // changeLines, when set
	removed   []string // Solution.Removed, when set
	problems  []ProblemKind
}

func runScenarios(t *testing.T, repos []Repository, cases []scenario) {
	t.Helper()
	s, err := NewSolver(repos)
	if err != nil {
		t.Fatal(err)
	}
	var all []*apk.Package
	for _, r := range repos {
		all = append(all, r.Packages...)
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			req := tc.req
			req.World = world(t, tc.world)
			req.Installed = pick(t, all, tc.installed...)
			sol, err := s.Solve(req)
			checkPrune(t, repos, req, sol, err)
			if tc.problems != nil {
				ue := unsat(t, err)
				var kinds []ProblemKind
				for _, p := range ue.Problems {
					kinds = append(kinds, p.Kind)
				}
				if diff := cmp.Diff(tc.problems, kinds); diff != "" {
					t.Errorf("problem kinds (-want +got):\n%s\n%v", diff, err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, names(sol.Packages)); diff != "" {
				t.Errorf("closure (-want +got):\n%s", diff)
			}
			if tc.changes != nil {
				if diff := cmp.Diff(tc.changes, changeLines(sol)); diff != "" {
					t.Errorf("changes (-want +got):\n%s", diff)
				}
			}
			if tc.removed != nil {
				if diff := cmp.Diff(tc.removed, names(sol.Removed)); diff != "" {
					t.Errorf("removed (-want +got):\n%s", diff)
				}
			}
		})
	}
}

func TestProviderSelection(t *testing.T) {
	repos := []Repository{{Packages: parseRecords(t, providesRepo)}}
	runScenarios(t, repos, []scenario{
		// §3.2: an unversioned provide is chosen by provider_priority...
		{name: "virtual by priority", world: "mail-reader", want: []string{"mailreadplus-1"}},
		// ...or because its package's own name is required (upstream
		// provides3): the required package also settles mail-reader.
		{name: "virtual by own name", world: "mail-reader mymailreader",
			want: []string{"mymailreader-1"}},
		{name: "two virtual providers chosen by name", world: "mymailreader mailreadplus",
			want: []string{"mailreadplus-1", "mymailreader-1"}},
		// Without k: neither provider of mta may be picked.
		{name: "virtual without priority", world: "mta",
			problems: []ProblemKind{ProblemVirtual}},
		{name: "virtual chosen explicitly", world: "mta postfix",
			want: []string{"postfix-3.8.1-r0"}},
		// Versions are not compared across names: k decides.
		{name: "priority beats version", world: "jre", want: []string{"jre-a-17.0.9-r0"}},
		// The provided version beats the priority (§3.3 step 6 before 9).
		{name: "provided version", world: "cmd:sh", want: []string{"sh-b-1.0-r0"}},
		{name: "provided version over priority", world: "cmd:dash-sh",
			want: []string{"dash-0.5-r0"}},
		{name: "equal provided versions, priority", world: "so:libcurl.so.4",
			want: []string{"libcurl-openssl4-8.11.1-r0"}},
		// Versioned provides are exclusive.
		{name: "versioned provide twice", world: "libcurl-openssl4 libcurl-rustls4",
			problems: []ProblemKind{ProblemSameName}},
		// §3.3: lib~3.6 keeps lib at 3.6.9 although 3.8.0 exists.
		{name: "fuzzy", world: "app-fuzzy lib", want: []string{"lib-3.6.9", "app-fuzzy-1.0"}},
		{name: "fuzzy alone", world: "app-fuzzy", want: []string{"lib-3.6.9", "app-fuzzy-1.0"}},
		{name: "newest by default", world: "lib", want: []string{"lib-3.8.0"}},
		// §3.1: the later constraint on a name replaces the earlier one.
		{name: "one constraint per name", world: "lib>3.7 lib<3.8", want: []string{"lib-3.6.9"}},
		// §3.2: so:libz.so.1>=1.3.1-r6 compares the provided version "1".
		{name: "provided version compared", world: "curl-new",
			problems: []ProblemKind{ProblemUnmet}},
		// §3.2: an unversioned provide never meets virt=1.0.
		{name: "unversioned provide vs versioned constraint", world: "virt-user",
			problems: []ProblemKind{ProblemUnmet}},
		{name: "unversioned provide vs versioned world", world: "virt=1.0",
			problems: []ProblemKind{ProblemUnmet}},
		{name: "unversioned provide vs plain world", world: "virt",
			want: []string{"virt-impl-1.0"}},
		{name: "no such package", world: "nonexistent lib",
			problems: []ProblemKind{ProblemMissing}},
	})
}

// conflictRepo exercises !name constraints (§3.1, §3.5: enforced).
const conflictRepo = `
P:glibc
V:2.40-r4
D:!musl

P:musl
V:1.2.5-r0

P:busybox
V:1.37.0-r0

P:toybox
V:0.8.11-r0
D:!busybox

P:tool-bb
V:1.0
D:busybox

P:old-lib
V:1.0

P:old-lib
V:2.0

P:new-app
V:1.0
D:!old-lib<2
`

func TestConflicts(t *testing.T) {
	repos := []Repository{{Packages: parseRecords(t, conflictRepo)}}
	runScenarios(t, repos, []scenario{
		{name: "no conflict", world: "glibc", want: []string{"glibc-2.40-r4"}},
		{name: "conflict with world", world: "glibc musl", problems: []ProblemKind{ProblemConflict}},
		{name: "conflict between packages", world: "toybox tool-bb",
			problems: []ProblemKind{ProblemConflict}},
		{name: "world conflict", world: "tool-bb !busybox", problems: []ProblemKind{ProblemConflict}},
		{name: "world conflict met", world: "glibc !musl", want: []string{"glibc-2.40-r4"}},
		// A versioned conflict only excludes the matching versions.
		// The changeset walks conflict constraints too: old-lib comes first.
		{name: "versioned conflict", world: "new-app old-lib",
			want: []string{"old-lib-2.0", "new-app-1.0"}},
		{name: "versioned conflict broken", world: "new-app old-lib<2",
			problems: []ProblemKind{ProblemConflict}},
	})
}

// installIfRepo exercises install_if (§3.2).
const installIfRepo = `
P:docs
V:1

P:tool
V:1.2-r0

P:tool-doc
V:1.2-r0
i:tool=1.2-r0 docs

P:bash
V:5.2.37-r0

P:bash-doc
V:5.1.16-r2
i:docs bash=5.1.16-r2
`

func TestInstallIf(t *testing.T) {
	repos := []Repository{{Packages: parseRecords(t, installIfRepo)}}
	runScenarios(t, repos, []scenario{
		{name: "triggered", world: "tool docs",
			want: []string{"docs-1", "tool-1.2-r0", "tool-doc-1.2-r0"}},
		{name: "not triggered", world: "tool", want: []string{"tool-1.2-r0"}},
		// bash-doc needs bash=5.1.16-r2; 5.2.37-r0 is chosen.
		{name: "version not met", world: "bash docs", want: []string{"bash-5.2.37-r0", "docs-1"}},
		// An installed install_if package goes once its trigger goes.
		{name: "trigger removed", world: "tool",
			installed: []string{"docs-1", "tool-1.2-r0", "tool-doc-1.2-r0"},
			want:      []string{"tool-1.2-r0"},
			removed:   []string{"tool-doc-1.2-r0", "docs-1"}},
	})
}

// Pinning (§3.3): repository 1 is tagged @edge.
const (
	stableRepo = `
P:curl
V:8.0.0-r0

P:zlib
V:1.3-r0
`
	edgeRepo = `
P:curl
V:8.5.0-r0

P:libnew
V:1.0

P:app
V:1.0
D:libnew curl

P:meta
V:1.0
I:0
D:curl
`
)

func TestPinning(t *testing.T) {
	repos := []Repository{
		{Packages: parseRecords(t, stableRepo)},
		{Tag: "edge", Packages: parseRecords(t, edgeRepo)},
	}
	runScenarios(t, repos, []scenario{
		{name: "tagged repository excluded", world: "curl", want: []string{"curl-8.0.0-r0"}},
		{name: "tag in the world", world: "curl@edge", want: []string{"curl-8.5.0-r0"}},
		// The tag is inherited as allowed (libnew), and untagged is still
		// preferred (curl).
		{name: "tag inherited", world: "app@edge",
			want: []string{"libnew-1.0", "curl-8.0.0-r0", "app-1.0"}},
		{name: "tag missing", world: "app", problems: []ProblemKind{ProblemUnmet}},
		// apk-tools lets a package without installed size (a meta package)
		// through any pinning.
		{name: "meta package", world: "meta", want: []string{"curl-8.0.0-r0", "meta-1.0"}},
		{name: "latest keeps pinning", world: "curl", req: Request{Latest: true},
			want: []string{"curl-8.0.0-r0"}},
	})
}

func TestUnknownTag(t *testing.T) {
	s, err := NewSolver([]Repository{{Packages: parseRecords(t, stableRepo)}})
	if err != nil {
		t.Fatal(err)
	}
	_, err = s.Solve(Request{World: world(t, "curl@testing")})
	want := "resolving world: constraint curl@testing asks for repository tag @testing, " +
		"but no repository has that tag (repository tags: none)"
	if err == nil || err.Error() != want {
		t.Errorf("got error %v, want %q", err, want)
	}
}

// upgradeRepos are a base repository and a newer one: the §3.4 setting.
const (
	baseRepo = `
P:glibc
V:2.40-r4
p:so:libc.so.6=6

P:zlib
V:1.3.1-r5
D:so:libc.so.6
p:so:libz.so.1=1

P:busybox
V:1.37.0-r0
D:so:libc.so.6
p:cmd:busybox=1.37.0-r0

P:apk-tools
V:2.14.4-r2
D:so:libc.so.6 so:libz.so.1

P:base
V:1-r0
D:busybox apk-tools
`
	updateRepo = `
P:zlib
V:1.3.1-r6
D:so:libc.so.6
p:so:libz.so.1=1

P:libcurl-openssl4
V:8.11.1-r0
D:so:libc.so.6 so:libz.so.1
p:so:libcurl.so.4=4
k:10

P:libcurl-rustls4
V:8.11.1-r0
D:so:libc.so.6 so:libz.so.1
p:so:libcurl.so.4=4
k:5

P:libcurl-new
V:8.12.0-r0
D:so:libc.so.6 zlib>=1.3.1-r6
p:so:libcurl.so.5=5
`
)

func TestInstalledPreference(t *testing.T) {
	repos := []Repository{
		{Packages: parseRecords(t, baseRepo)},
		{Packages: parseRecords(t, updateRepo)},
	}
	installed := []string{"glibc-2.40-r4", "zlib-1.3.1-r5", "busybox-1.37.0-r0",
		"apk-tools-2.14.4-r2", "base-1-r0"}
	closure := []string{"glibc-2.40-r4", "busybox-1.37.0-r0", "zlib-1.3.1-r5",
		"apk-tools-2.14.4-r2", "base-1-r0"}
	upgraded := []string{"glibc-2.40-r4", "busybox-1.37.0-r0", "zlib-1.3.1-r6",
		"apk-tools-2.14.4-r2", "base-1-r0"}
	runScenarios(t, repos, []scenario{
		{name: "fresh install takes the newest", world: "base", want: upgraded},
		{name: "nothing to do", world: "base", installed: installed, want: closure,
			changes: []string{}},
		{name: "installed kept", world: "base so:libcurl.so.4", installed: installed,
			want:    append(append([]string{}, closure...), "libcurl-openssl4-8.11.1-r0"),
			changes: []string{"Installing libcurl-openssl4 (8.11.1-r0)"}},
		{name: "upgrade one name", world: "base so:libcurl.so.4", installed: installed,
			req:  Request{UpgradeNames: []string{"so:libcurl.so.4"}},
			want: append(append([]string{}, upgraded...), "libcurl-openssl4-8.11.1-r0"),
			changes: []string{"Upgrading zlib (1.3.1-r5 -> 1.3.1-r6)",
				"Installing libcurl-openssl4 (8.11.1-r0)"}},
		{name: "constraint forces upgrade", world: "base so:libcurl.so.5", installed: installed,
			want: append(append([]string{}, upgraded...), "libcurl-new-8.12.0-r0"),
			changes: []string{"Upgrading zlib (1.3.1-r5 -> 1.3.1-r6)",
				"Installing libcurl-new (8.12.0-r0)"}},
		{name: "upgrade all", world: "base", installed: installed, req: Request{Upgrade: true},
			changes: []string{"Upgrading zlib (1.3.1-r5 -> 1.3.1-r6)"},
			want:    upgraded},
		{name: "latest", world: "base", installed: installed, req: Request{Latest: true},
			changes: []string{"Upgrading zlib (1.3.1-r5 -> 1.3.1-r6)"},
			want:    upgraded},
		{name: "orphans removed", world: "busybox", installed: installed,
			want:    []string{"glibc-2.40-r4", "busybox-1.37.0-r0"},
			removed: []string{"base-1-r0", "apk-tools-2.14.4-r2", "zlib-1.3.1-r5"},
			changes: []string{"Purging base (1-r0)", "Purging apk-tools (2.14.4-r2)",
				"Purging zlib (1.3.1-r5)"}},
	})
}

// dedupRepos hold the same record twice, and a record whose checksum
// collides with another package's (upstream fixture installif1 has one).
const (
	dedupA = `
C:Q1kxWXVLoJZoZwO4UM5oz/8gQMKOU=
P:ld-linux
V:2.40-r4
p:so:ld-linux-aarch64.so.1=1

C:Q1YEWnDe92SzYcGOyJ4ubZ9knvp2c=
P:shadowing
V:1.0
`
	dedupB = `
C:Q1kxWXVLoJZoZwO4UM5oz/8gQMKOU=
P:ld-linux
V:2.40-r4
p:so:ld-linux-aarch64.so.1=1

C:Q1YEWnDe92SzYcGOyJ4ubZ9knvp2c=
P:shadowed
V:2.0
`
)

func TestDuplicateChecksums(t *testing.T) {
	repos := []Repository{
		{Packages: parseRecords(t, dedupA)},
		{Packages: parseRecords(t, dedupB)},
	}
	s, err := NewSolver(repos)
	if err != nil {
		t.Fatal(err)
	}
	sol, err := s.Solve(Request{World: world(t, "so:ld-linux-aarch64.so.1")})
	if err != nil {
		t.Fatal(err)
	}
	// One package, the first record, fetched from the first repository;
	// with two records it would be a versioned provide clash.
	want := []Change{{New: repos[0].Packages[0], Repository: 0}}
	if diff := cmp.Diff(want, sol.Changes); diff != "" {
		t.Errorf("changes (-want +got):\n%s", diff)
	}
	// Decoded checksums decide: "…KOU=" and "…KOV=" differ only in
	// padding bits.
	if len(s.pkgs) != 2 {
		t.Errorf("index holds %d packages, want 2", len(s.pkgs))
	}
	_, err = s.Solve(Request{World: world(t, "shadowed")})
	if ue := unsat(t, err); ue.Problems[0].Kind != ProblemMissing {
		t.Errorf("shadowed record: got %v, want no such package", err)
	}
}

// notInstallableRepo has records with an unknown upper-case field (§2.2).
const notInstallableRepo = `
P:tool
V:1.0

P:tool
V:2.0
X:unknown

P:future
V:1.0
X:unknown

P:broken-deps
V:1.0
D:foo>=

P:uses-future
V:1.0
D:future
`

func TestNotInstallable(t *testing.T) {
	repos := []Repository{{Packages: parseRecords(t, notInstallableRepo)}}
	runScenarios(t, repos, []scenario{
		{name: "older version chosen", world: "tool", want: []string{"tool-1.0"}},
		{name: "only version", world: "uses-future", problems: []ProblemKind{ProblemUnmet}},
		{name: "malformed dependency list", world: "broken-deps",
			problems: []ProblemKind{ProblemUnmet}},
	})
}

// TestInstalledOnly covers installed packages that no repository holds (a
// local package, or one dropped from the index): they stay selectable,
// are kept while the world needs them and removed when it does not.
func TestInstalledOnly(t *testing.T) {
	repos := []Repository{{Packages: parseRecords(t, baseRepo)}}
	local := parseRecords(t, `
P:local-tool
V:0.1-r0
D:so:libz.so.1
p:cmd:local-tool=0.1-r0

P:glibc
V:2.39-r0
p:so:libc.so.6=6
`)
	s, err := NewSolver(repos)
	if err != nil {
		t.Fatal(err)
	}
	installed := append(pick(t, repos[0].Packages, "zlib-1.3.1-r5"), local...)

	sol, err := s.Solve(Request{World: world(t, "local-tool"), Installed: installed})
	if err != nil {
		t.Fatal(err)
	}
	// The installed glibc 2.39 is kept over the index's 2.40 (§3.4).
	want := []Change{
		{Old: local[1], New: local[1], Repository: -1},
		{Old: installed[0], New: repos[0].Packages[1], Repository: 0},
		{Old: local[0], New: local[0], Repository: -1},
	}
	if diff := cmp.Diff(want, sol.Changes); diff != "" {
		t.Errorf("changes (-want +got):\n%s", diff)
	}

	sol, err = s.Solve(Request{World: world(t, "zlib cmd:busybox"), Installed: installed,
		Upgrade: true})
	if err != nil {
		t.Fatal(err)
	}
	wantLines := []string{"Purging local-tool (0.1-r0)", "Upgrading glibc (2.39-r0 -> 2.40-r4)",
		"Installing busybox (1.37.0-r0)"}
	if diff := cmp.Diff(wantLines, changeLines(sol)); diff != "" {
		t.Errorf("changes (-want +got):\n%s", diff)
	}
}

// TestLastTieBreaks covers the end of compare_providers (§3.3): between
// two builds of one version, the installed one wins (steps 5 and 8, with
// and without upgrading), then the lowest repository index (step 11).
func TestLastTieBreaks(t *testing.T) {
	first := parseRecords(t, "P:tie\nV:1.0-r0\nT:first build")
	second := parseRecords(t, "P:tie\nV:1.0-r0\nT:second build")
	cases := []struct {
		name      string
		repos     [][]*apk.Package
		installed []*apk.Package
		upgrade   bool
		want      *apk.Package
		repo      int
	}{
		{"lowest repository", [][]*apk.Package{first, second}, nil, false, first[0], 0},
		{"lowest repository, swapped", [][]*apk.Package{second, first}, nil, false, second[0], 0},
		{"installed", [][]*apk.Package{first, second}, second, false, second[0], 1},
		{"installed when upgrading", [][]*apk.Package{first, second}, second, true, second[0], 1},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var repos []Repository
			for _, r := range tc.repos {
				repos = append(repos, Repository{Packages: r})
			}
			sol, err := Solve(repos, Request{World: world(t, "tie"), Installed: tc.installed,
				Upgrade: tc.upgrade})
			if err != nil {
				t.Fatal(err)
			}
			if c := sol.Changes[0]; c.New != tc.want || c.Repository != tc.repo {
				t.Errorf("chose %s from repository %d, want %s from %d", c.New.Description,
					c.Repository, tc.want.Description, tc.repo)
			}
		})
	}
}
