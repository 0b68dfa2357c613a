package apk

import (
	"archive/tar"
	"bytes"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/klauspost/compress/gzip"
)

// WriteOptions configures WritePackage.
type WriteOptions struct {
	// Info is the package metadata. Name, Version and Arch are required.
	// WritePackage computes InstalledSize, DataHash, Checksum and Size.
	Info Package
	// Dir is the tree to package; "" makes a package without files (a
	// metapackage such as wolfi-base).
	Dir string
	// Scripts maps script names (see IsScriptName) to their content.
	Scripts map[string][]byte
	// SigningKey signs the package; nil writes an unsigned package.
	SigningKey *SigningKey
	// SigAlg is the signature algorithm: SigRSA256 (the default, as melange
	// since 2024-12), SigRSA or SigRSA512 (§1.3).
	SigAlg SigAlg
	// ModTime is the mtime of every entry; zero means Info.BuildTime.
	ModTime time.Time
	// UID and GID own every entry; the default is 0:0 (root). Entries
	// carry numeric owners only, no user or group names.
	UID, GID int
	// Owners give some entries other owners: each the entry at its Path
	// and everything under it, the longest matching Path winning. An
	// Owner whose Path is not in the tree is an error, so that a typo
	// cannot go unnoticed. The control member stays UID:GID.
	Owners []Owner
	// Level is the gzip level of the data member; 0 means
	// gzip.BestCompression, as abuild's gzip -9.
	Level int
	// TempDir holds the data member while the control member, which must
	// record its datahash, is made; "" means os.TempDir().
	TempDir string
}

// Owner is the owner of an entry of the tree and of everything under it:
// {Path: "home/nonroot", UID: 65532, GID: 65532} gives a base layout the
// home directory of Wolfi's nonroot user.
type Owner struct {
	// Path is relative to the tree, slash-separated, without a leading or
	// trailing slash.
	Path     string
	UID, GID int
}

// WritePackage writes a v2 package (§1.1) of opts.Dir and returns its
// metadata with the computed InstalledSize, DataHash, Checksum (C:) and Size.
//
// The output is byte-for-byte deterministic: entries in lexical path order
// (each directory before its contents), owners opts.UID:opts.GID, one mtime,
// modes from the tree, hard links detected by file identity, POSIX (PAX)
// headers with the APK-TOOLS.checksum.SHA1 records abuild writes (content
// for files, target for symlinks, §1.5), and gzip members without name or
// time.
//
// The data member streams to a temporary file in opts.TempDir, hashed on the
// way, because the control member that precedes it must carry its datahash;
// nothing is held in memory but the control and signature members. Each
// file is read twice: to sum it for its header, then to copy it (a change in
// between is an error).
func WritePackage(w io.Writer, opts WriteOptions) (*Package, error) {
	info := opts.Info
	if err := checkWriteOptions(&opts); err != nil {
		return nil, fmt.Errorf("writing package %s: %w", info.NameVersion(), err)
	}
	p, err := writePackage(w, info, &opts)
	if err != nil {
		return nil, fmt.Errorf("writing package %s: %w", info.NameVersion(), err)
	}
	return p, nil
}

func checkWriteOptions(opts *WriteOptions) error {
	if opts.Info.Name == "" || opts.Info.Version == "" || opts.Info.Arch == "" {
		return errors.New("metadata needs a name, a version and an arch")
	}
	if err := checkPkgInfoValues(&opts.Info); err != nil {
		return err
	}
	for name := range opts.Scripts {
		if !IsScriptName(name) {
			return fmt.Errorf("script %q is not one apk runs (.pre-install, .post-install, "+
				".pre-upgrade, .post-upgrade, .pre-deinstall, .post-deinstall, .trigger)", name)
		}
	}
	if err := checkOwners(opts.Owners); err != nil {
		return err
	}
	if opts.SigAlg == "" {
		opts.SigAlg = SigRSA256
	}
	if _, ok := opts.SigAlg.hash(); !ok {
		return fmt.Errorf("signature algorithm %s: use RSA256, RSA or RSA512", opts.SigAlg)
	}
	if opts.ModTime.IsZero() {
		opts.ModTime = time.Unix(opts.Info.BuildTime, 0)
	}
	if opts.Level == 0 {
		opts.Level = gzip.BestCompression
	}
	return nil
}

// checkOwners rejects owners of impossible paths or ids, and a path given
// twice.
func checkOwners(owners []Owner) error {
	seen := map[string]bool{}
	for _, o := range owners {
		if _, err := cleanEntryName(o.Path); err != nil || strings.HasSuffix(o.Path, "/") {
			return fmt.Errorf("owner of %q: not a relative path in the tree", o.Path)
		}
		if o.UID < 0 || o.GID < 0 {
			return fmt.Errorf("owner of %s: %d:%d is not a numeric uid:gid", o.Path, o.UID, o.GID)
		}
		if seen[o.Path] {
			return fmt.Errorf("owner of %s: given twice", o.Path)
		}
		seen[o.Path] = true
	}
	return nil
}

func writePackage(w io.Writer, info Package, opts *WriteOptions) (*Package, error) {
	tmp, err := os.CreateTemp(opts.TempDir, "apkpack-data-*.tar.gz")
	if err != nil {
		return nil, fmt.Errorf("creating the temporary data file: %w", err)
	}
	defer os.Remove(tmp.Name())
	defer tmp.Close()

	dataHash := sha256.New()
	size, err := writeData(io.MultiWriter(tmp, dataHash), opts)
	if err != nil {
		return nil, err
	}
	info.InstalledSize, info.DataHash = size, hex.EncodeToString(dataHash.Sum(nil))

	ctl, err := controlMember(&info, opts)
	if err != nil {
		return nil, err
	}
	sum := sha1.Sum(ctl)
	info.Checksum = SHA1Checksum(sum[:])

	// The signature covers the control member only, since it carries the
	// datahash (§1.3).
	var sig []byte
	if opts.SigningKey != nil {
		s, err := opts.SigningKey.Sign(opts.SigAlg, ctl)
		if err != nil {
			return nil, err
		}
		if sig, err = SignatureMember(s); err != nil {
			return nil, err
		}
	}
	n, err := writeMembers(w, tmp, sig, ctl)
	if err != nil {
		return nil, err
	}
	info.Size = uint64(n)
	return &info, nil
}

// writeMembers concatenates the signature and control members and the data
// member held in tmp.
func writeMembers(w io.Writer, tmp *os.File, sig, ctl []byte) (int64, error) {
	if _, err := tmp.Seek(0, io.SeekStart); err != nil {
		return 0, fmt.Errorf("rewinding the temporary data file: %w", err)
	}
	n, err := io.Copy(w, io.MultiReader(bytes.NewReader(sig), bytes.NewReader(ctl), tmp))
	if err != nil {
		return n, fmt.Errorf("writing the package: %w", err)
	}
	return n, nil
}

// controlMember makes the control member: .PKGINFO, then the scripts in
// name order, in a tar without end-of-archive blocks (abuild-tar --cut),
// gzipped.
func controlMember(info *Package, opts *WriteOptions) ([]byte, error) {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	add := func(name string, mode int64, data []byte) error {
		hdr := &tar.Header{
			Typeflag: tar.TypeReg, Name: name, Mode: mode, Size: int64(len(data)),
			Uid: opts.UID, Gid: opts.GID, ModTime: opts.ModTime, Format: tar.FormatPAX,
		}
		if err := tw.WriteHeader(hdr); err != nil {
			return fmt.Errorf("writing control file %s: %w", name, err)
		}
		if _, err := tw.Write(data); err != nil {
			return fmt.Errorf("writing control file %s: %w", name, err)
		}
		return nil
	}
	if err := add(".PKGINFO", 0o644, FormatPkgInfo(info)); err != nil {
		return nil, err
	}
	names := make([]string, 0, len(opts.Scripts))
	for name := range opts.Scripts {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		if err := add(name, 0o755, opts.Scripts[name]); err != nil {
			return nil, err
		}
	}
	// Flush, not Close: the data tar continues the stream (§1.1).
	if err := tw.Flush(); err != nil {
		return nil, fmt.Errorf("writing control member: %w", err)
	}
	return GzipMember(buf.Bytes())
}

// dataWriter writes the data tar of a tree.
type dataWriter struct {
	tw        *tar.Writer
	opts      *WriteOptions
	installed uint64
	// files groups the regular files written so far by size and mtime, so
	// that a hard link is found with os.SameFile among a few candidates.
	files map[fileKey][]writtenFile
	// owned records the Owners paths met in the tree.
	owned map[string]bool
}

type fileKey struct {
	size  int64
	mtime int64
}

type writtenFile struct {
	name string
	fi   fs.FileInfo
}

// writeData writes the gzipped data tar of opts.Dir to w and returns the
// installed size: the sum of the sizes of its regular files, each hard-linked
// file once.
func writeData(w io.Writer, opts *WriteOptions) (uint64, error) {
	zw, err := gzip.NewWriterLevel(w, opts.Level)
	if err != nil {
		return 0, fmt.Errorf("compressing data: %w", err)
	}
	dw := &dataWriter{tw: tar.NewWriter(zw), opts: opts, files: map[fileKey][]writtenFile{},
		owned: map[string]bool{}}
	if opts.Dir != "" {
		if err := filepath.WalkDir(opts.Dir, dw.walk); err != nil {
			return 0, err
		}
	}
	for _, o := range opts.Owners {
		if !dw.owned[o.Path] {
			return 0, fmt.Errorf("owner of %s: no such entry in the tree", o.Path)
		}
	}
	if err := dw.tw.Close(); err != nil {
		return 0, fmt.Errorf("writing data: %w", err)
	}
	if err := zw.Close(); err != nil {
		return 0, fmt.Errorf("compressing data: %w", err)
	}
	return dw.installed, nil
}

// walk writes one entry of the tree. filepath.WalkDir visits names in
// lexical order, each directory before its contents, which is the order
// apk-tools needs (a parent directory before its entries, §1.5).
func (dw *dataWriter) walk(p string, d fs.DirEntry, err error) error {
	if err != nil {
		return fmt.Errorf("reading tree: %w", err)
	}
	rel, err := filepath.Rel(dw.opts.Dir, p)
	if err != nil {
		return fmt.Errorf("reading tree: %w", err)
	}
	if rel == "." {
		return nil
	}
	name := filepath.ToSlash(rel)
	if _, err := cleanEntryName(name); err != nil {
		return err
	}
	if name[0] == '.' {
		return fmt.Errorf("tree entry %s: apk-tools does not install top-level dot names (§1.5)",
			name)
	}
	fi, err := d.Info()
	if err != nil {
		return fmt.Errorf("reading tree: %w", err)
	}
	return dw.entry(p, name, fi)
}

// owner returns the uid and gid of the entry name: those of the longest
// Owners path that is name or one of its parents, else UID:GID.
func (dw *dataWriter) owner(name string) (uid, gid int) {
	uid, gid = dw.opts.UID, dw.opts.GID
	best := -1
	for _, o := range dw.opts.Owners {
		if (name == o.Path || strings.HasPrefix(name, o.Path+"/")) && len(o.Path) > best {
			uid, gid, best = o.UID, o.GID, len(o.Path)
		}
		if name == o.Path {
			dw.owned[o.Path] = true
		}
	}
	return uid, gid
}

func (dw *dataWriter) entry(p, name string, fi fs.FileInfo) error {
	uid, gid := dw.owner(name)
	hdr := &tar.Header{
		Name: name, Mode: tarMode(fi.Mode()), Uid: uid, Gid: gid,
		ModTime: dw.opts.ModTime, Format: tar.FormatPAX,
	}
	switch m := fi.Mode(); {
	case m.IsDir():
		hdr.Typeflag = tar.TypeDir
	case m&fs.ModeSymlink != 0:
		target, err := os.Readlink(p)
		if err != nil {
			return fmt.Errorf("reading tree: %w", err)
		}
		sum := sha1.Sum([]byte(target))
		hdr.Typeflag, hdr.Linkname = tar.TypeSymlink, target
		hdr.PAXRecords = map[string]string{paxChecksumSHA1: hex.EncodeToString(sum[:])}
	case m.IsRegular():
		return dw.regular(p, hdr, fi)
	case m&fs.ModeNamedPipe != 0:
		hdr.Typeflag = tar.TypeFifo
	default:
		return fmt.Errorf("tree entry %s: unsupported file type %s", name, m.Type())
	}
	if err := dw.tw.WriteHeader(hdr); err != nil {
		return fmt.Errorf("writing data entry %s: %w", name, err)
	}
	return nil
}

// regular writes a regular file, or a hard link to an earlier one.
func (dw *dataWriter) regular(p string, hdr *tar.Header, fi fs.FileInfo) error {
	key := fileKey{size: fi.Size(), mtime: fi.ModTime().UnixNano()}
	for _, f := range dw.files[key] {
		if os.SameFile(f.fi, fi) {
			hdr.Typeflag, hdr.Linkname = tar.TypeLink, f.name
			if err := dw.tw.WriteHeader(hdr); err != nil {
				return fmt.Errorf("writing data entry %s: %w", hdr.Name, err)
			}
			return nil
		}
	}
	dw.files[key] = append(dw.files[key], writtenFile{name: hdr.Name, fi: fi})

	sum, err := sumFile(p)
	if err != nil {
		return err
	}
	hdr.Typeflag, hdr.Size = tar.TypeReg, fi.Size()
	hdr.PAXRecords = map[string]string{paxChecksumSHA1: hex.EncodeToString(sum)}
	if err := dw.tw.WriteHeader(hdr); err != nil {
		return fmt.Errorf("writing data entry %s: %w", hdr.Name, err)
	}
	if err := copyFile(dw.tw, p, fi.Size(), sum); err != nil {
		return err
	}
	dw.installed += uint64(fi.Size())
	return nil
}

func sumFile(p string) ([]byte, error) {
	f, err := os.Open(p)
	if err != nil {
		return nil, fmt.Errorf("reading tree: %w", err)
	}
	defer f.Close()
	h := sha1.New()
	if _, err := io.Copy(h, f); err != nil {
		return nil, fmt.Errorf("reading tree: %w", err)
	}
	return h.Sum(nil), nil
}

// copyFile copies exactly size bytes of p and checks they still have the
// SHA-1 written in the header.
func copyFile(w io.Writer, p string, size int64, sum []byte) error {
	f, err := os.Open(p)
	if err != nil {
		return fmt.Errorf("reading tree: %w", err)
	}
	defer f.Close()
	h := sha1.New()
	if _, err := io.CopyN(w, io.TeeReader(f, h), size); err != nil {
		return fmt.Errorf("copying %s: %w", p, err)
	}
	if n, _ := f.Read(make([]byte, 1)); n != 0 || !bytes.Equal(h.Sum(nil), sum) {
		return fmt.Errorf("copying %s: the file changed while it was packaged", p)
	}
	return nil
}

// tarMode converts a file mode to tar mode bits: permissions plus setuid,
// setgid and sticky.
func tarMode(m fs.FileMode) int64 {
	mode := int64(m.Perm())
	if m&fs.ModeSetuid != 0 {
		mode |= 0o4000
	}
	if m&fs.ModeSetgid != 0 {
		mode |= 0o2000
	}
	if m&fs.ModeSticky != 0 {
		mode |= 0o1000
	}
	return mode
}
