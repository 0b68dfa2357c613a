package resolve

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/rules-apk/rules_apk/tools/internal/apk"
)

// maxRepositories bounds the repository list: repository and tag sets are
// 64-bit masks (apk-tools itself allows 32 repositories, APK_MAX_REPOS).
const maxRepositories = 64

// Solver holds the provider index of a set of repositories: every package,
// deduplicated by checksum, and for every name the packages that provide it.
// Build it once with [NewSolver] and call [Solver.Solve] for each world. A
// Solver is safe for concurrent use: Solve keeps its state per call.
type Solver struct {
	repos   []Repository
	pkgs    []pkgInfo
	names   []nameInfo
	nameIDs map[string]int32
	// tags are the distinct repository tags; tags[0] is "" (untagged).
	// tagRepos[i] is the set of repositories with tag i.
	tags     []string
	tagRepos []uint64
	// sums finds a package by checksum, to merge installed packages with
	// index records (§3.4 step 1).
	sums sumTable
	// pool recycles the per-solve state tables.
	pool sync.Pool
}

// pkgInfo is one package of the index.
type pkgInfo struct {
	pkg  *apk.Package
	name int32 // principal name
	// repos is the set of repositories holding the package (bit i =
	// repository i); firstRepo is the lowest of them, -1 for none.
	repos     uint64
	firstRepo int32
	provides  []provide
	// iif is the parsed i: list, nil for most packages.
	iif *installIf
	// deps is parsed from the D: list on first use: most packages of a
	// large index are never looked at by a solve.
	deps atomic.Pointer[depList]
}

// provide is one parsed p: entry. Its version is a slice of the package's
// Provides text, kept as offsets so that the index holds no pointers here
// (the garbage collector then skips it).
type provide struct {
	name      int32
	off, n    uint32 // the version is pkg.Provides[off : off+n]
	versioned bool   // false for an unversioned provide (a "virtual", §3.2)
}

// provideVersion returns the version of p: entry j, "" when unversioned.
func (pi *pkgInfo) provideVersion(j int32) string {
	pr := pi.provides[j]
	return pi.pkg.Provides[pr.off : pr.off+pr.n]
}

// dep is a parsed constraint with its name resolved to an index name, or
// -1 when no package of the index has that name (the solve then gives it a
// name of its own).
type dep struct {
	apk.Constraint
	name int32
}

// installIf is the parsed i: list of a package; err is set when it cannot
// be parsed, and the package is then never chosen.
type installIf struct {
	deps []dep
	err  error
}

// installIf returns the parsed i: list.
func (pi *pkgInfo) installIf() []dep {
	if pi.iif == nil {
		return nil
	}
	return pi.iif.deps
}

// badInstallIf returns why the i: list cannot be parsed, or nil.
func (pi *pkgInfo) badInstallIf() error {
	if pi.iif == nil {
		return nil
	}
	return pi.iif.err
}

// depList is the parsed D: list of a package.
type depList struct {
	deps []dep
	err  error
}

// provider is one way a package provides a name: by its own name (always
// versioned) or by a p: entry. apk-tools' struct apk_provider.
type provider struct {
	pkg       int32
	entry     int32 // index in the package's provides, -1 for its own name
	versioned bool
}

// noProvider is what a name is assigned when nothing is chosen for it.
var noProvider = provider{pkg: -1, entry: -1}

// ownName is the provider of package id's own name.
func ownName(id int32) provider { return provider{pkg: id, entry: -1, versioned: true} }

// viaProvide is the provider of package id's p: entry j.
func viaProvide(id int32, j int, pr provide) provider {
	return provider{pkg: id, entry: int32(j), versioned: pr.versioned}
}

// nameInfo is one name: the packages that provide it and the principal
// names of packages whose install_if mentions it.
type nameInfo struct {
	name       string
	providers  []provider
	rinstallIf []int32
}

// NewSolver builds the provider index of repos (§3.2, §3.3). It merges
// records with identical checksums (§8 item 3), orders every name's
// providers the way apk-tools adds them (repository order, then index
// order, which apk index writes sorted by name), and parses every p: and i:
// list. D: lists are parsed on first use.
func NewSolver(repos []Repository) (*Solver, error) {
	if len(repos) > maxRepositories {
		return nil, fmt.Errorf("building provider index: %d repositories, at most %d are supported",
			len(repos), maxRepositories)
	}
	s := &Solver{repos: repos}
	s.indexTags()

	if err := s.collect(); err != nil {
		return nil, err
	}

	s.nameIDs = make(map[string]int32, len(s.pkgs)/2)
	s.indexNames()
	return s, nil
}

// indexTags collects the distinct repository tags; tag 0 is "".
func (s *Solver) indexTags() {
	s.tags = []string{""}
	s.tagRepos = []uint64{0}
	for i, r := range s.repos {
		t := slices.Index(s.tags, r.Tag)
		if t < 0 {
			t = len(s.tags)
			s.tags = append(s.tags, r.Tag)
			s.tagRepos = append(s.tagRepos, 0)
		}
		s.tagRepos[t] |= 1 << i
	}
}

// record is a package with the repositories holding it, before indexing.
type record struct {
	pkg       *apk.Package
	repos     uint64
	firstRepo int32
}

// collect gathers the packages of all repositories, merging identical
// checksums: the first record is kept and gains the later repositories.
// The result is in canonical order, which makes the index, and so every
// solve, independent of the order of records inside an index.
func (s *Solver) collect() error {
	total := 0
	for _, r := range s.repos {
		total += len(r.Packages)
	}
	recs := make([]record, 0, total)
	s.sums = newSumTable(total)
	recSum := func(i int32) apk.Checksum { return recs[i].pkg.Checksum }
	for ri, r := range s.repos {
		for pi, p := range r.Packages {
			if err := checkRecord(ri, pi, p); err != nil {
				return err
			}
			if !p.Checksum.IsZero() {
				slot, found := s.sums.find(p.Checksum, recSum)
				if found {
					recs[s.sums.item(slot)].repos |= 1 << ri
					continue
				}
				s.sums.set(slot, p.Checksum, int32(len(recs)))
			}
			recs = append(recs, record{pkg: p, repos: 1 << ri, firstRepo: int32(ri)})
		}
	}

	order := make([]int32, len(recs))
	for i := range order {
		order[i] = int32(i)
	}
	slices.SortFunc(order, func(a, b int32) int { return compareRecords(recs[a], recs[b]) })
	at := make([]int32, len(recs)) // record index -> package id
	s.pkgs = make([]pkgInfo, len(recs))
	for id, i := range order {
		r := recs[i]
		s.pkgs[id] = pkgInfo{pkg: r.pkg, repos: r.repos, firstRepo: r.firstRepo}
		at[i] = int32(id)
	}
	s.sums.remap(at)
	return nil
}

// lookupChecksum returns the package with checksum sum.
func (s *Solver) lookupChecksum(sum apk.Checksum) (int32, bool) {
	if sum.IsZero() {
		return 0, false
	}
	slot, found := s.sums.find(sum, func(i int32) apk.Checksum { return s.pkgs[i].pkg.Checksum })
	if !found {
		return 0, false
	}
	return s.sums.item(slot), true
}

// checkRecord checks record pi of repository ri with checkPackage.
func checkRecord(ri, pi int, p *apk.Package) error {
	if err := checkPackage(p); err != nil {
		return fmt.Errorf("building provider index: repository %d record %d: %w", ri, pi, err)
	}
	return nil
}

// checkInstalled checks the installed packages of a request with
// checkPackage.
func checkInstalled(req *Request) error {
	for i, p := range req.Installed {
		if err := checkPackage(p); err != nil {
			return fmt.Errorf("resolving world: installed package %d: %w", i, err)
		}
	}
	return nil
}

// checkPackage rejects records the solver cannot work with.
func checkPackage(p *apk.Package) error {
	switch {
	case p == nil:
		return fmt.Errorf("nil package")
	case p.Name == "":
		return fmt.Errorf("package without a name (P:)")
	case p.Version == "":
		return fmt.Errorf("package %s without a version (V:)", p.Name)
	}
	return nil
}

// compareRecords is the canonical package order: repository, then name,
// then version text, then checksum.
func compareRecords(a, b record) int {
	if c := cmp.Compare(a.firstRepo, b.firstRepo); c != 0 {
		return c
	}
	if c := strings.Compare(a.pkg.Name, b.pkg.Name); c != 0 {
		return c
	}
	if c := strings.Compare(a.pkg.Version, b.pkg.Version); c != 0 {
		return c
	}
	if c := cmp.Compare(a.pkg.Checksum.Kind, b.pkg.Checksum.Kind); c != 0 {
		return c
	}
	return slices.Compare(a.pkg.Checksum.Sum[:], b.pkg.Checksum.Sum[:])
}

// indexNames interns every principal and provided name and builds each
// name's provider list in package order: a package's own name first, then
// its p: entries in order (apk-tools' apk_db_pkg_add).
func (s *Solver) indexNames() {
	counts := make([]int32, 0, len(s.pkgs)/4)
	slab := provideSlab{}
	var prev *pkgInfo
	for i := range s.pkgs {
		pi := &s.pkgs[i]
		s.internPackage(pi, prev, &slab)
		counts = grow(counts, pi.name)
		for _, pr := range pi.provides {
			counts = grow(counts, pr.name)
		}
		if pi.pkg.InstallIf != "" {
			s.indexInstallIf(int32(i))
		}
		prev = pi
	}
	for len(counts) < len(s.names) {
		counts = append(counts, 0) // names only an i: list mentions
	}
	s.fillProviders(counts)
}

// internPackage sets the name ids of a package. Consecutive records are
// mostly versions of one package with the same provided names, so the
// previous record's ids are reused when the names are equal: this halves
// the cost of indexing.
func (s *Solver) internPackage(pi, prev *pkgInfo, slab *provideSlab) {
	if prev != nil && prev.pkg.Name == pi.pkg.Name {
		pi.name = prev.name
	} else {
		pi.name = s.intern(pi.pkg.Name)
		prev = nil
	}
	if pi.pkg.Provides == "" {
		return
	}
	pi.provides = slab.take(strings.Count(pi.pkg.Provides, " ") + 1)
	forEachField(pi.pkg.Provides, func(start int, f string) {
		name, v := cutProvide(f)
		if name == "" {
			return
		}
		j := len(pi.provides)
		var id int32
		if prev != nil && j < len(prev.provides) && s.names[prev.provides[j].name].name == name {
			id = prev.provides[j].name
		} else {
			id = s.intern(name)
		}
		pi.provides = append(pi.provides, newProvide(id, start, f, v))
	})
}

// fillProviders lays out all provider lists in one backing array.
func (s *Solver) fillProviders(counts []int32) {
	total := int32(0)
	for _, c := range counts {
		total += c
	}
	all := make([]provider, total)
	off := int32(0)
	for id, c := range counts {
		s.names[id].providers = all[off : off : off+c]
		off += c
	}
	for i := range s.pkgs {
		pi := &s.pkgs[i]
		n := &s.names[pi.name]
		n.providers = append(n.providers, ownName(int32(i)))
		for j, pr := range pi.provides {
			n := &s.names[pr.name]
			n.providers = append(n.providers, viaProvide(int32(i), j, pr))
		}
	}
}

// provideSlab hands out provide slices from large chunks, to spare the
// allocator one small slice per package.
type provideSlab struct{ buf []provide }

// take returns an empty slice with room for n entries.
func (p *provideSlab) take(n int) []provide {
	if n > len(p.buf) {
		p.buf = make([]provide, max(n, 1<<14))
	}
	out := p.buf[:0:n]
	p.buf = p.buf[n:]
	return out
}

// cutProvide splits a p: entry into name and version like apk.ParseProvide;
// the version is f[v:]. It has a fast path for the usual "name" and
// "name=version" forms.
func cutProvide(f string) (name string, v int) {
	for i := 0; i < len(f); i++ {
		switch f[i] {
		case '!', '@':
			name, version := apk.ParseProvide(f)
			return name, len(f) - len(version)
		case '<', '=', '>', '~':
			j := i + 1
			for j < len(f) && strings.IndexByte("<=>~", f[j]) >= 0 {
				j++
			}
			return f[:i], j
		}
	}
	return f, len(f)
}

// newProvide makes the provide of entry f, found at offset start of the
// Provides text, with name id and version f[v:].
func newProvide(id int32, start int, f string, v int) provide {
	return provide{name: id, off: uint32(start + v), n: uint32(len(f) - v), versioned: v < len(f)}
}

// grow counts one more provider of name id.
func grow(counts []int32, id int32) []int32 {
	for int(id) >= len(counts) {
		counts = append(counts, 0)
	}
	counts[id]++
	return counts
}

// intern returns the id of name, adding it when new.
func (s *Solver) intern(name string) int32 {
	if id, ok := s.nameIDs[name]; ok {
		return id
	}
	id := int32(len(s.names))
	s.names = append(s.names, nameInfo{name: name})
	s.nameIDs[name] = id
	return id
}

// indexInstallIf parses the i: list of package i and records the package's
// name as a reverse install_if of every name the list mentions.
func (s *Solver) indexInstallIf(i int32) {
	pi := &s.pkgs[i]
	cs, err := apk.ParseConstraints(pi.pkg.InstallIf)
	pi.iif = &installIf{err: err, deps: make([]dep, len(cs))}
	for j, c := range cs {
		id := s.intern(c.Name)
		pi.iif.deps[j] = dep{Constraint: c, name: id}
		if n := &s.names[id]; !slices.Contains(n.rinstallIf, pi.name) {
			n.rinstallIf = append(n.rinstallIf, pi.name)
		}
	}
}

// parseProvides parses a p: list. Entries are cut as apk-tools cuts them
// (§3.1); an entry without a version, or with an empty one, is an
// unversioned provide.
func parseProvides(list string, intern func(string) int32) []provide {
	var out []provide
	forEachField(list, func(start int, f string) {
		if name, v := cutProvide(f); name != "" {
			out = append(out, newProvide(intern(name), start, f, v))
		}
	})
	return out
}

// forEachField calls fn for every space-, tab- or newline-separated field
// of s, with its offset, like apk.ListFields without the slice.
func forEachField(s string, fn func(start int, f string)) {
	start := -1
	for i := 0; i < len(s); i++ {
		if c := s[i]; c == ' ' || c == '\n' || c == '\t' {
			if start >= 0 {
				fn(start, s[start:i])
				start = -1
			}
		} else if start < 0 {
			start = i
		}
	}
	if start >= 0 {
		fn(start, s[start:])
	}
}

// depsOf returns the parsed D: list of package i of the index, parsing it on
// first use. Concurrent solves may parse the same list twice; both results
// are equal.
func (s *Solver) depsOf(pi *pkgInfo) *depList {
	if d := pi.deps.Load(); d != nil {
		return d
	}
	d := s.parseDeps(pi.pkg.Depends)
	pi.deps.Store(d)
	return d
}

// parseDeps parses a D: list and resolves its names in the index.
func (s *Solver) parseDeps(list string) *depList {
	cs, err := apk.ParseConstraints(list)
	if err != nil {
		return &depList{err: err}
	}
	deps := make([]dep, len(cs))
	for i, c := range cs {
		id, ok := s.nameIDs[c.Name]
		if !ok {
			id = -1
		}
		deps[i] = dep{Constraint: c, name: id}
	}
	return &depList{deps: deps}
}
