package layer

import (
	"cmp"
	"fmt"
	"slices"
	"strings"

	"github.com/rules-apk/rules_apk/tools/internal/apk"
	"github.com/rules-apk/rules_apk/tools/internal/lock"
)

// Graph is the dependency graph of a closure, computed from the lockfile's
// depends and provides: DependsOn[i] lists the indexes (into the closure
// passed to NewGraph) of the packages that satisfy package i's constraints.
type Graph struct {
	// DependsOn holds, per package, its providers in ascending index order,
	// without duplicates and without the package itself.
	DependsOn [][]int
	// Unsatisfied holds, per package, the constraints no package of the
	// closure satisfies (a base outside the lockfile, or an incomplete
	// lockfile).
	Unsatisfied [][]string
}

// NewGraph resolves every depends constraint of pkgs to the packages of pkgs
// that satisfy it, with apk-tools 2.14 semantics (apk.Constraint.SatisfiedBy:
// the package's own name and version, or a provides entry).
//
// A constraint is resolved to a single package when one package has the
// constraint's name as its own name (apk prefers the real package); else to
// every package that provides it. Conflicts ("!name") are not dependencies
// and are skipped.
func NewGraph(pkgs []lock.Package) (*Graph, error) {
	metas := make([]apk.Package, len(pkgs))
	byName := map[string]int{}
	for i, p := range pkgs {
		metas[i] = apk.Package{Name: p.Name, Version: p.Version,
			Provides: strings.Join(p.Provides, " ")}
		byName[p.Name] = i
	}
	g := &Graph{DependsOn: make([][]int, len(pkgs)), Unsatisfied: make([][]string, len(pkgs))}
	for i, p := range pkgs {
		for _, d := range p.Depends {
			c, err := apk.ParseConstraint(d)
			if err != nil {
				return nil, fmt.Errorf("reading depends of %s-%s: %w", p.Name, p.Version, err)
			}
			if c.Conflict {
				continue
			}
			found := providers(c, metas, byName)
			if len(found) == 0 {
				g.Unsatisfied[i] = append(g.Unsatisfied[i], d)
			}
			for _, j := range found {
				if j != i {
					g.DependsOn[i] = append(g.DependsOn[i], j)
				}
			}
		}
		slices.Sort(g.DependsOn[i])
		g.DependsOn[i] = slices.Compact(g.DependsOn[i])
	}
	return g, nil
}

// providers returns the packages satisfying c.
func providers(c apk.Constraint, metas []apk.Package, byName map[string]int) []int {
	if j, ok := byName[c.Name]; ok && c.SatisfiedBy(&metas[j]) {
		return []int{j}
	}
	var out []int
	for j := range metas {
		if c.SatisfiedBy(&metas[j]) {
			out = append(out, j)
		}
	}
	return out
}

// InstallOrder returns the order apk would unpack pkgs in: every package after
// the packages it depends on. apk-tools 2.14 sorts its changeset the same way
// (dependencies first); where the graph leaves a choice, this order is
// deterministic:
//
//  1. packages in a dependency cycle (glibc ↔ ld-linux) form one group,
//     ordered by name inside the group (Tarjan's strongly connected
//     components);
//  2. groups are emitted once every group they depend on is out (Kahn's
//     algorithm); among the groups ready at once, a group holding a package
//     that provides a "merged-*" name (Wolfi's wolfi-baselayout provides
//     merged-lib, merged-bin, merged-sbin and merged-usrsbin) goes first,
//     so that the lib, bin and sbin symlinks exist before any other package
//     ships files under those names; then by the smallest name.
//
// Example: with a → b, b → c, c → b and d (no depends), the groups are {a},
// {b, c} and {d}; {b, c} and {d} are ready first, so the order is b, c, d, a.
func InstallOrder(pkgs []lock.Package, g *Graph) []int {
	comps := sccs(g.DependsOn)
	compOf := make([]int, len(pkgs))
	for ci, comp := range comps {
		slices.SortFunc(comp, func(a, b int) int { return strings.Compare(pkgs[a].Name, pkgs[b].Name) })
		for _, i := range comp {
			compOf[i] = ci
		}
	}
	// Edges between groups: waiting[c] counts the groups c depends on.
	waiting := make([]int, len(comps))
	users := make([][]int, len(comps))
	for i, deps := range g.DependsOn {
		seen := map[int]bool{}
		for _, j := range deps {
			a, b := compOf[i], compOf[j]
			if a != b && !seen[b] {
				seen[b] = true
				waiting[a]++
				users[b] = append(users[b], a)
			}
		}
	}
	rank := func(c int) (bool, string) {
		merged := false
		for _, i := range comps[c] {
			merged = merged || providesMerged(pkgs[i])
		}
		return merged, pkgs[comps[c][0]].Name
	}
	less := func(a, b int) int {
		ma, na := rank(a)
		mb, nb := rank(b)
		if ma != mb {
			if ma {
				return -1
			}
			return 1
		}
		return cmp.Compare(na, nb)
	}
	var ready, order []int
	for c := range comps {
		if waiting[c] == 0 {
			ready = append(ready, c)
		}
	}
	for len(ready) > 0 {
		slices.SortFunc(ready, less)
		c := ready[0]
		ready = ready[1:]
		order = append(order, comps[c]...)
		for _, u := range users[c] {
			if waiting[u]--; waiting[u] == 0 {
				ready = append(ready, u)
			}
		}
	}
	return order
}

func providesMerged(p lock.Package) bool {
	for _, pr := range p.Provides {
		if name, _ := apk.ParseProvide(pr); strings.HasPrefix(name, "merged-") {
			return true
		}
	}
	return false
}

// sccs returns the strongly connected components of the graph (Tarjan's
// algorithm, iterative so that a deep chain cannot exhaust the stack).
func sccs(adj [][]int) [][]int {
	n := len(adj)
	index := make([]int, n)
	low := make([]int, n)
	onStack := make([]bool, n)
	for i := range index {
		index[i] = -1
	}
	var comps [][]int
	var st []int
	next := 0
	type frame struct{ v, edge int }
	for root := range n {
		if index[root] >= 0 {
			continue
		}
		calls := []frame{{root, 0}}
		index[root], low[root] = next, next
		next++
		st = append(st, root)
		onStack[root] = true
		for len(calls) > 0 {
			f := &calls[len(calls)-1]
			if f.edge < len(adj[f.v]) {
				w := adj[f.v][f.edge]
				f.edge++
				switch {
				case index[w] < 0:
					index[w], low[w] = next, next
					next++
					st = append(st, w)
					onStack[w] = true
					calls = append(calls, frame{w, 0})
				case onStack[w]:
					low[f.v] = min(low[f.v], index[w])
				}
				continue
			}
			v := f.v
			calls = calls[:len(calls)-1]
			if len(calls) > 0 {
				p := calls[len(calls)-1].v
				low[p] = min(low[p], low[v])
			}
			if low[v] == index[v] {
				var comp []int
				for {
					w := st[len(st)-1]
					st = st[:len(st)-1]
					onStack[w] = false
					comp = append(comp, w)
					if w == v {
						break
					}
				}
				comps = append(comps, comp)
			}
		}
	}
	return comps
}
