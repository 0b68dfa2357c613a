package layer

import (
	"archive/tar"
	"bufio"
	"context"
	"crypto/sha1"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/rules-apk/rules_apk/tools/internal/apk"
	"github.com/rules-apk/rules_apk/tools/internal/lock"
)

// entry is one data entry of a package, as read in pass 1: its header
// fields and, for a regular file, where its content sits in a spool.
type entry struct {
	path     string // as shipped, cleaned
	typ      byte   // tar typeflag
	mode     int64  // permission, setuid, setgid and sticky bits
	uid, gid int
	size     int64
	link     string       // symlink target, or hard link target path (as shipped)
	xattrs   []xattr      // sorted by name
	sum      apk.Checksum // SHA-1 of the content (regular), of the target (symlink)
	content  contentRef
}

// xattr is one extended attribute, from a PAX SCHILY.xattr.<name> record
// (§1.5).
type xattr struct{ name, value string }

// contentRef locates a regular file's bytes: in a spool file, or in memory
// for generated files.
type contentRef struct {
	spool *spool
	off   int64
	data  []byte
}

// pkgData is what pass 1 learnt about one package.
type pkgData struct {
	lock    lock.Package
	file    *apk.PackageFile
	entries []entry
}

// spool holds the regular-file contents of the packages one worker read (or
// of one package, with the expanded cache), so that pass 2 can copy them in
// any order without holding them in memory.
type spool struct {
	f   *os.File
	w   *bufio.Writer // nil for an entry of the expanded cache
	off int64
	// keep: the file is an entry of the expanded cache, not removed on close.
	keep bool
}

func newSpool(dir string) (*spool, error) {
	f, err := os.CreateTemp(dir, "apkpack-spool-*")
	if err != nil {
		return nil, fmt.Errorf("creating spool file: %w", err)
	}
	return &spool{f: f, w: bufio.NewWriterSize(f, 1<<20)}, nil
}

// Write appends to the spool.
func (s *spool) Write(p []byte) (int, error) {
	n, err := s.w.Write(p)
	s.off += int64(n)
	return n, err
}

// flush makes everything written readable with ReadAt.
func (s *spool) flush() error {
	if s.w == nil {
		return nil
	}
	if err := s.w.Flush(); err != nil {
		return fmt.Errorf("writing spool file: %w", err)
	}
	return nil
}

func (s *spool) close() {
	s.f.Close()
	if !s.keep {
		os.Remove(s.f.Name())
	}
}

// readAll reads and verifies every package on up to workers goroutines, each
// spooling into its own file. With an expanded cache, a package found there
// is not read at all, and every other package spools into a file of its own
// that becomes its cache entry once it has verified. On any failure it
// returns the first error in closure order, so that the message does not
// depend on scheduling.
func readAll(ctx context.Context, opts *Options, pkgs []lock.Package,
	paths []string) ([]*pkgData, []*spool, error) {
	workers := max(1, min(opts.Parallelism, len(pkgs)))
	var cache *expandedCache
	if opts.ExpandedCache != "" {
		var err error
		if cache, err = openExpandedCache(opts.ExpandedCache); err != nil {
			return nil, nil, err
		}
	}
	var shared []*spool
	if cache == nil {
		for range workers {
			s, err := newSpool(opts.TempDir)
			if err != nil {
				closeSpools(shared)
				return nil, nil, err
			}
			shared = append(shared, s)
		}
	}
	out := make([]*pkgData, len(pkgs))
	own := make([]*spool, len(pkgs))
	errs := make([]error, len(pkgs))
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	next := make(chan int)
	var hits atomic.Int64
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for i := range next {
				if cache == nil {
					out[i], errs[i] = readOne(ctx, pkgs[i], paths[i], shared[w])
				} else {
					var hit bool
					out[i], own[i], hit, errs[i] = readCached(ctx, opts, cache, pkgs[i], paths[i])
					if hit {
						hits.Add(1)
					}
				}
				if errs[i] != nil {
					cancel()
				}
			}
		})
	}
feed:
	for i := range pkgs {
		select {
		case next <- i:
		case <-ctx.Done():
			break feed
		}
	}
	close(next)
	wg.Wait()
	spools := shared
	for _, s := range own {
		if s != nil {
			spools = append(spools, s)
		}
	}
	for _, s := range shared {
		if err := s.flush(); err != nil {
			errs = append(errs, err)
		}
	}
	if err := firstError(ctx, errs); err != nil {
		closeSpools(spools)
		return nil, nil, err
	}
	if cache != nil {
		opts.Logger.Debug("expanded cache", "dir", cache.dir, "hits", hits.Load(),
			"misses", int64(len(pkgs))-hits.Load())
	}
	return out, spools, nil
}

// readCached takes one package from the expanded cache, or reads and
// verifies it into a new entry of the cache.
func readCached(ctx context.Context, opts *Options, cache *expandedCache, lp lock.Package,
	path string) (*pkgData, *spool, bool, error) {
	if err := ctx.Err(); err != nil {
		return nil, nil, false, err
	}
	d, s, err := cache.load(lp)
	if err == nil {
		return d, s, true, nil
	}
	if !isMiss(err) {
		opts.Logger.Warn("expanded cache entry unusable; reading the package again",
			"package", lp.Name+"-"+lp.Version, "err", err)
	}
	if s, err = cache.newSpool(); err != nil {
		return nil, nil, false, err
	}
	if d, err = readOne(ctx, lp, path, s); err == nil {
		err = cache.store(d, s)
	}
	if err != nil {
		s.close()
		return nil, nil, false, err
	}
	return d, s, false, nil
}

// firstError returns the first real error in order; a cancellation caused by
// another failure is not one.
func firstError(ctx context.Context, errs []error) error {
	var cancelled error
	for _, err := range errs {
		if err == nil {
			continue
		}
		if errors.Is(err, context.Canceled) && cancelled == nil {
			cancelled = err
			continue
		}
		return err
	}
	if cancelled != nil {
		return cancelled
	}
	return context.Cause(ctx)
}

func closeSpools(spools []*spool) {
	for _, s := range spools {
		s.close()
	}
}

// readOne verifies one package against its lockfile entry (§1.2, §1.3,
// §1.5: C:, datahash, per-file SHA-1, then the SHA-256 and size of the whole
// file) while spooling its regular files.
func readOne(ctx context.Context, lp lock.Package, path string, s *spool) (*pkgData, error) {
	want, err := apk.ParseChecksum(lp.Checksum)
	if err != nil {
		return nil, fmt.Errorf("package %s-%s: lockfile checksum: %w", lp.Name, lp.Version, err)
	}
	d := &pkgData{lock: lp}
	visit := func(hdr *tar.Header, content io.Reader) error {
		if err := ctx.Err(); err != nil {
			return err
		}
		e, err := newEntry(hdr, content, s)
		if err != nil {
			return err
		}
		d.entries = append(d.entries, e)
		return nil
	}
	pf, err := apk.ReadPackageFile(path, apk.ReadOptions{
		Name: path, ExpectChecksum: want, Visit: visit,
	})
	if err != nil {
		return nil, fmt.Errorf("verifying %s-%s: %w", lp.Name, lp.Version, err)
	}
	if err := checkAgainstLock(lp, pf, path); err != nil {
		return nil, err
	}
	d.file = pf
	return d, nil
}

// checkAgainstLock compares what only the lockfile knows: the SHA-256 and
// size of the whole file (what Bazel's downloader checks), the datahash, and
// the identity of the package.
func checkAgainstLock(lp lock.Package, pf *apk.PackageFile, path string) error {
	got := hex.EncodeToString(pf.SHA256[:])
	fail := func(what, want, got string) error {
		return &VerifyError{Package: lp.Name + "-" + lp.Version, File: path,
			Check: what, Want: want, Got: got}
	}
	switch {
	case got != lp.SHA256:
		return fail("sha256", lp.SHA256, got)
	case lp.Size != 0 && uint64(pf.Size) != lp.Size:
		return fail("size", fmt.Sprint(lp.Size), fmt.Sprint(pf.Size))
	case lp.DataHash != "" && pf.DataHash != lp.DataHash:
		return fail("datahash", lp.DataHash, pf.DataHash)
	case pf.Info.Name != lp.Name || pf.Info.Version != lp.Version:
		return fail("name and version", lp.Name+"-"+lp.Version, pf.Info.NameVersion())
	}
	return nil
}

// VerifyError reports a package whose bytes do not match its lockfile entry.
type VerifyError struct {
	Package string // name-version
	File    string
	Check   string // sha256, size, datahash, name and version
	Want    string // from the lockfile
	Got     string // computed from the file
}

// Error names the package, the file, both values and the remedy.
func (e *VerifyError) Error() string {
	return fmt.Sprintf("verifying %s: %s of %s is %s, the lockfile says %s: the file is not "+
		"the locked package; fetch it again (apkpack fetch) or re-lock", e.Package, e.Check,
		e.File, e.Got, e.Want)
}

// newEntry records one data entry, spooling a regular file's content. The
// per-file SHA-1 comes from the PAX record (which ReadPackage verifies once
// the content is read); a file without one is hashed here, since the
// installed database needs every file's Z: (§5.2).
func newEntry(hdr *tar.Header, content io.Reader, s *spool) (entry, error) {
	e := entry{path: hdr.Name, typ: hdr.Typeflag, mode: hdr.Mode & 0o7777, uid: hdr.Uid,
		gid: hdr.Gid, size: hdr.Size, link: hdr.Linkname, xattrs: paxXattrs(hdr.PAXRecords)}
	if e.typ == tar.TypeRegA {
		e.typ = tar.TypeReg
	}
	if e.typ != tar.TypeReg {
		e.size = 0
	}
	sum, ok := paxSHA1(hdr.PAXRecords)
	switch e.typ {
	case tar.TypeReg:
		e.content = contentRef{spool: s, off: s.off}
		var h io.Writer = s
		hash := sha1.New()
		if !ok {
			h = io.MultiWriter(s, hash)
		}
		n, err := io.Copy(h, content)
		if err != nil {
			return e, fmt.Errorf("spooling %s: %w", hdr.Name, err)
		}
		if n != hdr.Size {
			return e, fmt.Errorf("spooling %s: read %d of %d bytes", hdr.Name, n, hdr.Size)
		}
		if !ok {
			sum = apk.SHA1Checksum(hash.Sum(nil))
		}
	case tar.TypeSymlink:
		if !ok {
			h := sha1.Sum([]byte(hdr.Linkname))
			sum = apk.SHA1Checksum(h[:])
		}
	}
	e.sum = sum
	return e, nil
}

// paxXattrs collects the SCHILY.xattr.* records, sorted by name.
func paxXattrs(recs map[string]string) []xattr {
	var xs []xattr
	for k, v := range recs {
		if name, ok := strings.CutPrefix(k, "SCHILY.xattr."); ok {
			xs = append(xs, xattr{name, v})
		}
	}
	slices.SortFunc(xs, func(a, b xattr) int { return strings.Compare(a.name, b.name) })
	return xs
}

// paxSHA1 reads the APK-TOOLS.checksum.SHA1 record: 40 hex digits, or the
// Q1 base64 some old Chainguard tooling wrote (§1.5).
func paxSHA1(recs map[string]string) (apk.Checksum, bool) {
	v, ok := recs["APK-TOOLS.checksum.SHA1"]
	if !ok {
		return apk.Checksum{}, false
	}
	if b, err := hex.DecodeString(v); err == nil && len(b) == sha1.Size {
		return apk.SHA1Checksum(b), true
	}
	if c, err := apk.ParseChecksum(v); err == nil && c.Kind == apk.ChecksumSHA1 {
		return c, true
	}
	return apk.Checksum{}, false
}

// Verify checks the package file at path against its lockfile entry: C:,
// datahash and every file's SHA-1 (apk.ReadPackage), then the SHA-256 and
// size of the whole file, the datahash and the name and version the
// lockfile records.
func Verify(path string, lp lock.Package) (*apk.PackageFile, error) {
	want, err := apk.ParseChecksum(lp.Checksum)
	if err != nil {
		return nil, fmt.Errorf("package %s-%s: lockfile checksum: %w", lp.Name, lp.Version, err)
	}
	pf, err := apk.ReadPackageFile(path, apk.ReadOptions{Name: path, ExpectChecksum: want})
	if err != nil {
		return nil, fmt.Errorf("verifying %s-%s: %w", lp.Name, lp.Version, err)
	}
	if err := checkAgainstLock(lp, pf, path); err != nil {
		return nil, err
	}
	return pf, nil
}
