package resolve

import (
	"fmt"
	"slices"
	"strings"

	"github.com/rules-apk/rules_apk/tools/internal/apk"
)

// UnsatisfiableError reports a world that no selection of packages meets,
// in the spirit of apk-tools' "unable to select packages" report
// (commit.c:apk_solver_print_errors), with the reason every candidate was
// rejected.
type UnsatisfiableError struct {
	// Problems are the constraints that failed, world constraints first,
	// then those of the chosen packages in install order.
	Problems []Problem
}

// ProblemKind says what went wrong with a constraint.
type ProblemKind int

// Problem kinds.
const (
	// ProblemMissing: no package provides the name at all ("no such
	// package").
	ProblemMissing ProblemKind = iota
	// ProblemVirtual: the name is only provided without a version by
	// packages without provider_priority, so the solver will not pick one:
	// the world must name one of them (§3.2).
	ProblemVirtual
	// ProblemUnmet: packages provide the name, but none can be chosen that
	// meets the constraint; each Candidate says why.
	ProblemUnmet
	// ProblemConflict: a conflict constraint (!name) is broken by a
	// package that other constraints require.
	ProblemConflict
	// ProblemSameName: several chosen packages provide one name and at
	// least one of them with a version: versioned provides are exclusive
	// (§3.2).
	ProblemSameName
	// ProblemInternal: the solver failed without a cause this report can
	// name.
	ProblemInternal
)

// Problem is one failed constraint or one clash between chosen packages.
type Problem struct {
	Kind ProblemKind
	// Constraint is the constraint that failed; for ProblemSameName only
	// its Name is set.
	Constraint apk.Constraint
	// RequiredBy are the world and the packages that asked for it.
	RequiredBy []Requirer
	// PulledInBy is how the first requiring package came in: the chain of
	// constraints from the world to it. Empty when the world itself
	// required the constraint.
	PulledInBy []Requirer
	// Candidates are the providers of the name, in provider order, each with
	// the reason it was not used; for ProblemSameName, the packages that
	// clash.
	Candidates []Candidate
}

// Requirer is the world (Package == nil) or a package, with the constraint
// it holds.
type Requirer struct {
	Package    *apk.Package
	Constraint apk.Constraint
}

// String formats a requirer as apk-tools does: "world[curl]",
// "libcurl-openssl4-8.11.1-r0[so:libz.so.1]".
func (r Requirer) String() string {
	if r.Package == nil {
		return "world[" + r.Constraint.String() + "]"
	}
	return r.Package.NameVersion() + "[" + r.Constraint.String() + "]"
}

// Reason classifies why a candidate was not used.
type Reason int

// Candidate rejection reasons.
const (
	// ReasonVersion: its version, or the version it provides the name with,
	// does not match.
	ReasonVersion Reason = iota
	// ReasonUnversioned: it provides the name without a version, which never
	// meets a versioned constraint in apk-tools 2.14 (§3.2).
	ReasonUnversioned
	// ReasonNeedsChoice: it provides the name without a version and has no
	// provider_priority, so it is only chosen when the world names it.
	ReasonNeedsChoice
	// ReasonPinned: only repositories with a tag the world does not ask for
	// hold it.
	ReasonPinned
	// ReasonConflict: another constraint excludes it (a different version
	// is required, or a !name conflict matches it).
	ReasonConflict
	// ReasonTaken: a name it provides with a version is already provided by
	// another chosen package.
	ReasonTaken
	// ReasonDependency: one of its own dependencies cannot be met.
	ReasonDependency
	// ReasonNotInstallable: the index marks it uninstallable (a record with
	// an unknown upper-case field, §2.2).
	ReasonNotInstallable
	// ReasonMalformed: its D: or i: list cannot be parsed.
	ReasonMalformed
	// ReasonChosen: it was chosen (for ProblemConflict and ProblemSameName,
	// the package that clashes).
	ReasonChosen
	// ReasonNotChosen: another candidate was preferred (§3.3).
	ReasonNotChosen
)

// Candidate is one provider of a problem's name.
type Candidate struct {
	Package *apk.Package
	// Provides is how it provides the name: "zlib=1.3.1-r5" for its own
	// name, or its p: entry ("so:libz.so.1=1", "mta").
	Provides string
	Reason   Reason
	// Detail explains Reason for a person.
	Detail string
}

// rejectKind is why the solver dropped a candidate while solving.
type rejectKind int

const (
	rejectConstraint   rejectKind = iota // a constraint on one of its names excludes it
	rejectDependency                     // a dependency became unsatisfiable
	rejectTransitivity                   // it lacks a name all other candidates provide
	rejectTaken                          // a name it provides was assigned elsewhere
)

// rejection is the first reason a package stopped being selectable.
type rejection struct {
	kind  rejectKind
	from  int32 // rejectConstraint: requirer, -1 for the world
	dep   *dep  // rejectConstraint, rejectDependency
	name  int32 // rejectTransitivity, rejectTaken
	other int32 // rejectTransitivity: the name it does not provide
	by    provider
}

// Error formats the problems as an indented report.
func (e *UnsatisfiableError) Error() string {
	var b strings.Builder
	b.WriteString("unable to select packages:")
	for _, p := range e.Problems {
		b.WriteString("\n")
		p.write(&b)
	}
	return b.String()
}

// write formats one problem.
func (p Problem) write(b *strings.Builder) {
	fmt.Fprintf(b, "  %s:", p.heading())
	if len(p.RequiredBy) > 0 {
		b.WriteString("\n    required by:")
		for _, r := range p.RequiredBy {
			b.WriteString(" " + r.String())
		}
	}
	if len(p.PulledInBy) > 0 {
		b.WriteString("\n    pulled in by:")
		for i, r := range p.PulledInBy {
			if i > 0 {
				b.WriteString(" ->")
			}
			b.WriteString(" " + r.String())
		}
	}
	for _, c := range p.Candidates {
		fmt.Fprintf(b, "\n    %s: %s", c.Package.NameVersion(), c.Detail)
	}
	if note := p.note(); note != "" {
		b.WriteString("\n    note: " + note)
	}
}

func (p Problem) heading() string {
	switch p.Kind {
	case ProblemMissing:
		return p.Constraint.Name + " (no such package)"
	case ProblemVirtual:
		return p.Constraint.Name + " (virtual)"
	case ProblemSameName:
		return p.Constraint.Name + " (provided by several chosen packages)"
	case ProblemInternal:
		return "internal error"
	}
	return p.Constraint.String()
}

func (p Problem) note() string {
	switch p.Kind {
	case ProblemMissing:
		return "no repository has a package of this name or providing it; " +
			"check the name and the repositories"
	case ProblemVirtual:
		return "please select one of the 'provided by' packages explicitly: " +
			"add one of them to the world"
	case ProblemSameName:
		if len(p.Candidates) == 2 && p.Candidates[0].Package == p.Candidates[1].Package {
			return "the package provides the name twice with different versions, " +
				"so it can never be installed"
		}
		return "a name provided with a version can have only one provider; " +
			"keep only one of these packages in the world"
	case ProblemConflict:
		return "remove one of the conflicting packages from the world"
	case ProblemInternal:
		return "the solver reported an error it cannot explain; please report this world " +
			"and these repositories"
	}
	return ""
}

// unsatisfiable builds the error of a failed solve from its final state.
func (s *solve) unsatisfiable() *UnsatisfiableError {
	r := &report{s: s, at: map[string]int{}}
	for i := range s.world {
		r.check(-1, &s.world[i])
	}
	for _, id := range s.chosenPackages() {
		if r.brokenRoot(id) {
			continue // its own problem is reported; its dependencies are moot
		}
		deps := s.deps(id)
		for i := range deps {
			r.check(id, &deps[i])
		}
	}
	r.sameNames()
	if len(r.problems) == 0 {
		r.problems = append(r.problems, Problem{Kind: ProblemInternal})
	}
	return &UnsatisfiableError{Problems: r.problems}
}

// report collects problems, merging those of one constraint.
type report struct {
	s        *solve
	problems []Problem
	at       map[string]int
}

// check adds a problem when the settled provider of d's name does not meet
// d, or is a package that cannot be installed.
func (r *report) check(from int32, d *dep) {
	s := r.s
	id := s.depName(d)
	n := s.ns(id)
	if s.provided(d, n.chosen) && (d.Conflict || !r.brokenRoot(n.chosen.pkg)) {
		return
	}
	req := Requirer{Constraint: d.Constraint}
	if from >= 0 {
		req.Package = s.pkg(from)
	}
	key := d.Constraint.String()
	if i, ok := r.at[key]; ok {
		if !slices.Contains(r.problems[i].RequiredBy, req) {
			r.problems[i].RequiredBy = append(r.problems[i].RequiredBy, req)
		}
		return
	}
	p := Problem{Constraint: d.Constraint, RequiredBy: []Requirer{req}}
	if from >= 0 {
		p.PulledInBy = r.path(from)
	}
	switch {
	case d.Conflict:
		p.Kind = ProblemConflict
		p.Candidates = []Candidate{r.chosenCandidate(id, n.chosen)}
	case len(s.providers(id)) == 0:
		p.Kind = ProblemMissing
	default:
		p.Kind = ProblemUnmet
		p.Candidates = r.candidates(id, d)
		if r.virtual(id, d) {
			p.Kind = ProblemVirtual
		}
	}
	r.at[key] = len(r.problems)
	r.problems = append(r.problems, p)
}

// brokenRoot reports whether a chosen package cannot be installed for a
// reason of its own. A package broken by one of its dependencies, by a
// conflict constraint or by a name clash is left to the problem of that
// dependency, conflict or clash.
func (r *report) brokenRoot(pkg int32) bool {
	if pkg < 0 {
		return false
	}
	ps := r.s.ps(pkg)
	switch {
	case ps.selectable && ps.tagOK:
		return false
	case ps.why != nil && ps.why.kind == rejectDependency:
		return false
	case ps.why != nil && ps.why.kind == rejectConstraint && ps.why.dep.Conflict &&
		(ps.why.from < 0 || r.s.isChosen(ps.why.from)):
		return false // the conflict constraint's own problem tells
	}
	for _, c := range r.s.sameName {
		if c.a.pkg == pkg || c.b.pkg == pkg {
			return false
		}
	}
	return true
}

// virtual reports whether every candidate was passed over only for being
// an unversioned provide without priority.
func (r *report) virtual(id int32, d *dep) bool {
	if r.s.ns(id).chosen.pkg >= 0 || d.Op != apk.VersionAny {
		return false
	}
	for _, p := range r.s.providers(id) {
		if p.versioned || r.s.autoSelectable(p) {
			return false
		}
	}
	return true
}

// candidates explains every provider of name id for constraint d.
func (r *report) candidates(id int32, d *dep) []Candidate {
	var out []Candidate
	seen := map[int32]bool{}
	for _, p := range r.s.providers(id) {
		if seen[p.pkg] {
			continue
		}
		seen[p.pkg] = true
		c := Candidate{Package: r.s.pkg(p.pkg), Provides: r.provides(id, p)}
		c.Reason, c.Detail = r.why(id, d, p)
		out = append(out, c)
	}
	return out
}

// provides formats how p provides name id.
func (r *report) provides(id int32, p provider) string {
	if !p.versioned {
		return r.s.nameStr(id)
	}
	return r.s.nameStr(id) + "=" + r.s.version(p)
}

// why says why provider p of name id was not used for d, looking first at
// the package itself, then at the constraint, then at the solve.
func (r *report) why(id int32, d *dep, p provider) (Reason, string) {
	s := r.s
	pi, ps := s.info(p.pkg), s.ps(p.pkg)
	name := s.nameStr(id)
	switch {
	case pi.pkg.NotInstallable:
		return ReasonNotInstallable, "the index marks it not installable " +
			"(its record has a field letter apk-tools 2.14 does not know)"
	case s.ix.depsOf(pi).err != nil:
		return ReasonMalformed, fmt.Sprintf("its dependency list (D:) cannot be parsed: %v",
			s.ix.depsOf(pi).err)
	case pi.badInstallIf() != nil:
		return ReasonMalformed, fmt.Sprintf("its install_if list (i:) cannot be parsed: %v",
			pi.badInstallIf())
	case !s.provided(d, p):
		return r.versionMismatch(name, d, p)
	case !ps.tagOK:
		return ReasonPinned, r.pinned(p.pkg, name)
	case ps.why != nil:
		return r.rejected(ps.why)
	case !s.autoSelectable(p):
		return ReasonNeedsChoice, fmt.Sprintf("provides %s without a version and has no "+
			"provider_priority, so it is chosen only when the world names %s", name, pi.pkg.Name)
	}
	if c := s.ns(id).chosen; c.pkg >= 0 && c.pkg != p.pkg {
		return ReasonNotChosen, fmt.Sprintf("%s was preferred for %s",
			s.pkg(c.pkg).NameVersion(), name)
	}
	return ReasonNotChosen, "not chosen"
}

// versionMismatch explains a provider whose version does not match d.
func (r *report) versionMismatch(name string, d *dep, p provider) (Reason, string) {
	want := strings.TrimPrefix(d.Constraint.String(), "!"+d.Name)
	want = strings.TrimPrefix(strings.TrimPrefix(want, d.Name), "@"+d.Tag)
	switch {
	case d.IsChecksum():
		return ReasonVersion, "its checksum is not " + d.Version
	case !p.versioned:
		return ReasonUnversioned, fmt.Sprintf("provides %s without a version, which never "+
			"meets a versioned constraint (%s) in apk-tools 2.14", name, want)
	case r.s.info(p.pkg).pkg.Name == name:
		return ReasonVersion, fmt.Sprintf("version %s does not satisfy %s", r.s.version(p), want)
	}
	return ReasonVersion, fmt.Sprintf("provides %s=%s, and %s is compared with the provided "+
		"version, not the package version", name, r.s.version(p), want)
}

// pinned explains a package only tagged repositories hold.
func (r *report) pinned(pkg int32, name string) string {
	var tags []string
	repos := r.s.info(pkg).repos
	for i, t := range r.s.ix.tags {
		if i > 0 && repos&r.s.ix.tagRepos[i] != 0 {
			tags = append(tags, "@"+t)
		}
	}
	if len(tags) == 0 {
		return "no repository allowed by the world's pinning holds it"
	}
	return fmt.Sprintf("only the repositories tagged %s hold it; write %s%s in the world to "+
		"allow them", strings.Join(tags, ", "), r.s.pkg(pkg).Name, tags[0])
}

// rejected explains a disqualification recorded during the solve.
func (r *report) rejected(w *rejection) (Reason, string) {
	s := r.s
	switch w.kind {
	case rejectConstraint:
		req := Requirer{Constraint: w.dep.Constraint}
		if w.from >= 0 {
			req.Package = s.pkg(w.from)
		}
		if w.dep.Conflict {
			return ReasonConflict, "conflicts with " + req.String()
		}
		return ReasonConflict, "excluded by " + req.String()
	case rejectDependency:
		return ReasonDependency, fmt.Sprintf("its dependency %s cannot be met", w.dep.Constraint.String())
	case rejectTransitivity:
		return ReasonConflict, fmt.Sprintf("it does not provide %s, which the other candidates "+
			"providing %s do", s.nameStr(w.other), s.nameStr(w.name))
	}
	if w.by.pkg < 0 {
		return ReasonTaken, fmt.Sprintf("%s was settled with no provider", s.nameStr(w.name))
	}
	return ReasonTaken, fmt.Sprintf("%s is already provided by %s", s.nameStr(w.name),
		s.pkg(w.by.pkg).NameVersion())
}

// chosenCandidate describes the chosen provider that breaks a conflict.
func (r *report) chosenCandidate(id int32, p provider) Candidate {
	c := Candidate{Package: r.s.pkg(p.pkg), Provides: r.provides(id, p), Reason: ReasonChosen}
	c.Detail = "chosen, as required by " + r.requirers(p.pkg)
	return c
}

// requirers lists who required package pkg: the applied constraints on its
// names that it meets.
func (r *report) requirers(pkg int32) string {
	var out []string
	for _, id := range r.s.namesOf(pkg) {
		for _, a := range r.s.ns(id).applied {
			if a.dep.Conflict || !r.s.meets(a.dep, pkg) {
				continue
			}
			req := Requirer{Constraint: a.dep.Constraint}
			if a.from >= 0 {
				req.Package = r.s.pkg(a.from)
			}
			if s := req.String(); !slices.Contains(out, s) {
				out = append(out, s)
			}
		}
	}
	switch {
	case len(out) > 0:
		return strings.Join(out, " ")
	case r.s.ps(pkg).iifTriggered:
		return "its install_if"
	}
	return "the dependencies common to all candidates of a name"
}

// path returns the chain of constraints from the world to package pkg:
// for each package, the first constraint (in the order the solve applied
// them) that it meets, held by the world or by a chosen package.
func (r *report) path(pkg int32) []Requirer {
	var chain []Requirer
	seen := map[int32]bool{pkg: true}
	for cur := pkg; cur >= 0; {
		from, req, ok := r.requirerOf(cur, seen)
		if !ok {
			break
		}
		chain = append(chain, req)
		seen[from] = true
		cur = from
	}
	slices.Reverse(chain)
	return chain
}

// requirerOf finds the first applied constraint that package pkg meets,
// from the world or from a chosen package not in seen.
func (r *report) requirerOf(pkg int32, seen map[int32]bool) (int32, Requirer, bool) {
	s := r.s
	for _, id := range s.namesOf(pkg) {
		for _, a := range s.ns(id).applied {
			if a.dep.Conflict || !s.meets(a.dep, pkg) {
				continue
			}
			if a.from < 0 {
				return -1, Requirer{Constraint: a.dep.Constraint}, true
			}
			if !seen[a.from] && s.isChosen(a.from) {
				return a.from, Requirer{Package: s.pkg(a.from), Constraint: a.dep.Constraint}, true
			}
		}
	}
	return -1, Requirer{}, false
}

// sameNames adds a problem for every name two chosen packages claim.
func (r *report) sameNames() {
	done := map[int32]bool{}
	for _, c := range r.s.sameName {
		if done[c.name] {
			continue
		}
		done[c.name] = true
		p := Problem{Kind: ProblemSameName, Constraint: apk.Constraint{Name: r.s.nameStr(c.name)}}
		for _, pr := range []provider{c.a, c.b} {
			if pr.pkg < 0 {
				continue
			}
			cand := Candidate{Package: r.s.pkg(pr.pkg), Provides: r.provides(c.name, pr),
				Reason: ReasonChosen}
			cand.Detail = fmt.Sprintf("provides %s, chosen as required by %s", cand.Provides,
				r.requirers(pr.pkg))
			p.Candidates = append(p.Candidates, cand)
		}
		r.problems = append(r.problems, p)
	}
}
