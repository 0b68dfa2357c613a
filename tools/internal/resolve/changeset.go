package resolve

import "math/bits"

// generateChangeset turns the settled names into apk-tools' changeset
// (solver.c:generate_changeset, §3.4 step 3): a depth-first walk from the
// world, sorted by name, that records each package after the packages its
// D: list names, in D: order. A name already being walked is not entered
// again, which is how cycles are cut. install_if packages follow the last
// package that triggers them. Installed packages nothing needs any more are
// recorded as removals where the walk meets them, and last of all.
//
// Worked example (the real Wolfi wolfi-base closure, §3.4): wolfi-base
// depends on apk-tools busybox wolfi-keys; apk-tools on
// ca-certificates-bundle (recorded 1st), then so:ld-linux-aarch64.so.1,
// whose ld-linux depends on wolfi-baselayout (2nd, its own dependency
// ca-certificates-bundle being done), so ld-linux is 3rd; then so:libc.so.6
// → glibc, whose dependencies glibc-locale-posix (4th) and libgcc (5th,
// whose so:libc.so.6 is already being walked) precede glibc (6th); and so on
// to wolfi-base, 15th.
func (s *solve) generateChangeset() {
	for _, id := range s.installed {
		pi := s.info(id)
		n := s.ns(pi.name)
		n.installedPkg, n.installedName = id, pi.name
		for _, pr := range pi.provides {
			if pr.versioned {
				s.ns(pr.name).installedName = pi.name
			}
		}
	}
	for _, id := range s.installed {
		s.trackDepsAdded(id)
	}
	for _, id := range s.installed {
		s.checkRemovalByDeps(id)
	}
	for i := range s.world {
		s.genDep(-1, &s.world[i])
	}
	for _, id := range s.installed {
		s.genNameChange(s.info(id).name)
	}
}

// record appends a change; -1 stands for no package.
func (s *solve) record(old, new int32) {
	s.changes = append(s.changes, csChange{old: old, new: new})
}

// genDep walks one dependency of ppkg (-1: the world), flagging ppkg when
// the settled provider does not meet it.
func (s *solve) genDep(ppkg int32, d *dep) {
	id := s.depName(d)
	n := s.ns(id)
	if !s.provided(d, n.chosen) {
		s.markError(ppkg)
	}
	s.genNameChange(id)
	if n.chosen.pkg >= 0 && s.ps(n.chosen.pkg).err {
		s.markError(ppkg)
	}
}

// genNameChange records the package settled for a name after its
// dependencies.
func (s *solve) genNameChange(id int32) {
	if s.ns(id).processed {
		return
	}
	s.preprocess(id)
	pkg := s.ns(id).chosen.pkg
	if pkg < 0 || s.ps(pkg).inChangeset {
		return
	}
	s.ps(pkg).inChangeset = true
	pi := s.info(pkg)
	s.preprocess(pi.name)
	for _, pr := range pi.provides {
		s.preprocess(pr.name)
	}
	old := s.ns(pi.name).installedPkg
	s.checkByReverseInstallIf(old, s.checkRemovalByInstallIf)
	deps := s.deps(pkg)
	for i := range deps {
		s.genDep(pkg, &deps[i])
	}
	s.record(old, pkg)
	s.checkByReverseInstallIf(pkg, s.checkInstallByInstallIf)
	s.trackDepsAdded(pkg)
	if old >= 0 {
		s.trackDepsRemoved(old)
	}
}

// preprocess marks a name as walked and removes the installed package that
// provided it if another package now does.
func (s *solve) preprocess(id int32) {
	n := s.ns(id)
	if n.processed {
		return
	}
	n.processed = true
	if n.installedPkg >= 0 && (n.chosen.pkg < 0 || s.info(n.chosen.pkg).name != id) {
		s.genNameRemove(n.installedPkg)
	}
	for _, p := range s.providers(id) {
		pn := s.ns(s.info(p.pkg).name)
		if pn.installedPkg == p.pkg && pn.chosen.pkg < 0 {
			s.genNameRemove(p.pkg)
		}
	}
}

// genNameRemove records the removal of an installed package, after the
// installed packages that depend on it.
func (s *solve) genNameRemove(pkg int32) {
	pi := s.info(pkg)
	n := s.ns(pi.name)
	if s.ps(pkg).inChangeset || n.chosen.pkg >= 0 && s.info(n.chosen.pkg).name == pi.name {
		return
	}
	n.removed = true
	s.ps(pkg).inChangeset = true
	for _, q := range s.installedDependents(pkg) {
		s.genNameRemove(q)
	}
	s.checkByReverseInstallIf(pkg, s.checkRemovalByInstallIf)
	s.record(pkg, -1)
	s.trackDepsRemoved(pkg)
}

// installedDependents lists the installed packages with a dependency that
// pkg meets, in installed order (apk-tools'
// apk_pkg_foreach_reverse_dependency with APK_FOREACH_INSTALLED).
func (s *solve) installedDependents(pkg int32) []int32 {
	var out []int32
	for _, q := range s.installed {
		deps := s.deps(q)
		for i := range deps {
			if s.meets(&deps[i], pkg) {
				out = append(out, q)
				break
			}
		}
	}
	return out
}

// meets reports whether pkg, by its name or a p: entry named like d,
// satisfies d (apk-tools' apk_dep_analyze giving APK_DEP_SATISFIES).
func (s *solve) meets(d *dep, pkg int32) bool {
	pi := s.info(pkg)
	id := s.depName(d)
	if id == pi.name {
		return s.provided(d, s.pkgProvider(pkg))
	}
	for j, pr := range pi.provides {
		if pr.name == id {
			return s.provided(d, viaProvide(pkg, j, pr))
		}
	}
	return false
}

// trackDepsAdded counts pkg as a requirer of the installed packages it
// depends on.
func (s *solve) trackDepsAdded(pkg int32) {
	deps := s.deps(pkg)
	for i := range deps {
		if deps[i].Conflict {
			continue
		}
		if in := s.ns(s.depName(&deps[i])).installedName; in >= 0 {
			s.ns(in).csRequirers++
		}
	}
}

// trackDepsRemoved uncounts pkg and removes installed packages left with no
// requirer.
func (s *solve) trackDepsRemoved(pkg int32) {
	deps := s.deps(pkg)
	for i := range deps {
		if deps[i].Conflict {
			continue
		}
		dn := s.ns(s.depName(&deps[i]))
		if dn.installedName < 0 {
			continue
		}
		in := s.ns(dn.installedName)
		if in.csRequirers--; in.csRequirers > 0 {
			continue
		}
		if dn.installedPkg >= 0 {
			s.genNameRemove(dn.installedPkg)
		}
	}
}

// checkRemovalByDeps removes an installed package that nothing requires and
// nothing replaced.
func (s *solve) checkRemovalByDeps(pkg int32) {
	if n := s.ns(s.info(pkg).name); n.csRequirers == 0 && n.chosen.pkg < 0 {
		s.genNameRemove(pkg)
	}
}

// checkByReverseInstallIf calls fn for the names whose install_if mentions
// pkg's name or a name it provides.
func (s *solve) checkByReverseInstallIf(pkg int32, fn func(int32)) {
	if pkg < 0 {
		return
	}
	pi := s.info(pkg)
	for _, r := range s.rinstallIf(pi.name) {
		fn(r)
	}
	for _, pr := range pi.provides {
		for _, r := range s.rinstallIf(pr.name) {
			fn(r)
		}
	}
}

// checkInstallByInstallIf records an install_if package once every name its
// install_if mentions has been walked.
func (s *solve) checkInstallByInstallIf(id int32) {
	n := s.ns(id)
	if n.chosen.pkg < 0 || !n.seen || n.processed {
		return
	}
	iif := s.info(n.chosen.pkg).installIf()
	for i := range iif {
		dn := s.ns(iif[i].name)
		if !iif[i].Conflict && !dn.processed {
			return
		}
		if !s.provided(&iif[i], dn.chosen) {
			return
		}
	}
	s.genNameChange(id)
}

// checkRemovalByInstallIf removes an installed install_if package whose
// trigger was removed.
func (s *solve) checkRemovalByInstallIf(id int32) {
	n := s.ns(id)
	if n.installedPkg < 0 || n.chosen.pkg >= 0 || n.processed || n.removed {
		return
	}
	iif := s.info(n.installedPkg).installIf()
	for i := range iif {
		if dn := s.ns(iif[i].name); dn.removed && dn.chosen.pkg < 0 {
			s.checkRemovalByDeps(n.installedPkg)
			return
		}
	}
}

// solution converts the changeset.
func (s *solve) solution() *Solution {
	sol := &Solution{}
	for _, c := range s.changes {
		ch := Change{Repository: -1}
		if c.old >= 0 {
			ch.Old = s.ps(c.old).installedPkg
		}
		if c.new >= 0 {
			ch.New = s.pkg(c.new)
			ch.Repository = s.repository(c.new)
			sol.Packages = append(sol.Packages, ch.New)
		} else {
			sol.Removed = append(sol.Removed, ch.Old)
		}
		sol.Changes = append(sol.Changes, ch)
	}
	return sol
}

// repository is the lowest-index repository holding package id, or -1.
func (s *solve) repository(id int32) int {
	if r := s.info(id).repos; r != 0 {
		return bits.TrailingZeros64(r)
	}
	return -1
}

// isChosen reports whether package id was settled for its own name.
func (s *solve) isChosen(id int32) bool {
	return s.ns(s.info(id).name).chosen.pkg == id
}

// chosenPackages returns the packages of the changeset, for error reports.
func (s *solve) chosenPackages() []int32 {
	var out []int32
	for _, c := range s.changes {
		if c.new >= 0 {
			out = append(out, c.new)
		}
	}
	return out
}
