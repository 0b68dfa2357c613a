package resolve

import (
	"github.com/rules-apk/rules_apk/tools/internal/apk"
)

// Repository is the index of one repository for one architecture.
//
// The order of a []Repository is apk's repository order, the order of the
// lines of /etc/apk/repositories: when every other criterion ties, the
// package of the lowest-index repository wins (§3.3 step 11).
type Repository struct {
	// Tag is the repository's pinning tag ("edge" for a line "@edge url"),
	// or "" for an untagged repository. Packages of a tagged repository are
	// chosen only when the world asks for them with name@tag, or for the
	// dependencies of such a package (§3.3, pinning).
	Tag string
	// Packages are the index records, in index order. Records with the same
	// decoded C: checksum, in this repository or another, are one package
	// (§1.2, §8 item 3): the first record is kept.
	Packages []*apk.Package
}

// Request is one solve: the world and the installed state it starts from.
type Request struct {
	// World holds the requested constraints (the contents of etc/apk/world
	// plus the arguments of `apk add`). A world holds one constraint per
	// name: a later constraint on a name replaces an earlier one (§3.1).
	World []apk.Constraint
	// Installed is the installed database (the base image, or the
	// previously locked closure). Installed packages are preferred over
	// newer versions unless upgrading (§3.4); those no longer needed are
	// reported in Solution.Removed. A record whose C: checksum equals an
	// index record's is that package.
	Installed []*apk.Package
	// Upgrade prefers the newest versions over installed packages, as
	// `apk upgrade` (or `apk add -u`) does.
	Upgrade bool
	// UpgradeNames limits Upgrade and Latest to the packages providing these
	// names and what they pull in, as `apk add -u NAME…` does; a non-empty
	// list implies Upgrade. Empty means the whole world.
	UpgradeNames []string
	// Latest always picks the newest version, even over a package the
	// world's pinning would otherwise prefer, as `apk upgrade --latest`
	// does (§3.3: steps 2–5 are replaced by "pinning allowed").
	Latest bool
}

// Solution is the closure of a world.
type Solution struct {
	// Packages is the closure in install order: every package after the
	// packages it depends on (except inside dependency cycles), exactly as
	// apk-tools orders its changeset. It includes installed packages that
	// are kept unchanged.
	Packages []*apk.Package
	// Removed lists the installed packages that the world no longer needs
	// (orphans), in the order apk-tools would remove them. Packages replaced
	// by another version of the same name are not listed here; see Changes.
	Removed []*apk.Package
	// Changes is apk's changeset: one entry per installed, kept, upgraded,
	// downgraded, replaced or removed package, in the order apk-tools
	// performs them.
	Changes []Change
}

// ChangeKind says what a Change does.
type ChangeKind int

// Change kinds.
const (
	Keep      ChangeKind = iota // Old and New are the same package
	Install                     // only New
	Upgrade                     // New has a higher version than Old
	Downgrade                   // New has a lower version than Old
	Replace                     // same version, different package (another checksum)
	Remove                      // only Old
)

var changeKindNames = [...]string{"keep", "install", "upgrade", "downgrade", "replace", "remove"}

// String returns the kind as a lowercase word ("install", "upgrade", …).
func (k ChangeKind) String() string {
	if k < 0 || int(k) >= len(changeKindNames) {
		return "unknown"
	}
	return changeKindNames[k]
}

// Change is one step of the changeset.
type Change struct {
	// Old is the installed package (from Request.Installed), or nil.
	Old *apk.Package
	// New is the package to install or keep, or nil for a removal. When
	// the package is in a repository this is the repository's record.
	New *apk.Package
	// Repository is the index in the []Repository of the repository New is
	// fetched from (the lowest-index one that holds it), or -1 when New is
	// nil or no repository holds it (an installed package kept as is).
	Repository int
}

// Kind classifies the change.
func (c Change) Kind() ChangeKind {
	switch {
	case c.New == nil:
		return Remove
	case c.Old == nil:
		return Install
	case c.Old == c.New || c.Old.Checksum == c.New.Checksum && !c.New.Checksum.IsZero():
		return Keep
	}
	switch apk.CompareVersions(c.New.Version, c.Old.Version) {
	case 1:
		return Upgrade
	case -1:
		return Downgrade
	}
	return Replace
}

// Solve builds the provider index of repos and solves req against it. To
// solve several worlds against the same repositories, use [NewSolver] once
// and [Solver.Solve] for each world.
func Solve(repos []Repository, req Request) (*Solution, error) {
	s, err := NewSolver(repos)
	if err != nil {
		return nil, err
	}
	return s.Solve(req)
}
