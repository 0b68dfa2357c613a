package apk

import (
	"archive/tar"
	"bytes"
	"cmp"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"
)

// WriteIndexOptions says what WriteIndex puts around the records.
type WriteIndexOptions struct {
	// Description is the DESCRIPTION entry (empty for Wolfi, `git describe`
	// of aports for Alpine).
	Description string
	// Keys sign the index, one signature each, all in one signature member
	// (§2.1). Without keys the index is unsigned: a single gzip member, as
	// `apk index` writes before abuild-sign.
	Keys []*SigningKey
	// Alg is the signature algorithm; "" means SigRSA256, what melange
	// writes since 2025. SigRSA (SHA-1) is accepted for old clients.
	Alg SigAlg
}

// WriteIndex writes packages as an APKINDEX.tar.gz (§2.1, §2.2). The output
// depends only on the set of packages, the description and the keys:
//
//   - records are sorted by name, then by version compared bytewise (a
//     stable order, not apk's version order: readers do not depend on it);
//     two packages with the same name and version are an error, since they
//     would share one file name in the repository (§2.3);
//   - fields are written in apk-tools' order C P V A S I T U L o m t c k D
//     p i (apk_pkg_write_index_entry). C, P, V, S, I, T, U and L are always
//     written, as apk-tools does; A, o, m, c, D, p and i only when not
//     empty, t and k only when not zero;
//   - the tar holds DESCRIPTION then APKINDEX (the order of `apk index`),
//     with zero times and root ownership, in one gzip member at best
//     compression with no name and no time; the signature member is
//     prepended over the raw bytes of that member.
//
// Fields an index does not carry (Replaces, ReplacesPriority, Triggers,
// DataHash) are not written; neither is NotInstallable, whose cause (an
// unknown field) is not kept. The tar and its gzip member are built in
// memory, since the signatures over the member precede it; nothing is
// written to w when a package is invalid.
func WriteIndex(w io.Writer, packages []Package, opts WriteIndexOptions) error {
	order, err := indexOrder(packages)
	if err != nil {
		return fmt.Errorf("writing index: %w", err)
	}
	body, err := indexBody(packages, order, opts.Description)
	if err != nil {
		return fmt.Errorf("writing index: %w", err)
	}
	if len(opts.Keys) > 0 {
		sig, err := signIndex(body, opts)
		if err != nil {
			return fmt.Errorf("writing index: %w", err)
		}
		if _, err := w.Write(sig); err != nil {
			return fmt.Errorf("writing index: %w", err)
		}
	}
	if _, err := w.Write(body); err != nil {
		return fmt.Errorf("writing index: %w", err)
	}
	return nil
}

// indexOrder checks every package and returns their positions in write
// order.
func indexOrder(packages []Package) ([]int, error) {
	order := make([]int, len(packages))
	for i := range packages {
		if err := checkIndexRecord(&packages[i]); err != nil {
			return nil, err
		}
		order[i] = i
	}
	slices.SortFunc(order, func(a, b int) int {
		pa, pb := &packages[a], &packages[b]
		return cmp.Or(strings.Compare(pa.Name, pb.Name), strings.Compare(pa.Version, pb.Version))
	})
	for i := 1; i < len(order); i++ {
		a, b := &packages[order[i-1]], &packages[order[i]]
		if a.Name == b.Name && a.Version == b.Version {
			return nil, fmt.Errorf("package %s is listed twice", b.NameVersion())
		}
	}
	return order, nil
}

// checkIndexRecord rejects what an index record cannot hold: a value with
// a newline would end the field (or the record), and a record needs a
// name, a version and its identity checksum.
func checkIndexRecord(p *Package) error {
	switch {
	case p.Name == "":
		return fmt.Errorf("package with version %q has no name", p.Version)
	case p.Version == "":
		return fmt.Errorf("package %s has no version", p.Name)
	case p.Checksum.IsZero():
		return fmt.Errorf("package %s has no checksum (C:)", p.NameVersion())
	}
	fields := [...]struct {
		letter byte
		v      string
	}{
		{'P', p.Name}, {'V', p.Version}, {'A', p.Arch}, {'T', p.Description}, {'U', p.URL},
		{'L', p.License}, {'o', p.Origin}, {'m', p.Maintainer}, {'c', p.Commit},
		{'D', p.Depends}, {'p', p.Provides}, {'i', p.InstallIf},
	}
	for _, f := range fields {
		if strings.IndexByte(f.v, '\n') >= 0 {
			return fmt.Errorf("package %s: field %c holds a newline", p.NameVersion(), f.letter)
		}
	}
	if p.BuildTime < 0 {
		return fmt.Errorf("package %s: negative build time %d", p.NameVersion(), p.BuildTime)
	}
	return nil
}

// indexBody builds the gzip member of the index tar.
func indexBody(packages []Package, order []int, description string) ([]byte, error) {
	// Measure the APKINDEX text first: the tar header needs its size, and
	// the text then goes straight into the tar buffer, never held twice.
	var rec []byte
	size := 0
	for _, i := range order {
		rec = appendIndexRecord(rec[:0], &packages[i])
		size += len(rec)
	}
	var tarBuf bytes.Buffer
	tarBuf.Grow(size + len(description) + 4<<10)
	tw := tar.NewWriter(&tarBuf)
	if err := writeIndexEntry(tw, indexDescriptionName, len(description)); err != nil {
		return nil, err
	}
	if _, err := io.WriteString(tw, description); err != nil {
		return nil, fmt.Errorf("writing DESCRIPTION: %w", err)
	}
	if err := writeIndexEntry(tw, indexTextName, size); err != nil {
		return nil, err
	}
	for _, i := range order {
		rec = appendIndexRecord(rec[:0], &packages[i])
		if _, err := tw.Write(rec); err != nil {
			return nil, fmt.Errorf("writing APKINDEX: %w", err)
		}
	}
	if err := tw.Close(); err != nil {
		return nil, fmt.Errorf("writing index tar: %w", err)
	}
	return GzipMember(tarBuf.Bytes())
}

func writeIndexEntry(tw *tar.Writer, name string, size int) error {
	hdr := &tar.Header{
		Typeflag: tar.TypeReg,
		Name:     name,
		Mode:     0o644,
		Size:     int64(size),
		ModTime:  time.Unix(0, 0),
		Uname:    "root",
		Gname:    "root",
		Format:   tar.FormatUSTAR,
	}
	if err := tw.WriteHeader(hdr); err != nil {
		return fmt.Errorf("writing tar entry %s: %w", name, err)
	}
	return nil
}

// appendIndexRecord formats one record, blank line included, in apk-tools'
// field order (§2.2).
func appendIndexRecord(b []byte, p *Package) []byte {
	b = appendField(b, 'C', p.Checksum.String())
	b = appendField(b, 'P', p.Name)
	b = appendField(b, 'V', p.Version)
	b = appendOptional(b, 'A', p.Arch)
	b = appendNumber(b, 'S', p.Size)
	b = appendNumber(b, 'I', p.InstalledSize)
	b = appendField(b, 'T', p.Description)
	b = appendField(b, 'U', p.URL)
	b = appendField(b, 'L', p.License)
	b = appendOptional(b, 'o', p.Origin)
	b = appendOptional(b, 'm', p.Maintainer)
	if p.BuildTime != 0 {
		b = appendNumber(b, 't', uint64(p.BuildTime))
	}
	b = appendOptional(b, 'c', p.Commit)
	if p.ProviderPriority != 0 {
		b = appendNumber(b, 'k', p.ProviderPriority)
	}
	b = appendOptional(b, 'D', p.Depends)
	b = appendOptional(b, 'p', p.Provides)
	b = appendOptional(b, 'i', p.InstallIf)
	return append(b, '\n')
}

func appendField(b []byte, letter byte, v string) []byte {
	b = append(b, letter, ':')
	b = append(b, v...)
	return append(b, '\n')
}

func appendOptional(b []byte, letter byte, v string) []byte {
	if v == "" {
		return b
	}
	return appendField(b, letter, v)
}

func appendNumber(b []byte, letter byte, n uint64) []byte {
	b = append(b, letter, ':')
	b = strconv.AppendUint(b, n, 10)
	return append(b, '\n')
}

// signIndex signs the raw bytes of the index member with every key and
// returns the signature member to prepend.
func signIndex(body []byte, opts WriteIndexOptions) ([]byte, error) {
	alg := opts.Alg
	if alg == "" {
		alg = SigRSA256
	}
	sigs := make([]Signature, 0, len(opts.Keys))
	for _, k := range opts.Keys {
		s, err := k.Sign(alg, body)
		if err != nil {
			return nil, err
		}
		sigs = append(sigs, s)
	}
	return SignatureMember(sigs...)
}
