package apk

import (
	"archive/tar"
	"errors"
	"fmt"
	"io"
	"strings"
)

// Names of the tar entries of an index (§2.1).
const (
	indexTextName        = "APKINDEX"
	indexDescriptionName = "DESCRIPTION"
)

// Limits on the small members of an index.
const (
	maxSignatureSize   = 64 << 10 // one .SIGN.* entry; 4096-bit RSA needs 512 B
	maxSignatures      = 64
	maxDescriptionSize = 64 << 10
)

// ErrUnsigned is returned (wrapped) when an index has no signature member
// and IndexOptions.AllowUntrusted is not set.
var ErrUnsigned = errors.New("index is not signed (UNTRUSTED); " +
	"sign it, or allow untrusted indexes to read it anyway")

// IndexOptions says how ReadIndex checks and bounds an index.
//
// An index is trusted when one of its signatures verifies with a key of
// Keyring (§2.1). Without AllowUntrusted, ReadIndex fails on an unsigned
// index, on an index no key of Keyring verifies, and when Keyring is nil:
// verification is never skipped by omission. With AllowUntrusted, ReadIndex
// accepts all of these, as apk --allow-untrusted does; Index.SignedBy then
// says whether a key verified the index after all.
type IndexOptions struct {
	// Keyring holds the trusted keys (the repository's /etc/apk/keys).
	Keyring *Keyring
	// AllowUntrusted accepts an index no key of Keyring verifies.
	AllowUntrusted bool

	// MaxSize bounds the decompressed size of the index (its tar stream),
	// MaxRecords the number of APKINDEX records and MaxRecordSize the size
	// of one; 0 means DefaultIndexMaxSize, DefaultIndexMaxRecords and
	// DefaultIndexMaxRecordSize.
	MaxSize       int64
	MaxRecords    int
	MaxRecordSize int
}

// Index is the content of an APKINDEX.tar.gz (§2).
type Index struct {
	// Description is the DESCRIPTION entry: `git describe` of aports for
	// Alpine (v3.16.3-13-g4d933a1fa3), empty for Wolfi.
	Description string
	// Packages are the APKINDEX records, in the order of the index. To
	// keep a large index compact, their strings share memory: equal values
	// are stored once, and the others are packed into 256 KiB blocks. A
	// caller that keeps a handful of packages of a large index and drops
	// the rest can strings.Clone their fields to let the blocks go.
	Packages []Package
	// Signatures are the .SIGN.* entries of the signature member, if any.
	Signatures []Signature
	// SignedBy is the name of the keyring key whose signature verified the
	// index, or "" when none did (possible only with AllowUntrusted).
	SignedBy string
}

// ReadIndex reads an APKINDEX.tar.gz in one streaming pass (§2.1): an
// optional signature member, then a tar of APKINDEX and DESCRIPTION in
// either order. The raw bytes after the signature member are hashed while
// they are decompressed, and the index is returned only once a signature
// verified (see IndexOptions). The caller names the input in its own error
// context: `reading index %s: %w`.
func ReadIndex(r io.Reader, opts IndexOptions) (*Index, error) {
	if opts.Keyring == nil && !opts.AllowUntrusted {
		return nil, errors.New("reading index: no keyring given; " +
			"pass the repository's keys, or allow untrusted indexes")
	}
	idx, digester, err := readIndexMembers(r, opts)
	if err != nil {
		return nil, err
	}
	if err := idx.verify(opts, digester); err != nil {
		return nil, err
	}
	return idx, nil
}

func (opts IndexOptions) limits() indexLimits {
	lim := defaultIndexLimits()
	if opts.MaxSize > 0 {
		lim.maxSize = opts.MaxSize
	}
	if opts.MaxRecords > 0 {
		lim.maxRecords = opts.MaxRecords
	}
	if opts.MaxRecordSize > 0 {
		lim.maxRecordSize = opts.MaxRecordSize
	}
	return lim
}

// checkSigners fails early, before the index text is read, when no
// signature can make the index trusted: it is unsigned, or signed only by
// keys that are not in the keyring.
func (opts IndexOptions) checkSigners(sigs []Signature) error {
	if opts.AllowUntrusted {
		return nil
	}
	if len(sigs) == 0 {
		return fmt.Errorf("verifying index: %w", ErrUnsigned)
	}
	for _, s := range sigs {
		if _, ok := s.Alg.hash(); ok && opts.Keyring.keys[s.KeyName] != nil {
			return nil
		}
	}
	// No key to check against: Verify only lists why each is unusable.
	_, err := opts.Keyring.Verify(sigs, NewDigester(sigs))
	return fmt.Errorf("verifying index signature: %w", err)
}

// verify checks the signatures against the digests of the signed bytes.
func (idx *Index) verify(opts IndexOptions, d *Digester) error {
	if len(idx.Signatures) == 0 || opts.Keyring == nil {
		return nil // allowed by checkSigners: AllowUntrusted is set
	}
	signer, err := opts.Keyring.Verify(idx.Signatures, d)
	if err != nil {
		if opts.AllowUntrusted {
			return nil
		}
		return fmt.Errorf("verifying index signature: %w", err)
	}
	idx.SignedBy = signer
	return nil
}

// readIndexMembers splits the signature member from the rest and reads the
// index tar. The digester holds the digests of every raw byte after the
// signature member (nil for an unsigned index).
func readIndexMembers(r io.Reader, opts IndexOptions) (*Index, *Digester, error) {
	lim := opts.limits()
	chain := &memberChain{mr: NewMemberReader(r), left: lim.maxSize, single: true}
	tr := tar.NewReader(chain)
	hdr, err := tr.Next()
	if err != nil {
		return nil, nil, fmt.Errorf("reading index: first tar entry: %w", noEOF(err))
	}
	idx := &Index{}
	var digester *Digester
	if strings.HasPrefix(hdr.Name, signPrefix) {
		if idx.Signatures, err = readSignatures(tr, hdr); err != nil {
			return nil, nil, err
		}
		if err := opts.checkSigners(idx.Signatures); err != nil {
			return nil, nil, err
		}
		// Signed bytes = every raw byte after member 0 (§2.1), hashed as
		// the members are decompressed.
		digester = NewDigester(idx.Signatures)
		chain.cur, chain.single, chain.sink = nil, false, digester
		tr = tar.NewReader(chain)
		if hdr, err = tr.Next(); err != nil {
			return nil, nil, fmt.Errorf("reading index: first tar entry after the signatures: %w",
				noEOF(err))
		}
	} else {
		// Unsigned: member 0 already is the index tar (as apk index writes it).
		if err := opts.checkSigners(nil); err != nil {
			return nil, nil, err
		}
		chain.single = false
	}
	if err := idx.readEntries(tr, hdr, lim); err != nil {
		return nil, nil, err
	}
	// Drain the tar padding and any further member so that the digests
	// cover every signed byte.
	if _, err := io.Copy(io.Discard, chain); err != nil {
		return nil, nil, fmt.Errorf("reading index: after the tar: %w", err)
	}
	return idx, digester, nil
}

// noEOF turns a premature end of input into io.ErrUnexpectedEOF, so that a
// truncated index does not read as a clean end.
func noEOF(err error) error {
	if errors.Is(err, io.EOF) {
		return io.ErrUnexpectedEOF
	}
	return err
}

// readSignatures reads the .SIGN.* entries of the signature member, hdr
// being the first; the member must hold nothing else (§2.1).
func readSignatures(tr *tar.Reader, hdr *tar.Header) ([]Signature, error) {
	var sigs []Signature
	for {
		alg, key, ok := ParseSignatureName(hdr.Name)
		if !ok {
			return nil, fmt.Errorf("reading index signatures: entry %q in the signature member "+
				"is not a .SIGN.<RSA|RSA256|RSA512|DSA>.<key> entry", hdr.Name)
		}
		if len(sigs) == maxSignatures || hdr.Size > maxSignatureSize {
			return nil, fmt.Errorf("reading index signature %s: %w", hdr.Name, ErrTooLarge)
		}
		data, err := io.ReadAll(tr)
		if err != nil {
			return nil, fmt.Errorf("reading index signature %s: %w", hdr.Name, err)
		}
		sigs = append(sigs, Signature{Alg: alg, KeyName: key, Data: data})

		hdr, err = tr.Next()
		if errors.Is(err, io.EOF) {
			return sigs, nil
		}
		if err != nil {
			return nil, fmt.Errorf("reading index signatures: %w", err)
		}
	}
}

// readEntries reads the entries of the index tar, hdr being the first.
// Entries other than APKINDEX and DESCRIPTION are skipped, as apk does.
func (idx *Index) readEntries(tr *tar.Reader, hdr *tar.Header, lim indexLimits) error {
	var haveText, haveDesc bool
	for {
		var err error
		switch hdr.Name {
		case indexTextName:
			if haveText {
				return errors.New("reading index: two APKINDEX entries")
			}
			haveText = true
			idx.Packages, err = parseIndexRecords(tr, hdr.Size, lim)
		case indexDescriptionName:
			if haveDesc {
				return errors.New("reading index: two DESCRIPTION entries")
			}
			haveDesc = true
			idx.Description, err = readDescription(tr, hdr)
		}
		if err != nil {
			return fmt.Errorf("reading index: %w", err)
		}

		hdr, err = tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return fmt.Errorf("reading index tar: %w", err)
		}
	}
	if !haveText {
		return errors.New("reading index: no APKINDEX entry in the index tar")
	}
	return nil
}

func readDescription(tr *tar.Reader, hdr *tar.Header) (string, error) {
	if hdr.Size > maxDescriptionSize {
		return "", fmt.Errorf("reading DESCRIPTION of %d bytes: %w", hdr.Size, ErrTooLarge)
	}
	b, err := io.ReadAll(tr)
	if err != nil {
		return "", fmt.Errorf("reading DESCRIPTION: %w", err)
	}
	return string(b), nil
}

// memberChain reads the decompressed bytes of consecutive gzip members as
// one stream, handing their raw bytes to sink. With single set it stops at
// the end of the current member, which is how the signature member (a tar
// without end-of-archive blocks) is told apart from the index tar.
type memberChain struct {
	mr     *MemberReader
	cur    io.Reader
	sink   io.Writer
	left   int64 // decompressed bytes the remaining members may hold
	single bool
	began  bool
}

func (c *memberChain) Read(p []byte) (int, error) {
	for {
		if c.cur == nil {
			if c.single && c.began {
				return 0, io.EOF
			}
			next, err := c.mr.Next(c.sink, c.left)
			if err != nil {
				return 0, err
			}
			c.cur, c.began = next, true
		}
		n, err := c.cur.Read(p)
		c.left -= int64(n)
		if errors.Is(err, io.EOF) {
			c.cur = nil
			if n > 0 {
				return n, nil
			}
			continue
		}
		return n, err
	}
}
