package resolve

import (
	"crypto/sha1"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"testing"

	"github.com/rules-apk/rules_apk/tools/internal/apk"
)

// parseRecords reads APKINDEX-style text (one "X:value" line per field,
// records separated by blank lines) into packages. It reads the fields the
// solver uses. A record without C: gets the SHA-1 of its text as checksum,
// so that distinct records never merge; one without I: gets size 1, as the
// apk-tools solver fixtures do (size 0 marks a meta package, which passes
// any pinning).
func parseRecords(t testing.TB, text string) []*apk.Package {
	t.Helper()
	var out []*apk.Package
	for _, block := range strings.Split(strings.TrimSpace(text), "\n\n") {
		block = strings.TrimSpace(block)
		if block == "" {
			continue
		}
		p, err := parseRecord(block)
		if err != nil {
			t.Fatalf("fixture record %q: %v", block, err)
		}
		out = append(out, p)
	}
	return out
}

func parseRecord(block string) (*apk.Package, error) {
	p := &apk.Package{InstalledSize: 1}
	for _, line := range strings.Split(block, "\n") {
		line = strings.TrimSpace(line)
		if len(line) < 2 || line[1] != ':' {
			return nil, fmt.Errorf("line %q is not X:value", line)
		}
		if err := setField(p, line[0], line[2:]); err != nil {
			return nil, fmt.Errorf("line %q: %w", line, err)
		}
	}
	if p.Checksum.IsZero() {
		p.Checksum = apk.SHA1Checksum(sha1Sum(block))
	}
	return p, nil
}

func sha1Sum(s string) []byte {
	sum := sha1.Sum([]byte(s))
	return sum[:]
}

func setField(p *apk.Package, letter byte, v string) error {
	var err error
	switch letter {
	case 'C':
		p.Checksum, err = apk.ParseChecksum(v)
	case 'P':
		p.Name = v
	case 'V':
		p.Version = v
	case 'A':
		p.Arch = v
	case 'I':
		p.InstalledSize, err = strconv.ParseUint(v, 10, 64)
	case 'k':
		p.ProviderPriority, err = strconv.ParseUint(v, 10, 64)
	case 'D':
		p.Depends = v
	case 'p':
		p.Provides = v
	case 'i':
		p.InstallIf = v
	case 'X': // test-only: an unknown upper-case letter
		p.NotInstallable = true
	case 'S', 'T', 'U', 'L', 'o', 'm', 't', 'c':
	default:
		return fmt.Errorf("unknown field letter %q", letter)
	}
	return err
}

// world parses a space-separated world.
func world(t testing.TB, s string) []apk.Constraint {
	t.Helper()
	cs, err := apk.ParseConstraints(s)
	if err != nil {
		t.Fatal(err)
	}
	return cs
}

// pick returns the packages named "name-version" from pkgs.
func pick(t testing.TB, pkgs []*apk.Package, nvs ...string) []*apk.Package {
	t.Helper()
	var out []*apk.Package
	for _, nv := range nvs {
		var found *apk.Package
		for _, p := range pkgs {
			if p.NameVersion() == nv {
				found = p
				break
			}
		}
		if found == nil {
			t.Fatalf("fixture has no package %s", nv)
		}
		out = append(out, found)
	}
	return out
}

// names formats packages as name-version.
func names(pkgs []*apk.Package) []string {
	out := []string{}
	for _, p := range pkgs {
		out = append(out, p.NameVersion())
	}
	return out
}

// changeLines prints the changeset the way apk-tools prints its changes
// (commit.c:print_change), without the counters; kept packages are silent.
func changeLines(sol *Solution) []string {
	out := []string{}
	for _, c := range sol.Changes {
		switch c.Kind() {
		case Install:
			out = append(out, fmt.Sprintf("Installing %s (%s)", c.New.Name, c.New.Version))
		case Remove:
			out = append(out, fmt.Sprintf("Purging %s (%s)", c.Old.Name, c.Old.Version))
		case Upgrade:
			out = append(out, fmt.Sprintf("Upgrading %s (%s -> %s)", c.New.Name, c.Old.Version, c.New.Version))
		case Downgrade:
			out = append(out, fmt.Sprintf("Downgrading %s (%s -> %s)", c.New.Name, c.Old.Version, c.New.Version))
		case Replace:
			out = append(out, fmt.Sprintf("Replacing %s (%s -> %s)", c.New.Name, c.Old.Version, c.New.Version))
		}
	}
	return out
}

// unsat returns the UnsatisfiableError in err, failing the test otherwise.
func unsat(t testing.TB, err error) *UnsatisfiableError {
	t.Helper()
	var ue *UnsatisfiableError
	if !errors.As(err, &ue) {
		t.Fatalf("got error %v, want an *UnsatisfiableError", err)
	}
	return ue
}
