package demo

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"

	"github.com/rules-apk/rules_apk/tools/internal/apk"
	"github.com/rules-apk/rules_apk/tools/internal/lock"
)

// Required are the packages specs name directly, and names each of them
// must provide.
var Required = map[string][]string{
	"binutils":               {"cmd:ld", "cmd:as"},
	"ca-certificates-bundle": nil,
	"curl-dev":               {"pc:libcurl"},
	"demo-baselayout":        {"wolfi-baselayout"},
	"gcc":                    {"cmd:gcc", "cmd:cc"},
	"glibc":                  {"so:libc.so.6"},
	"glibc-dev":              nil,
	"ld-linux":               {"so:ld-linux-x86-64.so.2"},
	"libcurl-openssl4":       {"so:libcurl.so.4"},
	"libgcc":                 {"so:libgcc_s.so.1"},
}

// CheckError lists everything wrong with a demo repository.
type CheckError struct {
	Dir      string
	Problems []string
}

// Error lists the problems, one a line.
func (e *CheckError) Error() string {
	return fmt.Sprintf("checking demo repository %s: %d problems:\n  %s", e.Dir,
		len(e.Problems), strings.Join(e.Problems, "\n  "))
}

// Check verifies a built demo repository with apkpack: every snapshot's
// index and packages verify against the demo key, the index lists exactly
// the packages of the directory, every dependency of every package is met
// by a package of the same snapshot (the closure is complete), the names
// of [Required] exist, `apkpack version check` accepts every version, and
// v2/security.json credits v2's updates with fixes.
func Check(ctx context.Context, outDir, apkpack string) error {
	c := &checker{outDir: outDir, apkpack: apkpack}
	snaps := map[string][]*apk.Package{}
	for _, snap := range Snapshots {
		pkgs, err := c.snapshot(ctx, snap)
		if err != nil {
			return err
		}
		snaps[snap] = pkgs
	}
	if err := c.updates(snaps[SnapshotV1], snaps[SnapshotV2]); err != nil {
		return err
	}
	if len(c.problems) > 0 {
		return &CheckError{Dir: outDir, Problems: c.problems}
	}
	return nil
}

type checker struct {
	outDir, apkpack string
	problems        []string
}

func (c *checker) problem(format string, args ...any) {
	c.problems = append(c.problems, fmt.Sprintf(format, args...))
}

// snapshot checks one snapshot and returns its index records.
func (c *checker) snapshot(ctx context.Context, snap string) ([]*apk.Package, error) {
	dir := filepath.Join(c.outDir, snap, Arch)
	index := filepath.Join(dir, "APKINDEX.tar.gz")
	files, err := filepath.Glob(filepath.Join(dir, "*.apk"))
	if err != nil {
		return nil, err
	}
	if len(files) == 0 {
		return nil, fmt.Errorf("checking %s: no packages in %s", snap, dir)
	}
	key := filepath.Join(c.outDir, "keys", KeyFile+".pub")
	verify := append([]string{"verify", "--keyring", key, index}, files...)
	if out, err := c.run(ctx, verify...); err != nil {
		c.problem("%s: apkpack verify: %v\n%s", snap, err, failLines(out))
	}
	pkgs, err := c.inspect(ctx, index)
	if err != nil {
		return nil, err
	}
	c.files(snap, files, pkgs)
	c.closure(snap, pkgs)
	c.required(snap, pkgs)
	c.versions(ctx, snap, pkgs)
	return pkgs, nil
}

// files checks that the index lists exactly the directory's packages.
func (c *checker) files(snap string, files []string, pkgs []*apk.Package) {
	var onDisk, listed []string
	for _, f := range files {
		onDisk = append(onDisk, filepath.Base(f))
	}
	for _, p := range pkgs {
		listed = append(listed, p.Filename())
	}
	slices.Sort(listed)
	if !slices.Equal(onDisk, listed) {
		c.problem("%s: the index lists %v but the directory holds %v", snap, listed, onDisk)
	}
}

// closure checks that a package of the snapshot meets every dependency, and
// that no two packages provide one name at a version (apk would refuse
// to install both, §3.2).
func (c *checker) closure(snap string, pkgs []*apk.Package) {
	providers := map[string]string{}
	for _, p := range pkgs {
		for _, e := range apk.ListFields(p.Provides) {
			name, version := apk.ParseProvide(e)
			if other, ok := providers[name]; ok && version != "" {
				c.problem("%s: %s and %s both provide %s", snap, other, p.Name, name)
			}
			if version != "" {
				providers[name] = p.Name
			}
		}
	}
	for _, p := range pkgs {
		deps, err := apk.ParseConstraints(p.Depends)
		if err != nil {
			c.problem("%s: %s: %v", snap, p.NameVersion(), err)
			continue
		}
		for _, d := range deps {
			if d.Conflict {
				continue
			}
			if !slices.ContainsFunc(pkgs, d.SatisfiedBy) {
				c.problem("%s: %s needs %s, which no package provides", snap, p.NameVersion(), d)
			}
		}
	}
}

// required checks the names specs use.
func (c *checker) required(snap string, pkgs []*apk.Package) {
	for _, name := range sortedKeys(Required) {
		i := slices.IndexFunc(pkgs, func(p *apk.Package) bool { return p.Name == name })
		if i < 0 {
			c.problem("%s: package %s is missing", snap, name)
			continue
		}
		for _, want := range Required[name] {
			cons, err := apk.ParseConstraint(want)
			if err != nil || !cons.SatisfiedBy(pkgs[i]) {
				c.problem("%s: %s does not provide %s", snap, pkgs[i].NameVersion(), want)
			}
		}
	}
	for _, p := range pkgs {
		if p.Name == "libcurl-openssl4" && p.ProviderPriority != 10 {
			c.problem("%s: libcurl-openssl4 has provider_priority %d, want 10", snap,
				p.ProviderPriority)
		}
	}
}

// versions checks every version with `apkpack version check`.
func (c *checker) versions(ctx context.Context, snap string, pkgs []*apk.Package) {
	for _, p := range pkgs {
		if _, err := c.run(ctx, "version", "check", p.Version); err != nil {
			c.problem("%s: apkpack version check rejects %s of %s", snap, p.Version, p.Name)
		}
	}
}

// updates checks v2 against v1 and v2's security database.
func (c *checker) updates(v1, v2 []*apk.Package) error {
	b, err := os.ReadFile(filepath.Join(c.outDir, SnapshotV2, "security.json"))
	if err != nil {
		return fmt.Errorf("checking the security database: %w", err)
	}
	db, err := lock.ParseSecDB(b)
	if err != nil {
		return err
	}
	for _, old := range v1 {
		i := slices.IndexFunc(v2, func(p *apk.Package) bool { return p.Name == old.Name })
		if i < 0 {
			c.problem("v2 has no %s", old.Name)
			continue
		}
		neu := v2[i]
		cmp := apk.CompareVersions(old.Version, neu.Version)
		fixed := db.FixedBetween(old.Origin, old.Version, neu.Version)
		switch {
		case isUpdated(old.Origin) && (cmp >= 0 || len(fixed) == 0):
			c.problem("v2 updates %s (origin %s) from %s to %s, fixing %v; want a higher "+
				"version that fixes CVEs", old.Name, old.Origin, old.Version, neu.Version, fixed)
		case !isUpdated(old.Origin) && cmp != 0:
			c.problem("v2 changes %s from %s to %s, but does not update origin %s",
				old.Name, old.Version, neu.Version, old.Origin)
		}
	}
	return nil
}

// inspect reads an index's records with `apkpack inspect --json`.
func (c *checker) inspect(ctx context.Context, index string) ([]*apk.Package, error) {
	out, err := c.run(ctx, "inspect", "--json", index)
	if err != nil {
		return nil, fmt.Errorf("inspecting %s: %w", index, err)
	}
	var doc struct {
		Packages []struct {
			Name             string   `json:"name"`
			Version          string   `json:"version"`
			Origin           string   `json:"origin"`
			ProviderPriority uint64   `json:"provider_priority"`
			Depends          []string `json:"depends"`
			Provides         []string `json:"provides"`
		} `json:"packages"`
	}
	if err := json.Unmarshal(out, &doc); err != nil {
		return nil, fmt.Errorf("reading apkpack inspect --json %s: %w", index, err)
	}
	var pkgs []*apk.Package
	for _, r := range doc.Packages {
		pkgs = append(pkgs, &apk.Package{Name: r.Name, Version: r.Version, Origin: r.Origin,
			ProviderPriority: r.ProviderPriority, Depends: strings.Join(r.Depends, " "),
			Provides: strings.Join(r.Provides, " ")})
	}
	return pkgs, nil
}

// run runs apkpack and returns its stdout.
func (c *checker) run(ctx context.Context, args ...string) ([]byte, error) {
	var stdout, stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, c.apkpack, args...)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return stdout.Bytes(), fmt.Errorf("%w: %s", err, strings.TrimSpace(stderr.String()))
	}
	return stdout.Bytes(), nil
}

// failLines keeps the FAIL lines of apkpack verify's output.
func failLines(out []byte) string {
	var lines []string
	for line := range strings.Lines(string(out)) {
		if strings.Contains(line, "FAIL") {
			lines = append(lines, strings.TrimSpace(line))
		}
	}
	return strings.Join(lines, "\n")
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
