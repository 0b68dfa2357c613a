package deps

import (
	"cmp"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"maps"
	"os"
	"path"
	"slices"
	"strings"
)

// maxPCSize bounds the .pc files read; real ones are under 4 KiB.
const maxPCSize = 256 << 10

// Options configures [Scan]. The zero value runs every detector and needs
// only Version. Nothing depends on the host: ELF files of any class, byte
// order and machine are read alike, so a tree gives the same result on
// every machine.
type Options struct {
	// Version is the package's version (pkgver, e.g. "8.5.0-r0"), which
	// cmd: names are provided at (§3.1). It must be a valid apk version
	// unless NoCommands is set.
	Version string

	// NoSharedObjects turns off the so: detector (provides and depends).
	NoSharedObjects bool
	// NoPkgConfig turns off the pc: detector (provides and depends).
	NoPkgConfig bool
	// NoCommands turns off the cmd: detector.
	NoCommands bool

	// NoProvides leaves Result.Provides empty, and NoDepends leaves
	// Result.Depends empty, as melange's no-provides and no-depends
	// options do. What the package ships is still removed from what it
	// needs.
	NoProvides bool
	// NoDepends leaves Result.Depends empty; see NoProvides.
	NoDepends bool

	// Logger receives one Debug record per finding; nil discards them.
	Logger *slog.Logger
}

// Result is what a package tree provides and needs, ready for the
// `provides` and `depend` lines of .PKGINFO (§1.4).
type Result struct {
	// Provides holds versioned names ("so:libz.so.1=1", "cmd:curl=8.5.0-r0",
	// "pc:zlib=1.3.1"), sorted, each name once.
	Provides []string
	// Depends holds constraints ("so:libc.so.6", "pc:libssl>=3.0"), sorted
	// and deduplicated, without anything the package ships itself. A name
	// needed both with and without a version appears only with its
	// versions.
	Depends []string
	// Warnings lists what was found but left out, and why, sorted by path.
	Warnings []Warning
}

// Warning is a file, or a part of one, that Scan could not turn into a
// provided or needed name.
type Warning struct {
	// Path is the file's path relative to the scanned root.
	Path string
	// Message says what was left out and why.
	Message string
}

// String returns "path: message".
func (w Warning) String() string { return w.Path + ": " + w.Message }

// VersionError reports an Options.Version that cannot be written into a
// cmd: provide.
type VersionError struct {
	// Version is the rejected version.
	Version string
}

// Error implements error.
func (e *VersionError) Error() string {
	return fmt.Sprintf("package version %q is not a valid apk version "+
		"(want e.g. 1.2.3-r0, see §4 of apk-reference.md); "+
		"it is needed for cmd: provides, or turn the cmd: detector off", e.Version)
}

// Scan walks the package tree at root and derives what it provides and
// needs. Directories are not followed through symbolic links; file links
// are followed inside root only, and broken links are ignored. It fails
// when the tree cannot be read, or on an invalid Options.Version; files it
// cannot interpret become Result.Warnings.
func Scan(root string, opts Options) (*Result, error) {
	if !opts.NoCommands && !validVersion(opts.Version) {
		return nil, &VersionError{Version: opts.Version}
	}
	r, err := os.OpenRoot(root)
	if err != nil {
		return nil, fmt.Errorf("opening package tree: %w", err)
	}
	defer r.Close()

	s := newScanner(r, opts)
	if !opts.NoSharedObjects {
		dirs, warnings, err := ldSoConfDirs(r)
		if err != nil {
			return nil, fmt.Errorf("reading ld.so.conf of %s: %w", root, err)
		}
		s.confLibDirs, s.warnings = dirs, warnings
	}
	if err := fs.WalkDir(r.FS(), ".", s.visit); err != nil {
		return nil, fmt.Errorf("scanning package tree %s: %w", root, err)
	}
	return s.result(), nil
}

// scanner holds the state of one Scan.
type scanner struct {
	opts        Options
	log         *slog.Logger
	root        *os.Root
	confLibDirs map[string]bool // from ld.so.conf, see ldConf

	// elfs caches readELF by resolved path, so a file reached through
	// several links is read, and its needs counted, once.
	elfs map[string]*elfInfo

	provides  map[string]string          // name → version
	providers map[string]string          // name → path that provided it first
	shipped   map[string]bool            // SONAMEs and library file names anywhere
	needs     map[string]map[string]bool // name → constraint suffixes ("" = any)
	warnings  []Warning
}

// newScanner returns a scanner reading r.
func newScanner(r *os.Root, opts Options) *scanner {
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &scanner{
		opts: opts, log: log, root: r,
		elfs:     map[string]*elfInfo{},
		provides: map[string]string{}, providers: map[string]string{},
		shipped: map[string]bool{}, needs: map[string]map[string]bool{},
	}
}

// visit is the fs.WalkDirFunc: it hands each regular file, and each link
// that resolves to one, to file.
func (s *scanner) visit(name string, d fs.DirEntry, err error) error {
	if err != nil {
		return err
	}
	switch {
	case d.Type().IsRegular():
		fi, err := d.Info()
		if err != nil {
			return err
		}
		return s.file(name, name, fi)
	case d.Type()&fs.ModeSymlink != 0:
		return s.link(name)
	}
	return nil
}

// link resolves a symbolic link and scans its target under the link's name.
func (s *scanner) link(name string) error {
	real, err := resolve(s.root, name)
	switch {
	case errors.Is(err, errBrokenLink):
		s.log.Debug("ignoring broken symbolic link", "path", name)
		return nil
	case errors.Is(err, errLinkLoop):
		s.warn(name, err.Error()+"; the link is ignored")
		return nil
	case err != nil:
		return fmt.Errorf("resolving %s: %w", name, err)
	}
	fi, err := s.root.Lstat(real)
	if err != nil {
		return fmt.Errorf("reading %s, the target of %s: %w", real, name, err)
	}
	if !fi.Mode().IsRegular() {
		return nil
	}
	return s.file(name, real, fi)
}

// file runs the detectors on one regular file found at name (a link's
// path for a link) whose content is at real.
func (s *scanner) file(name, real string, fi fs.FileInfo) error {
	dir, base := path.Dir(name), path.Base(name)
	if !s.opts.NoCommands && slices.Contains(binDirs, dir) && fi.Mode().Perm()&0o111 != 0 {
		s.provide("cmd:"+base, s.opts.Version, name)
	}
	if !s.opts.NoPkgConfig && strings.HasSuffix(base, ".pc") && isPCDir(dir) {
		if err := s.pkgConfig(name, real); err != nil {
			return err
		}
	}
	if !s.opts.NoSharedObjects && fi.Size() >= minELFSize {
		return s.sharedObject(name, real)
	}
	return nil
}

// provide records a provided name, keeping the first version found (in
// lexical path order) when two files disagree.
func (s *scanner) provide(name, version, from string) {
	if !validName(name) {
		s.warn(from, fmt.Sprintf("%q cannot be written as a provided name; it is left out", name))
		return
	}
	if v, ok := s.provides[name]; ok {
		if v != version {
			s.warn(from, fmt.Sprintf("%s=%s is left out: %s already provides %s=%s",
				name, version, s.providers[name], name, v))
		}
		return
	}
	s.log.Debug("provides", "name", name, "version", version, "path", from)
	s.provides[name], s.providers[name] = version, from
}

// need records a needed name with a constraint suffix (">=3.0", or "" for
// any version).
func (s *scanner) need(name, constraint, from string) {
	if !validName(name) {
		s.warn(from, fmt.Sprintf("%q cannot be written as a dependency; it is left out", name))
		return
	}
	s.log.Debug("needs", "name", name, "constraint", constraint, "path", from)
	if s.needs[name] == nil {
		s.needs[name] = map[string]bool{}
	}
	s.needs[name][constraint] = true
}

// warn records a warning.
func (s *scanner) warn(path, msg string) {
	s.log.Debug("warning", "path", path, "message", msg)
	s.warnings = append(s.warnings, Warning{Path: path, Message: msg})
}

// result assembles the sorted Result: self-provided and self-shipped
// names leave Depends, and an unversioned need is dropped when the same
// name is also needed with a version.
func (s *scanner) result() *Result {
	res := &Result{Warnings: s.warnings}
	if !s.opts.NoProvides {
		for name, v := range s.provides {
			res.Provides = append(res.Provides, name+"="+v)
		}
	}
	for name, constraints := range s.needs {
		soname, isSO := strings.CutPrefix(name, "so:")
		_, provided := s.provides[name]
		if s.opts.NoDepends || provided || (isSO && s.shipped[soname]) {
			continue
		}
		delete(constraints, "")
		if len(constraints) == 0 {
			constraints[""] = true
		}
		for c := range maps.Keys(constraints) {
			res.Depends = append(res.Depends, name+c)
		}
	}
	slices.Sort(res.Provides)
	slices.Sort(res.Depends)
	slices.SortStableFunc(res.Warnings, func(a, b Warning) int {
		return cmp.Compare(a.Path, b.Path)
	})
	return res
}
