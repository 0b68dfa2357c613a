package apk

import (
	"archive/tar"
	"bytes"
	"crypto/md5"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"math/big"
	"os"
	"slices"
	"strings"
)

// Limits bounds what ReadPackage accepts from a package, so that a hostile
// package (a gzip bomb, millions of entries, a huge .PKGINFO) fails with an
// error wrapping ErrTooLarge instead of exhausting memory (§8 item 10). A
// zero field takes its default from DefaultLimits.
type Limits struct {
	// MaxControlSize bounds the decompressed signature member and the
	// decompressed control member (.PKGINFO, scripts, .melange.yaml, which
	// are held in memory). Default 16 MiB.
	MaxControlSize int64
	// MaxPkgInfoSize bounds .PKGINFO. Default DefaultMaxPkgInfoSize, 4 MiB.
	MaxPkgInfoSize int64
	// MaxDataSize bounds the decompressed data, all data members together.
	// Default 32 GiB: the largest Wolfi packages (CUDA, LLVM) install a few
	// GiB.
	MaxDataSize int64
	// MaxFileSize bounds one data entry. Default 8 GiB.
	MaxFileSize int64
	// MaxEntries bounds the number of data entries; ReadPackage keeps one
	// map entry per entry to check parents, hard links and repeated paths. Default 1,048,576 (texlive, among the largest, has ~200,000).
	MaxEntries int
}

// DefaultLimits returns the limits ReadPackage applies to zero fields.
func DefaultLimits() Limits {
	return Limits{
		MaxControlSize: 16 << 20,
		MaxPkgInfoSize: DefaultMaxPkgInfoSize,
		MaxDataSize:    32 << 30,
		MaxFileSize:    8 << 30,
		MaxEntries:     1 << 20,
	}
}

func (l Limits) withDefaults() Limits {
	d := DefaultLimits()
	if l.MaxControlSize <= 0 {
		l.MaxControlSize = d.MaxControlSize
	}
	if l.MaxPkgInfoSize <= 0 {
		l.MaxPkgInfoSize = d.MaxPkgInfoSize
	}
	if l.MaxDataSize <= 0 {
		l.MaxDataSize = d.MaxDataSize
	}
	if l.MaxFileSize <= 0 {
		l.MaxFileSize = d.MaxFileSize
	}
	if l.MaxEntries <= 0 {
		l.MaxEntries = d.MaxEntries
	}
	return l
}

// maxSignatureEntry bounds one .SIGN.* entry: an RSA signature is the size of
// its key's modulus (512 bytes for 4096-bit keys).
const maxSignatureEntry = 64 << 10

// ReadOptions configures ReadPackage.
//
// Trust (§1.3): set Keyring to require a valid package signature (a local
// .apk, as `apk add ./x.apk`), or ExpectChecksum to require the control
// checksum C: of a trusted index record (a package from a repository: index
// signature → C: → datahash; the package's own signature is then not
// needed, so leave Keyring nil). Every option that is set must hold. With
// neither, ReadPackage refuses to run unless AllowUntrusted is set.
type ReadOptions struct {
	// Name names the package file in errors (a path or URL).
	Name string
	// Keyring, when set, must verify one of the package's signatures.
	Keyring *Keyring
	// ExpectChecksum, when set, must equal the computed C:.
	ExpectChecksum Checksum
	// AllowUntrusted reads a package with neither Keyring nor
	// ExpectChecksum (apkpack inspect); datahash and per-file checksums are
	// still verified.
	AllowUntrusted bool
	// Limits bounds sizes; zero fields take DefaultLimits.
	Limits Limits
	// Visit, when set, is called for every installable data entry in
	// archive order, while the package streams: hdr.Name is the cleaned
	// path (no trailing slash) and content yields a regular file's bytes
	// (nothing for other types); Visit may read part of it. Entries are
	// visited before the datahash (and, for a package without datahash, the
	// signature) can be known to match: a caller must discard what it made
	// when ReadPackage returns an error. Once a signature or C: check has
	// failed, Visit is no longer called.
	Visit func(hdr *tar.Header, content io.Reader) error
	// ListFiles fills PackageFile.Files (bounded by Limits.MaxEntries).
	ListFiles bool
}

// MemberKind says what a gzip member of a package holds (§1.1).
type MemberKind uint8

// Member kinds, in file order.
const (
	MemberSignature MemberKind = iota + 1
	MemberControl
	MemberData
)

// String names the kind as error messages do: signature, control, data.
func (k MemberKind) String() string {
	switch k {
	case MemberSignature:
		return "signature"
	case MemberControl:
		return "control"
	case MemberData:
		return "data"
	}
	return fmt.Sprintf("MemberKind(%d)", uint8(k))
}

// Member is one gzip member of a package file.
type Member struct {
	Kind         MemberKind
	Offset       int64 // in the file
	Size         int64 // compressed bytes
	Decompressed int64 // tar bytes
}

// FileEntry is one data entry, listed when ReadOptions.ListFiles is set.
type FileEntry struct {
	Path     string // cleaned, no trailing slash
	Type     byte   // tar typeflag
	Mode     int64  // permission and setuid/setgid/sticky bits
	UID, GID int
	Size     int64
	Linkname string
	Checksum Checksum // from the PAX APK-TOOLS.checksum.* record; zero if none
}

// PackageFile is what ReadPackage learnt about a package.
type PackageFile struct {
	// Info is the .PKGINFO metadata plus the computed Checksum (C:) and
	// Size (of the whole file).
	Info Package
	// PkgInfo is the raw .PKGINFO.
	PkgInfo []byte
	// Signatures are the recognised .SIGN.* entries; SignedBy is the key
	// that verified one of them (empty when no Keyring was given).
	Signatures []Signature
	SignedBy   string
	// Scripts maps a script name (".post-install", …) to its content.
	Scripts map[string][]byte
	// ControlFiles holds the other dot files of the control member
	// (".melange.yaml", …).
	ControlFiles map[string][]byte
	// Members lists the gzip members; a data section split over several
	// members (tolerated by apk-tools 2.14) has several MemberData entries.
	Members []Member
	// SHA256 and Size are of the whole file, as a lockfile records them.
	SHA256 [sha256.Size]byte
	Size   int64
	// DataHash is the computed SHA-256 (lowercase hex) of the data members.
	DataHash string
	// Entries counts data entries; SkippedEntries counts those apk does not
	// install (top-level dot names, §1.5) and the repeats of a directory
	// with the same attributes (checkTree); Unchecksummed counts regular
	// files and symlinks without a checksum record.
	Entries, SkippedEntries, Unchecksummed int
	// FilesSize sums the sizes of regular data files.
	FilesSize int64
	// Files lists the data entries when ReadOptions.ListFiles is set.
	Files []FileEntry
}

// EntryError reports a data entry ReadPackage refuses as apk-tools refuses
// it (§1.5 "ignoring malicious file", "no dirent in archive"; §8 item 10).
type EntryError struct {
	Path   string
	Reason string
}

// Error says which entry was refused and why.
func (e *EntryError) Error() string {
	return fmt.Sprintf("refusing data entry %q: %s", e.Path, e.Reason)
}

// ReadPackageFile opens path and reads it with ReadPackage; opts.Name
// defaults to path.
func ReadPackageFile(path string, opts ReadOptions) (*PackageFile, error) {
	if opts.Name == "" {
		opts.Name = path
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("reading package: %w", err)
	}
	defer f.Close()
	return ReadPackage(f, opts)
}

// ReadPackage reads a v2 package (§1) in one streaming pass: it never holds
// the data in memory, splits the 2 or more gzip members on their exact
// boundaries, and computes C:, the datahash, the signature digests, the
// per-file checksums and the SHA-256 of the whole file as it goes.
//
// Malformed or hostile input (bad gzip, garbage between members, unsafe
// paths, exceeded Limits) fails at once with an error naming the package.
// Failed checks (signature, C:, datahash, per-file checksums) are all
// collected and returned together as a *VerifyError; the PackageFile is then
// returned too, so that a caller can show what was read, but it must not be
// trusted.
func ReadPackage(r io.Reader, opts ReadOptions) (*PackageFile, error) {
	if opts.Keyring == nil && opts.ExpectChecksum.IsZero() && !opts.AllowUntrusted {
		return nil, fmt.Errorf("reading package %s: no keyring and no expected checksum to "+
			"verify it against; set ReadOptions.AllowUntrusted to read it unverified", opts.Name)
	}
	pr := newPkgReader(r, opts)
	if err := pr.read(); err != nil {
		if opts.Name == "" {
			return nil, fmt.Errorf("reading package: %w", err)
		}
		return nil, fmt.Errorf("reading package %s: %w", opts.Name, err)
	}
	if len(pr.failures) > 0 {
		name := opts.Name
		if name == "" {
			name = pr.pf.Info.Filename()
		}
		return pr.pf, &VerifyError{Package: name, Failures: pr.failures, Omitted: pr.omitted}
	}
	return pr.pf, nil
}

// pkgReader holds the state of one ReadPackage call.
type pkgReader struct {
	opts ReadOptions
	lim  Limits
	m    *MemberReader
	pf   *PackageFile

	fileHash hash.Hash
	fileSize countWriter
	offset   int64 // start of the next member

	ctlHash    hash.Hash // C:, over control (+ data without datahash)
	digester   *Digester // signature digests over the signed bytes
	dataHash   hash.Hash
	hasPkgInfo bool

	failures     []CheckFailure
	omitted      int
	trustChecked bool
	distrusted   bool                 // a trust check failed: stop calling Visit
	tree         map[string]treeEntry // every earlier data entry, by cleaned path
}

// treeEntry is what checkTree remembers of a data entry: its type and, for
// a directory, the attributes a repeat of it must match.
type treeEntry struct {
	typ      byte
	mode     int64
	uid, gid int
	xattrs   string // the SCHILY.xattr.* records, sorted and joined
}

func newPkgReader(r io.Reader, opts ReadOptions) *pkgReader {
	pr := &pkgReader{
		opts:     opts,
		lim:      opts.Limits.withDefaults(),
		pf:       &PackageFile{Scripts: map[string][]byte{}, ControlFiles: map[string][]byte{}},
		fileHash: sha256.New(),
		dataHash: sha256.New(),
		tree:     map[string]treeEntry{},
	}
	pr.m = NewMemberReader(io.TeeReader(r, io.MultiWriter(pr.fileHash, &pr.fileSize)))
	return pr
}

func (pr *pkgReader) read() error {
	if err := pr.readHead(); err != nil {
		return err
	}
	if pr.pf.Info.DataHash != "" {
		// The signed bytes and C: end with the control member (§1.2, §1.3):
		// decide trust before any data entry is visited.
		pr.checkTrust()
	}
	if err := pr.readData(); err != nil {
		return err
	}
	pr.pf.SHA256 = [sha256.Size]byte(pr.fileHash.Sum(nil))
	pr.pf.Size = pr.fileSize.n
	pr.pf.Info.Size = uint64(pr.fileSize.n)
	pr.pf.DataHash = hex.EncodeToString(pr.dataHash.Sum(nil))
	pr.checkTrust()
	pr.checkDataHash()
	return nil
}

// readHead reads the signature member, if any, and the control member.
// Whether member 0 is a signature member is decided by its first entry
// name, as apk-tools and apko decide it (§1.1); its SHA-1 is computed
// either way, since it is C: when the package is unsigned.
func (pr *pkgReader) readHead() error {
	sum0 := sha1.New()
	st, err := pr.next(MemberControl, sum0, pr.lim.MaxControlSize)
	if errors.Is(err, io.EOF) {
		return errors.New("empty file: a package has at least a control and a data gzip member")
	}
	if err != nil {
		return err
	}
	tr := tar.NewReader(st.z)
	hdr, err := firstEntry(tr, st)
	if err != nil {
		return err
	}
	if !strings.HasPrefix(hdr.Name, signPrefix) {
		pr.ctlHash = sum0
		return pr.readControl(st, tr, hdr)
	}

	st.kind = MemberSignature
	if err := pr.readSignatures(tr, hdr); err != nil {
		return err
	}
	if err := pr.done(st); err != nil {
		return err
	}
	pr.ctlHash = sha1.New()
	pr.digester = NewDigester(pr.pf.Signatures)
	st, err = pr.next(MemberControl, io.MultiWriter(pr.ctlHash, pr.digester), pr.lim.MaxControlSize)
	if errors.Is(err, io.EOF) {
		return errors.New("no control member after the signature member")
	}
	if err != nil {
		return err
	}
	tr = tar.NewReader(st.z)
	if hdr, err = firstEntry(tr, st); err != nil {
		return err
	}
	return pr.readControl(st, tr, hdr)
}

func firstEntry(tr *tar.Reader, st *memberState) (*tar.Header, error) {
	hdr, err := tr.Next()
	if errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("gzip member at offset %d holds no tar entry", st.offset)
	}
	if err != nil {
		return nil, fmt.Errorf("reading tar in gzip member at offset %d: %w", st.offset, err)
	}
	return hdr, nil
}

// readSignatures reads the .SIGN.* entries of the signature member (§1.3).
// Entries with an algorithm apk-tools does not know are skipped, as apk
// skips them.
func (pr *pkgReader) readSignatures(tr *tar.Reader, hdr *tar.Header) error {
	for {
		if !strings.HasPrefix(hdr.Name, signPrefix) {
			return fmt.Errorf("signature member holds %q: only .SIGN.* entries belong there",
				hdr.Name)
		}
		if hdr.Size > maxSignatureEntry {
			return fmt.Errorf("signature entry %s: %d bytes %w of %d", hdr.Name, hdr.Size,
				ErrTooLarge, maxSignatureEntry)
		}
		data, err := io.ReadAll(tr)
		if err != nil {
			return fmt.Errorf("reading signature entry %s: %w", hdr.Name, err)
		}
		if alg, key, ok := ParseSignatureName(hdr.Name); ok {
			sig := Signature{Alg: alg, KeyName: key, Data: data}
			pr.pf.Signatures = append(pr.pf.Signatures, sig)
		}
		hdr, err = tr.Next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("reading signature member: %w", err)
		}
	}
}

// readControl reads the control member from its first entry hdr on.
func (pr *pkgReader) readControl(st *memberState, tr *tar.Reader, hdr *tar.Header) error {
	for {
		if err := pr.controlEntry(tr, hdr); err != nil {
			return err
		}
		var err error
		hdr, err = tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return fmt.Errorf("reading control member: %w", err)
		}
	}
	if !pr.hasPkgInfo {
		return errors.New("control member has no .PKGINFO")
	}
	if pr.pf.Info.Name == "" || pr.pf.Info.Version == "" {
		return errors.New(".PKGINFO has no pkgname or no pkgver")
	}
	return pr.done(st)
}

func (pr *pkgReader) controlEntry(tr *tar.Reader, hdr *tar.Header) error {
	name := hdr.Name
	if !strings.HasPrefix(name, ".") || strings.Contains(name, "/") {
		return fmt.Errorf("control member holds %q: control files are top-level dot files", name)
	}
	if hdr.Typeflag != tar.TypeReg {
		return fmt.Errorf("control member entry %s is not a regular file (type %q)",
			name, hdr.Typeflag)
	}
	if name != ".PKGINFO" {
		data, err := io.ReadAll(tr)
		if err != nil {
			return fmt.Errorf("reading control file %s: %w", name, err)
		}
		if IsScriptName(name) {
			pr.pf.Scripts[name] = data
		} else {
			pr.pf.ControlFiles[name] = data
		}
		return nil
	}
	if pr.hasPkgInfo {
		return errors.New("control member has two .PKGINFO entries")
	}
	if hdr.Size > pr.lim.MaxPkgInfoSize {
		return fmt.Errorf(".PKGINFO: %d bytes %w of %d (Limits.MaxPkgInfoSize)",
			hdr.Size, ErrTooLarge, pr.lim.MaxPkgInfoSize)
	}
	raw, err := io.ReadAll(tr)
	if err != nil {
		return fmt.Errorf("reading .PKGINFO: %w", err)
	}
	info, err := parsePkgInfo(bytes.NewReader(raw), pr.lim.MaxPkgInfoSize)
	if err != nil {
		return err
	}
	pr.pf.Info, pr.pf.PkgInfo, pr.hasPkgInfo = info, raw, true
	return nil
}

// IsScriptName reports whether name is a control script apk-tools 2.14 runs
// (§1.1): .pre-install, .post-install, .pre-upgrade, .post-upgrade,
// .pre-deinstall, .post-deinstall or .trigger.
func IsScriptName(name string) bool {
	switch name {
	case ".pre-install", ".post-install", ".pre-upgrade", ".post-upgrade",
		".pre-deinstall", ".post-deinstall", ".trigger":
		return true
	}
	return false
}

// memberState is one gzip member being read.
type memberState struct {
	kind   MemberKind
	offset int64
	raw    countWriter
	z      *countReader
}

// next starts the next gzip member, handing its raw bytes to sink; past
// limit decompressed bytes it fails with an error wrapping ErrTooLarge that
// names the Limits field.
func (pr *pkgReader) next(kind MemberKind, sink io.Writer, limit int64) (*memberState, error) {
	st := &memberState{kind: kind, offset: pr.offset}
	z, err := pr.m.Next(io.MultiWriter(sink, &st.raw), limit)
	if err != nil {
		return nil, err
	}
	note := fmt.Sprintf("Limits.MaxControlSize %d bytes", limit)
	if kind == MemberData {
		// limit is what remains for this member; name the whole budget.
		note = fmt.Sprintf("Limits.MaxDataSize %d bytes", pr.lim.MaxDataSize)
	}
	st.z = &countReader{r: z, limit: note}
	return st, nil
}

// done drains the member (trailing zero blocks, the gzip trailer) so that
// its sinks have every raw byte, and records it.
func (pr *pkgReader) done(st *memberState) error {
	if _, err := io.Copy(io.Discard, st.z); err != nil {
		return fmt.Errorf("reading %s member at offset %d: %w", st.kind, st.offset, err)
	}
	pr.pf.Members = append(pr.pf.Members, Member{
		Kind: st.kind, Offset: st.offset, Size: st.raw.n, Decompressed: st.z.n,
	})
	pr.offset += st.raw.n
	return nil
}

// dataSink receives the raw data members: the datahash always, and C: and
// the signature digests too when .PKGINFO has no datahash (§1.2).
func (pr *pkgReader) dataSink() io.Writer {
	if pr.pf.Info.DataHash != "" {
		return pr.dataHash
	}
	if pr.digester == nil {
		return io.MultiWriter(pr.dataHash, pr.ctlHash)
	}
	return io.MultiWriter(pr.dataHash, pr.ctlHash, pr.digester)
}

// readData reads the data members as one tar stream.
func (pr *pkgReader) readData() error {
	st, err := pr.next(MemberData, pr.dataSink(), pr.lim.MaxDataSize)
	if errors.Is(err, io.EOF) {
		return errors.New("no data member after the control member")
	}
	if err != nil {
		return err
	}
	ds := &dataStream{pr: pr, cur: st, left: pr.lim.MaxDataSize}
	tr := tar.NewReader(ds)
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return fmt.Errorf("reading data: %w", err)
		}
		if err := pr.dataEntry(tr, hdr); err != nil {
			return err
		}
	}

	// The zero blocks after the end of the archive, and any further
	// member, belong to the datahash too.
	if _, err := io.Copy(io.Discard, ds); err != nil {
		return fmt.Errorf("reading data: %w", err)
	}
	return nil
}

// dataStream joins the data members into one decompressed stream: apk-tools
// 2.14 tolerates a data section split over several gzip members (§1.1).
type dataStream struct {
	pr   *pkgReader
	cur  *memberState
	left int64
	eof  bool
}

func (d *dataStream) Read(p []byte) (int, error) {
	for !d.eof {
		if d.cur == nil {
			st, err := d.pr.next(MemberData, d.pr.dataSink(), d.left)
			if errors.Is(err, io.EOF) {
				d.eof = true
				break
			}
			if err != nil {
				return 0, err
			}
			d.cur = st
		}
		n, err := d.cur.z.Read(p)
		d.left -= int64(n)
		if errors.Is(err, io.EOF) {
			if err := d.pr.done(d.cur); err != nil {
				return n, err
			}
			d.cur = nil
			if n == 0 {
				continue
			}
			return n, nil
		}
		return n, err
	}
	return 0, io.EOF
}

// dataEntry checks, hashes and visits one data entry.
func (pr *pkgReader) dataEntry(tr *tar.Reader, hdr *tar.Header) error {
	pr.pf.Entries++
	if pr.pf.Entries > pr.lim.MaxEntries {
		return fmt.Errorf("data: more than %d entries (Limits.MaxEntries) %w",
			pr.lim.MaxEntries, ErrTooLarge)
	}
	name, err := cleanEntryName(hdr.Name)
	if err != nil {
		return err
	}
	if name[0] == '.' {
		// apk-tools installs no top-level dot name from the data (§1.5).
		pr.pf.SkippedEntries++
		return nil
	}
	if hdr.Size > pr.lim.MaxFileSize {
		return fmt.Errorf("data entry %s: %d bytes %w of %d (Limits.MaxFileSize)",
			name, hdr.Size, ErrTooLarge, pr.lim.MaxFileSize)
	}
	repeat, err := pr.checkTree(name, hdr)
	if err != nil {
		return err
	}
	if repeat {
		pr.pf.SkippedEntries++
		return nil
	}
	hdr.Name = name
	fc := newFileCheck(hdr)
	if err := pr.visit(tr, hdr, fc); err != nil {
		return err
	}
	pr.record(hdr, fc)
	return nil
}

// cleanEntryName rejects the names apk-tools 2.14 refuses as malicious
// (database.c:apk_db_install_archive_entry, §1.5): absolute paths, control
// characters, "." and ".." components. It is stricter than apk in refusing
// "./x" and "../x" outright (apk skips them as dot names) and empty
// components. It drops one trailing slash (a directory).
func cleanEntryName(name string) (string, error) {
	refuse := func(reason string) (string, error) {
		return "", &EntryError{Path: name, Reason: reason}
	}
	clean := strings.TrimSuffix(name, "/")
	switch {
	case clean == "":
		return refuse("empty name")
	case clean[0] == '/':
		return refuse("absolute path (apk-tools refuses it as a malicious file)")
	case strings.ContainsFunc(clean, func(r rune) bool { return r < 0x20 || r == 0x7f }):
		return refuse("control character in the name (apk-tools refuses it as a malicious file)")
	}
	for _, c := range strings.Split(clean, "/") {
		switch c {
		case "..":
			return refuse(`".." component: path traversal ` +
				"(apk-tools refuses it as a malicious file)")
		case ".", "":
			return refuse(`"." or empty component (apk-tools refuses "./" as a malicious file)`)
		}
	}
	return clean, nil
}

// checkTree requires a directory entry for the parent of every entry and an
// earlier regular file as the target of every hard link, as apk-tools does
// ("no dirent in archive"; hard links stay inside the package, §1.5). This
// also keeps an entry from being written through a symlink of the package.
//
// It refuses a second entry for a path the package already holds: apk-tools
// would let the last one win, so a hostile package could ship a checked
// file and then a symlink or another file over it. The one repeat it
// tolerates is a directory with the same mode, owner and extended
// attributes as the first, which changes nothing: repeat reports it, and the
// caller skips it (it is neither visited nor listed).
func (pr *pkgReader) checkTree(name string, hdr *tar.Header) (repeat bool, err error) {
	if i := strings.LastIndexByte(name, '/'); i >= 0 && pr.tree[name[:i]].typ != tar.TypeDir {
		return false, &EntryError{Path: name, Reason: fmt.Sprintf(
			"no directory entry for %s earlier in the package (apk-tools: no dirent in archive)",
			name[:i])}
	}
	te := treeEntry{typ: hdr.Typeflag}
	if te.typ == tar.TypeDir {
		te.mode, te.uid, te.gid = hdr.Mode&0o7777, hdr.Uid, hdr.Gid
		te.xattrs = joinXattrs(hdr.PAXRecords)
	}
	if prev, ok := pr.tree[name]; ok {
		if prev.typ == tar.TypeDir && te == prev {
			return true, nil
		}
		return false, &EntryError{Path: name, Reason: fmt.Sprintf(
			"the package already has an entry for this path (a %s; this one is a %s): a "+
				"package must ship each path once (only a directory may repeat, with the "+
				"same mode, owner and xattrs); rebuild the package without the duplicate",
			typeName(prev.typ), typeName(te.typ))}
	}
	switch te.typ {
	case tar.TypeDir, tar.TypeReg, tar.TypeSymlink, tar.TypeChar, tar.TypeBlock, tar.TypeFifo:
	case tar.TypeLink:
		target, err := cleanEntryName(hdr.Linkname)
		if err != nil || pr.tree[target].typ != tar.TypeReg {
			return false, &EntryError{Path: name, Reason: fmt.Sprintf(
				"hard link to %q, which is not an earlier regular file of the package",
				hdr.Linkname)}
		}
		hdr.Linkname = target
	default:
		return false, &EntryError{Path: name,
			Reason: fmt.Sprintf("unsupported tar entry type %q", hdr.Typeflag)}
	}
	pr.tree[name] = te
	return false, nil
}

// joinXattrs joins a header's SCHILY.xattr.* records in name order, to
// compare two entries' extended attributes.
func joinXattrs(recs map[string]string) string {
	var keys []string
	for k := range recs {
		if strings.HasPrefix(k, "SCHILY.xattr.") {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	var b strings.Builder
	for _, k := range keys {
		fmt.Fprintf(&b, "%s=%q\n", k, recs[k])
	}
	return b.String()
}

// typeName names a tar typeflag in an error message.
func typeName(typ byte) string {
	switch typ {
	case tar.TypeDir:
		return "directory"
	case tar.TypeReg:
		return "regular file"
	case tar.TypeLink:
		return "hard link"
	case tar.TypeSymlink:
		return "symlink"
	case tar.TypeChar, tar.TypeBlock:
		return "device node"
	case tar.TypeFifo:
		return "fifo"
	}
	return fmt.Sprintf("entry of type %q", typ)
}

// visit hands the entry to opts.Visit and hashes a regular file's content
// as it goes by.
func (pr *pkgReader) visit(tr *tar.Reader, hdr *tar.Header, fc *fileCheck) error {
	var content io.Reader = eofReader{}
	if hdr.Typeflag == tar.TypeReg {
		content = tr
		if fc.h != nil {
			content = io.TeeReader(tr, fc.h)
		}
	}
	if pr.opts.Visit != nil && !pr.distrusted {
		if err := pr.opts.Visit(hdr, content); err != nil {
			return fmt.Errorf("visiting data entry %s: %w", hdr.Name, err)
		}
	}
	if fc.h != nil && hdr.Typeflag == tar.TypeReg {
		if _, err := io.Copy(io.Discard, content); err != nil {
			return fmt.Errorf("reading data entry %s: %w", hdr.Name, err)
		}
	}
	return nil
}

// record checks the entry's checksum and counts and lists it.
func (pr *pkgReader) record(hdr *tar.Header, fc *fileCheck) {
	if hdr.Typeflag == tar.TypeReg {
		pr.pf.FilesSize += hdr.Size
	}
	if fc.applies && fc.raw == "" {
		pr.pf.Unchecksummed++
	}
	if f, ok := fc.verify(hdr); !ok {
		pr.fail(f)
	}
	if pr.opts.ListFiles {
		pr.pf.Files = append(pr.pf.Files, FileEntry{
			Path: hdr.Name, Type: hdr.Typeflag, Mode: hdr.Mode, UID: hdr.Uid, GID: hdr.Gid,
			Size: hdr.Size, Linkname: hdr.Linkname, Checksum: fc.want,
		})
	}
}

type eofReader struct{}

func (eofReader) Read([]byte) (int, error) { return 0, io.EOF }

type countWriter struct{ n int64 }

func (c *countWriter) Write(p []byte) (int, error) {
	c.n += int64(len(p))
	return len(p), nil
}

// countReader counts the bytes of a member and names its limit in an
// ErrTooLarge error.
type countReader struct {
	r     io.Reader
	n     int64
	limit string
}

func (c *countReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	if errors.Is(err, ErrTooLarge) {
		err = fmt.Errorf("%w (%s)", err, c.limit)
	}
	return n, err
}

// PAX records holding per-file checksums (§1.5).
const (
	paxChecksumSHA1 = "APK-TOOLS.checksum.SHA1"
	paxChecksumMD5  = "APK-TOOLS.checksum.MD5"
)

// fileCheck verifies one data entry against its PAX checksum record: the
// SHA-1 of a regular file's content or of a symlink's target (§1.5).
type fileCheck struct {
	applies bool   // a regular file or symlink, the entries abuild sums
	raw     string // the record's value; "" when there is none
	record  string // the record's key
	kind    CheckKind
	want    Checksum
	h       hash.Hash
	bad     error // the record is malformed
}

func newFileCheck(hdr *tar.Header) *fileCheck {
	fc := &fileCheck{applies: hdr.Typeflag == tar.TypeReg || hdr.Typeflag == tar.TypeSymlink}
	if !fc.applies {
		return fc
	}
	if v, ok := hdr.PAXRecords[paxChecksumSHA1]; ok {
		fc.raw, fc.record, fc.kind = v, paxChecksumSHA1, CheckFileSHA1
		fc.want, fc.bad = parseFileSHA1(v)
		fc.h = sha1.New()
	} else if v, ok := hdr.PAXRecords[paxChecksumMD5]; ok {
		fc.raw, fc.record, fc.kind = v, paxChecksumMD5, CheckFileMD5
		fc.want, fc.bad = ParseChecksum(v)
		if fc.bad == nil && fc.want.Kind != ChecksumMD5 {
			fc.bad = errors.New("not 32 hex digits")
		}
		fc.h = md5.New()
	}
	return fc
}

// parseFileSHA1 accepts the 40 hex digits abuild writes and the "Q1" base64
// some old Chainguard tooling wrote (§1.5).
func parseFileSHA1(v string) (Checksum, error) {
	if len(v) == 2*sha1.Size {
		var c Checksum
		if _, err := hex.Decode(c.Sum[:], []byte(v)); err == nil {
			c.Kind = ChecksumSHA1
			return c, nil
		}
	}
	if strings.HasPrefix(v, "Q1") {
		return ParseChecksum(v)
	}
	return Checksum{}, errors.New("not 40 hex digits nor Q1 base64")
}

// verify compares the computed digest with the record, once the content
// has been read.
func (fc *fileCheck) verify(hdr *tar.Header) (CheckFailure, bool) {
	if !fc.applies || fc.raw == "" {
		return CheckFailure{}, true
	}
	f := CheckFailure{Kind: fc.kind, Path: hdr.Name, Expected: fc.raw}
	if fc.bad != nil {
		f.Err = fmt.Errorf("malformed %s record: %w", fc.record, fc.bad)
		return f, false
	}
	if hdr.Typeflag == tar.TypeSymlink {
		io.WriteString(fc.h, hdr.Linkname)
	}
	got := fc.h.Sum(nil)
	if bytes.Equal(got, fc.want.Bytes()) {
		return CheckFailure{}, true
	}
	f.Expected, f.Computed = hex.EncodeToString(fc.want.Bytes()), hex.EncodeToString(got)
	return f, false
}

// CheckKind names a verification ReadPackage performs.
type CheckKind string

// The checks of §1.2, §1.3 and §1.5.
const (
	CheckSignature CheckKind = "signature"
	CheckControl   CheckKind = "checksum C:"
	CheckDataHash  CheckKind = "datahash"
	CheckFileSHA1  CheckKind = "file SHA-1"
	CheckFileMD5   CheckKind = "file MD5"
)

// CheckFailure is one failed check, with both digests where there are two.
type CheckFailure struct {
	Kind     CheckKind
	Path     string // the data entry, for file checks
	Expected string // what the signature, index, .PKGINFO or PAX record says
	Computed string // what the package's bytes give
	Err      error  // more detail (for signatures, a *SignatureError)
}

// Error says what was checked and gives both digests.
func (f CheckFailure) Error() string {
	label := string(f.Kind)
	if f.Path != "" {
		label += " of " + f.Path
	}
	if f.Kind == CheckSignature {
		s := label + ": " + strings.TrimPrefix(f.Err.Error(), "signature: ")
		if f.Expected != "" {
			s += "; the signature holds " + f.Expected
		}
		if f.Computed != "" && f.Expected != "" {
			s += ", the signed bytes have " + f.Computed
		} else if f.Computed != "" {
			s += "; the signed bytes have " + f.Computed
		}
		return s
	}
	s := fmt.Sprintf("%s: expected %s, computed %s", label, orNone(f.Expected), orNone(f.Computed))
	if f.Err != nil {
		s += " (" + f.Err.Error() + ")"
	}
	return s
}

func orNone(s string) string {
	if s == "" {
		return "(none)"
	}
	return s
}

// VerifyError reports every check a package failed (signature, C:,
// datahash, per-file checksums), so that a user sees at once whether the
// package was modified, signed by an unknown key or listed with another
// checksum.
type VerifyError struct {
	Package  string // the file name or URL (ReadOptions.Name)
	Failures []CheckFailure
	Omitted  int // failures beyond the first maxFailures, not kept
}

// maxFailures bounds VerifyError.Failures: a package with every file
// modified would otherwise make an error of unbounded size.
const maxFailures = 16

// Error names the package, every failed check with its digests, and what
// to do.
func (e *VerifyError) Error() string {
	parts := make([]string, len(e.Failures))
	untrusted := false
	for i, f := range e.Failures {
		parts[i] = f.Error()
		var se *SignatureError
		if errors.As(f.Err, &se) && f.Expected == "" {
			untrusted = true
		}
	}
	s := "verifying package " + e.Package + ": " + strings.Join(parts, "; ")
	if e.Omitted > 0 {
		s += fmt.Sprintf("; and %d more failed checks", e.Omitted)
	}
	if untrusted && len(e.Failures) == 1 {
		return s + ": add the signing key to the keyring if you trust it"
	}
	return s + ": the package is corrupt or was modified; fetch it again from its repository"
}

// Unwrap returns the detail errors of the failures (a *SignatureError for a
// failed signature).
func (e *VerifyError) Unwrap() []error {
	var errs []error
	for _, f := range e.Failures {
		if f.Err != nil {
			errs = append(errs, f.Err)
		}
	}
	return errs
}

func (pr *pkgReader) fail(f CheckFailure) {
	if len(pr.failures) >= maxFailures {
		pr.omitted++
		return
	}
	pr.failures = append(pr.failures, f)
}

// checkTrust computes C: and checks it and the signature once the signed
// bytes are complete: after the control member when .PKGINFO has a
// datahash, after the data otherwise (§1.2, §1.3).
func (pr *pkgReader) checkTrust() {
	if pr.trustChecked {
		return
	}
	pr.trustChecked = true
	before := len(pr.failures)
	pr.pf.Info.Checksum = SHA1Checksum(pr.ctlHash.Sum(nil))
	if want := pr.opts.ExpectChecksum; !want.IsZero() && (want.Kind != ChecksumSHA1 ||
		!bytes.Equal(want.Bytes(), pr.pf.Info.Checksum.Bytes())) {
		pr.fail(CheckFailure{
			Kind: CheckControl, Expected: want.String(), Computed: pr.pf.Info.Checksum.String(),
			Err: errors.New("the package is not the one the index lists"),
		})
	}
	if pr.opts.Keyring != nil {
		pr.checkSignature()
	}
	pr.distrusted = len(pr.failures) > before
}

// checkSignature verifies the signatures and, when none verifies, says which
// digest the signature holds and which digest the signed bytes have:
// different digests mean the bytes changed; an undecodable signature means
// another key made it.
func (pr *pkgReader) checkSignature() {
	d := pr.digester
	if d == nil {
		d = NewDigester(nil)
	}
	k := pr.opts.Keyring
	key, err := k.Verify(pr.pf.Signatures, d)
	if err == nil {
		pr.pf.SignedBy = key
		return
	}
	f := CheckFailure{Kind: CheckSignature, Err: err}
	for _, s := range pr.pf.Signatures {
		h, ok := s.Alg.hash()
		if !ok {
			continue
		}
		f.Computed = fmt.Sprintf("%s %x", hashName(s.Alg), d.hashes[s.Alg].Sum(nil))
		pub := k.keys[s.KeyName]
		if pub == nil {
			continue
		}
		if got := signedDigest(pub, s.Data, h.Size()); got != nil {
			f.Expected = fmt.Sprintf("%s %x", hashName(s.Alg), got)
		} else {
			f.Expected = "no digest decodable with key " + s.KeyName + " (signed by another key)"
		}
		break
	}
	pr.fail(f)
}

func hashName(a SigAlg) string {
	switch a {
	case SigRSA:
		return "sha1"
	case SigRSA256:
		return "sha256"
	case SigRSA512:
		return "sha512"
	}
	return string(a)
}

// signedDigest recovers the digest a PKCS#1 v1.5 signature carries (RFC 8017
// §8.2.2: EM = 0x00 0x01 0xff… 0x00 DigestInfo, the digest last), or nil
// when the signature does not decode with pub. It only serves error
// messages; rsa.VerifyPKCS1v15 decides.
func signedDigest(pub *rsa.PublicKey, sig []byte, size int) []byte {
	k := pub.Size()
	c := new(big.Int).SetBytes(sig)
	if len(sig) != k || c.Cmp(pub.N) >= 0 {
		return nil
	}
	em := new(big.Int).Exp(c, big.NewInt(int64(pub.E)), pub.N).FillBytes(make([]byte, k))
	if em[0] != 0 || em[1] != 1 {
		return nil
	}
	i := 2
	for i < k && em[i] == 0xff {
		i++
	}
	if i == 2 || i >= k || em[i] != 0 || k-i-1 <= size {
		return nil
	}
	return em[k-size:]
}

// checkDataHash compares the datahash of .PKGINFO with the data members.
func (pr *pkgReader) checkDataHash() {
	want := pr.pf.Info.DataHash
	if want == "" {
		return
	}
	f := CheckFailure{Kind: CheckDataHash, Expected: want, Computed: pr.pf.DataHash}
	b, err := hex.DecodeString(want)
	switch {
	case err != nil || len(b) != sha256.Size:
		f.Err = errors.New("the .PKGINFO datahash is not 64 hex digits")
	case hex.EncodeToString(b) != pr.pf.DataHash:
		f.Err = errors.New("the data member is not the one the control member lists")
	default:
		return
	}
	pr.fail(f)
}
