package apk

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"crypto/md5"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/rules-apk/rules_apk/tools/internal/testutil"
)

// splitMembers splits a package into its raw gzip members with the standard
// library alone (gzip over a bytes.Reader stops exactly at a member end), as
// an independent check of ReadPackage's boundaries.
func splitMembers(t testing.TB, b []byte) [][]byte {
	t.Helper()
	var out [][]byte
	br := bytes.NewReader(b)
	for br.Len() > 0 {
		start := len(b) - br.Len()
		zr, err := gzip.NewReader(br)
		if err != nil {
			t.Fatalf("splitting members at offset %d: %v", start, err)
		}
		zr.Multistream(false)
		if _, err := io.Copy(io.Discard, zr); err != nil {
			t.Fatalf("splitting members at offset %d: %v", start, err)
		}
		out = append(out, b[start:len(b)-br.Len()])
	}
	return out
}

// tarContents lists the non-dot entries of a package read as one gzip
// multistream and one tar stream (what `tar -xzf` sees, §1.1), with the
// SHA-1 of each regular file's content.
func tarContents(t *testing.T, b []byte) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, e := range untar(t, b) {
		if !strings.HasPrefix(e.name, ".") {
			out[strings.TrimSuffix(e.name, "/")] = fmt.Sprintf("%c %s", e.typ, sha1Hex([]byte(e.body)))
		}
	}
	return out
}

// visitContents reads a package with a Visit that records what tarContents
// records.
func visitContents(t testing.TB, b []byte, opts ReadOptions) (*PackageFile, map[string]string, error) {
	t.Helper()
	got := map[string]string{}
	opts.Visit = func(hdr *tar.Header, content io.Reader) error {
		h := sha1.New()
		if _, err := io.Copy(h, content); err != nil {
			return err
		}
		got[hdr.Name] = fmt.Sprintf("%c %x", hdr.Typeflag, h.Sum(nil))
		return nil
	}
	pf, err := ReadPackage(bytes.NewReader(b), opts)
	return pf, got, err
}

func readReal(t testing.TB, elem ...string) []byte {
	t.Helper()
	b, err := os.ReadFile(testutil.RealData(t, elem...))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func realKeyring(t testing.TB, elem ...string) *Keyring {
	t.Helper()
	k, err := LoadKeyring(testutil.RealData(t, elem...))
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func sha1Hex(b ...[]byte) string {
	h := sha1.New()
	for _, p := range b {
		h.Write(p)
	}
	return hex.EncodeToString(h.Sum(nil))
}

func sha256Hex(b ...[]byte) string {
	h := sha256.New()
	for _, p := range b {
		h.Write(p)
	}
	return hex.EncodeToString(h.Sum(nil))
}

const alpineKey = "alpine-devel@lists.alpinelinux.org-616ae350.rsa.pub"

func TestReadPackageReal(t *testing.T) {
	tests := []struct {
		pkg, key     []string
		wantSizes    []int64 // raw member sizes, when the spec gives them
		wantChecksum string  // C:, when the spec gives it
		wantScripts  []string
		wantSignedBy string
	}{{
		pkg:          []string{"alpine-3.16-aarch64", "alpine-baselayout-3.2.0-r23.apk"},
		key:          []string{"alpine-3.16-aarch64", alpineKey},
		wantSizes:    []int64{666, 1563, 8783},
		wantChecksum: "Q1LLq2qDNrS/qRnhxQ3hsY/sHbQnc=",
		wantScripts:  []string{".post-install", ".post-upgrade", ".pre-install", ".pre-upgrade"},
		wantSignedBy: alpineKey,
	}, {
		pkg:          []string{"wolfi", "libcap-2.69-r0.apk"},
		key:          []string{"wolfi", "wolfi-signing.rsa.pub"},
		wantSignedBy: "wolfi-signing.rsa.pub",
	}, {
		pkg:          []string{"wolfi", "wolfi-base-1-r1.apk"},
		key:          []string{"wolfi", "wolfi-signing.rsa.pub"},
		wantSignedBy: "wolfi-signing.rsa.pub",
	}}
	for _, tt := range tests {
		t.Run(tt.pkg[1], func(t *testing.T) {
			b := readReal(t, tt.pkg...)
			pf, visited, err := visitContents(t, b, ReadOptions{
				Name: tt.pkg[1], Keyring: realKeyring(t, tt.key...), ListFiles: true,
			})
			if err != nil {
				t.Fatal(err)
			}
			checkAgainstStdlib(t, b, pf, visited)
			if tt.wantSizes != nil {
				var got []int64
				for _, m := range pf.Members {
					got = append(got, m.Size)
				}
				if diff := cmp.Diff(tt.wantSizes, got); diff != "" {
					t.Errorf("member sizes (-want +got):\n%s", diff)
				}
			}
			if tt.wantChecksum != "" && pf.Info.Checksum.String() != tt.wantChecksum {
				t.Errorf("C: = %s, want %s", pf.Info.Checksum, tt.wantChecksum)
			}
			var scripts []string
			for name := range pf.Scripts {
				scripts = append(scripts, name)
			}
			sort.Strings(scripts)
			if diff := cmp.Diff(tt.wantScripts, scripts); diff != "" {
				t.Errorf("scripts (-want +got):\n%s", diff)
			}
			if pf.SignedBy != tt.wantSignedBy {
				t.Errorf("SignedBy = %q, want %q", pf.SignedBy, tt.wantSignedBy)
			}
			testutil.Golden(t, "pkg/real/"+tt.pkg[1]+".txt", summarize(pf))
		})
	}
}

// checkAgainstStdlib compares what ReadPackage computed with what the
// standard library computes from the same bytes.
func checkAgainstStdlib(t *testing.T, b []byte, pf *PackageFile, visited map[string]string) {
	t.Helper()
	members := splitMembers(t, b)
	if len(members) != len(pf.Members) {
		t.Fatalf("ReadPackage found %d members, gzip finds %d", len(pf.Members), len(members))
	}
	var off int64
	for i, m := range pf.Members {
		if m.Offset != off || m.Size != int64(len(members[i])) {
			t.Errorf("member %d: offset %d size %d, want offset %d size %d",
				i, m.Offset, m.Size, off, len(members[i]))
		}
		off += m.Size
	}
	ctl := members[len(members)-2]
	if got, want := hex.EncodeToString(pf.Info.Checksum.Bytes()), sha1Hex(ctl); got != want {
		t.Errorf("C: = %s, want sha1(control member) %s", got, want)
	}
	if want := sha256Hex(members[len(members)-1]); pf.DataHash != want || pf.Info.DataHash != want {
		t.Errorf("datahash computed %s, .PKGINFO %s, want sha256(data member) %s",
			pf.DataHash, pf.Info.DataHash, want)
	}
	got, want := hex.EncodeToString(pf.SHA256[:]), sha256Hex(b)
	if got != want || pf.Size != int64(len(b)) {
		t.Errorf("file sha256 %s size %d, want %s %d", got, pf.Size, want, len(b))
	}
	if diff := cmp.Diff(tarContents(t, b), visited); diff != "" {
		t.Errorf("visited entries (-tar +visited):\n%s", diff)
	}
}

// summarize renders a PackageFile like `apkpack inspect` would, for the
// golden files of the real packages.
func summarize(pf *PackageFile) []byte {
	var b strings.Builder
	fmt.Fprintf(&b, "file sha256 %x size %d\n", pf.SHA256, pf.Size)
	for _, m := range pf.Members {
		fmt.Fprintf(&b, "member %s offset %d size %d tar %d\n", m.Kind, m.Offset, m.Size, m.Decompressed)
	}
	for _, s := range pf.Signatures {
		fmt.Fprintf(&b, "signature %s %s (%d bytes)\n", s.Alg, s.KeyName, len(s.Data))
	}
	fmt.Fprintf(&b, "C: %s\ndatahash %s\n", pf.Info.Checksum, pf.DataHash)
	for _, m := range []map[string][]byte{pf.Scripts, pf.ControlFiles} {
		names := make([]string, 0, len(m))
		for n := range m {
			names = append(names, n)
		}
		sort.Strings(names)
		for _, n := range names {
			fmt.Fprintf(&b, "control %s sha1 %s\n", n, sha1Hex(m[n]))
		}
	}
	fmt.Fprintf(&b, "entries %d skipped %d unchecksummed %d files size %d\n",
		pf.Entries, pf.SkippedEntries, pf.Unchecksummed, pf.FilesSize)
	for _, f := range pf.Files {
		fmt.Fprintf(&b, "%c %04o %d:%d %d %s", f.Type, f.Mode, f.UID, f.GID, f.Size, f.Path)
		if f.Linkname != "" {
			fmt.Fprintf(&b, " -> %s", f.Linkname)
		}
		if !f.Checksum.IsZero() {
			fmt.Fprintf(&b, " %x", f.Checksum.Bytes())
		}
		b.WriteString("\n")
	}
	b.WriteString("\n")
	b.Write(pf.PkgInfo)
	return []byte(b.String())
}

func TestReadPackageTampered(t *testing.T) {
	b := readReal(t, "tampered", "aws-c-s3-0.4.9-r0.apk")
	pf, err := ReadPackage(bytes.NewReader(b), ReadOptions{
		Name: "aws-c-s3-0.4.9-r0.apk", Keyring: realKeyring(t, "wolfi", "wolfi-signing.rsa.pub"),
	})
	var ve *VerifyError
	if !errors.As(err, &ve) {
		t.Fatalf("ReadPackage error = %v, want a *VerifyError", err)
	}
	members := splitMembers(t, b)
	var kinds []CheckKind
	for _, f := range ve.Failures {
		kinds = append(kinds, f.Kind)
	}
	if diff := cmp.Diff([]CheckKind{CheckSignature, CheckDataHash}, kinds); diff != "" {
		t.Errorf("failed checks (-want +got):\n%s", diff)
	}
	msg := err.Error()
	for _, want := range []string{
		"aws-c-s3-0.4.9-r0.apk", "signature", "wolfi-signing.rsa.pub", "does not verify",
		"the signed bytes have sha1 " + sha1Hex(members[1]),
		"datahash: expected 854d0f04211d3eb0160111839e64c90bca94ed804a599423b4cfacddc9b2437f",
		"computed " + sha256Hex(members[2]),
		"fetch it again",
	} {
		if !strings.Contains(msg, want) {
			t.Errorf("error %q does not contain %q", msg, want)
		}
	}
	var se *SignatureError
	if !errors.As(err, &se) {
		t.Errorf("errors.As(err, *SignatureError) = false for %v", err)
	}
	if pf == nil || pf.Info.Name != "aws-c-s3" {
		t.Errorf("ReadPackage returned %+v with the VerifyError, want the package read", pf)
	}
}

func TestReadPackageWrongKey(t *testing.T) {
	alpinePEM, err := os.ReadFile(testutil.RealData(t, "alpine-3.16-aarch64", alpineKey))
	if err != nil {
		t.Fatal(err)
	}
	// The right name with another key's material: the signature decodes
	// to no digest.
	impostor := NewKeyring()
	if err := impostor.Add("wolfi-signing.rsa.pub", alpinePEM); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		keyring *Keyring
		want    []string
	}{{
		name:    "key not in keyring",
		keyring: realKeyring(t, "alpine-3.16-aarch64", alpineKey),
		want:    []string{"UNTRUSTED", "wolfi-signing.rsa.pub", "add the signing key to the keyring"},
	}, {
		name:    "another key under the same name",
		keyring: impostor,
		want:    []string{"does not verify", "signed by another key"},
	}, {
		name:    "empty keyring",
		keyring: NewKeyring(),
		want:    []string{"UNTRUSTED"},
	}}
	b := readReal(t, "wolfi", "libcap-2.69-r0.apk")
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			visits := 0
			_, err := ReadPackage(bytes.NewReader(b), ReadOptions{
				Name: "libcap-2.69-r0.apk", Keyring: tt.keyring,
				Visit: func(*tar.Header, io.Reader) error { visits++; return nil },
			})
			var ve *VerifyError
			if !errors.As(err, &ve) || len(ve.Failures) != 1 || ve.Failures[0].Kind != CheckSignature {
				t.Fatalf("ReadPackage error = %v, want one signature failure", err)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
			if visits != 0 {
				t.Errorf("Visit called %d times after the signature failed, want 0", visits)
			}
		})
	}
}

// TestSignedDigest checks that the digest recovered from a real signature
// for error messages is the digest of the signed bytes.
func TestSignedDigest(t *testing.T) {
	b := readReal(t, "wolfi", "libcap-2.69-r0.apk")
	k := realKeyring(t, "wolfi", "wolfi-signing.rsa.pub")
	pf, err := ReadPackage(bytes.NewReader(b), ReadOptions{Keyring: k})
	if err != nil {
		t.Fatal(err)
	}
	got := signedDigest(k.keys["wolfi-signing.rsa.pub"], pf.Signatures[0].Data, sha1.Size)
	if want := sha1Hex(splitMembers(t, b)[1]); hex.EncodeToString(got) != want {
		t.Errorf("signedDigest = %x, want %s", got, want)
	}
}

// indexRecord reads a real signed index with the standard library and this
// package's Keyring, and returns the record of the named package.
func indexRecord(t *testing.T, index, key []string, name string) map[string]string {
	t.Helper()
	members := splitMembers(t, readReal(t, index...))
	var sigs []Signature
	entries := untar(t, members[0])
	for _, e := range entries {
		if alg, k, ok := ParseSignatureName(e.name); ok {
			sigs = append(sigs, Signature{Alg: alg, KeyName: k, Data: []byte(e.body)})
		}
	}
	d := NewDigester(sigs)
	d.Write(bytes.Join(members[1:], nil)) // §2.1: everything after member 0
	if _, err := realKeyring(t, key...).Verify(sigs, d); err != nil {
		t.Fatalf("verifying index: %v", err)
	}
	for _, e := range untar(t, bytes.Join(members[1:], nil)) {
		if e.name != "APKINDEX" {
			continue
		}
		for _, rec := range strings.Split(e.body, "\n\n") {
			fields := map[string]string{}
			for _, l := range strings.Split(rec, "\n") {
				if len(l) > 2 && l[1] == ':' {
					fields[l[:1]] = l[2:]
				}
			}
			if fields["P"] == name {
				return fields
			}
		}
	}
	t.Fatalf("no record for %s in the index", name)
	return nil
}

type untarEntry struct {
	name, body string
	typ        byte
}

// untar reads gzip members as one multistream and one tar stream.
func untar(t *testing.T, gz []byte) []untarEntry {
	t.Helper()
	zr, err := gzip.NewReader(bytes.NewReader(gz))
	if err != nil {
		t.Fatal(err)
	}
	var out []untarEntry
	tr := tar.NewReader(zr)
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		body, err := io.ReadAll(tr)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, untarEntry{name: hdr.Name, body: string(body), typ: hdr.Typeflag})
	}
}

// TestReadPackageRepositoryChain follows §1.3: index signature → C: →
// datahash, without the package's own signature.
func TestReadPackageRepositoryChain(t *testing.T) {
	rec := indexRecord(t, []string{"rsa256-index", "aarch64", "APKINDEX.tar.gz"},
		[]string{"rsa256-index", "test-rsa256.rsa.pub"}, "alpine-baselayout")
	want, err := ParseChecksum(rec["C"])
	if err != nil {
		t.Fatal(err)
	}
	wrong := want
	wrong.Sum[0] ^= 1
	b := readReal(t, "rsa256-index", "aarch64", "alpine-baselayout-3.2.0-r23.apk")

	t.Run("index checksum matches", func(t *testing.T) {
		pf, err := ReadPackage(bytes.NewReader(b), ReadOptions{ExpectChecksum: want})
		if err != nil {
			t.Fatal(err)
		}
		got := map[string]string{
			"C": pf.Info.Checksum.String(), "P": pf.Info.Name, "V": pf.Info.Version,
			"A": pf.Info.Arch, "S": fmt.Sprint(pf.Info.Size), "I": fmt.Sprint(pf.Info.InstalledSize),
			"T": pf.Info.Description, "U": pf.Info.URL, "L": pf.Info.License, "o": pf.Info.Origin,
			"m": pf.Info.Maintainer, "t": fmt.Sprint(pf.Info.BuildTime), "c": pf.Info.Commit,
			"D": pf.Info.Depends, "p": pf.Info.Provides,
		}
		if diff := cmp.Diff(rec, got); diff != "" {
			t.Errorf("package metadata against its index record (-index +package):\n%s", diff)
		}
		if pf.SignedBy != "" {
			t.Errorf("SignedBy = %q without a keyring", pf.SignedBy)
		}
	})
	t.Run("index checksum differs", func(t *testing.T) {
		visits := 0
		_, err := ReadPackage(bytes.NewReader(b), ReadOptions{
			Name: "alpine-baselayout-3.2.0-r23.apk", ExpectChecksum: wrong,
			Visit: func(*tar.Header, io.Reader) error { visits++; return nil },
		})
		var ve *VerifyError
		if !errors.As(err, &ve) || len(ve.Failures) != 1 || ve.Failures[0].Kind != CheckControl {
			t.Fatalf("ReadPackage error = %v, want one C: failure", err)
		}
		wantMsg := "checksum C:: expected " + wrong.String() + ", computed " + want.String()
		if !strings.Contains(err.Error(), wantMsg) {
			t.Errorf("error %q does not contain %q", err, wantMsg)
		}
		if visits != 0 {
			t.Errorf("Visit called %d times after C: failed, want 0", visits)
		}
	})
}

func TestReadPackageNeedsTrust(t *testing.T) {
	_, err := ReadPackage(bytes.NewReader(nil), ReadOptions{Name: "x.apk"})
	if err == nil || !strings.Contains(err.Error(), "AllowUntrusted") {
		t.Errorf("ReadPackage without trust options: error = %v, want one naming AllowUntrusted", err)
	}
}

// entry is a data entry of a package built by buildPackage.
type entry struct {
	name, body, link string
	typ              byte
	pax              map[string]string // nil: the SHA-1 record abuild writes
	mode             int64             // 0: 0o644
}

func dirE(name string) entry          { return entry{name: name, typ: tar.TypeDir} }
func fileE(name, body string) entry   { return entry{name: name, body: body, typ: tar.TypeReg} }
func linkE(name, target string) entry { return entry{name: name, link: target, typ: tar.TypeSymlink} }

// pkgSpec describes a package built directly with archive/tar, to reach
// what WritePackage never writes.
type pkgSpec struct {
	pkginfo    string // default: a name and a version
	noDataHash bool
	entries    []entry
	key        *SigningKey
	splitData  int // split the data tar into two gzip members at this offset
	rawData    []byte
}

func tarOf(t testing.TB, entries []entry, closeTar bool) []byte {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, e := range entries {
		mode := e.mode
		if mode == 0 {
			mode = 0o644
		}
		hdr := &tar.Header{Name: e.name, Typeflag: e.typ, Linkname: e.link, Mode: mode,
			Size: int64(len(e.body)), PAXRecords: e.pax, Format: tar.FormatPAX}
		if e.typ != tar.TypeReg {
			hdr.Size = 0
		}
		if e.pax == nil && (e.typ == tar.TypeReg || e.typ == tar.TypeSymlink) {
			hdr.PAXRecords = map[string]string{paxChecksumSHA1: sha1Hex([]byte(e.body + e.link))}
		}
		if err := tw.WriteHeader(hdr); err != nil {
			t.Fatal(err)
		}
		if _, err := io.WriteString(tw, e.body); err != nil && e.typ == tar.TypeReg {
			t.Fatal(err)
		}
	}
	if err := tw.Flush(); err != nil {
		t.Fatal(err)
	}
	if closeTar {
		if err := tw.Close(); err != nil {
			t.Fatal(err)
		}
	}
	return buf.Bytes()
}

func gz(t testing.TB, b []byte) []byte {
	t.Helper()
	out, err := GzipMember(b)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// build returns the members of the package: [signature] control data….
func (s pkgSpec) build(t testing.TB) [][]byte {
	t.Helper()
	data := [][]byte{gz(t, tarOf(t, s.entries, true))}
	if s.rawData != nil {
		data = [][]byte{s.rawData}
	} else if s.splitData > 0 {
		tb := tarOf(t, s.entries, true)
		data = [][]byte{gz(t, tb[:s.splitData]), gz(t, tb[s.splitData:])}
	}
	info := s.pkginfo
	if info == "" {
		info = "pkgname = test\npkgver = 1-r0\n"
	}
	if !s.noDataHash {
		info += "datahash = " + sha256Hex(data...) + "\n"
	}
	pkginfo := entry{name: ".PKGINFO", body: info, typ: tar.TypeReg, pax: map[string]string{}}
	ctl := gz(t, tarOf(t, []entry{pkginfo}, false))
	members := append([][]byte{ctl}, data...)
	if s.key == nil {
		return members
	}
	signed := ctl
	if s.noDataHash {
		signed = bytes.Join(members, nil)
	}
	sig, err := s.key.Sign(SigRSA, signed)
	if err != nil {
		t.Fatal(err)
	}
	sm, err := SignatureMember(sig)
	if err != nil {
		t.Fatal(err)
	}
	return append([][]byte{sm}, members...)
}

func (s pkgSpec) bytes(t testing.TB) []byte { return bytes.Join(s.build(t), nil) }

var baseTree = []entry{dirE("usr/"), dirE("usr/bin/"), fileE("usr/bin/a", "hello\n")}

func TestReadPackageHostile(t *testing.T) {
	good := pkgSpec{entries: baseTree}.build(t)
	files := func(e ...entry) []byte { return pkgSpec{entries: e}.bytes(t) }
	onBase := func(e ...entry) []byte { return files(append(slices.Clone(baseTree), e...)...) }
	withInfo := func(info string) []byte { return pkgSpec{pkginfo: info, entries: baseTree}.bytes(t) }
	join := func(b ...[]byte) []byte { return bytes.Join(b, nil) }
	ctlOf := func(e ...entry) []byte { return gz(t, tarOf(t, e, false)) }
	hardLink := func(name, target string) entry {
		return entry{name: name, link: target, typ: tar.TypeLink}
	}
	longDesc := func(n int) string {
		return "pkgname = a\npkgver = 1\npkgdesc = " + strings.Repeat("d", n) + "\n"
	}
	tests := []struct {
		name     string
		pkg      []byte
		limits   Limits
		wantErr  string
		entryErr bool
		tooLarge bool
	}{
		{name: "path traversal", pkg: files(fileE("../etc/passwd", "x")),
			wantErr: "path traversal", entryErr: true},
		{name: "traversal inside", pkg: onBase(fileE("usr/../../etc/passwd", "x")),
			wantErr: `".." component`, entryErr: true},
		{name: "absolute path", pkg: files(fileE("/etc/passwd", "x")),
			wantErr: "absolute path", entryErr: true},
		{name: "control character", pkg: onBase(fileE("usr/bin/a\x1b[2J", "x")),
			wantErr: "control character", entryErr: true},
		{name: "dot component", pkg: files(dirE("./"), fileE("./etc", "x")),
			wantErr: `"." or empty component`, entryErr: true},
		{name: "no parent directory", pkg: files(fileE("usr/bin/a", "x")),
			wantErr: "no directory entry for usr/bin", entryErr: true},
		{name: "through a symlink",
			pkg:     files(dirE("usr"), linkE("usr/lib", "/etc"), fileE("usr/lib/passwd", "x")),
			wantErr: "no directory entry for usr/lib", entryErr: true},
		{name: "hard link outside", pkg: onBase(hardLink("usr/bin/b", "/etc/shadow")),
			wantErr: `hard link to "/etc/shadow"`, entryErr: true},
		{name: "hard link to a later file", pkg: onBase(hardLink("usr/bin/b", "usr/bin/c")),
			wantErr: "not an earlier regular file", entryErr: true},
		{name: "file repeated", pkg: onBase(fileE("usr/bin/a", "evil\n")),
			wantErr: `refusing data entry "usr/bin/a": the package already has an entry for ` +
				"this path (a regular file; this one is a regular file)", entryErr: true},
		{name: "file then symlink", pkg: onBase(linkE("usr/bin/a", "/etc/passwd")),
			wantErr: "(a regular file; this one is a symlink)", entryErr: true},
		{name: "symlink then file",
			pkg:     onBase(linkE("usr/bin/sh", "a"), fileE("usr/bin/sh", "evil\n")),
			wantErr: `"usr/bin/sh": the package already has an entry`, entryErr: true},
		{name: "hard link repeated", pkg: onBase(hardLink("usr/bin/b", "usr/bin/a"),
			hardLink("usr/bin/b", "usr/bin/a")),
			wantErr: "(a hard link; this one is a hard link)", entryErr: true},
		{name: "directory then file", pkg: onBase(fileE("usr/bin", "x")),
			wantErr: "(a directory; this one is a regular file)", entryErr: true},
		{name: "directory repeated with another mode",
			pkg:     onBase(entry{name: "usr/bin/", typ: tar.TypeDir, mode: 0o4777}),
			wantErr: `"usr/bin": the package already has an entry`, entryErr: true},
		{name: "directory repeated with other xattrs",
			pkg: onBase(entry{name: "usr/bin", typ: tar.TypeDir,
				pax: map[string]string{"SCHILY.xattr.user.x": "1"}}),
			wantErr: `"usr/bin": the package already has an entry`, entryErr: true},
		{name: "file too large", pkg: onBase(fileE("usr/bin/big", strings.Repeat("x", 2048))),
			limits: Limits{MaxFileSize: 1024}, wantErr: "Limits.MaxFileSize", tooLarge: true},
		{name: "gzip bomb", pkg: onBase(fileE("usr/bin/zeros", strings.Repeat("\x00", 16<<20))),
			limits: Limits{MaxDataSize: 1 << 20}, wantErr: "Limits.MaxDataSize 1048576 bytes",
			tooLarge: true},
		{name: "too many entries", pkg: files(baseTree...),
			limits: Limits{MaxEntries: 2}, wantErr: "Limits.MaxEntries", tooLarge: true},
		{name: "large .PKGINFO", pkg: withInfo(longDesc(2000)),
			limits: Limits{MaxPkgInfoSize: 1024}, wantErr: "Limits.MaxPkgInfoSize", tooLarge: true},
		{name: "large control member", pkg: withInfo(longDesc(4000)),
			limits:  Limits{MaxControlSize: 2048},
			wantErr: "Limits.MaxControlSize 2048 bytes", tooLarge: true},
		{name: "truncated data member", pkg: join(good...)[:len(good[0])+len(good[1])/2],
			wantErr: "unexpected EOF"},
		{name: "truncated control member", pkg: good[0][:len(good[0])-5],
			wantErr: "unexpected EOF"},
		{name: "garbage between members", pkg: join(good[0], []byte("garbage!"), good[1]),
			wantErr: "invalid header"},
		{name: "garbage after the data", pkg: join(good[0], good[1], []byte("\x00\x00\x00\x00")),
			wantErr: "reading data"},
		{name: "no data member", pkg: good[0], wantErr: "no data member"},
		{name: "empty file", pkg: nil, wantErr: "empty file"},
		{name: "not gzip", pkg: []byte("PK\x03\x04 this is a zip"), wantErr: "invalid header"},
		{name: "no .PKGINFO", pkg: join(ctlOf(fileE(".post-install", "#!/bin/sh\n")), good[1]),
			wantErr: "no .PKGINFO"},
		{name: "no pkgname", pkg: withInfo("pkgver = 1\n"), wantErr: "no pkgname"},
		{name: "data file in control member", pkg: join(ctlOf(fileE("etc/passwd", "x")), good[1]),
			wantErr: "control files are top-level dot files"},
		{name: "foreign entry in signature member",
			pkg: join(ctlOf(fileE(".SIGN.RSA.k.pub", "s"), fileE(".PKGINFO", "pkgname = a\n")),
				good[1]),
			wantErr: "only .SIGN.* entries"},
		{name: "bad size in .PKGINFO", pkg: withInfo("pkgname = a\npkgver = 1\nsize = many\n"),
			wantErr: `line 3: size "many"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ReadPackage(bytes.NewReader(tt.pkg), ReadOptions{
				Name: "hostile.apk", AllowUntrusted: true, Limits: tt.limits,
			})
			if err == nil {
				t.Fatal("ReadPackage succeeded, want an error")
			}
			msg := err.Error()
			if !strings.Contains(msg, tt.wantErr) || !strings.Contains(msg, "hostile.apk") {
				t.Errorf("error %q does not name the package and %q", err, tt.wantErr)
			}
			var ee *EntryError
			if errors.As(err, &ee) != tt.entryErr {
				t.Errorf("errors.As(err, *EntryError) = %v, want %v", !tt.entryErr, tt.entryErr)
			}
			if errors.Is(err, ErrTooLarge) != tt.tooLarge {
				t.Errorf("errors.Is(err, ErrTooLarge) = %v, want %v", !tt.tooLarge, tt.tooLarge)
			}
			var ve *VerifyError
			if errors.As(err, &ve) {
				t.Errorf("hostile input gave a *VerifyError: %v", err)
			}
		})
	}
}

func TestReadPackageFileChecksums(t *testing.T) {
	sum := func(s string) string { return sha1Hex([]byte(s)) }
	withPAX := func(e entry, key, val string) entry {
		e.pax = map[string]string{key: val}
		return e
	}
	q1Sum := sha1.Sum([]byte("q1\n"))
	md5Sum := md5.Sum([]byte("md5\n"))
	md5Hex := hex.EncodeToString(md5Sum[:])
	tests := []struct {
		name              string
		entry             entry
		want              []CheckFailure
		wantUnchecksummed int
	}{{
		name:  "hex SHA-1",
		entry: fileE("usr/bin/ok", "ok\n"),
	}, {
		name: "Q1 base64 SHA-1",
		entry: withPAX(fileE("usr/bin/q1", "q1\n"), paxChecksumSHA1,
			SHA1Checksum(q1Sum[:]).String()),
	}, {
		name:  "MD5",
		entry: withPAX(fileE("usr/bin/md5", "md5\n"), paxChecksumMD5, md5Hex),
	}, {
		name:  "symlink target",
		entry: linkE("usr/bin/l", "ok"),
	}, {
		name:              "no record",
		entry:             withPAX(fileE("usr/bin/none", "x"), "comment", "no checksum"),
		wantUnchecksummed: 1,
	}, {
		name:  "wrong SHA-1",
		entry: withPAX(fileE("usr/bin/bad", "bad\n"), paxChecksumSHA1, sum("good\n")),
		want: []CheckFailure{{Kind: CheckFileSHA1, Path: "usr/bin/bad",
			Expected: sum("good\n"), Computed: sum("bad\n")}},
	}, {
		name:  "wrong symlink SHA-1",
		entry: withPAX(linkE("usr/bin/l", "/etc/shadow"), paxChecksumSHA1, sum("ok")),
		want: []CheckFailure{{Kind: CheckFileSHA1, Path: "usr/bin/l",
			Expected: sum("ok"), Computed: sum("/etc/shadow")}},
	}, {
		name:  "wrong MD5",
		entry: withPAX(fileE("usr/bin/m", "x"), paxChecksumMD5, md5Hex),
		want: []CheckFailure{{Kind: CheckFileMD5, Path: "usr/bin/m",
			Expected: md5Hex, Computed: fmt.Sprintf("%x", md5.Sum([]byte("x")))}},
	}, {
		name:  "malformed record",
		entry: withPAX(fileE("usr/bin/z", "x"), paxChecksumSHA1, "zz"),
		want: []CheckFailure{{Kind: CheckFileSHA1, Path: "usr/bin/z", Expected: "zz",
			Err: errors.New("malformed APK-TOOLS.checksum.SHA1 record")}},
	}}
	// Errors compare by message prefix: the detail is checked in the text.
	errPrefix := cmp.FilterPath(func(p cmp.Path) bool { return p.Last().String() == ".Err" },
		cmp.Comparer(func(a, b error) bool {
			return (a == nil) == (b == nil) && (a == nil ||
				strings.HasPrefix(a.Error(), b.Error()) || strings.HasPrefix(b.Error(), a.Error()))
		}))
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := pkgSpec{entries: append(slices.Clone(baseTree[:2]), tt.entry)}.bytes(t)
			opts := ReadOptions{Name: "sums.apk", AllowUntrusted: true}
			pf, err := ReadPackage(bytes.NewReader(b), opts)
			var got []CheckFailure
			var ve *VerifyError
			if errors.As(err, &ve) {
				got = ve.Failures
			} else if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got, errPrefix); diff != "" {
				t.Errorf("failures (-want +got):\n%s", diff)
			}
			for _, f := range tt.want {
				for _, s := range []string{"sums.apk", string(f.Kind), f.Path, f.Expected, f.Computed} {
					if !strings.Contains(err.Error(), s) {
						t.Errorf("error %q does not contain %q", err, s)
					}
				}
			}
			if pf.Unchecksummed != tt.wantUnchecksummed {
				t.Errorf("Unchecksummed = %d, want %d", pf.Unchecksummed, tt.wantUnchecksummed)
			}
		})
	}
}

func TestReadPackageManyFailures(t *testing.T) {
	entries := baseTree[:2:2]
	for i := range 20 {
		e := fileE(fmt.Sprintf("usr/bin/f%02d", i), "x")
		e.pax = map[string]string{paxChecksumSHA1: sha1Hex([]byte("y"))}
		entries = append(entries, e)
	}
	b := pkgSpec{entries: entries}.bytes(t)
	_, err := ReadPackage(bytes.NewReader(b), ReadOptions{AllowUntrusted: true})
	var ve *VerifyError
	if !errors.As(err, &ve) {
		t.Fatalf("error = %v, want a *VerifyError", err)
	}
	if len(ve.Failures) != maxFailures || ve.Omitted != 20-maxFailures {
		t.Errorf("kept %d failures, omitted %d; want %d and %d",
			len(ve.Failures), ve.Omitted, maxFailures, 20-maxFailures)
	}
	msg := err.Error()
	if !strings.Contains(msg, "and 4 more failed checks") || !strings.Contains(msg, "test-1-r0.apk") {
		t.Errorf("error %q does not count the omitted failures or name the package", err)
	}
}

// TestReadPackageSplitData reads a data section split over two gzip
// members in the middle of a file, as apk-tools 2.14 tolerates (§1.1).
func TestReadPackageSplitData(t *testing.T) {
	entries := append(slices.Clone(baseTree[:2]),
		fileE("usr/bin/big", strings.Repeat("0123456789", 300)), fileE("usr/bin/c", "c"))
	spec := pkgSpec{entries: entries, splitData: 2500}
	b := spec.bytes(t)
	pf, visited, err := visitContents(t, b, ReadOptions{AllowUntrusted: true})
	if err != nil {
		t.Fatal(err)
	}
	var kinds []MemberKind
	for _, m := range pf.Members {
		kinds = append(kinds, m.Kind)
	}
	if diff := cmp.Diff([]MemberKind{MemberControl, MemberData, MemberData}, kinds); diff != "" {
		t.Errorf("members (-want +got):\n%s", diff)
	}
	members := spec.build(t)
	if want := sha256Hex(members[1:]...); pf.DataHash != want {
		t.Errorf("DataHash = %s, want sha256 of both data members %s", pf.DataHash, want)
	}
	if diff := cmp.Diff(tarContents(t, b), visited); diff != "" {
		t.Errorf("visited entries (-tar +visited):\n%s", diff)
	}
}

// TestReadPackageNoDataHash covers legacy packages: C: and the signature
// are over control and data (§1.2, §1.3).
func TestReadPackageNoDataHash(t *testing.T) {
	key := testSigningKey(t)
	kr := testKeyring(t)
	spec := pkgSpec{noDataHash: true, entries: baseTree, key: key}
	members := spec.build(t)
	b := bytes.Join(members, nil)
	pf, err := ReadPackage(bytes.NewReader(b), ReadOptions{Keyring: kr})
	if err != nil {
		t.Fatal(err)
	}
	got, want := hex.EncodeToString(pf.Info.Checksum.Bytes()), sha1Hex(members[1], members[2])
	if got != want {
		t.Errorf("C: = %s, want sha1(control+data) %s", got, want)
	}
	if pf.SignedBy != key.Name {
		t.Errorf("SignedBy = %q, want %q", pf.SignedBy, key.Name)
	}

	// Another data member under the same signature and control member.
	evil := append(slices.Clone(baseTree[:2]), fileE("usr/bin/a", "evil\n"))
	other := pkgSpec{noDataHash: true, entries: evil}.build(t)
	swapped := bytes.Join([][]byte{members[0], members[1], other[1]}, nil)
	_, err = ReadPackage(bytes.NewReader(swapped), ReadOptions{Keyring: kr})
	var ve *VerifyError
	if !errors.As(err, &ve) || len(ve.Failures) != 1 || ve.Failures[0].Kind != CheckSignature {
		t.Errorf("ReadPackage of swapped data: error = %v, want one signature failure", err)
	}
}

func TestReadPackageSkipsDotNames(t *testing.T) {
	entries := append(slices.Clone(baseTree), fileE(".hidden", "x"), dirE("etc"), fileE("etc/.keep", ""))
	b := pkgSpec{entries: entries}.bytes(t)
	pf, visited, err := visitContents(t, b, ReadOptions{AllowUntrusted: true})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for n := range visited {
		names = append(names, n)
	}
	sort.Strings(names)
	if diff := cmp.Diff([]string{"etc", "etc/.keep", "usr", "usr/bin", "usr/bin/a"}, names); diff != "" {
		t.Errorf("visited (-want +got):\n%s", diff)
	}
	if pf.Entries != 6 || pf.SkippedEntries != 1 {
		t.Errorf("Entries %d SkippedEntries %d, want 6 and 1", pf.Entries, pf.SkippedEntries)
	}
}

// TestReadPackageRepeatedDirectory checks the one repeat checkTree
// tolerates: a directory entry again with the same attributes (here once
// with a trailing slash and once without) is skipped, not visited or listed
// twice.
func TestReadPackageRepeatedDirectory(t *testing.T) {
	entries := append(slices.Clone(baseTree), dirE("usr/bin"), fileE("usr/bin/b", "b\n"))
	var visited []string
	pf, err := ReadPackage(bytes.NewReader(pkgSpec{entries: entries}.bytes(t)), ReadOptions{
		AllowUntrusted: true, ListFiles: true,
		Visit: func(hdr *tar.Header, _ io.Reader) error {
			visited = append(visited, hdr.Name)
			return nil
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"usr", "usr/bin", "usr/bin/a", "usr/bin/b"}
	if diff := cmp.Diff(want, visited); diff != "" {
		t.Errorf("visited (-want +got):\n%s", diff)
	}
	var listed []string
	for _, f := range pf.Files {
		listed = append(listed, f.Path)
	}
	if diff := cmp.Diff(want, listed); diff != "" {
		t.Errorf("listed (-want +got):\n%s", diff)
	}
	if pf.Entries != 5 || pf.SkippedEntries != 1 {
		t.Errorf("Entries %d SkippedEntries %d, want 5 and 1", pf.Entries, pf.SkippedEntries)
	}
}

func TestReadPackageVisitError(t *testing.T) {
	stop := errors.New("disk full")
	_, err := ReadPackage(bytes.NewReader(pkgSpec{entries: baseTree}.bytes(t)), ReadOptions{
		AllowUntrusted: true, Name: "v.apk",
		Visit: func(hdr *tar.Header, _ io.Reader) error {
			if hdr.Name == "usr/bin/a" {
				return stop
			}
			return nil
		},
	})
	if !errors.Is(err, stop) || !strings.Contains(err.Error(), "visiting data entry usr/bin/a") {
		t.Errorf("error = %v, want the Visit error with the entry", err)
	}
}

func testSigningKey(t testing.TB) *SigningKey {
	t.Helper()
	k, err := LoadSigningKey(filepath.Join("testdata", "pkg", "test-signing.rsa"))
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func testKeyring(t testing.TB) *Keyring {
	t.Helper()
	k, err := LoadKeyring(filepath.Join("testdata", "pkg", "test-signing.rsa.pub"))
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func FuzzReadPackage(f *testing.F) {
	for _, elem := range realPackages {
		f.Add(readReal(f, elem...))
	}
	f.Add(writeTestPackage(f, WriteOptions{SigningKey: testSigningKey(f)}))
	f.Add(pkgSpec{entries: baseTree, splitData: 700}.bytes(f))
	lim := Limits{MaxControlSize: 1 << 20, MaxDataSize: 64 << 20, MaxEntries: 10000}
	f.Fuzz(func(t *testing.T, b []byte) {
		pf, err := ReadPackage(bytes.NewReader(b), ReadOptions{
			AllowUntrusted: true, Limits: lim, ListFiles: true,
			Visit: func(_ *tar.Header, r io.Reader) error {
				_, err := io.Copy(io.Discard, r)
				return err
			},
		})
		if err != nil {
			return
		}
		var off int64
		for _, m := range pf.Members {
			if m.Offset != off {
				t.Fatalf("member at %d, want %d", m.Offset, off)
			}
			off += m.Size
		}
		if off != int64(len(b)) || pf.Size != off || pf.SHA256 != sha256.Sum256(b) {
			t.Fatalf("members cover %d bytes, Size %d, file %d bytes", off, pf.Size, len(b))
		}
		if pf.Info.DataHash != "" && pf.Info.DataHash != pf.DataHash {
			t.Fatalf("datahash %s differs from computed %s without an error",
				pf.Info.DataHash, pf.DataHash)
		}
		if len(pf.Files) != pf.Entries-pf.SkippedEntries {
			t.Fatalf("%d files listed for %d installable entries",
				len(pf.Files), pf.Entries-pf.SkippedEntries)
		}
	})
}

// BenchmarkReadPackage measures the streaming read of a ~20 MB package
// (gunzip, tar, SHA-1 of the control member and of every file, SHA-256 of
// the data member and of the file, signature check). Bytes are those of the
// package file; allocations show that nothing is buffered whole.
func BenchmarkReadPackage(b *testing.B) {
	dir := b.TempDir()
	rnd := newXorshift(1)
	buf := make([]byte, 1<<20)
	for i := range 24 {
		sub := filepath.Join(dir, "usr", "share", fmt.Sprintf("d%d", i%4))
		if err := os.MkdirAll(sub, 0o755); err != nil {
			b.Fatal(err)
		}
		// Three quarters random bytes, one quarter text.
		rnd.fill(buf[:len(buf)*3/4])
		text := bytes.Repeat([]byte("lorem ipsum dolor sit amet\n"), len(buf)/4/27+1)
		copy(buf[len(buf)*3/4:], text)
		if err := os.WriteFile(filepath.Join(sub, fmt.Sprintf("f%02d", i)), buf, 0o644); err != nil {
			b.Fatal(err)
		}
	}
	var pkg bytes.Buffer
	if _, err := WritePackage(&pkg, WriteOptions{
		Info: Package{Name: "bench", Version: "1-r0", Arch: "x86_64"}, Dir: dir,
		SigningKey: testSigningKey(b), Level: gzip.BestSpeed, TempDir: b.TempDir(),
	}); err != nil {
		b.Fatal(err)
	}
	kr := testKeyring(b)
	b.SetBytes(int64(pkg.Len()))
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if _, err := ReadPackage(bytes.NewReader(pkg.Bytes()), ReadOptions{Keyring: kr}); err != nil {
			b.Fatal(err)
		}
	}
}

// xorshift is a tiny deterministic generator for incompressible test data.
type xorshift struct{ s uint64 }

func newXorshift(seed uint64) *xorshift { return &xorshift{s: seed*0x9e3779b97f4a7c15 + 1} }

func (x *xorshift) fill(b []byte) {
	for i := range b {
		x.s ^= x.s << 13
		x.s ^= x.s >> 7
		x.s ^= x.s << 17
		b[i] = byte(x.s)
	}
}
