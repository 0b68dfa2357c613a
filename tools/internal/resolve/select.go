package resolve

import (
	"cmp"
	"math/bits"

	"github.com/rules-apk/rules_apk/tools/internal/apk"
)

// reconsider re-examines the candidates of a name after something changed
// (apk-tools' reconsider_name): it drops candidates whose dependencies can
// no longer be met, checks install_if triggers, and propagates what every
// remaining candidate has in common. Worked example: if both candidates of
// so:libcurl.so.4 depend on so:libz.so.1, that name gets a requirer before
// the choice between them is made, and if both provide so:libcurl.so.4
// only through a versioned provide, providers of that name that lack it are
// dropped ("provides transitivity").
func (s *solve) reconsider(id int32) {
	n := s.ns(id)
	reevalDeps, reevalIIF := n.reevalDeps, n.reevalIIF
	n.reevalDeps, n.reevalIIF = false, false

	m := merge{first: -1, noIIF: true}
	for _, p := range s.providers(id) {
		s.considerCandidate(n, p, &m, reevalDeps, reevalIIF)
	}
	n.hasOptions = m.options > 1 || m.tagNotOK > 0
	n.hasIIF, n.noIIF = m.hasIIF, m.noIIF
	reevaluate := false
	if m.hasAuto != n.hasAutoSelectable {
		n.hasAutoSelectable = m.hasAuto
		reevaluate = true
	}
	if m.first >= 0 {
		s.propagateCommon(id, &m)
	}
	n.reverseDepsDone = true
	for _, r := range n.rdepends {
		if rn := s.ns(r.name); rn.seen && !rn.locked {
			n.reverseDepsDone = false
			break
		}
	}
	s.queueUnresolved(id, reevaluate)
}

// merge accumulates what the candidates of a name have in common.
type merge struct {
	first         int32 // first candidate, -1 for none
	options       int32 // candidates
	tagNotOK      int32 // candidates not allowed by pinning
	hasIIF, noIIF bool
	hasAuto       bool // a candidate is auto-selectable
}

// considerCandidate is one iteration of reconsider over a provider.
func (s *solve) considerCandidate(n *nameState, p provider, m *merge, reevalDeps, reevalIIF bool) {
	ps := s.ps(p.pkg)
	ps.depsMerged = false
	if reevalDeps && ps.selectable {
		deps := s.deps(p.pkg)
		for i := range deps {
			if !s.satisfiable(&deps[i]) {
				s.disqualify(p.pkg, &rejection{kind: rejectDependency, dep: &deps[i]})
				break
			}
		}
	}
	if !ps.selectable {
		return
	}
	if reevalIIF {
		s.checkInstallIf(p.pkg, ps)
	}
	m.hasIIF = m.hasIIF || ps.iifTriggered
	m.noIIF = m.noIIF && ps.iifFailed
	m.hasAuto = m.hasAuto || ps.iifTriggered
	if n.requirers == 0 {
		return
	}

	ps.depsMerged = true
	if m.first < 0 {
		m.first = p.pkg
	}
	deps := s.deps(p.pkg)
	for i := range deps {
		if !deps[i].Conflict {
			mergeIndex(&s.ns(s.depName(&deps[i])).mergeDepends, m.options)
		}
	}
	pi := s.info(p.pkg)
	if pn := s.ns(pi.name); mergeIndex(&pn.mergeProvides, m.options) && !p.versioned {
		pn.hasVirtualProvides = true
	}
	for _, pr := range pi.provides {
		if prn := s.ns(pr.name); mergeIndex(&prn.mergeProvides, m.options) && !pr.versioned {
			prn.hasVirtualProvides = true
		}
	}
	if !ps.tagOK {
		m.tagNotOK++
	}
	m.options++
	if !m.hasAuto && s.autoSelectable(p) {
		m.hasAuto = true
	}
}

// checkInstallIf re-evaluates whether every install_if constraint of a
// package is met by the settled names (§3.2).
func (s *solve) checkInstallIf(id int32, ps *pkgState) {
	pi := s.info(id)
	if !ps.iifTriggered && !ps.iifFailed {
		ps.iifTriggered = true
		for i := range pi.installIf() {
			d := &pi.installIf()[i]
			dn := s.ns(d.name)
			if !dn.locked {
				if d.Conflict {
					dn.iifNeeded = true
					s.queueUnresolved(d.name, false)
				}
				ps.iifTriggered = false
				break
			}
			if !s.provided(d, dn.chosen) {
				ps.iifTriggered, ps.iifFailed = false, true
				break
			}
		}
	}
	if ps.iifTriggered {
		for i := range pi.installIf() {
			s.inherit(id, s.ns(pi.installIf()[i].name).chosen.pkg)
		}
	}
}

// mergeIndex advances a name's counter only if every candidate so far named
// it: after the loop, counter == options means all of them did.
func mergeIndex(index *int32, options int32) bool {
	if *index != options {
		return false
	}
	*index = options + 1
	return true
}

// mergeComplete reports whether every candidate named it, and resets it.
func mergeComplete(index *int32, options int32) bool {
	ok := *index == options
	*index = 0
	return ok
}

// propagateCommon applies what all candidates of name id share: with one
// candidate its dependencies; with several, a requirer for every name they
// all depend on; and it drops providers of shared provided names that do
// not provide id ("provides transitivity").
func (s *solve) propagateCommon(id int32, m *merge) {
	for _, p := range s.providers(id) {
		ps := s.ps(p.pkg)
		ps.depsUsed = ps.depsMerged
	}
	first := m.first
	deps := s.deps(first)
	for i := range deps {
		d := &deps[i]
		dn := s.ns(s.depName(d))
		if !mergeComplete(&dn.mergeDepends, m.options) {
			continue
		}
		if m.options == 1 {
			s.applyConstraint(first, d)
			continue
		}
		if dn.requirers == 0 {
			dn.requirers++
			s.requirersChanged(s.depName(d))
			for _, p := range s.providers(s.depName(d)) {
				s.inherit(p.pkg, first)
			}
		}
	}
	pi := s.info(first)
	if pn := s.ns(pi.name); mergeComplete(&pn.mergeProvides, m.options) {
		s.excludeNonProviders(pi.name, id, pn.hasVirtualProvides)
	}
	for _, pr := range pi.provides {
		if prn := s.ns(pr.name); mergeComplete(&prn.mergeProvides, m.options) {
			s.excludeNonProviders(pr.name, id, prn.hasVirtualProvides)
		}
	}
	s.ns(pi.name).hasVirtualProvides = false
	for _, pr := range pi.provides {
		s.ns(pr.name).hasVirtualProvides = false
	}
}

// excludeNonProviders drops the providers of name that do not also provide
// mustProvide (apk-tools' exclude_non_providers).
func (s *solve) excludeNonProviders(name, mustProvide int32, skipVirtuals bool) {
	if name == mustProvide {
		return
	}
next:
	for _, p := range s.providers(name) {
		pi := s.info(p.pkg)
		if pi.name == mustProvide || !s.ps(p.pkg).selectable || skipVirtuals && !p.versioned {
			continue
		}
		for _, pr := range pi.provides {
			if pr.name == mustProvide || skipVirtuals && !pr.versioned {
				continue next
			}
		}
		s.disqualify(p.pkg, &rejection{kind: rejectTransitivity, name: name, other: mustProvide})
	}
}

// selectPackage settles a name: it picks the best candidate with
// compareProviders, assigns it every name it provides and applies its
// dependencies (apk-tools' select_package). A name nobody can provide is
// settled with nothing, which is an error when it is required.
func (s *solve) selectPackage(id int32) {
	n := s.ns(id)
	chosen := noProvider
	if n.requirers > 0 || n.hasIIF {
		for _, p := range s.providers(id) {
			ps := s.ps(p.pkg)
			if n.requirers == 0 && (!ps.iifTriggered || !ps.tagOK || !ps.selectable) {
				continue
			}
			if !s.autoSelectable(p) {
				continue
			}
			if s.compareProviders(p, chosen) > 0 {
				chosen = p
			}
		}
	}
	if chosen.pkg < 0 {
		s.assignName(id, noProvider)
		if n.requirers > 0 {
			s.errors++
			s.noProvider = append(s.noProvider, id)
		}
		return
	}
	ps := s.ps(chosen.pkg)
	if !ps.selectable || !ps.tagOK {
		s.markError(chosen.pkg)
	}
	pi := s.info(chosen.pkg)
	s.assignName(pi.name, s.pkgProvider(chosen.pkg))
	for j, pr := range pi.provides {
		s.assignName(pr.name, viaProvide(chosen.pkg, j, pr))
	}
	deps := s.deps(chosen.pkg)
	for i := range deps {
		s.applyConstraint(chosen.pkg, &deps[i])
	}
}

// markError records that a broken package had to be chosen.
func (s *solve) markError(id int32) {
	if id < 0 {
		return
	}
	if ps := s.ps(id); !ps.err {
		ps.err = true
		s.errors++
	}
}

// assignName settles a name to a provider and drops the other providers,
// unless both provide it without a version (apk-tools' assign_name). A
// second versioned claim on a settled name is an error: versioned provides
// are exclusive (§3.2).
func (s *solve) assignName(id int32, p provider) {
	n := s.ns(id)
	if n.locked {
		if !p.versioned && !n.chosen.versioned {
			return
		}
		s.markError(p.pkg)
		s.markError(n.chosen.pkg)
		s.sameName = append(s.sameName, sameNameConflict{name: id, a: n.chosen, b: p})
		return
	}
	n.locked, n.chosen = true, p
	n.queued, n.inDirty = false, false

	if p.pkg >= 0 && n.requirers == 0 && s.ps(p.pkg).iifTriggered {
		iif := s.info(p.pkg).installIf()
		for i := range iif {
			if !s.ns(iif[i].name).locked {
				s.applyConstraint(p.pkg, &iif[i])
			}
		}
	}
	for _, p0 := range s.providers(id) {
		if p0.pkg == p.pkg || !p.versioned && !p0.versioned {
			continue
		}
		s.disqualify(p0.pkg, &rejection{kind: rejectTaken, name: id, by: p})
	}
	s.reevaluateReverseDeps(id)
	if p.pkg >= 0 {
		s.reevaluateReverseInstallIfPkg(p.pkg)
	} else {
		s.reevaluateReverseInstallIf(id)
	}
}

// compareProviders orders two candidates for a name, apk-tools 2.14's
// compare_providers (§3.3): positive when a is better. Without --latest the
// criteria are, in order: selectable; in the last merge of common
// dependencies, with fewer conflicts; allowed by pinning; preferred by
// pinning; installed (unless upgrading); the higher version of the
// requested name (for a provide, the provided version; unversioned provides
// tie); the higher package version if both have the same name; installed;
// the higher provider_priority; selectable; the lowest repository.
//
// Worked example, `add cmd:sh` with sh-a (cmd:sh=1.0, k=1) and sh-b
// (cmd:sh=2.0, k=100): everything ties up to the requested name's version,
// where 2.0 > 1.0 picks sh-b before the priorities are looked at. With
// unversioned provides the versions tie and k decides: jre-a (k=5, 17)
// beats jre-b (k=3, 21), since package versions are only compared between
// packages of one name.
func (s *solve) compareProviders(a, b provider) int {
	if a.pkg < 0 || b.pkg < 0 {
		return cmpBool(a.pkg >= 0, b.pkg >= 0) // an actual package beats none
	}
	pa, pb := s.ps(a.pkg), s.ps(b.pkg)
	flags := pa.flags | pb.flags
	if r := s.comparePinning(pa, pb, flags); r != 0 {
		return r
	}
	if a.versioned && b.versioned {
		if r := apk.CompareVersions(s.version(a), s.version(b)); r != 0 {
			return r
		}
	}
	ia, ib := s.info(a.pkg), s.info(b.pkg)
	if ia.name == ib.name {
		if r := apk.CompareVersions(ia.pkg.Version, ib.pkg.Version); r != 0 {
			return r
		}
	}
	if r := cmpBool(pa.installed, pb.installed); r != 0 {
		return r
	}
	if r := cmp.Compare(ia.pkg.ProviderPriority, ib.pkg.ProviderPriority); r != 0 {
		return r
	}
	if r := cmpBool(pa.selectable, pb.selectable); r != 0 {
		return r
	}
	return cmp.Compare(ffs(ib.repos), ffs(ia.repos))
}

// comparePinning holds steps 1–5 of compare_providers, or their --latest
// replacement.
func (s *solve) comparePinning(pa, pb *pkgState, flags uint8) int {
	if flags&flagLatest != 0 && pa.pinAllowed == defaultPinning && pb.pinAllowed == defaultPinning {
		return cmpBool(pa.tagOK, pb.tagOK)
	}
	if r := cmpBool(pa.selectable, pb.selectable); r != 0 {
		return r
	}
	if r := cmpBool(pa.depsUsed, pb.depsUsed); r != 0 {
		return r
	}
	if r := cmp.Compare(pb.conflicts, pa.conflicts); r != 0 {
		return r
	}
	if r := cmpBool(pa.tagOK, pb.tagOK); r != 0 {
		return r
	}
	if r := cmpBool(pa.tagPreferred, pb.tagPreferred); r != 0 {
		return r
	}
	if flags&flagUpgrade == 0 {
		return cmpBool(pa.installed, pb.installed)
	}
	return 0
}

func cmpBool(a, b bool) int {
	switch {
	case a == b:
		return 0
	case a:
		return 1
	}
	return -1
}

// ffs is the 1-based position of the lowest set bit, 0 for none, as C's
// ffs: a package no repository holds (installed only) wins the last tie.
func ffs(x uint64) int {
	if x == 0 {
		return 0
	}
	return bits.TrailingZeros64(x) + 1
}
