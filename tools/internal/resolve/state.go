package resolve

import (
	"container/heap"
	"slices"

	"github.com/rules-apk/rules_apk/tools/internal/apk"
)

// Solver flags, apk-tools' APK_SOLVERF_*; a package inherits them from the
// world constraint or the package that pulled it in.
const (
	flagUpgrade uint8 = 1 << iota
	flagLatest
)

// defaultPinning is the tag set holding only tag 0 (untagged repositories),
// apk-tools' APK_DEFAULT_PINNING_MASK.
const defaultPinning uint64 = 1

// pkgState is the solve's view of one package (apk-tools' pkg->ss).
type pkgState struct {
	seen       bool
	installed  bool // in Request.Installed (apk-tools' pkg->ipkg)
	available  bool // some repository holds it
	selectable bool // may still be chosen
	// iifFailed: no install_if, or one of its constraints is met by
	// nothing; iifTriggered: every install_if constraint is met.
	iifFailed, iifTriggered bool
	// tagOK: a repository holding it is allowed by its pinning;
	// tagPreferred: one is preferred (§3.3 step 4).
	tagOK, tagPreferred bool
	// depsMerged/depsUsed: it was a candidate of the last merge of common
	// dependencies (§3.3 step 2).
	depsMerged, depsUsed bool
	err                  bool // chosen although broken (apk-tools' mark_error)
	inChangeset          bool
	pinAllowed           uint64 // tag sets
	pinPreferred         uint64
	flags, flagsInherit  uint8
	conflicts            int32 // applied constraints it does not satisfy
	// why is the first reason it stopped being selectable.
	why *rejection
	// installedPkg is the caller's record when installed.
	installedPkg *apk.Package
}

// nameState is the solve's view of one name (apk-tools' name->ss).
type nameState struct {
	seen, locked bool
	requirers    int32
	chosen       provider
	// noIIF: no provider can be installed by install_if; hasIIF: one is
	// triggered; iifNeeded: a conflict in an install_if needs this name
	// settled.
	noIIF, hasIIF, iifNeeded bool
	reevalDeps, reevalIIF    bool
	hasOptions               bool // more than one candidate, or one not allowed by pinning
	reverseDepsDone          bool // every seen name depending on it is settled
	hasAutoSelectable        bool
	resolveNow               bool
	flagged                  bool // named in UpgradeNames (apk-tools' solver_flags_set)
	orderID                  uint32
	mergeDepends             int32
	mergeProvides            int32
	hasVirtualProvides       bool

	inDirty  bool
	dirtySeq uint32
	queued   bool
	queueSeq uint32

	// rdepends are the seen names that have a package depending on this
	// name, in package order (apk-tools' name->rdepends).
	rdepends []rdepend
	// applied are the constraints applied to the name, for error messages.
	applied []applied

	// Changeset generation (§3.4 step 3).
	installedPkg  int32 // installed package with this principal name, or -1
	installedName int32 // principal name of the installed package providing it, or -1
	csRequirers   int32
	processed     bool
	removed       bool
}

// rdepend is a reverse dependency with the package position that orders it.
type rdepend struct {
	name int32
	key  int32
}

// applied records one apply_constraint call: who asked (-1 = the world).
type applied struct {
	from int32
	dep  *dep
}

// dirtyItem and queueItem are queue entries; seq tells a stale entry (the
// name was removed or requeued since) from a live one.
type dirtyItem struct {
	name int32
	seq  uint32
}

type queueItem struct {
	name    int32
	orderID uint32
	seq     uint32
}

// nameHeap pops the name with the highest order id first: apk-tools keeps
// its unresolved lists sorted by order id, descending.
type nameHeap []queueItem

func (h nameHeap) Len() int           { return len(h) }
func (h nameHeap) Less(i, j int) bool { return h[i].orderID > h[j].orderID }
func (h nameHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *nameHeap) Push(x any)        { *h = append(*h, x.(queueItem)) }
func (h *nameHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}

// solve is the state of one Solve call.
type solve struct {
	ix  *Solver
	req *Request

	// Installed packages no repository holds get ids after the index's, and
	// names only they (or an unknown dependency) use get ids after the
	// index's names.
	extraPkgs    []*pkgInfo
	extraIDs     map[*apk.Package]int32
	extraNames   []*nameInfo
	extraNameIDs map[string]int32
	// overlay replaces the provider list of names an extra package
	// provides; riifOverlay likewise for reverse install_if lists.
	overlay     map[int32][]provider
	riifOverlay map[int32][]int32

	pkgSt  map[int32]*pkgState
	nameSt map[int32]*nameState

	world     []dep
	installed []int32 // installed package ids, in Request order

	flagsInherit uint8
	pinInherit   uint64
	orderSeq     uint32
	seq          uint32
	errors       int

	dirty      []dirtyItem
	resolveNow []queueItem
	selectable nameHeap
	unresolved nameHeap

	changes []csChange
	// sameName records two chosen packages claiming one name (§3.2).
	sameName []sameNameConflict
	// noProvider lists names that needed a provider and got none.
	noProvider []int32
}

// csChange is one changeset entry: package ids, -1 for none.
type csChange struct{ old, new int32 }

type sameNameConflict struct {
	name      int32
	a, b      provider
	alreadyIn bool
}

func newSolve(ix *Solver, req *Request) *solve {
	return &solve{
		ix:           ix,
		req:          req,
		extraNameIDs: map[string]int32{},
		overlay:      map[int32][]provider{},
		riifOverlay:  map[int32][]int32{},
		pkgSt:        make(map[int32]*pkgState, 256),
		nameSt:       make(map[int32]*nameState, 256),
	}
}

// info returns the index data of package id.
func (s *solve) info(id int32) *pkgInfo {
	if n := int32(len(s.ix.pkgs)); id >= n {
		return s.extraPkgs[id-n]
	}
	return &s.ix.pkgs[id]
}

func (s *solve) pkg(id int32) *apk.Package { return s.info(id).pkg }

// ps returns the state of package id, creating it.
func (s *solve) ps(id int32) *pkgState {
	st := s.pkgSt[id]
	if st == nil {
		st = &pkgState{}
		s.pkgSt[id] = st
	}
	return st
}

// ns returns the state of name id, creating it.
func (s *solve) ns(id int32) *nameState {
	st := s.nameSt[id]
	if st == nil {
		st = &nameState{chosen: noProvider, installedPkg: -1, installedName: -1}
		s.nameSt[id] = st
	}
	return st
}

// nameInfo returns the index data of name id.
func (s *solve) nameInfo(id int32) *nameInfo {
	if n := int32(len(s.ix.names)); id >= n {
		return s.extraNames[id-n]
	}
	return &s.ix.names[id]
}

func (s *solve) nameStr(id int32) string { return s.nameInfo(id).name }

// providers returns the providers of name id.
func (s *solve) providers(id int32) []provider {
	if p, ok := s.overlay[id]; ok {
		return p
	}
	return s.nameInfo(id).providers
}

// rinstallIf returns the principal names of packages whose install_if
// mentions name id.
func (s *solve) rinstallIf(id int32) []int32 {
	if r, ok := s.riifOverlay[id]; ok {
		return r
	}
	return s.nameInfo(id).rinstallIf
}

// nameID returns the id of a name, giving a name the index does not know an
// id of its own.
func (s *solve) nameID(name string) int32 {
	if id, ok := s.ix.nameIDs[name]; ok {
		return id
	}
	if id, ok := s.extraNameIDs[name]; ok {
		return id
	}
	id := int32(len(s.ix.names) + len(s.extraNames))
	s.extraNames = append(s.extraNames, &nameInfo{name: name})
	s.extraNameIDs[name] = id
	return id
}

// depName returns the name id of d.
func (s *solve) depName(d *dep) int32 {
	if d.name >= 0 {
		return d.name
	}
	return s.nameID(d.Name)
}

// deps returns the parsed D: list of package id (nil when it is malformed).
func (s *solve) deps(id int32) []dep {
	return s.ix.depsOf(s.info(id)).deps
}

// namesOf returns the names package id provides: its own, then its p:
// entries.
func (s *solve) namesOf(id int32) []int32 {
	pi := s.info(id)
	out := make([]int32, 0, 1+len(pi.provides))
	out = append(out, pi.name)
	for _, pr := range pi.provides {
		out = append(out, pr.name)
	}
	return out
}

// pkgProvider is the provider of a package's own name.
func (s *solve) pkgProvider(id int32) provider {
	return ownName(id)
}

// version returns the version p provides its name with.
func (s *solve) version(p provider) string {
	if p.entry < 0 {
		return s.pkg(p.pkg).Version
	}
	return s.info(p.pkg).provideVersion(p.entry)
}

// pkgRepos is the repository set used for pinning: the repositories holding
// the package, plus the untagged ones when it is installed (apk-tools'
// get_pkg_repos with an installed package's tag 0).
func (s *solve) pkgRepos(id int32) uint64 {
	r := s.info(id).repos
	if s.ps(id).installed {
		r |= s.ix.tagRepos[0]
	}
	return r
}

// pinningRepos is the set of repositories of the tags in a tag set.
func (s *solve) pinningRepos(tags uint64) uint64 {
	var r uint64
	for i := range s.ix.tagRepos {
		if tags&(1<<i) != 0 {
			r |= s.ix.tagRepos[i]
		}
	}
	return r
}

// queueDirty adds a name to the dirty list (apk-tools' queue_dirty).
func (s *solve) queueDirty(id int32) {
	n := s.ns(id)
	if n.inDirty || n.locked || (n.requirers == 0 && !n.reevalIIF) {
		return
	}
	s.seq++
	n.inDirty, n.dirtySeq = true, s.seq
	s.dirty = append(s.dirty, dirtyItem{id, s.seq})
}

// popDirty returns the next dirty name, or -1.
func (s *solve) popDirty() int32 {
	for len(s.dirty) > 0 {
		it := s.dirty[0]
		s.dirty = s.dirty[1:]
		if n := s.ns(it.name); n.inDirty && n.dirtySeq == it.seq {
			n.inDirty = false
			return it.name
		}
	}
	return -1
}

// canResolveNow: every candidate is settled but one, and it may be chosen
// without a choice (apk-tools' queue_resolvenow).
func canResolveNow(n *nameState) bool {
	return n.reverseDepsDone && n.requirers > 0 && n.hasAutoSelectable && !n.hasOptions
}

// queueUnresolved puts a name that needs a decision on the right list
// (apk-tools' queue_unresolved): names that can be settled now first, then
// names with an auto-selectable provider, then the rest, each by order id.
func (s *solve) queueUnresolved(id int32, reevaluate bool) {
	n := s.ns(id)
	if n.locked {
		return
	}
	if n.queued {
		switch {
		case n.resolveNow:
			return
		case canResolveNow(n):
			n.resolveNow = true
		case !reevaluate:
			return
		}
	} else {
		if n.requirers == 0 && !n.hasIIF && !n.iifNeeded {
			return
		}
		n.resolveNow = canResolveNow(n)
	}
	s.seq++
	n.queued, n.queueSeq = true, s.seq
	it := queueItem{name: id, orderID: n.orderID, seq: s.seq}
	switch {
	case n.resolveNow:
		s.resolveNow = append(s.resolveNow, it)
	case n.hasAutoSelectable:
		heap.Push(&s.selectable, it)
	default:
		heap.Push(&s.unresolved, it)
	}
}

// live reports whether a queue entry is still current, and dequeues it.
func (s *solve) live(it queueItem) bool {
	n := s.ns(it.name)
	if !n.queued || n.queueSeq != it.seq {
		return false
	}
	n.queued = false
	return true
}

// dequeue returns the next name to settle, or -1 (apk-tools'
// dequeue_next_name).
func (s *solve) dequeue() int32 {
	for len(s.resolveNow) > 0 {
		it := s.resolveNow[0]
		s.resolveNow = s.resolveNow[1:]
		if s.live(it) {
			return it.name
		}
	}
	for _, h := range []*nameHeap{&s.selectable, &s.unresolved} {
		for h.Len() > 0 {
			if it := heap.Pop(h).(queueItem); s.live(it) {
				return it.name
			}
		}
	}
	return -1
}

// addRdepend records that seen name from has a package depending on name
// to, ordered by the position key of that package.
func (s *solve) addRdepend(to, from, key int32) {
	n := s.ns(to)
	for i, r := range n.rdepends {
		if r.name == from {
			if key < r.key {
				n.rdepends = slices.Delete(n.rdepends, i, i+1)
				break
			}
			return
		}
	}
	i, _ := slices.BinarySearchFunc(n.rdepends, key, func(r rdepend, k int32) int {
		return int(r.key - k)
	})
	n.rdepends = slices.Insert(n.rdepends, i, rdepend{name: from, key: key})
}
