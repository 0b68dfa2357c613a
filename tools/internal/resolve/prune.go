package resolve

import (
	"hash/maphash"
	"math/bits"
	"strings"

	"github.com/rules-apk/rules_apk/tools/internal/apk"
)

// Prune returns the records of repos that a solve of req can look at, as
// copies that share no memory with repos, in their repositories and in
// index order. Solving req against the result gives the same closure as
// solving it against repos, with a fraction of the memory and time: a
// solve of a world of 30 packages against a Wolfi-sized index of 200,000
// records indexes a few hundred of them instead of all, and the caller can
// drop the index once it is pruned.
//
// A solve only looks at the names apk-tools' discover_name reaches from
// the world and the installed packages: the providers of a name, their
// dependencies and conflicts, their provides and install_if names, and
// the names whose install_if mentions one of those. Prune keeps every
// provider of every such name (and a little more: names are matched by a
// 64-bit hash, and a provider's own name is followed too), so the solver
// sees the same candidates for each name it discovers.
//
// Prune fails as NewSolver and Solve do on a record or an installed package
// the solver cannot work with.
func Prune(repos []Repository, req Request) ([]Repository, error) {
	for ri, r := range repos {
		for pi, pkg := range r.Packages {
			if err := checkRecord(ri, pi, pkg); err != nil {
				return nil, err
			}
		}
	}
	if err := checkInstalled(&req); err != nil {
		return nil, err
	}
	p := newPruner(repos)
	for _, c := range req.World {
		p.want(c.Name)
	}
	for _, n := range req.UpgradeNames {
		p.want(n)
	}
	for _, pkg := range req.Installed {
		p.wantPackage(pkg)
	}
	p.run()
	out := make([]Repository, len(repos))
	rec := 0
	for i, r := range repos {
		out[i].Tag = r.Tag
		for _, pkg := range r.Packages {
			if p.taken[rec] {
				out[i].Packages = append(out[i].Packages, clonePackage(pkg))
			}
			rec++
		}
	}
	return out, nil
}

// pruner finds the providers of names by hash. Every own name and p: name
// of every record is an entry of a chained hash table: no string is
// copied and no name interned.
type pruner struct {
	seed  maphash.Seed
	recs  []*apk.Package
	taken []bool

	heads   []int32 // by hash bits: first entry, -1 for none
	hashes  []uint64
	entryOf []int32 // entry -> record
	next    []int32 // entry -> next entry of the same bucket, -1 at the end
	shift   uint

	// riif maps a name to the own names of the records whose i: list
	// mentions it (apk-tools' rinstall_if); few records have one.
	riif map[uint64][]uint64

	seen  map[uint64]bool
	stack []uint64
}

func newPruner(repos []Repository) *pruner {
	p := &pruner{seed: maphash.MakeSeed(), riif: map[uint64][]uint64{}, seen: map[uint64]bool{}}
	total, entries := 0, 0
	for _, r := range repos {
		total += len(r.Packages)
	}
	p.recs = make([]*apk.Package, 0, total)
	for _, r := range repos {
		for _, pkg := range r.Packages {
			p.recs = append(p.recs, pkg)
			entries++ // its own name
			if pkg.Provides != "" {
				entries += 1 + strings.Count(pkg.Provides, " ")
			}
		}
	}
	p.taken = make([]bool, len(p.recs))
	// About 16 entries a bucket: the chains are walked only for the few
	// names a solve reaches, and a small table of heads stays in the CPU
	// cache while it is filled in random order.
	size := 16
	if n := entries / 16; n > size {
		size = 1 << bits.Len(uint(n-1)) // the power of two >= n
	}
	p.shift = uint(64 - bits.TrailingZeros(uint(size)))
	p.heads = make([]int32, size)
	for i := range p.heads {
		p.heads[i] = -1
	}
	p.hashes = make([]uint64, 0, entries)
	p.entryOf = make([]int32, 0, entries)
	p.next = make([]int32, 0, entries)
	for i, pkg := range p.recs {
		own := p.hash(pkg.Name)
		p.add(own, int32(i))
		// Plain loops, not forEachField: a closure per record would be
		// allocated 200,000 times.
		for f, rest := nextField(pkg.Provides); f != ""; f, rest = nextField(rest) {
			if name, _ := cutProvide(f); name != "" {
				p.add(p.hash(name), int32(i))
			}
		}
		for f, rest := nextField(pkg.InstallIf); f != ""; f, rest = nextField(rest) {
			if name := constraintName(f); name != "" {
				h := p.hash(name)
				p.riif[h] = append(p.riif[h], own)
			}
		}
	}
	return p
}

// nextField returns the first space-, tab- or newline-separated field of s
// and what follows it; "" when there is none.
func nextField(s string) (field, rest string) {
	start := 0
	for start < len(s) && isFieldSep(s[start]) {
		start++
	}
	end := start
	for end < len(s) && !isFieldSep(s[end]) {
		end++
	}
	return s[start:end], s[end:]
}

func isFieldSep(c byte) bool { return c == ' ' || c == '\n' || c == '\t' }

func (p *pruner) hash(name string) uint64 { return maphash.String(p.seed, name) }

func (p *pruner) add(h uint64, rec int32) {
	b := h >> p.shift
	p.hashes = append(p.hashes, h)
	p.entryOf = append(p.entryOf, rec)
	p.next = append(p.next, p.heads[b])
	p.heads[b] = int32(len(p.hashes) - 1)
}

// want queues a name to discover.
func (p *pruner) want(name string) {
	if name != "" {
		p.wantHash(p.hash(name))
	}
}

func (p *pruner) wantHash(h uint64) {
	if !p.seen[h] {
		p.seen[h] = true
		p.stack = append(p.stack, h)
	}
}

// wantList queues the names of a D: or i: list.
func (p *pruner) wantList(list string) {
	for f, rest := nextField(list); f != ""; f, rest = nextField(rest) {
		p.want(constraintName(f))
	}
}

// wantPackage queues every name a package can lead a solve to.
func (p *pruner) wantPackage(pkg *apk.Package) {
	p.want(pkg.Name)
	p.wantList(pkg.Depends)
	p.wantList(pkg.InstallIf)
	for f, rest := nextField(pkg.Provides); f != ""; f, rest = nextField(rest) {
		name, _ := cutProvide(f)
		p.want(name)
	}
}

// run discovers names until none is left, taking their providers.
func (p *pruner) run() {
	for len(p.stack) > 0 {
		h := p.stack[len(p.stack)-1]
		p.stack = p.stack[:len(p.stack)-1]
		for _, own := range p.riif[h] {
			p.wantHash(own)
		}
		for e := p.heads[h>>p.shift]; e >= 0; e = p.next[e] {
			if p.hashes[e] != h || p.taken[p.entryOf[e]] {
				continue
			}
			rec := p.entryOf[e]
			p.taken[rec] = true
			p.wantPackage(p.recs[rec])
		}
	}
}

// constraintName is the name of a dependency, conflict or install_if
// entry as apk.ParseConstraint reads it: without "!", version, checksum or
// tag.
func constraintName(f string) string {
	name, _ := apk.ParseProvide(f)
	return name
}

// clonePackage copies a record and its strings, so that it keeps no part
// of the index it was read from alive.
func clonePackage(pkg *apk.Package) *apk.Package {
	c := *pkg
	for _, s := range []*string{&c.Name, &c.Version, &c.Arch, &c.Description, &c.URL, &c.License,
		&c.Origin, &c.Maintainer, &c.Commit, &c.Depends, &c.Provides, &c.InstallIf, &c.Replaces,
		&c.Triggers, &c.DataHash} {
		*s = strings.Clone(*s)
	}
	return &c
}
