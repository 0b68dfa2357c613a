package layer

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"time"

	"github.com/rules-apk/rules_apk/tools/internal/lock"
)

// Options configures Build.
type Options struct {
	// Lockfile and Arch select the closure: Lockfile.PackagesFor(Arch).
	Lockfile *lock.Lockfile
	Arch     string
	// Locate finds each package's file (DirLocator, FilesLocator, or the
	// repository cache).
	Locate Locator
	// Output is the layer file with LayeringSingle, and otherwise a
	// directory that receives one file per layer, named 000.tar (.tar.gz,
	// .tar.zst), 001.tar, ... Files appear only once every package has
	// verified and every layer is complete: the directory is then replaced
	// as a whole, so that no layer of an earlier run stays beside the new
	// ones. It must not exist, or hold only such files.
	Output string
	// Format is the compression of the layers; default FormatTar.
	Format Format
	// GzipLevel is the gzip level for FormatTarGzip; 0 means
	// DefaultGzipLevel.
	GzipLevel int
	// Layering says how packages are split into layers; the zero value is
	// one layer.
	Layering Layering
	// Epoch is every entry's mtime. Zero means the newest build_time of the
	// closure in the lockfile (the lockfile is then the only input that
	// decides it); the CLI sets it from --source-date-epoch or
	// SOURCE_DATE_EPOCH.
	Epoch time.Time
	// OSRelease is written as etc/os-release when no package ships one;
	// nil writes the lockfile's os_release, or GenericOSRelease when it has
	// none.
	OSRelease []byte
	// StrictScripts makes a package script or trigger that Build does not
	// emulate an error instead of a warning.
	StrictScripts bool
	// TempDir holds the spool files; "" means os.TempDir().
	TempDir string
	// ExpandedCache is a directory that keeps every verified package
	// unpacked, so that a later Build of the same package skips its
	// decompression and hashing (see expanded.go); "" keeps none.
	ExpandedCache string
	// Parallelism bounds the packages read at once; 0 means GOMAXPROCS.
	Parallelism int
	// Logger receives warnings (scripts not run) and progress; nil discards.
	Logger *slog.Logger
}

// Result describes the layers Build wrote and the closure they hold.
type Result struct {
	Layers []Layer
	// Packages is the closure in install order.
	Packages []Package
	// Epoch is the mtime of every entry.
	Epoch time.Time
	// OSRelease holds the ID and VERSION_ID of the root's etc/os-release.
	OSRelease OSRelease
	// Scripts lists the package scripts and triggers not run nor emulated
	// (name-version.type).
	Scripts []string
}

// Layer is one written layer.
type Layer struct {
	Path      string
	MediaType string
	// Digest is "sha256:<hex>" of the file; DiffID of the uncompressed tar.
	Digest string
	DiffID string
	Size   int64
	// Packages are the names of the packages whose files it holds, in
	// install order. The last layer also holds the generated files.
	Packages []string
}

// Package is one package of the closure, as locked and as read.
type Package struct {
	lock.Package
	// Replaces, Maintainer, HomePage (U:), Description and InstalledSize come from
	// the package's .PKGINFO.
	Replaces      string
	Maintainer    string
	HomePage      string
	Description   string
	InstalledSize uint64
	// DependsOn names the packages of the closure that satisfy its
	// depends (Graph).
	DependsOn []string
	// Layer is the index of the layer holding its files.
	Layer int
}

// Build verifies every package of the closure against the lockfile, merges
// them as apk would install them, and writes the layers (see the package
// documentation for the rules): Stage, then Commit. Nothing is written to
// opts.Output unless everything succeeds.
func Build(ctx context.Context, opts Options) (*Result, error) {
	s, err := Stage(ctx, opts)
	if err != nil {
		return nil, err
	}
	if err := s.Commit(); err != nil {
		return nil, fmt.Errorf("building layer: %w", err)
	}
	return s.Result, nil
}

// Stage does the work of Build but leaves the layers in temporary files
// beside opts.Output, so that a caller can write more outputs (AddFile, an
// SBOM elsewhere) and then put everything in place with Commit, or drop it
// all with Discard. On error, nothing is left behind.
func Stage(ctx context.Context, opts Options) (*Staged, error) {
	if err := opts.check(); err != nil {
		return nil, err
	}
	if err := opts.checkOutput(); err != nil {
		return nil, err
	}
	locked := opts.Lockfile.PackagesFor(opts.Arch)
	if len(locked) == 0 {
		return nil, fmt.Errorf("building layer: the lockfile has no package for arch %s "+
			"(it locks %v)", opts.Arch, opts.Lockfile.Archs)
	}
	g, err := NewGraph(locked)
	if err != nil {
		return nil, fmt.Errorf("building layer: %w", err)
	}
	order := InstallOrder(locked, g)
	pkgs := make([]lock.Package, len(order))
	for i, j := range order {
		pkgs[i] = locked[j]
	}
	paths, err := locateAll(ctx, opts.Locate, pkgs)
	if err != nil {
		return nil, fmt.Errorf("building layer: %w", err)
	}

	// Pass 1: verify every package and spool its files.
	start := time.Now()
	data, spools, err := readAll(ctx, &opts, pkgs, paths)
	if err != nil {
		return nil, fmt.Errorf("building layer: %w", err)
	}
	defer closeSpools(spools)
	opts.Logger.Debug("packages verified and spooled", "packages", len(pkgs),
		"elapsed", time.Since(start))

	start = time.Now()
	r, err := assemble(&opts, data)
	if err != nil {
		return nil, fmt.Errorf("building layer: %w", err)
	}
	r.res.Packages = closureInfo(locked, order, g, data, r.layerOf)
	opts.Logger.Debug("root assembled", "elapsed", time.Since(start))

	// Pass 2: write the layers from the tree and the spools.
	start = time.Now()
	s, err := newStaged(&opts)
	if err != nil {
		return nil, fmt.Errorf("building layer: %w", err)
	}
	layers, err := writeLayers(ctx, &opts, r, s)
	if err != nil {
		s.Discard()
		return nil, fmt.Errorf("building layer: %w", err)
	}
	opts.Logger.Debug("layers written", "layers", len(layers), "elapsed", time.Since(start))
	r.res.Layers = layers
	s.Result = &r.res
	return s, nil
}

func (o *Options) check() error {
	switch {
	case o.Lockfile == nil:
		return errors.New("building layer: no lockfile")
	case o.Arch == "":
		return errors.New("building layer: no arch")
	case o.Locate == nil:
		return errors.New("building layer: no locator for the packages")
	case o.Output == "":
		return errors.New("building layer: no output path")
	}
	o.Output = filepath.Clean(o.Output)
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Parallelism <= 0 {
		o.Parallelism = runtime.GOMAXPROCS(0)
	}
	if o.TempDir == "" {
		o.TempDir = os.TempDir()
	}
	if o.GzipLevel == 0 {
		o.GzipLevel = DefaultGzipLevel
	}
	return o.Layering.check()
}

// closureInfo describes the closure in install order for the result (and
// the SBOM).
func closureInfo(locked []lock.Package, order []int, g *Graph, data []*pkgData,
	layerOf []int) []Package {
	out := make([]Package, len(order))
	for i, j := range order {
		info := data[i].file.Info
		p := Package{Package: locked[j], Replaces: info.Replaces, Maintainer: info.Maintainer,
			HomePage: info.URL, Description: info.Description, InstalledSize: info.InstalledSize,
			Layer: layerOf[i]}
		for _, k := range g.DependsOn[j] {
			p.DependsOn = append(p.DependsOn, locked[k].Name)
		}
		out[i] = p
	}
	return out
}
