// Package resolve computes the closure of a world with apk-tools 2.14
// semantics: which packages `apk add` would install, in the order it would
// install them, and which installed packages it would remove.
//
// The specification is apk-reference.md §3 (dependency grammar, provides,
// provider selection, the world and the installed preference) and §8 items
// 6–7; section numbers in comments refer to it. The algorithm follows the
// deductive solver of apk-tools (alpinelinux/apk-tools:src/solver.c): world
// constraints are applied, names whose candidates narrow to one are settled
// first, common dependencies of all remaining candidates are propagated, and
// the remaining names are settled one at a time with the provider ordering
// of compare_providers (§3.3). The install order is apk's changeset order:
// a depth-first walk from the world, sorted by name, that records every
// package after its dependencies (generate_changeset).
//
// # Use
//
// Build the provider index once per architecture and solve any number of
// worlds against it:
//
//	s, err := resolve.NewSolver([]resolve.Repository{{Packages: pkgs}})
//	sol, err := s.Solve(resolve.Request{World: world, Installed: base})
//	for _, p := range sol.Packages { … } // dependencies before dependents
//
// A large index (Wolfi's: 200,000 records) costs far more to index than a
// world costs to solve. When the worlds are known in advance, as for
// `apkpack lock` and `apkpack resolve`, prune the repositories first:
// [Prune] keeps the records a solve can reach, as copies, so that the
// index can be dropped, and the solve gives the same answer.
//
// A world that cannot be met gives an [*UnsatisfiableError] listing, for
// each constraint that failed, who required it and why every candidate was
// rejected.
//
// # Where rules_apk differs from apk-tools
//
//   - apk-tools reads the installed database before the repositories, so
//     installed packages come first among the providers of a name. Here only
//     installed packages that no repository holds come first; installed
//     packages that a repository also holds keep the repository's position.
//     The order of providers only decides complete ties (§3.3 step 11 and
//     the order of candidates in error messages).
//   - Every installed package counts as installed from an untagged
//     repository: Request.Installed carries no repository tag.
//   - `apk add ARGS` marks its arguments with solver flags, which moves them
//     later in the solver's queue; a Request has no notion of arguments
//     besides UpgradeNames, so only those names are marked.
//   - A package whose D: or i: list cannot be parsed is never chosen, and the
//     error says why; apk-tools silently drops the malformed entry and what
//     follows it.
package resolve
