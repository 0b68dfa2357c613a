package demo

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"sync"
)

const (
	// Arch is the demo repository's one architecture.
	Arch = "x86_64"
	// SnapshotV1 and SnapshotV2 are the snapshot directories.
	SnapshotV1 = "v1"
	SnapshotV2 = "v2"
)

// Snapshots lists the snapshots in build order.
var Snapshots = []string{SnapshotV1, SnapshotV2}

// Options configures [Build].
type Options struct {
	// OutDir receives keys/, v1/ and v2/.
	OutDir string
	// KeyDir holds the signing key, demo.rsa and demo.rsa.pub: the
	// committed demo key of e2e/demo/keys, so that every machine builds
	// the same bytes. Its public half is copied to OUTDIR/keys. Empty: the
	// key of OUTDIR/keys, made there on first use.
	KeyDir string
	// CacheDir holds debs/ (the downloaded .deb files), apks/ and indexes/
	// (built files by cache key) and scratch space.
	CacheDir string
	// ManifestPath is the manifest of pinned .deb files.
	ManifestPath string
	// Apkpack is the apkpack binary that packs and indexes.
	Apkpack string
	// ToolDigest identifies the code that makes the files (the digest of
	// the demorepo and apkpack binaries); it is part of every cache key, so
	// a change of either rebuilds everything.
	ToolDigest string
	// UpdateManifest re-pins every .deb to the archive's current version
	// and rewrites ManifestPath before building.
	UpdateManifest bool
	// Jobs is how many packages are packed at once; 0 means 2.
	Jobs int
	// Recipes replaces [Recipes] (tests build a few packages).
	Recipes []Recipe
	// Download replaces apt-get download (tests).
	Download DownloadFunc
	// AptUpdate, when set, refreshes apt's package lists once when a
	// download fails, then retries (AptUpdate; needs root).
	AptUpdate func(context.Context) error
	// Logger receives progress at Info; nil discards it.
	Logger *slog.Logger
}

// Result describes what Build wrote.
type Result struct {
	Key       *Key
	Snapshots []SnapshotResult
}

// SnapshotResult is one snapshot of the repository.
type SnapshotResult struct {
	Name     string
	Dir      string // OUTDIR/<name>/x86_64
	Packages []BuiltPackage
}

// BuiltPackage is one package of a snapshot.
type BuiltPackage struct {
	Name, Version, Origin string
	// File is the package's path in the snapshot.
	File string
	// Size is the file's size in bytes.
	Size int64
	// Packed is set when this run packed it rather than taking it from
	// the cache.
	Packed bool
}

// Build downloads what the manifest pins, packs every recipe for both
// snapshots, and writes the signed indexes and v2/security.json.
func Build(ctx context.Context, o Options) (*Result, error) {
	b, err := newBuilder(ctx, o)
	if err != nil {
		return nil, err
	}
	defer b.cleanup()
	res := &Result{Key: b.key}
	for _, snap := range Snapshots {
		s, err := b.snapshot(ctx, snap)
		if err != nil {
			return nil, err
		}
		res.Snapshots = append(res.Snapshots, *s)
	}
	if err := b.prune(); err != nil {
		return nil, fmt.Errorf("pruning the cache: %w", err)
	}
	return res, nil
}

// builder holds the state of one Build.
type builder struct {
	o       Options
	log     *slog.Logger
	key     *Key
	debs    map[string]Deb    // by Debian name
	paths   map[string]string // .deb files by Debian name
	scratch string            // created on first use
	subset  bool              // Options.Recipes replaces Recipes
	used    []string          // cache entries this build uses

	mu        sync.Mutex
	extracted map[string]*extraction
	controls  map[string]map[string]string
}

// extraction is one .deb unpacked once per Build.
type extraction struct {
	once sync.Once
	dir  string
	err  error
}

func newBuilder(ctx context.Context, o Options) (*builder, error) {
	subset := o.Recipes != nil
	if !subset {
		o.Recipes = Recipes
	}
	if o.Jobs <= 0 {
		o.Jobs = 2
	}
	b := &builder{o: o, log: o.Logger, subset: subset, extracted: map[string]*extraction{},
		controls: map[string]map[string]string{}}
	if b.log == nil {
		b.log = slog.New(slog.DiscardHandler)
	}
	var err error
	if b.key, err = buildKey(o); err != nil {
		return nil, err
	}
	m, err := b.manifest(ctx)
	if err != nil {
		return nil, err
	}
	var pinned []Deb
	b.debs = map[string]Deb{}
	for _, d := range m.Debs {
		b.debs[d.Name] = d
		pinned = append(pinned, d)
	}
	cache := &DebCache{Dir: filepath.Join(o.CacheDir, "debs"), Download: o.Download,
		Update: o.AptUpdate}
	if b.paths, err = cache.FetchAll(ctx, pinned); err != nil {
		return nil, err
	}
	return b, nil
}

// buildKey loads the key of KeyDir and publishes its public half, or
// makes one in OUTDIR/keys.
func buildKey(o Options) (*Key, error) {
	keys := filepath.Join(o.OutDir, "keys")
	if o.KeyDir == "" {
		return EnsureKey(keys)
	}
	k, err := LoadKey(o.KeyDir)
	if err != nil {
		return nil, err
	}
	return k, k.Publish(keys)
}

// manifest reads the manifest, or re-pins it with UpdateManifest, and
// checks that it pins exactly the .deb files the recipes use.
func (b *builder) manifest(ctx context.Context) (*Manifest, error) {
	names := recipeDebs(b.o.Recipes)
	if b.o.UpdateManifest {
		cache := &DebCache{Dir: filepath.Join(b.o.CacheDir, "debs"), Download: b.o.Download,
			Update: b.o.AptUpdate}
		debs, err := cache.FetchCurrent(ctx, names)
		if err != nil {
			return nil, err
		}
		m := &Manifest{Debs: debs}
		if err := os.WriteFile(b.o.ManifestPath, m.Format(), 0o644); err != nil {
			return nil, fmt.Errorf("writing manifest: %w", err)
		}
		b.log.Info("manifest updated", "path", b.o.ManifestPath, "debs", len(debs))
		return m, nil
	}
	f, err := os.Open(b.o.ManifestPath)
	if err != nil {
		return nil, fmt.Errorf("reading manifest: %w", err)
	}
	defer f.Close()
	m, err := ParseManifest(f, b.o.ManifestPath)
	if err != nil {
		return nil, err
	}
	kept := &Manifest{}
	for _, name := range names {
		d, ok := m.Lookup(name)
		if !ok {
			return nil, fmt.Errorf("the recipes use Debian package %s, which manifest %s does "+
				"not pin; %s", name, b.o.ManifestPath, UpdateHint)
		}
		kept.Debs = append(kept.Debs, d)
	}
	if len(kept.Debs) < len(m.Debs) && !b.subset {
		return nil, fmt.Errorf("manifest %s pins %d Debian packages that no recipe uses; %s",
			b.o.ManifestPath, len(m.Debs)-len(kept.Debs), UpdateHint)
	}
	return kept, nil
}

// recipeDebs lists the Debian packages recipes use, sorted, each once.
func recipeDebs(recipes []Recipe) []string {
	var names []string
	for _, r := range recipes {
		for _, d := range r.Debs() {
			if !slices.Contains(names, d) {
				names = append(names, d)
			}
		}
	}
	slices.Sort(names)
	return names
}

// cleanup removes the scratch space.
func (b *builder) cleanup() {
	if b.scratch != "" {
		os.RemoveAll(b.scratch)
	}
}

// snapshot builds one snapshot: its packages, index and security database.
func (b *builder) snapshot(ctx context.Context, snap string) (*SnapshotResult, error) {
	plans, err := b.plans(snap)
	if err != nil {
		return nil, err
	}
	if err := b.packAll(ctx, plans); err != nil {
		return nil, err
	}
	dir := filepath.Join(b.o.OutDir, snap, Arch)
	s := &SnapshotResult{Name: snap, Dir: dir}
	if err := b.place(dir, plans, s); err != nil {
		return nil, err
	}
	if err := b.index(ctx, snap, dir, plans); err != nil {
		return nil, err
	}
	if snap == SnapshotV2 {
		if err := b.writeSecDB(ctx, filepath.Join(b.o.OutDir, snap), plans); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// plan is one package to have in a snapshot.
type plan struct {
	recipe  *Recipe
	version string
	origin  string
	debs    []Deb
	key     string // hex digest of every input
	cached  string // the package's path in the cache
	packed  bool
}

func (p *plan) file() string { return p.recipe.Name + "-" + p.version + ".apk" }

// plans works out every package of a snapshot and its cache key.
func (b *builder) plans(snap string) ([]*plan, error) {
	var plans []*plan
	for i := range b.o.Recipes {
		r := &b.o.Recipes[i]
		p := &plan{recipe: r, version: r.Version, origin: r.Name}
		for _, name := range r.Debs() {
			p.debs = append(p.debs, b.debs[name])
		}
		if len(p.debs) > 0 {
			v, err := APKVersion(p.debs[0].Version)
			if err != nil {
				return nil, fmt.Errorf("versioning %s: %w", r.Name, err)
			}
			p.version, p.origin = v, p.debs[0].Source
		}
		if snap == SnapshotV2 && isUpdated(p.origin) {
			v, err := BumpRevision(p.version, 1)
			if err != nil {
				return nil, err
			}
			p.version = v
		}
		key, err := b.digest(struct {
			Recipe  *Recipe
			Version string
			Arch    string
			Debs    []Deb
		}{r, p.version, Arch, p.debs})
		if err != nil {
			return nil, err
		}
		p.key = key
		p.cached = filepath.Join(b.o.CacheDir, "apks", p.key[:40], p.file())
		plans = append(plans, p)
	}
	return plans, nil
}

// isUpdated reports whether v2 updates an origin.
func isUpdated(origin string) bool {
	return slices.ContainsFunc(Updates, func(u Update) bool { return u.Origin == origin })
}

// digest is the cache key of v plus the tools and the signing key.
func (b *builder) digest(v any) (string, error) {
	j, err := json.Marshal(struct {
		Tool, Key string
		Input     any
	}{b.o.ToolDigest, b.key.Digest, v})
	if err != nil {
		return "", fmt.Errorf("encoding a cache key: %w", err)
	}
	sum := sha256.Sum256(j)
	return hex.EncodeToString(sum[:]), nil
}

// packAll packs the plans the cache lacks, Jobs at a time.
func (b *builder) packAll(ctx context.Context, plans []*plan) error {
	var todo []*plan
	for _, p := range plans {
		if _, err := os.Stat(p.cached); err != nil {
			todo = append(todo, p)
		}
	}
	if len(todo) == 0 {
		return nil
	}
	if b.scratch == "" {
		if err := os.MkdirAll(b.o.CacheDir, 0o755); err != nil {
			return err
		}
		dir, err := os.MkdirTemp(b.o.CacheDir, "scratch-")
		if err != nil {
			return fmt.Errorf("creating scratch space: %w", err)
		}
		b.scratch = dir
	}
	// The first error is the cause; the packs it cancels fail after it.
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		first error
	)
	sem := make(chan struct{}, b.o.Jobs)
	for _, p := range todo {
		sem <- struct{}{}
		if ctx.Err() != nil {
			break
		}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			if err := b.pack(ctx, p); err != nil {
				mu.Lock()
				if first == nil {
					first = err
					cancel()
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	return first
}
