package lock

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"

	"log/slog"
	"maps"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"slices"
	"sort"
	"strings"

	"github.com/rules-apk/rules_apk/tools/internal/apk"
	"github.com/rules-apk/rules_apk/tools/internal/repo"
	"github.com/rules-apk/rules_apk/tools/internal/resolve"
	"github.com/rules-apk/rules_apk/tools/internal/spec"
)

// GenerateOptions configures Generate.
type GenerateOptions struct {
	// Spec is the spec to lock; SpecDir the directory of its file (the
	// digest and the keyring paths are recorded relative to it).
	Spec    *spec.Spec
	SpecDir string
	// Previous is the lockfile being refreshed, or nil. Its versions are
	// kept while the spec still allows them, as apk keeps installed
	// packages (§3.4), unless Upgrade is set.
	Previous *Lockfile
	// Upgrade takes the newest versions; UpgradeNames limits that to these
	// names and what they pull in (apk add -u NAME…).
	Upgrade      bool
	UpgradeNames []string
	// Client fetches indexes, keys and packages.
	Client *repo.Client
	// Parallelism bounds concurrent package downloads (0: the client's
	// default).
	Parallelism int
	// Mirrors rewrites URLs for fetching only: a URL starting with a key
	// is fetched from the value plus the rest of the URL, while the
	// lockfile keeps the original URL (a corporate mirror, or a local copy
	// of a repository). The longest matching prefix wins.
	Mirrors Mirrors
	// Logger receives warnings and progress; nil discards them.
	Logger *slog.Logger
}

// Mirrors maps URL prefixes (FROM) to where their content is fetched from
// instead (TO): a corporate mirror, or a local copy of a repository. Only
// fetching changes; lockfiles keep the FROM URLs, so a lockfile locked
// through a mirror holds on a machine that reaches the real repository.
type Mirrors map[string]string

// ParseMirror parses a FROM=TO mirror flag into its two URLs.
func ParseMirror(s string) (from, to string, err error) {
	from, to, ok := strings.Cut(s, "=")
	if !ok || from == "" || to == "" {
		return "", "", fmt.Errorf("mirror %q: write FROM=TO, e.g. https://packages.wolfi.dev/os=file:///srv/wolfi", s)
	}
	return strings.TrimRight(from, "/"), strings.TrimRight(to, "/"), nil
}

// ParseMirrors parses FROM=TO flags; nil for none.
func ParseMirrors(flags []string) (Mirrors, error) {
	if len(flags) == 0 {
		return nil, nil
	}
	m := Mirrors{}
	for _, f := range flags {
		from, to, err := ParseMirror(f)
		if err != nil {
			return nil, err
		}
		m[from] = to
	}
	return m, nil
}

// Rewrite returns where to fetch u from: u with the longest FROM prefix it
// starts with (whole path segments only) replaced by its TO, else u.
//
// With https://demo.rules-apk.invalid=file:///srv/demo,
// https://demo.rules-apk.invalid/v1/x86_64/APKINDEX.tar.gz becomes
// file:///srv/demo/v1/x86_64/APKINDEX.tar.gz, and
// https://demo.rules-apk.invalid2/x stays as it is.
func (m Mirrors) Rewrite(u string) string {
	best := ""
	for from := range m {
		if (u == from || strings.HasPrefix(u, from+"/")) && len(from) > len(best) {
			best = from
		}
	}
	if best == "" {
		return u
	}
	return m[best] + strings.TrimPrefix(u, best)
}

// fetchURL applies the mirrors to u.
func (g *generator) fetchURL(u string) string { return g.opts.Mirrors.Rewrite(u) }

// Generate resolves the spec's world for every arch and pins each package
// of the closures: every index is verified against the keyring, every
// package is downloaded once and its chain checked (index signature → C: →
// datahash → per-file SHA-1) before its SHA-256 is recorded.
func Generate(ctx context.Context, opts GenerateOptions) (*Lockfile, error) {
	g := &generator{opts: opts, log: opts.Logger}
	if g.log == nil {
		g.log = slog.New(slog.DiscardHandler)
	}
	return g.run(ctx)
}

type generator struct {
	opts    GenerateOptions
	log     *slog.Logger
	keyring *apk.Keyring
	out     *Lockfile
	// previous maps arch/checksum to the previous lockfile's entry.
	previous map[string]Package
	// previousBase is the lockfile named by the spec's base.lockfile.
	previousBase *Lockfile
}

func (g *generator) run(ctx context.Context) (*Lockfile, error) {
	s := g.opts.Spec
	g.out = &Lockfile{
		Version:    Version,
		SpecDigest: s.Digest(g.opts.SpecDir),
		Archs:      append([]string(nil), s.Archs...),
		OSRelease:  s.OSRelease,
	}
	if err := g.loadKeyring(ctx); err != nil {
		return nil, err
	}
	world, baseWorld, err := g.worlds()
	if err != nil {
		return nil, err
	}
	g.out.World = worldStrings(append(append([]apk.Constraint(nil), baseWorld...), world...))
	g.indexPrevious()
	for _, r := range s.Repositories {
		g.out.Repositories = append(g.out.Repositories, Repository{URL: r.URL, Tag: r.Tag})
	}
	for _, arch := range s.Archs {
		if err := g.lockArch(ctx, arch, world, baseWorld); err != nil {
			return nil, err
		}
	}
	g.warnArchDifferences()
	g.out.Sort()
	if err := g.out.Validate(); err != nil {
		return nil, fmt.Errorf("checking the new lockfile: %w", err)
	}
	return g.out, nil
}

// loadKeyring reads every key of the spec, from URLs (through the cache) or
// from files.
func (g *generator) loadKeyring(ctx context.Context) error {
	g.keyring = apk.NewKeyring()
	for _, k := range g.opts.Spec.Keyring {
		p := k
		if strings.Contains(k, "://") {
			res, err := g.opts.Client.Fetch(ctx, repo.Request{URL: g.fetchURL(k)})
			if err != nil {
				return fmt.Errorf("fetching key: %w", err)
			}
			p = res.Path
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return fmt.Errorf("reading key: %w", err)
		}
		name := keyName(k)
		if err := g.keyring.Add(name, b); err != nil {
			return err
		}
		sum := sha256.Sum256(b)
		g.out.Keyring = append(g.out.Keyring, Key{Name: name, URL: g.relative(k), SHA256: hex.EncodeToString(sum[:])})
	}
	return nil
}

func keyName(k string) string {
	if u, err := url.Parse(k); err == nil && u.Scheme != "" {
		return path.Base(u.Path)
	}
	return filepath.Base(k)
}

// relative records a path relative to the spec's directory so that the
// lockfile does not depend on where the workspace is checked out.
func (g *generator) relative(p string) string {
	if !filepath.IsAbs(p) || g.opts.SpecDir == "" {
		return p
	}
	if r, err := filepath.Rel(g.opts.SpecDir, p); err == nil {
		return filepath.ToSlash(r)
	}
	return p
}

// worlds parses the spec's packages and its base's constraints.
func (g *generator) worlds() (world, base []apk.Constraint, err error) {
	parse := func(list []string, where string) ([]apk.Constraint, error) {
		var out []apk.Constraint
		for _, s := range list {
			c, err := apk.ParseConstraint(s)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", where, err)
			}
			out = append(out, c)
		}
		return out, nil
	}
	if world, err = parse(g.opts.Spec.Packages, "contents.packages"); err != nil {
		return nil, nil, err
	}
	b := g.opts.Spec.Base
	switch {
	case b == nil:
	case b.Lockfile != "":
		bl, err := Load(b.Lockfile)
		if err != nil {
			return nil, nil, fmt.Errorf("base.lockfile: %w", err)
		}
		if base, err = parse(bl.World, "base.lockfile world"); err != nil {
			return nil, nil, err
		}
		g.previousBase = bl
	default:
		if base, err = parse(b.Packages, "base.packages"); err != nil {
			return nil, nil, err
		}
	}
	return world, base, nil
}

func worldStrings(cs []apk.Constraint) []string {
	byName := map[string]string{}
	for _, c := range cs {
		// One constraint per name: the later replaces the earlier (§3.1).
		byName[c.Name] = c.String()
	}
	out := make([]string, 0, len(byName))
	for _, s := range byName {
		out = append(out, s)
	}
	sort.Strings(out)
	return out
}

func (g *generator) indexPrevious() {
	g.previous = map[string]Package{}
	if g.opts.Previous == nil {
		return
	}
	for _, p := range g.opts.Previous.Packages {
		g.previous[p.Arch+"/"+p.Checksum] = p
	}
}

// lockArch resolves one arch and pins its closure.
func (g *generator) lockArch(ctx context.Context, arch string, world, baseWorld []apk.Constraint) error {
	repos, err := g.loadIndexes(ctx, arch)
	if err != nil {
		return err
	}
	// Index only what the worlds and the locked packages can reach (a
	// superset of what the base solve and the solve look at): the full
	// indexes are dropped here.
	seeds, err := g.lockedPackages(arch)
	if err != nil {
		return err
	}
	repos, err = resolve.Prune(repos, resolve.Request{
		World:        append(append([]apk.Constraint(nil), baseWorld...), world...),
		Installed:    seeds,
		UpgradeNames: g.opts.UpgradeNames,
	})
	if err != nil {
		return fmt.Errorf("indexing %s repositories: %w", arch, err)
	}
	solver, err := resolve.NewSolver(repos)
	if err != nil {
		return fmt.Errorf("indexing %s repositories: %w", arch, err)
	}
	installed, base, err := g.installed(solver, arch, baseWorld, available(repos))
	if err != nil {
		return err
	}
	sol, err := solver.Solve(resolve.Request{
		World:        append(append([]apk.Constraint(nil), baseWorld...), world...),
		Installed:    installed,
		Upgrade:      g.opts.Upgrade,
		UpgradeNames: g.opts.UpgradeNames,
	})
	if err != nil {
		return fmt.Errorf("resolving the world for %s: %w", arch, err)
	}
	g.log.Info("resolved", "arch", arch, "packages", len(sol.Packages))
	return g.pin(ctx, arch, sol, base)
}

// loadIndexes fetches and verifies the index of every repository for arch.
func (g *generator) loadIndexes(ctx context.Context, arch string) ([]resolve.Repository, error) {
	var repos []resolve.Repository
	for i, r := range g.opts.Spec.Repositories {
		u := repo.IndexURL(r.URL, arch)
		res, err := g.opts.Client.Fetch(ctx, repo.Request{URL: g.fetchURL(u), Revalidate: true})
		if err != nil {
			return nil, fmt.Errorf("fetching index: %w", err)
		}
		idx, err := readIndexFile(res.Path, g.keyring)
		if err != nil {
			return nil, fmt.Errorf("reading index %s: %w", u, err)
		}
		g.out.Repositories[i].Indexes = append(g.out.Repositories[i].Indexes,
			Index{Arch: arch, URL: u, SignedBy: idx.SignedBy})
		pkgs := make([]*apk.Package, len(idx.Packages))
		for j := range idx.Packages {
			pkgs[j] = &idx.Packages[j]
		}
		repos = append(repos, resolve.Repository{Tag: r.Tag, Packages: pkgs})
		g.log.Info("index", "url", u, "packages", len(pkgs), "signed_by", idx.SignedBy)
	}
	return repos, nil
}

func readIndexFile(path string, kr *apk.Keyring) (*apk.Index, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return apk.ReadIndex(f, apk.IndexOptions{Keyring: kr})
}

// installed returns what counts as installed for arch: the base (solved
// from base.packages, or taken from base.lockfile) and the previous
// lockfile's packages; and the checksums of the base packages.
//
// A previously locked package that no repository holds any more is not
// kept: apk would keep it as installed, but a lockfile pins a download, and
// that URL is gone. Its name is resolved afresh, as with --upgrade NAME.
func (g *generator) installed(solver *resolve.Solver, arch string, baseWorld []apk.Constraint,
	inRepos map[apk.Checksum]bool) ([]*apk.Package, map[apk.Checksum]bool, error) {
	var installed []*apk.Package
	base := map[apk.Checksum]bool{}
	switch {
	case g.previousBase != nil:
		for _, p := range g.previousBase.PackagesFor(arch) {
			ap, err := p.apkPackage()
			if err != nil {
				return nil, nil, fmt.Errorf("base.lockfile: %w", err)
			}
			installed = append(installed, ap)
			base[ap.Checksum] = true
		}
	case len(baseWorld) > 0:
		sol, err := solver.Solve(resolve.Request{World: baseWorld})
		if err != nil {
			return nil, nil, fmt.Errorf("resolving base.packages for %s: %w", arch, err)
		}
		for _, p := range sol.Packages {
			installed = append(installed, p)
			base[p.Checksum] = true
		}
	}
	if g.opts.Previous != nil {
		for _, p := range g.opts.Previous.PackagesFor(arch) {
			ap, err := p.apkPackage()
			if err != nil {
				return nil, nil, fmt.Errorf("previous lockfile: %w", err)
			}
			switch {
			case base[ap.Checksum]:
			case !inRepos[ap.Checksum]:
				g.log.Warn("a locked package is in no repository any more; resolving its name afresh",
					"arch", arch, "package", ap.NameVersion())
			default:
				installed = append(installed, ap)
			}
		}
	}
	return installed, base, nil
}

// lockedPackages returns the packages of the base and previous lockfiles
// for arch, as the resolver sees installed packages.
func (g *generator) lockedPackages(arch string) ([]*apk.Package, error) {
	var out []*apk.Package
	for _, l := range []*Lockfile{g.previousBase, g.opts.Previous} {
		if l == nil {
			continue
		}
		for _, p := range l.PackagesFor(arch) {
			ap, err := p.apkPackage()
			if err != nil {
				return nil, fmt.Errorf("locked package: %w", err)
			}
			out = append(out, ap)
		}
	}
	return out, nil
}

// available returns the checksums of the packages repos hold.
func available(repos []resolve.Repository) map[apk.Checksum]bool {
	sums := map[apk.Checksum]bool{}
	for _, r := range repos {
		for _, p := range r.Packages {
			sums[p.Checksum] = true
		}
	}
	return sums
}

// apkPackage turns a locked package back into the metadata the resolver
// needs to treat it as installed.
func (p Package) apkPackage() (*apk.Package, error) {
	sum, err := apk.ParseChecksum(p.Checksum)
	if err != nil {
		return nil, fmt.Errorf("package %s: %w", p.Name, err)
	}
	return &apk.Package{
		Name: p.Name, Version: p.Version, Arch: p.Arch, Size: p.Size, Origin: p.Origin, License: p.License,
		BuildTime: p.BuildTime, Depends: strings.Join(p.Depends, " "), Provides: strings.Join(p.Provides, " "),
		Checksum: sum,
	}, nil
}

// pending is a package to download and verify.
type pending struct {
	pkg  *apk.Package
	repo spec.Repository
	url  string
}

// pin records every package of the solution: entries of the previous (or
// base) lockfile are reused when the same package (same C:) comes from the
// same URL; the others are downloaded and verified.
func (g *generator) pin(ctx context.Context, arch string, sol *resolve.Solution, base map[apk.Checksum]bool) error {
	repoOf := map[*apk.Package]int{}
	for _, c := range sol.Changes {
		if c.New != nil {
			repoOf[c.New] = c.Repository
		}
	}
	var todo []pending
	for _, p := range sol.Packages {
		ri, ok := repoOf[p]
		if !ok {
			ri = -1
		}
		sum := p.Checksum.String()
		var u string
		var r spec.Repository
		if ri >= 0 {
			r = g.opts.Spec.Repositories[ri]
			u = repo.PackageURL(r.URL, p.Arch, p.Name, p.Version)
		}
		if prev, ok := g.reusable(arch, sum, u); ok {
			prev.Base = base[p.Checksum]
			g.out.Packages = append(g.out.Packages, prev)
			continue
		}
		if ri < 0 {
			return fmt.Errorf("locking %s: %s is installed but no repository holds it any more; "+
				"run apkpack lock --upgrade %s", arch, p.NameVersion(), p.Name)
		}
		todo = append(todo, pending{pkg: p, repo: r, url: u})
	}
	return g.fetch(ctx, arch, todo, base)
}

// reusable finds the previous or base lockfile entry of the same package.
func (g *generator) reusable(arch, checksum, url string) (Package, bool) {
	if prev, ok := g.previous[arch+"/"+checksum]; ok && (url == "" || prev.URL == url) {
		return prev, true
	}
	if g.previousBase != nil {
		for _, p := range g.previousBase.PackagesFor(arch) {
			if p.Checksum == checksum && (url == "" || p.URL == url) {
				return p, true
			}
		}
	}
	return Package{}, false
}

// fetch downloads the packages in parallel and verifies each against its
// index record before pinning its SHA-256.
func (g *generator) fetch(ctx context.Context, arch string, todo []pending, base map[apk.Checksum]bool) error {
	reqs := make([]repo.Request, len(todo))
	for i, t := range todo {
		reqs[i] = repo.Request{URL: g.fetchURL(t.url)}
	}
	results, err := g.opts.Client.FetchAll(ctx, reqs, g.opts.Parallelism)
	if err != nil {
		return fmt.Errorf("fetching packages for %s: %w", arch, err)
	}
	for i, t := range todo {
		res := results[i]
		pf, err := apk.ReadPackageFile(res.Path, apk.ReadOptions{Name: t.url, ExpectChecksum: t.pkg.Checksum})
		if err != nil && res.Source == repo.SourceCache {
			// The cached copy of this URL may predate a rebuild of the
			// package under the same version: ask the server again.
			g.log.Info("cached package does not match its index record; fetching it again", "url", t.url)
			if res, err = g.opts.Client.Fetch(ctx, repo.Request{URL: g.fetchURL(t.url), Revalidate: true}); err != nil {
				return fmt.Errorf("fetching package: %w", err)
			}
			pf, err = apk.ReadPackageFile(res.Path, apk.ReadOptions{Name: t.url, ExpectChecksum: t.pkg.Checksum})
		}
		if err != nil {
			return fmt.Errorf("verifying %s: %w", t.pkg.NameVersion(), err)
		}
		p := t.pkg
		g.out.Packages = append(g.out.Packages, Package{
			Name: p.Name, Version: p.Version, Arch: arch, Repository: t.repo.URL, URL: t.url,
			SHA256: res.SHA256, Size: uint64(res.Size), Checksum: p.Checksum.String(), DataHash: pf.DataHash,
			Origin: p.Origin, License: p.License, BuildTime: p.BuildTime,
			Depends: apk.ListFields(p.Depends), Provides: apk.ListFields(p.Provides), Base: base[p.Checksum],
		})
	}
	return nil
}

// warnArchDifferences logs packages whose version differs between archs.
func (g *generator) warnArchDifferences() {
	versions := map[string]map[string][]string{}
	for _, p := range g.out.Packages {
		if versions[p.Name] == nil {
			versions[p.Name] = map[string][]string{}
		}
		versions[p.Name][p.Version] = append(versions[p.Name][p.Version], p.Arch)
	}
	for _, name := range slices.Sorted(maps.Keys(versions)) {
		if vs := versions[name]; len(vs) > 1 {
			g.log.Warn("archs get different versions of a package", "package", name, "versions", fmt.Sprint(vs))
		}
	}
}
