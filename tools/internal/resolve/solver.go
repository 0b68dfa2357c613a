package resolve

import (
	"fmt"
	"slices"
	"strings"

	"github.com/rules-apk/rules_apk/tools/internal/apk"
)

// Solve computes the closure of req.World against the index, preferring
// req.Installed (§3.4). It returns an [*UnsatisfiableError] when no
// selection meets every constraint, and another error when the request
// itself is malformed (a tag no repository has, say).
func (s *Solver) Solve(req Request) (*Solution, error) {
	st := newSolve(s, &req)
	defer s.putTables(st.tab)
	if err := st.prepare(); err != nil {
		return nil, err
	}
	st.run()
	st.generateChangeset()
	if st.errors > 0 {
		return nil, st.unsatisfiable()
	}
	return st.solution(), nil
}

// prepare loads the installed packages, the world and the solver flags.
func (s *solve) prepare() error {
	if err := checkInstalled(s.req); err != nil {
		return err
	}
	s.addInstalled()
	if err := s.prepareWorld(); err != nil {
		return err
	}
	s.prepareFlags()
	return nil
}

// addInstalled merges Request.Installed with the index by checksum; the
// others become packages of this solve only, placed before every index
// package as apk-tools reads the installed database first.
func (s *solve) addInstalled() {
	var extra []*apk.Package
	s.extraIDs = map[*apk.Package]int32{}
	sums := map[apk.Checksum]*apk.Package{}
	seen := map[*apk.Package]bool{}
	for _, p := range s.req.Installed {
		if seen[p] || s.inIndex(p) {
			continue
		}
		seen[p] = true
		if !p.Checksum.IsZero() {
			if _, ok := sums[p.Checksum]; ok {
				s.extraIDs[p] = -1 // a duplicate by checksum, resolved below
				continue
			}
			sums[p.Checksum] = p
		}
		extra = append(extra, p)
	}
	// A canonical order keeps the solve independent of the Installed order.
	slices.SortStableFunc(extra, func(a, b *apk.Package) int {
		return compareRecords(record{pkg: a}, record{pkg: b})
	})
	for _, p := range extra {
		s.extraIDs[p] = int32(len(s.ix.pkgs) + len(s.extraPkgs))
		s.addExtra(p)
	}
	for p, id := range s.extraIDs {
		if id < 0 { // a duplicate of another record, by checksum
			s.extraIDs[p] = s.extraIDs[sums[p.Checksum]]
		}
	}
	s.buildOverlays()

	// Mark in Request order: the changeset walks installed packages in the
	// order of the installed database.
	for _, p := range s.req.Installed {
		if id, ok := s.ix.lookupChecksum(p.Checksum); ok {
			s.markInstalled(id, p)
		} else if id, ok := s.extraIDs[p]; ok {
			s.markInstalled(id, p)
		}
	}
}

// inIndex reports whether an installed record is an index package.
func (s *solve) inIndex(p *apk.Package) bool {
	_, ok := s.ix.lookupChecksum(p.Checksum)
	return ok
}

func (s *solve) markInstalled(id int32, p *apk.Package) {
	ps := s.ps(id)
	if ps.installed {
		return
	}
	ps.installed, ps.installedPkg = true, p
	s.installed = append(s.installed, id)
}

// addExtra adds an installed package no repository holds.
func (s *solve) addExtra(p *apk.Package) {
	pi := &pkgInfo{pkg: p, firstRepo: -1, name: s.nameID(p.Name)}
	pi.provides = parseProvides(p.Provides, s.nameID)
	if p.InstallIf != "" {
		cs, err := apk.ParseConstraints(p.InstallIf)
		pi.iif = &installIf{err: err}
		for _, c := range cs {
			pi.iif.deps = append(pi.iif.deps, dep{Constraint: c, name: s.nameID(c.Name)})
		}
	}
	s.extraPkgs = append(s.extraPkgs, pi)
}

// buildOverlays puts the extra packages first in the provider lists of the
// names they provide, and into the reverse install_if lists.
func (s *solve) buildOverlays() {
	n := int32(len(s.ix.pkgs))
	add := func(name int32, pr provider) {
		list, ok := s.overlay[name]
		if !ok {
			list = slices.Clone(s.nameInfo(name).providers)
		}
		// Extra packages go before index packages, in their own order.
		at := 0
		for at < len(list) && list[at].pkg >= n {
			at++
		}
		s.overlay[name] = slices.Insert(list, at, pr)
	}
	for i, pi := range s.extraPkgs {
		id := n + int32(i)
		add(pi.name, ownName(id))
		for j, pr := range pi.provides {
			add(pr.name, viaProvide(id, j, pr))
		}
		for _, d := range pi.installIf() {
			list, ok := s.riifOverlay[d.name]
			if !ok {
				list = slices.Clone(s.nameInfo(d.name).rinstallIf)
			}
			if !slices.Contains(list, pi.name) {
				list = append([]int32{pi.name}, list...)
			}
			s.riifOverlay[d.name] = list
		}
	}
}

// prepareWorld keeps one constraint per name (the later one, in the place of
// the first, §3.1), sorts the world by name as apk-tools does, and checks
// that every tag names a repository.
func (s *solve) prepareWorld() error {
	var world []dep
	at := map[string]int{}
	for _, c := range s.req.World {
		if c.Name == "" {
			return fmt.Errorf("resolving world: empty constraint name in %q", c.String())
		}
		if c.Tag != "" && !slices.Contains(s.ix.tags, c.Tag) {
			return fmt.Errorf("resolving world: constraint %s asks for repository tag @%s, "+
				"but no repository has that tag (repository tags: %s)",
				c.String(), c.Tag, tagList(s.ix.tags))
		}
		d := dep{Constraint: c, name: s.nameID(c.Name)}
		if i, ok := at[c.Name]; ok {
			world[i] = d
			continue
		}
		at[c.Name] = len(world)
		world = append(world, d)
	}
	slices.SortStableFunc(world, func(a, b dep) int { return strings.Compare(a.Name, b.Name) })
	s.world = world
	return nil
}

func tagList(tags []string) string {
	if len(tags) <= 1 {
		return "none"
	}
	return "@" + strings.Join(tags[1:], ", @")
}

// prepareFlags applies Upgrade and Latest: to the whole world, or to the
// providers of UpgradeNames (apk-tools' apk_solver_set_name_flags).
func (s *solve) prepareFlags() {
	var f uint8
	if s.req.Upgrade || len(s.req.UpgradeNames) > 0 {
		f |= flagUpgrade
	}
	if s.req.Latest {
		f |= flagLatest
	}
	if len(s.req.UpgradeNames) == 0 {
		s.flagsInherit = f
		return
	}
	for _, name := range s.req.UpgradeNames {
		id := s.nameID(name)
		s.ns(id).flagged = true
		for _, p := range s.providers(id) {
			ps := s.ps(p.pkg)
			ps.flags |= f
			ps.flagsInherit |= f
		}
	}
}

// run is apk-tools' apk_solver_solve up to the changeset: discover, apply
// the world, then alternate propagation and selection until every needed
// name is settled.
func (s *solve) run() {
	for i := range s.world {
		s.discover(s.world[i].name)
	}
	for i := range s.world {
		d := &s.world[i]
		s.pinInherit = 1 << s.tagIndex(d.Tag)
		s.applyConstraint(-1, d)
	}
	s.flagsInherit, s.pinInherit = 0, 0

	for {
		for id := s.popDirty(); id >= 0; id = s.popDirty() {
			s.reconsider(id)
		}
		id := s.dequeue()
		if id < 0 {
			return
		}
		s.selectPackage(id)
	}
}

func (s *solve) tagIndex(tag string) int {
	return max(slices.Index(s.ix.tags, tag), 0)
}

// discover marks a name and everything it can pull in as seen and gives it
// its order id: names are settled top-down, real names before virtual ones
// (apk-tools' discover_name).
func (s *solve) discover(id int32) {
	n := s.ns(id)
	if n.seen {
		return
	}
	n.seen, n.noIIF = true, true
	s.addReverseDepends(id)
	provs := s.providers(id)
	numVirtual := 0
	for _, p := range provs {
		ps := s.ps(p.pkg)
		if !ps.seen {
			s.discoverPackage(p.pkg, ps)
		}
		n.noIIF = n.noIIF && ps.iifFailed
		if s.info(p.pkg).name != id {
			numVirtual++
		}
	}
	for _, r := range s.rinstallIf(id) {
		s.discover(r)
	}
	for _, p := range provs {
		pi := s.info(p.pkg)
		for _, r := range s.rinstallIf(pi.name) {
			s.discover(r)
		}
		for _, pr := range pi.provides {
			s.discover(pr.name)
		}
	}
	var flags uint32
	if !n.flagged {
		flags |= 1 << 31
	}
	if len(provs) != numVirtual {
		flags |= 1 << 30
	}
	s.orderSeq++
	n.orderID = flags | s.orderSeq
	for _, p := range provs {
		for _, d := range s.info(p.pkg).installIf() {
			s.discover(d.name)
		}
	}
}

// discoverPackage sets up a package's state the first time it is seen.
func (s *solve) discoverPackage(id int32, ps *pkgState) {
	pi := s.info(id)
	ps.seen = true
	ps.pinAllowed, ps.pinPreferred = defaultPinning, defaultPinning
	ps.available = pi.repos != 0
	ps.selectable = !pi.pkg.NotInstallable && (ps.available || ps.installed)
	deps := s.ix.depsOf(pi)
	if deps.err != nil || pi.badInstallIf() != nil {
		ps.selectable = false
	}
	ps.iifFailed = len(pi.installIf()) == 0
	repos := s.pkgRepos(id)
	// Packages with no installed size (meta packages) pass any pinning, as
	// in apk-tools.
	ps.tagPreferred = pi.pkg.InstalledSize == 0 || repos&s.ix.tagRepos[0] != 0
	ps.tagOK = ps.tagPreferred || ps.installed
	for i := range deps.deps {
		s.discover(s.depName(&deps.deps[i]))
	}
}

// addReverseDepends records, when a name becomes seen, that it depends on
// the names of its packages' dependencies. apk-tools keeps these lists for
// every name; only seen names are ever looked at.
func (s *solve) addReverseDepends(id int32) {
	for _, p := range s.providers(id) {
		if s.info(p.pkg).name != id {
			continue
		}
		key := s.posKey(p.pkg)
		deps := s.deps(p.pkg)
		for i := range deps {
			s.addRdepend(s.depName(&deps[i]), id, key)
		}
	}
}

// posKey orders packages as apk-tools added them: installed packages no
// repository holds first, then the index.
func (s *solve) posKey(id int32) int32 {
	if n := int32(len(s.ix.pkgs)); id >= n {
		return id - n - int32(len(s.extraPkgs))
	}
	return id
}

// applyConstraint applies one constraint of the world (from = -1) or of
// package from to the providers of its name (apk-tools' apply_constraint).
func (s *solve) applyConstraint(from int32, d *dep) {
	id := s.depName(d)
	n := s.ns(id)
	n.applied = append(n.applied, applied{from: from, dep: d})
	if !d.Conflict {
		n.requirers++
		if n.requirers == 1 {
			s.requirersChanged(id)
		}
	}
	for _, p := range s.providers(id) {
		ps := s.ps(p.pkg)
		ok := s.provided(d, p)
		if !ok {
			ps.conflicts++
			if ps.selectable {
				s.disqualify(p.pkg, &rejection{kind: rejectConstraint, from: from, dep: d})
			}
			continue
		}
		s.inherit(p.pkg, from)
	}
}

// requirersChanged reacts to a name gaining its first requirer.
func (s *solve) requirersChanged(id int32) {
	s.queueUnresolved(id, false)
	s.reevaluateReverseInstallIf(id)
	s.queueDirty(id)
}

// inherit passes solver flags and pinning from the package that pulled pkg
// in, or from the world constraint when from is -1 (apk-tools'
// inherit_pinning_and_flags). A world constraint name@tag makes the tag
// preferred for its providers; dependencies only inherit it as allowed.
func (s *solve) inherit(id, from int32) {
	ps := s.ps(id)
	repos := s.pkgRepos(id)
	if from >= 0 {
		pp := s.ps(from)
		ps.flags |= pp.flagsInherit
		ps.flagsInherit |= pp.flagsInherit
		ps.pinAllowed |= pp.pinAllowed
	} else {
		ps.flags |= s.flagsInherit
		ps.flagsInherit |= s.flagsInherit
		ps.pinAllowed |= s.pinInherit
		ps.pinPreferred = s.pinInherit
		ps.tagPreferred = repos&s.pinningRepos(ps.pinPreferred) != 0
	}
	if repos&s.pinningRepos(ps.pinAllowed) != 0 {
		ps.tagOK = true
	}
}

// disqualify removes a package from the candidates and has the names that
// depend on it reconsidered (apk-tools' disqualify_package).
func (s *solve) disqualify(id int32, why *rejection) {
	ps := s.ps(id)
	ps.selectable = false
	if ps.why == nil {
		ps.why = why
	}
	pi := s.info(id)
	s.reevaluateReverseDeps(pi.name)
	for _, pr := range pi.provides {
		s.reevaluateReverseDeps(pr.name)
	}
	s.reevaluateReverseInstallIfPkg(id)
}

func (s *solve) reevaluateReverseDeps(id int32) {
	for _, r := range s.ns(id).rdepends {
		if n := s.ns(r.name); n.seen {
			n.reevalDeps = true
			s.queueDirty(r.name)
		}
	}
}

func (s *solve) reevaluateReverseInstallIf(id int32) {
	for _, r := range s.rinstallIf(id) {
		if n := s.ns(r); n.seen && !n.noIIF {
			n.reevalIIF = true
			s.queueDirty(r)
		}
	}
}

func (s *solve) reevaluateReverseInstallIfPkg(id int32) {
	pi := s.info(id)
	s.reevaluateReverseInstallIf(pi.name)
	for _, pr := range pi.provides {
		s.reevaluateReverseInstallIf(pr.name)
	}
}

// satisfiable reports whether a dependency can still be met (apk-tools'
// dependency_satisfiable).
func (s *solve) satisfiable(d *dep) bool {
	n := s.ns(s.depName(d))
	if n.locked {
		return s.provided(d, n.chosen)
	}
	if n.requirers == 0 && s.provided(d, noProvider) {
		return true
	}
	for _, p := range s.providers(s.depName(d)) {
		if s.ps(p.pkg).selectable && s.provided(d, p) {
			return true
		}
	}
	return false
}

// provided reports whether provider p meets d, with the 2.14 rules (§3.2,
// apk-tools' apk_dep_is_provided): a versioned constraint compares the
// provided version, an unversioned provide never meets a versioned
// constraint, and a conflict is met by everything its expression does not
// match, including nothing at all.
func (s *solve) provided(d *dep, p provider) bool {
	switch {
	case p.pkg < 0:
		return d.Conflict
	case d.IsChecksum():
		sum := s.pkg(p.pkg).Checksum
		return !sum.IsZero() && sum == d.Checksum
	case d.Op == apk.VersionAny:
		return !d.Conflict
	case !p.versioned:
		return d.Conflict
	}
	return apk.MatchVersion(s.version(p), d.Op, d.Version) != d.Conflict
}

// autoSelectable reports whether p may be chosen for a name without the
// name being asked for explicitly: a real package or versioned provide
// always, an unversioned provide only with a provider_priority or when its
// package's own name is required (§3.2, apk-tools'
// is_provider_auto_selectable).
func (s *solve) autoSelectable(p provider) bool {
	if p.versioned {
		return true
	}
	pi := s.info(p.pkg)
	return pi.pkg.ProviderPriority > 0 || s.ns(pi.name).requirers > 0
}
