package ldso

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"maps"
	"path"
	"slices"
	"strings"
)

// DefaultGenerator is the generator string Build records when
// Options.Generator is empty.
const DefaultGenerator = "rules_apk"

// DefaultConfigFile is the ldconfig configuration Build reads when
// Options.ConfigFile is empty.
const DefaultConfigFile = "/etc/ld.so.conf"

// flagAny marks a directory without a "=TYPE" suffix (FLAG_ANY).
const flagAny int32 = -1

// Options configures Build.
type Options struct {
	// Arch is the architecture of the root, as apk names it: "x86_64" or
	// "aarch64". It selects the entry flags, the ELF files accepted and the
	// default system directories.
	Arch string
	// ConfigFile is the path of ld.so.conf inside the root; empty means
	// DefaultConfigFile. A missing file is not an error, as for ldconfig.
	ConfigFile string
	// SystemDirs are the directories scanned after the configured ones, in
	// order. Nil means DefaultSystemDirs(Arch); an empty non-nil slice means
	// none.
	SystemDirs []string
	// Generator is recorded in the cache's generator section; empty means
	// DefaultGenerator.
	Generator string
	// LegacyHWCaps makes Build descend into legacy hwcap subdirectories (tls,
	// haswell, x86_64, atomics, …) as glibc ≤ 2.36's ldconfig does; glibc
	// 2.37 dropped them.
	LegacyHWCaps bool
	// LegacyTypes reads "dir=TYPE" lines of ld.so.conf as a directory and
	// the type of its libraries, and caches an ELF library that neither
	// its machine nor its DT_NEEDED marks as libc6 as a generic ELF one, as
	// glibc 2.36's ldconfig does. Without it Build does as glibc 2.43's
	// (both compared with the real ones): the whole line names a directory,
	// and every ELF library is libc6. The versions between were not tried.
	LegacyTypes bool
	// Logger receives the files skipped and why (Debug) and configuration
	// problems ldconfig would warn about (Warn). Nil discards them.
	Logger *slog.Logger
}

// Link is a SONAME symlink ldconfig would create next to a library.
type Link struct {
	// Path is the absolute path of the symlink inside the root, in its
	// directory's symlink-free form (/usr/lib/libz.so.1 even when the
	// configuration names /lib and /lib is a symlink to usr/lib).
	Path string
	// Target is the content of the symlink: the library's file name in the
	// same directory, such as libz.so.1.3.1.
	Target string
}

// Build scans the root fsys as glibc's ldconfig -r ROOT -X would and returns
// the cache it would write and the SONAME symlinks it would create without
// -X. fsys must implement fs.ReadLinkFS (os.DirFS and fstest.MapFS do) so
// that symlinks resolve inside the root.
//
// The scan follows glibc 2.36's elf/ldconfig.c: the directories of
// ld.so.conf (with include globs and "dir=TYPE" suffixes) then
// Options.SystemDirs, each once however it is reached, each followed by its
// glibc-hwcaps subdirectories; in each directory the lib*.so*, ld-*.so*,
// ld.so.* and ld64.so.* files and symlinks that are ELF shared objects of the
// architecture, one per SONAME (a file over a symlink, else the newest name),
// plus libfoo.so symlinks pointing at their SONAME. Entries keep the
// directory as configured, so a library reached through /lib and /usr/lib
// appears once, under the first.
//
// Like ldconfig, Build describes the root before its links exist: a libfoo.so
// symlink to a SONAME that only a returned Link creates is not an entry
// until the next run. Given Debian's system directories, LegacyHWCaps and
// LegacyTypes, Build reproduces a whole Debian 12 system's /etc/ld.so.cache, as its glibc
// 2.36 ldconfig wrote it, byte for byte.
//
// Known differences from glibc's ldconfig:
//   - a.out (libc4) libraries are not recognised; glibc would cache a data
//     file named lib*.so* whose first two bytes are 0x010b or 0x00cc as one;
//   - a directory's entries are read in name order, not readdir order, which
//     decides only between two files with the same SONAME whose names compare
//     equal by _dl_cache_libcmp (libfoo.so.1 and libfoo.so.01), and between
//     two symlinked glibc-hwcaps or legacy subdirectories naming the same
//     directory;
//   - strings longer than PATH_MAX (4096 bytes) make a library skipped;
//   - glob patterns in include lines follow path.Match, which differs from
//     glob(3) only in corner cases such as "[]a]";
//   - ldconfig also deletes dangling symlinks whose name holds ".so."; Build
//     does not report them;
//   - Debian's ldconfig never replaces an existing dynamic linker symlink
//     (local-ldconfig-ignore-ld.so.diff); Build follows upstream glibc.
func Build(fsys fs.FS, opts Options) (*Cache, []Link, error) {
	b, err := newBuilder(fsys, opts)
	if err != nil {
		return nil, nil, fmt.Errorf("building ld.so.cache: %w", err)
	}
	if err := b.run(); err != nil {
		return nil, nil, fmt.Errorf("building ld.so.cache: %w", err)
	}
	return b.cache(), b.sortedLinks(), nil
}

type builder struct {
	root *rootFS
	arch *archInfo
	opts Options
	log  *slog.Logger
	// dirs is ldconfig's directory list; it grows while being searched when
	// legacy hwcap subdirectories turn up.
	dirs    []*dirEntry
	entries []pendingEntry
	links   []Link
	// hwcapsNames are the glibc-hwcaps subdirectory names seen, used or not.
	hwcapsNames map[string]bool
}

// dirEntry is one directory to search (struct dir_entry).
type dirEntry struct {
	// path is the directory as configured, without trailing slashes: the
	// prefix of its entries' paths.
	path string
	// real is its symlink-free fs.FS path, which identifies it as the inode
	// does for ldconfig.
	real  string
	isDir bool
	flag  int32
	// hwcaps is the glibc-hwcaps subdirectory name, "" for other directories.
	hwcaps string
}

// pendingEntry is a cache entry before glibc-hwcaps indexes are known.
type pendingEntry struct {
	Entry
	hwcaps   string
	isaLevel uint32
}

func newBuilder(fsys fs.FS, opts Options) (*builder, error) {
	arch, err := lookupArch(opts.Arch)
	if err != nil {
		return nil, err
	}
	root, err := newRootFS(fsys)
	if err != nil {
		return nil, err
	}
	if opts.ConfigFile == "" {
		opts.ConfigFile = DefaultConfigFile
	}
	if opts.SystemDirs == nil {
		opts.SystemDirs = arch.systemDirs
	}
	if opts.Generator == "" {
		opts.Generator = DefaultGenerator
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &builder{root: root, arch: arch, opts: opts, log: log,
		hwcapsNames: map[string]bool{}}, nil
}

func (b *builder) run() error {
	if err := b.parseConf(b.opts.ConfigFile, 0); err != nil {
		return err
	}
	for _, d := range b.opts.SystemDirs {
		if err := b.addDir(d, "<builtin>"); err != nil {
			return err
		}
	}
	for i := 0; i < len(b.dirs); i++ {
		if err := b.searchDir(b.dirs[i]); err != nil {
			return err
		}
	}
	return nil
}

// addDir adds one configured directory, as elf/ldconfig.c:add_dir_1 does.
func (b *builder) addDir(line, from string) error {
	dir, flag := b.splitFlag(line)
	dir = strings.TrimRight(strings.TrimRight(dir, cSpace), "/")
	if dir == "" {
		return nil
	}
	real, fi, err := b.root.stat(dir)
	if err != nil {
		if isMissing(err) {
			b.log.Debug("skipping missing library directory", "dir", dir, "from", from)
			return nil
		}
		return fmt.Errorf("reading library directory %s (from %s): %w", dir, from, err)
	}
	d := &dirEntry{path: dir, real: real, isDir: fi.IsDir(), flag: flag}
	if !b.addSingleDir(d) {
		return nil
	}
	return b.addHWCapsSubdirs(d)
}

// addSingleDir appends d unless the same directory is already listed, in
// which case that entry takes d's type, as add_single_dir does.
func (b *builder) addSingleDir(d *dirEntry) bool {
	for _, e := range b.dirs {
		if e.real == d.real {
			e.flag = d.flag
			return false
		}
	}
	b.dirs = append(b.dirs, d)
	return true
}

// addHWCapsSubdirs queues the subdirectories of d's glibc-hwcaps directory
// (elf/ldconfig.c:add_glibc_hwcaps_subdirectories).
func (b *builder) addHWCapsSubdirs(d *dirEntry) error {
	ghDir := path.Join(d.real, "glibc-hwcaps")
	ents, err := fs.ReadDir(b.root.fsys, ghDir)
	if err != nil {
		if isMissing(err) || !d.isDir {
			return nil
		}
		return fmt.Errorf("listing %s/glibc-hwcaps: %w", d.path, err)
	}
	for _, e := range ents {
		name := e.Name()
		if strings.HasPrefix(name, ".") || e.Type().IsRegular() || strings.Contains(name, ":") {
			continue
		}
		real, fi, err := b.root.stat(path.Join(ghDir, name))
		if err != nil || !fi.IsDir() {
			continue // ldconfig ignores unreadable entries
		}
		b.hwcapsNames[name] = true
		b.addSingleDir(&dirEntry{path: d.path + "/glibc-hwcaps/" + name, real: real,
			isDir: true, flag: d.flag, hwcaps: name})
	}
	return nil
}

// dlib is one library of a directory (struct dlib_entry).
type dlib struct {
	name, soname string
	flag         int32
	isLink       bool
	isaLevel     uint32
}

// searchDir adds the libraries of one directory (elf/ldconfig.c:search_dir).
func (b *builder) searchDir(d *dirEntry) error {
	if !d.isDir {
		return nil
	}
	ents, err := fs.ReadDir(b.root.fsys, d.real)
	if err != nil {
		return fmt.Errorf("listing library directory %s: %w", d.path, err)
	}
	libs := map[string]*dlib{}
	for _, e := range ents {
		if err := b.scanEntry(d, e, libs); err != nil {
			return err
		}
	}
	var hwcap uint64
	if d.hwcaps == "" && b.opts.LegacyHWCaps {
		hwcap = b.arch.pathHWCap(d.path)
	}
	for _, soname := range slices.Sorted(maps.Keys(libs)) {
		if err := b.addLibrary(d, libs[soname], hwcap); err != nil {
			return err
		}
	}
	return nil
}

// scanEntry looks at one directory entry and records it in libs if it is a
// library.
func (b *builder) scanEntry(d *dirEntry, e fs.DirEntry, libs map[string]*dlib) error {
	name, typ := e.Name(), e.Type()
	isLink, isReg, isDir := typ&fs.ModeSymlink != 0, typ.IsRegular(), typ.IsDir()
	legacyDir := d.hwcaps == "" && b.opts.LegacyHWCaps && b.arch.isHWCapPlatform(name)
	if !isLink && !isReg && !isDir {
		return nil
	}
	if !isDSOName(name) && (isReg || (d.hwcaps == "" && !legacyDir)) || isPrelinkTemp(name) {
		return nil
	}
	real := path.Join(d.real, name)
	if isLink {
		target, fi, err := b.root.stat(real)
		if err != nil {
			return b.skip(d, name, err)
		}
		real, isDir, isReg = target, fi.IsDir(), fi.Mode().IsRegular()
	}
	if isDir && legacyDir {
		b.addSingleDir(&dirEntry{path: d.path + "/" + name, real: real, isDir: true,
			flag: d.flag})
		return nil
	}
	if !isReg {
		return nil
	}
	info, err := b.readLibrary(real)
	if err != nil {
		return b.skip(d, name, err)
	}
	b.record(d, libs, b.library(d, name, isLink, info))
	return nil
}

// library turns what the ELF file says into a dlib, applying ldconfig's rule
// for symlinks: a symlink named after its target's SONAME, or a libfoo.so
// symlink whose target's SONAME starts with libfoo.so, stays a link entry
// under its own name; any other symlink counts as a file.
func (b *builder) library(d *dirEntry, name string, isLink bool, info elfInfo) *dlib {
	soname := name
	if info.hasSOName {
		soname = info.soname
	}
	if isLink && name != soname &&
		!(strings.HasSuffix(name, ".so") && strings.HasPrefix(soname, name)) {
		isLink = false
	}
	if isLink {
		soname = name
	}
	flag := info.flags
	if flag == FlagELF && (d.flag == FlagELFLibc5 || d.flag == FlagELFLibc6) {
		flag = d.flag
	}
	if flag == FlagELF && !b.opts.LegacyTypes {
		flag = FlagELFLibc6
	}
	return &dlib{name: name, soname: soname, flag: flag, isLink: isLink,
		isaLevel: info.isaLevel}
}

// record keeps one library per SONAME: a file beats a link, and between two
// of a kind the newer name by _dl_cache_libcmp wins.
func (b *builder) record(d *dirEntry, libs map[string]*dlib, n *dlib) {
	old := libs[n.soname]
	if old == nil {
		libs[n.soname] = n
		return
	}
	newer := (!n.isLink && old.isLink) ||
		(n.isLink == old.isLink && libcmp(old.name, n.name, b.arch.signedChar) < 0)
	if !newer {
		return
	}
	if old.flag != n.flag {
		switch {
		case old.flag == FlagELF && (n.flag == FlagELFLibc5 || n.flag == FlagELFLibc6),
			(old.flag == FlagELFLibc5 || old.flag == FlagELFLibc6) && n.flag == FlagELF:
			old.flag = n.flag
		default:
			b.log.Warn("libraries have the same SONAME but different types",
				"dir", d.path, "first", old.name, "second", n.name)
		}
	}
	old.name, old.isLink, old.isaLevel = n.name, n.isLink, n.isaLevel
}

// addLibrary records the cache entry of one library and its SONAME link.
// glibc-hwcaps entries point at the file itself and get no link.
func (b *builder) addLibrary(d *dirEntry, l *dlib, hwcap uint64) error {
	file := l.name
	if d.hwcaps == "" {
		if !l.isLink {
			if err := b.link(d, l.name, l.soname); err != nil {
				return err
			}
		}
		file = l.soname
	}
	b.entries = append(b.entries, pendingEntry{
		Entry:  Entry{Flags: l.flag, SOName: l.soname, Path: d.path + "/" + file, HWCap: hwcap},
		hwcaps: d.hwcaps, isaLevel: l.isaLevel,
	})
	return nil
}

// link records the symlink soname -> libname unless the SONAME already
// resolves to the library or is a file, as elf/ldconfig.c:create_links
// decides.
func (b *builder) link(d *dirEntry, libname, soname string) error {
	if soname == "" || soname == "." || soname == ".." || strings.Contains(soname, "/") {
		return nil
	}
	soPath := path.Join(d.real, soname)
	soReal, _, err := b.root.stat(soPath)
	switch {
	case err == nil:
		libReal, _, err := b.root.stat(path.Join(d.real, libname))
		if err != nil || libReal == soReal {
			return nil
		}
		if fi, err := b.root.fsys.Lstat(soPath); err == nil && fi.Mode()&fs.ModeSymlink == 0 {
			b.log.Warn("SONAME path is not a symlink; leaving it", "path", abs(soPath))
			return nil
		}
	case !isMissing(err):
		return fmt.Errorf("checking SONAME link %s: %w", abs(soPath), err)
	}
	b.links = append(b.links, Link{Path: abs(soPath), Target: libname})
	return nil
}

// readLibrary classifies one file.
func (b *builder) readLibrary(p string) (elfInfo, error) {
	f, err := b.root.fsys.Open(p)
	if err != nil {
		return elfInfo{}, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return elfInfo{}, err
	}
	ra, ok := f.(io.ReaderAt)
	if !ok {
		data, err := io.ReadAll(f)
		if err != nil {
			return elfInfo{}, err
		}
		ra = bytes.NewReader(data)
	}
	return b.arch.readELF(ra, fi.Size())
}

// skip logs why a directory entry is not a library, or returns err when it
// is a real failure rather than something ldconfig passes over.
func (b *builder) skip(d *dirEntry, name string, err error) error {
	var se *skipError
	if errors.As(err, &se) || isMissing(err) {
		b.log.Debug("skipping file", "path", d.path+"/"+name, "reason", err)
		return nil
	}
	return fmt.Errorf("reading %s/%s: %w", d.path, name, err)
}

// cache assembles the result: glibc-hwcaps names used by an entry indexed in
// name order (assign_glibc_hwcaps_indices), then the entries in cache order.
func (b *builder) cache() *Cache {
	used := map[string]bool{}
	for _, e := range b.entries {
		if e.hwcaps != "" {
			used[e.hwcaps] = true
		}
	}
	c := &Cache{HeaderFlags: EndianLittle, Generator: b.opts.Generator}
	for name := range b.hwcapsNames {
		if used[name] {
			c.HWCaps = append(c.HWCaps, name)
		} else {
			c.internOnly = append(c.internOnly, name)
		}
	}
	slices.Sort(c.HWCaps)
	slices.Sort(c.internOnly)
	for _, e := range b.entries {
		if e.hwcaps != "" {
			idx := slices.Index(c.HWCaps, e.hwcaps)
			e.HWCap = HWCapExtension | uint64(e.isaLevel)<<32 | uint64(idx)
		}
		c.Entries = append(c.Entries, e.Entry)
	}
	c.Entries = sortedEntries(c)
	return c
}

func (b *builder) sortedLinks() []Link {
	slices.SortFunc(b.links, func(x, y Link) int { return strings.Compare(x.Path, y.Path) })
	return b.links
}

// isDSOName is glibc's _dl_is_dso (elf/dl-is_dso.h): lib*.so*, ld-*.so*,
// ld.so.* and ld64.so.*.
func isDSOName(name string) bool {
	return (strings.HasPrefix(name, "lib") || strings.HasPrefix(name, "ld-")) &&
		strings.Contains(name, ".so") ||
		strings.HasPrefix(name, "ld.so.") || strings.HasPrefix(name, "ld64.so.")
}

// isPrelinkTemp tells the temporary files of prelink, which ldconfig skips.
func isPrelinkTemp(name string) bool {
	const suffix, infix = ".#prelink#", ".#prelink#."
	return strings.HasSuffix(name, suffix) ||
		len(name) >= len(infix)+6 && strings.HasPrefix(name[len(name)-len(infix)-6:], infix)
}
