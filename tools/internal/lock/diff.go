package lock

import (
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/rules-apk/rules_apk/tools/internal/apk"
)

// ChangeKind says how a package changed between two lockfiles.
type ChangeKind string

// Change kinds.
const (
	Added      ChangeKind = "added"
	Removed    ChangeKind = "removed"
	Upgraded   ChangeKind = "upgraded"
	Downgraded ChangeKind = "downgraded"
	// Rebuilt: same version, different file (a rebuilt package).
	Rebuilt ChangeKind = "rebuilt"
)

// Change is one package's change in one arch.
type Change struct {
	Arch       string     `json:"arch"`
	Name       string     `json:"name"`
	Kind       ChangeKind `json:"kind"`
	OldVersion string     `json:"old_version,omitempty"`
	NewVersion string     `json:"new_version,omitempty"`
	// Fixes lists the vulnerabilities the new version fixes, when a
	// security database was given.
	Fixes []string `json:"fixes,omitempty"`
}

// Diff compares two lockfiles per arch and name. With a security database,
// each upgrade lists the vulnerabilities its new version fixes, looked up
// by the package's origin (secdb entries are per source package) and then
// by its name.
func Diff(old, new *Lockfile, sec *SecDB) []Change {
	index := func(l *Lockfile) map[[2]string]Package {
		m := map[[2]string]Package{}
		for _, p := range l.Packages {
			m[[2]string{p.Arch, p.Name}] = p
		}
		return m
	}
	o, n := index(old), index(new)
	var changes []Change
	for k, np := range n {
		op, ok := o[k]
		c := Change{Arch: k[0], Name: k[1], NewVersion: np.Version}
		switch {
		case !ok:
			c.Kind = Added
		default:
			c.OldVersion = op.Version
			switch cmp := apk.CompareVersions(np.Version, op.Version); {
			case cmp > 0:
				c.Kind = Upgraded
				c.Fixes = fixes(sec, np, op.Version)
			case cmp < 0:
				c.Kind = Downgraded
			case np.SHA256 != op.SHA256:
				c.Kind = Rebuilt
			default:
				continue
			}
		}
		changes = append(changes, c)
	}
	for k, op := range o {
		if _, ok := n[k]; !ok {
			changes = append(changes, Change{Arch: k[0], Name: k[1], Kind: Removed, OldVersion: op.Version})
		}
	}
	sort.Slice(changes, func(i, j int) bool {
		a, b := changes[i], changes[j]
		if a.Arch != b.Arch {
			return a.Arch < b.Arch
		}
		return a.Name < b.Name
	})
	return changes
}

func fixes(sec *SecDB, p Package, from string) []string {
	if sec == nil {
		return nil
	}
	for _, name := range []string{p.Origin, p.Name} {
		if name == "" {
			continue
		}
		if ids := sec.FixedBetween(name, from, p.Version); len(ids) > 0 {
			return ids
		}
	}
	return nil
}

// WriteText prints changes for people: one line per change, grouped by arch,
// then a summary line. "no changes" when there are none.
func WriteText(w io.Writer, changes []Change) error {
	if len(changes) == 0 {
		_, err := fmt.Fprintln(w, "no changes")
		return err
	}
	var b strings.Builder
	arch := ""
	counts := map[ChangeKind]int{}
	fixed := 0
	for _, c := range changes {
		if c.Arch != arch {
			arch = c.Arch
			fmt.Fprintf(&b, "%s:\n", arch)
		}
		counts[c.Kind]++
		fixed += len(c.Fixes)
		switch c.Kind {
		case Added:
			fmt.Fprintf(&b, "  + %s %s\n", c.Name, c.NewVersion)
		case Removed:
			fmt.Fprintf(&b, "  - %s %s\n", c.Name, c.OldVersion)
		default:
			fmt.Fprintf(&b, "  ~ %s %s -> %s (%s)", c.Name, c.OldVersion, c.NewVersion, c.Kind)
			if len(c.Fixes) > 0 {
				fmt.Fprintf(&b, " fixes %s", strings.Join(c.Fixes, ", "))
			}
			b.WriteString("\n")
		}
	}
	fmt.Fprintf(&b, "%d added, %d removed, %d upgraded, %d downgraded, %d rebuilt; %d vulnerabilities fixed\n",
		counts[Added], counts[Removed], counts[Upgraded], counts[Downgraded], counts[Rebuilt], fixed)
	_, err := io.WriteString(w, b.String())
	return err
}
