package layer

import (
	"archive/tar"
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"

	"github.com/rules-apk/rules_apk/tools/internal/apk"
	"github.com/rules-apk/rules_apk/tools/internal/lock"
)

// The expanded cache (Options.ExpandedCache) keeps every package Build has
// verified unpacked, under the SHA-256 the lockfile gives it:
//
//	<dir>/<sha256>.data  the contents of its regular files back to back
//	<dir>/<sha256>.json  what pass 1 learnt: .PKGINFO, C:, scripts, and each
//	                     data entry with its header fields, SHA-1 and the
//	                     offset of its bytes in the .data file
//
// A later Build of the same package reads those instead of inflating,
// hashing and spooling the package again, which is most of the time of a
// layer. An entry is written only once every check of the package passed,
// from a temporary name and renamed into place, the data before the
// metadata: an entry without its .json is not one. The entries are trusted
// as the package cache is: keep the directory as private as the apkpack
// binary. Nothing is ever evicted; the cache holds the installed size of
// the packages built, and can be removed at any time.
//
// Format 2: packages that ship a path twice are refused, and a repeated
// directory entry is dropped; an entry of format 1 may hold either, so it is
// read again.
const expandedFormat = 2

// maxExpandedMeta bounds the .json of an entry (a package of 100,000 files
// needs about 20 MB).
const maxExpandedMeta = 256 << 20

var sha256Hex = regexp.MustCompile(`^[0-9a-f]{64}$`)

type expandedMeta struct {
	Format    int               `json:"format"`
	SHA256    string            `json:"sha256"`
	Size      int64             `json:"size"`
	Checksum  string            `json:"checksum"`
	DataHash  string            `json:"datahash"`
	DataSize  int64             `json:"data_size"`
	FilesSize int64             `json:"files_size"`
	PkgInfo   []byte            `json:"pkginfo"`
	Scripts   map[string][]byte `json:"scripts,omitempty"`
	Entries   []expandedEntry   `json:"entries"`
}

type expandedEntry struct {
	Path   string      `json:"p"`
	Type   byte        `json:"t"`
	Mode   int64       `json:"m"`
	UID    int         `json:"u,omitempty"`
	GID    int         `json:"g,omitempty"`
	Size   int64       `json:"s,omitempty"`
	Off    int64       `json:"o,omitempty"`
	Link   string      `json:"l,omitempty"`
	Xattrs [][2]string `json:"x,omitempty"`
	Sum    string      `json:"c,omitempty"`
}

type expandedCache struct{ dir string }

func openExpandedCache(dir string) (*expandedCache, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("expanded cache: %w", err)
	}
	return &expandedCache{dir: dir}, nil
}

// key is the lockfile's SHA-256 of the package, checked to be one so that
// it cannot name a path outside the cache.
func (c *expandedCache) key(lp lock.Package) (string, error) {
	if !sha256Hex.MatchString(lp.SHA256) {
		return "", fmt.Errorf("package %s-%s: lockfile sha256 %q is not 64 hex digits",
			lp.Name, lp.Version, lp.SHA256)
	}
	return filepath.Join(c.dir, lp.SHA256), nil
}

// load returns the package's entry, with its spool open on the .data file;
// fs.ErrNotExist when there is none. An entry that does not hold together
// (another format, a different package, a short .data file) is an error,
// which Build treats as a miss.
func (c *expandedCache) load(lp lock.Package) (*pkgData, *spool, error) {
	base, err := c.key(lp)
	if err != nil {
		return nil, nil, err
	}
	mf, err := os.Open(base + ".json")
	if err != nil {
		return nil, nil, err
	}
	defer mf.Close()
	raw, err := io.ReadAll(io.LimitReader(mf, maxExpandedMeta+1))
	if err != nil {
		return nil, nil, err
	}
	if len(raw) > maxExpandedMeta {
		return nil, nil, fmt.Errorf("%s.json: more than %d bytes", base, maxExpandedMeta)
	}
	var m expandedMeta
	if err := json.Unmarshal(raw, &m); err != nil {
		return nil, nil, fmt.Errorf("%s.json: %w", base, err)
	}
	if m.Format != expandedFormat || m.SHA256 != lp.SHA256 || m.Checksum != lp.Checksum {
		return nil, nil, fmt.Errorf("%s.json: format %d of %s %s, want format %d of %s %s",
			base, m.Format, m.SHA256, m.Checksum, expandedFormat, lp.SHA256, lp.Checksum)
	}
	d, err := m.pkgData(lp)
	if err != nil {
		return nil, nil, fmt.Errorf("%s.json: %w", base, err)
	}
	f, err := os.Open(base + ".data")
	if err != nil {
		return nil, nil, err
	}
	st, err := f.Stat()
	if err != nil || st.Size() != m.DataSize {
		f.Close()
		return nil, nil, fmt.Errorf("%s.data: not the %d bytes %s.json describes", base,
			m.DataSize, base)
	}
	s := &spool{f: f, off: m.DataSize, keep: true}
	for i := range d.entries {
		if d.entries[i].typ == tar.TypeReg {
			d.entries[i].content.spool = s
		}
	}
	return d, s, nil
}

// pkgData rebuilds what readOne returns, and checks it against the lockfile
// as readOne does.
func (m *expandedMeta) pkgData(lp lock.Package) (*pkgData, error) {
	info, err := apk.ParsePkgInfo(bytes.NewReader(m.PkgInfo))
	if err != nil {
		return nil, err
	}
	if info.Checksum, err = apk.ParseChecksum(m.Checksum); err != nil {
		return nil, err
	}
	info.Size = uint64(m.Size)
	pf := &apk.PackageFile{Info: info, PkgInfo: m.PkgInfo, Scripts: m.Scripts, Size: m.Size,
		DataHash: m.DataHash, FilesSize: m.FilesSize}
	sum, err := hex.DecodeString(m.SHA256)
	if err != nil || len(sum) != len(pf.SHA256) {
		return nil, fmt.Errorf("sha256 %q", m.SHA256)
	}
	copy(pf.SHA256[:], sum)
	if err := checkAgainstLock(lp, pf, "the expanded cache"); err != nil {
		return nil, err
	}
	d := &pkgData{lock: lp, file: pf, entries: make([]entry, len(m.Entries))}
	for i, x := range m.Entries {
		e := entry{path: x.Path, typ: x.Type, mode: x.Mode, uid: x.UID, gid: x.GID,
			size: x.Size, link: x.Link}
		for _, kv := range x.Xattrs {
			e.xattrs = append(e.xattrs, xattr{kv[0], kv[1]})
		}
		if x.Sum != "" {
			if e.sum, err = apk.ParseChecksum(x.Sum); err != nil {
				return nil, fmt.Errorf("entry %s: %w", x.Path, err)
			}
		}
		if x.Size < 0 || x.Off < 0 || x.Off > m.DataSize-x.Size {
			return nil, fmt.Errorf("entry %s: bytes %d+%d outside the %d of the data file",
				x.Path, x.Off, x.Size, m.DataSize)
		}
		e.content.off = x.Off
		d.entries[i] = e
	}
	return d, nil
}

// newSpool makes the spool of one package: a temporary file in the cache,
// which store renames into place.
func (c *expandedCache) newSpool() (*spool, error) {
	return newSpool(c.dir)
}

// store makes the package's spool, written by readOne, its entry.
func (c *expandedCache) store(d *pkgData, s *spool) error {
	base, err := c.key(d.lock)
	if err != nil {
		return err
	}
	if err := s.flush(); err != nil {
		return err
	}
	// Pass 2 only reads the spool: its 1 MiB buffer can go now rather than
	// stay alive for every package of the closure.
	s.w = nil
	pf := d.file
	m := expandedMeta{Format: expandedFormat, SHA256: d.lock.SHA256, Size: pf.Size,
		Checksum: d.lock.Checksum, DataHash: pf.DataHash, DataSize: s.off,
		FilesSize: pf.FilesSize, PkgInfo: pf.PkgInfo, Scripts: pf.Scripts,
		Entries: make([]expandedEntry, len(d.entries))}
	for i, e := range d.entries {
		x := expandedEntry{Path: e.path, Type: e.typ, Mode: e.mode, UID: e.uid, GID: e.gid,
			Size: e.size, Off: e.content.off, Link: e.link}
		for _, a := range e.xattrs {
			x.Xattrs = append(x.Xattrs, [2]string{a.name, a.value})
		}
		if e.sum.Kind != apk.ChecksumNone {
			x.Sum = e.sum.String()
		}
		m.Entries[i] = x
	}
	raw, err := json.Marshal(&m)
	if err != nil {
		return fmt.Errorf("expanded cache entry of %s-%s: %w", d.lock.Name, d.lock.Version, err)
	}
	tmp, err := os.CreateTemp(c.dir, "apkpack-meta-*")
	if err != nil {
		return fmt.Errorf("expanded cache: %w", err)
	}
	_, werr := tmp.Write(raw)
	if cerr := tmp.Close(); werr == nil {
		werr = cerr
	}
	if werr == nil {
		werr = os.Rename(s.f.Name(), base+".data")
	}
	if werr == nil {
		s.keep = true
		werr = os.Rename(tmp.Name(), base+".json")
	}
	if werr != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("expanded cache entry of %s-%s: %w", d.lock.Name, d.lock.Version, werr)
	}
	return nil
}

// isMiss says whether a load error only means "not cached yet".
func isMiss(err error) bool { return errors.Is(err, fs.ErrNotExist) }
