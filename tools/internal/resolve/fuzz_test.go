package resolve

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/rules-apk/rules_apk/tools/internal/apk"
)

// Fuzz vocabulary: small pools, so that random bytes make packages that
// depend on, provide and conflict with each other.
var (
	fuzzNames    = []string{"a", "b", "c", "d", "e", "f"}
	fuzzVersions = []string{"1", "1.5", "2", "2.0_rc1", "3-r1"}
	fuzzProvides = []string{"v", "v=1", "v=2", "so:x=1", "so:x=2", "a=9", "cmd:c", "b=1.5"}
	// Constraints: plain names three times in four, else the rare forms.
	fuzzDeps = []string{"a", "b", "c", "d", "e", "f", "v", "so:x", "cmd:c"}
	fuzzRare = []string{"v=1", "v>1", "so:x>=2", "a<2", "b~1", "c>=2", "!d", "!e<2", "!v",
		"a@t", "f><Q1AAAAAAAAAAAAAAAAAAAAAAAAAAA="}
)

// fuzzInput turns bytes into repositories, a world and installed packages.
type fuzzInput struct {
	b []byte
}

func (f *fuzzInput) next(n int) int {
	if len(f.b) == 0 || n <= 0 {
		return 0
	}
	v := int(f.b[0])
	f.b = f.b[1:]
	return v % n
}

func (f *fuzzInput) list(pool []string, max int) string {
	var out []string
	for range f.next(max + 1) {
		out = append(out, pool[f.next(len(pool))])
	}
	return strings.Join(out, " ")
}

// constraint picks a dependency-like constraint.
func (f *fuzzInput) constraint() string {
	if f.next(4) == 3 { // not 0: an exhausted input gives plain names
		return fuzzRare[f.next(len(fuzzRare))]
	}
	return fuzzDeps[f.next(len(fuzzDeps))]
}

func (f *fuzzInput) constraints(max int) string {
	var out []string
	for range f.next(max + 1) {
		out = append(out, f.constraint())
	}
	return strings.Join(out, " ")
}

func (f *fuzzInput) build() ([]Repository, Request) {
	repos := []Repository{{}, {Tag: "t"}}
	var all []*apk.Package
	for i := range 1 + f.next(14) {
		if i > 0 && len(f.b) == 0 {
			break
		}
		p := &apk.Package{
			Name:             fuzzNames[f.next(len(fuzzNames))],
			Version:          fuzzVersions[f.next(len(fuzzVersions))],
			Depends:          f.constraints(3),
			Provides:         f.list(fuzzProvides, 2),
			ProviderPriority: uint64(f.next(3)),
			InstalledSize:    uint64(f.next(2)),
			NotInstallable:   f.next(16) == 15,
		}
		if f.next(4) == 0 {
			p.InstallIf = f.constraints(2)
		}
		p.Checksum = apk.SHA1Checksum(sha1Sum(fmt.Sprint(i, p)))
		r := f.next(3) / 2 // mostly the untagged repository
		repos[r].Packages = append(repos[r].Packages, p)
		all = append(all, p)
		if f.next(6) == 0 { // the same record in the other repository too
			repos[1-r].Packages = append(repos[1-r].Packages, p)
		}
	}
	var req Request
	for range 1 + f.next(3) {
		c, err := apk.ParseConstraint(f.constraint())
		if err == nil {
			req.World = append(req.World, c)
		}
	}
	for _, p := range all {
		if f.next(4) == 0 {
			req.Installed = append(req.Installed, p)
		}
	}
	req.Upgrade = f.next(4) == 0
	req.Latest = f.next(6) == 0
	return repos, req
}

// FuzzSolve solves random small repositories and worlds and checks the
// invariants of every successful solution (checkSolution). Any solve must
// end, without a panic, in a solution or an error, and solving twice must
// give the same answer.
func FuzzSolve(f *testing.F) {
	for _, seed := range [][]byte{
		{3, 0, 1, 2, 0, 0, 0, 0, 1, 0, 0, 0},
		{9, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20},
		[]byte("mta postfix exim mail-reader"),
		{5, 0, 0, 1, 0, 1, 1, 1, 2, 0, 2, 0, 2, 1, 3, 0, 0, 2, 5, 0, 1, 1},
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		in := &fuzzInput{b: data}
		repos, req := in.build()
		sol, err := Solve(repos, req)
		again, err2 := Solve(repos, req)
		if fmt.Sprint(err) != fmt.Sprint(err2) {
			t.Fatalf("two solves differ: %v / %v", err, err2)
		}
		checkPrune(t, repos, req, sol, err)
		if err != nil {
			var ue *UnsatisfiableError
			if !errors.As(err, &ue) || len(ue.Problems) == 0 {
				t.Fatalf("unexpected error %v", err)
			}
			return
		}
		if !slices.Equal(names(sol.Packages), names(again.Packages)) {
			t.Fatalf("two solves differ: %v / %v", names(sol.Packages), names(again.Packages))
		}
		if err := checkSolution(req, sol); err != nil {
			t.Fatalf("%v\nworld %v\nclosure %v", err, req.World, names(sol.Packages))
		}
	})
}

// checkPrune checks that solving against the pruned repositories gives
// the same answer, error or changes as against all of them.
func checkPrune(t *testing.T, repos []Repository, req Request, sol *Solution, err error) {
	t.Helper()
	pruned, perr := Prune(repos, req)
	var psol *Solution
	if perr == nil {
		psol, perr = Solve(pruned, req)
	}
	if fmt.Sprint(err) != fmt.Sprint(perr) {
		t.Fatalf("pruned solve differs:\n%v\n%v", err, perr)
	}
	if err != nil {
		return
	}
	if got, want := names(psol.Packages), names(sol.Packages); !slices.Equal(got, want) {
		t.Fatalf("pruned solve gives %v, want %v", got, want)
	}
	if got, want := changeLines(psol), changeLines(sol); !slices.Equal(got, want) {
		t.Fatalf("pruned solve differs:\n%v\n%v", want, got)
	}
	if got, want := names(psol.Removed), names(sol.Removed); !slices.Equal(got, want) {
		t.Fatalf("pruned solve removes %v, want %v", got, want)
	}
}

// checkSolution verifies what any apk-tools solution guarantees: every
// world constraint and every dependency of every chosen package is met
// within the closure, no conflict is broken, no name is chosen twice, no
// two packages claim one versioned name, and dependencies are installed
// before their dependents except inside cycles.
func checkSolution(req Request, sol *Solution) error {
	closure := sol.Packages
	pos := map[*apk.Package]int{}
	for i, p := range closure {
		if _, dup := pos[p]; dup {
			return fmt.Errorf("%s twice in the closure", p.NameVersion())
		}
		pos[p] = i
	}
	if err := checkNames(closure); err != nil {
		return err
	}
	// One constraint per name: the later one counts (§3.1).
	last := map[string]apk.Constraint{}
	for _, c := range req.World {
		last[c.Name] = c
	}
	for _, c := range last {
		if err := checkMet(closure, c, "world"); err != nil {
			return err
		}
	}
	for _, p := range closure {
		deps, err := apk.ParseConstraints(p.Depends)
		if err != nil {
			return fmt.Errorf("%s with a malformed D: list was chosen", p.NameVersion())
		}
		for _, d := range deps {
			if err := checkMet(closure, d, p.NameVersion()); err != nil {
				return err
			}
			if err := checkOrder(closure, pos, p, d); err != nil {
				return err
			}
		}
		if p.NotInstallable {
			return fmt.Errorf("%s is not installable but was chosen", p.NameVersion())
		}
	}
	for _, r := range sol.Removed {
		if !slices.Contains(req.Installed, r) {
			return fmt.Errorf("removed %s was not installed", r.NameVersion())
		}
	}
	return nil
}

// checkNames: one package per name, and a name provided with a version has
// one provider (§3.2).
func checkNames(closure []*apk.Package) error {
	type claim struct {
		by        *apk.Package
		versioned bool
	}
	claims := map[string][]claim{}
	for _, p := range closure {
		claims[p.Name] = append(claims[p.Name], claim{p, true})
		for _, e := range apk.ListFields(p.Provides) {
			name, version := apk.ParseProvide(e)
			claims[name] = append(claims[name], claim{p, version != ""})
		}
	}
	for name, cs := range claims {
		if len(cs) < 2 {
			continue
		}
		for _, c := range cs {
			if c.versioned {
				return fmt.Errorf("%s is claimed %d times, by %s with a version", name, len(cs),
					c.by.NameVersion())
			}
		}
	}
	return nil
}

// checkMet checks one constraint against the closure.
func checkMet(closure []*apk.Package, c apk.Constraint, who string) error {
	expr := c
	expr.Conflict = false
	var match *apk.Package
	for _, p := range closure {
		if expr.SatisfiedBy(p) {
			match = p
			break
		}
	}
	switch {
	case c.Conflict && match != nil:
		return fmt.Errorf("%s[%s] is broken by %s", who, c.String(), match.NameVersion())
	case !c.Conflict && match == nil:
		return fmt.Errorf("%s[%s] is not met by the closure", who, c.String())
	}
	return nil
}

// checkOrder: a provider of d comes before p, unless p is one of the
// providers' (transitive) dependencies, i.e. they are in a cycle.
func checkOrder(closure []*apk.Package, pos map[*apk.Package]int, p *apk.Package, d apk.Constraint) error {
	if d.Conflict || d.SatisfiedBy(p) {
		return nil
	}
	var later []*apk.Package
	for _, q := range closure {
		if !d.SatisfiedBy(q) {
			continue
		}
		if pos[q] < pos[p] {
			return nil
		}
		later = append(later, q)
	}
	if len(later) == 0 || slices.ContainsFunc(later, func(q *apk.Package) bool {
		return reaches(closure, q, p)
	}) {
		return nil // unmet is checkMet's to report; or a cycle
	}
	return fmt.Errorf("%s is installed before its dependency %s", p.NameVersion(), later[0].NameVersion())
}

// reaches reports whether the changeset walk goes from package from to
// package to within the closure: through dependencies (conflicts included:
// apk-tools walks the name of a !name constraint too), and from a package
// to the install_if packages it triggers, which apk-tools records right
// after their trigger.
func reaches(closure []*apk.Package, from, to *apk.Package) bool {
	seen := map[*apk.Package]bool{from: true}
	stack := []*apk.Package{from}
	for len(stack) > 0 {
		p := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		for _, q := range closure {
			if seen[q] || !dependsOn(p, q) && !triggers(p, q) {
				continue
			}
			if q == to {
				return true
			}
			seen[q] = true
			stack = append(stack, q)
		}
	}
	return false
}

// dependsOn reports whether a dependency of p names a name q provides.
func dependsOn(p, q *apk.Package) bool {
	deps, _ := apk.ParseConstraints(p.Depends)
	return slices.ContainsFunc(deps, func(d apk.Constraint) bool {
		return apk.Constraint{Name: d.Name}.SatisfiedBy(q)
	})
}

// triggers reports whether p meets a constraint of q's install_if.
func triggers(p, q *apk.Package) bool {
	iif, _ := apk.ParseConstraints(q.InstallIf)
	return slices.ContainsFunc(iif, func(d apk.Constraint) bool { return !d.Conflict && d.SatisfiedBy(p) })
}
