package apk

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/rules-apk/rules_apk/tools/internal/testutil"
)

const (
	alpineKeyName = "alpine-devel@lists.alpinelinux.org-6165ee59.rsa.pub"
	rsa256KeyName = "test-rsa256.rsa.pub"
)

func readFile(t testing.TB, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func loadKeyring(t testing.TB, paths ...string) *Keyring {
	t.Helper()
	kr, err := LoadKeyring(paths...)
	if err != nil {
		t.Fatal(err)
	}
	return kr
}

func mustChecksum(t testing.TB, s string) Checksum {
	t.Helper()
	c, err := ParseChecksum(s)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// alpineIndex returns the real Alpine 3.16 index and its keyring.
func alpineIndex(t testing.TB) ([]byte, *Keyring) {
	t.Helper()
	data := readFile(t, testutil.RealData(t, "alpine-3.16-x86_64", "APKINDEX.tar.gz"))
	return data, loadKeyring(t, testutil.RealData(t, "alpine-3.16-x86_64", alpineKeyName))
}

// wolfiKeys returns the paths of the three keys that signed the
// wolfi-aarch64-resigned index.
func wolfiKeys(t testing.TB) []string {
	t.Helper()
	keys, err := filepath.Glob(filepath.Join(
		testutil.RealData(t, "wolfi-aarch64-resigned", "keys"), "*.rsa.pub"))
	if err != nil || len(keys) != 3 {
		t.Fatalf("want 3 keys in wolfi-aarch64-resigned/keys, got %d (%v)", len(keys), err)
	}
	return keys
}

// tarEntry returns one entry of a gzipped tar (multistream, as tar -xzO).
func tarEntry(t testing.TB, tgz []byte, name string) []byte {
	t.Helper()
	zr, err := gzip.NewReader(bytes.NewReader(tgz))
	if err != nil {
		t.Fatal(err)
	}
	tr := tar.NewReader(zr)
	for {
		hdr, err := tr.Next()
		if err != nil {
			t.Fatalf("no %s in the tar: %v", name, err)
		}
		if hdr.Name == name {
			b, err := io.ReadAll(tr)
			if err != nil {
				t.Fatal(err)
			}
			return b
		}
	}
}

// fieldCounts counts, per index letter, the packages with a non-empty
// value for it.
func fieldCounts(pkgs []Package) map[string]int {
	counts := map[string]int{}
	count := func(letter string, set bool) {
		if set {
			counts[letter]++
		}
	}
	for _, p := range pkgs {
		count("A", p.Arch != "")
		count("C", !p.Checksum.IsZero())
		count("D", p.Depends != "")
		count("I", p.InstalledSize != 0)
		count("L", p.License != "")
		count("P", p.Name != "")
		count("S", p.Size != 0)
		count("T", p.Description != "")
		count("U", p.URL != "")
		count("V", p.Version != "")
		count("c", p.Commit != "")
		count("i", p.InstallIf != "")
		count("k", p.ProviderPriority != 0)
		count("m", p.Maintainer != "")
		count("o", p.Origin != "")
		count("p", p.Provides != "")
		count("t", p.BuildTime != 0)
		count("notInstallable", p.NotInstallable)
	}
	return counts
}

func TestReadIndexAlpine(t *testing.T) {
	data, kr := alpineIndex(t)
	idx, err := ReadIndex(bytes.NewReader(data), IndexOptions{Keyring: kr})
	if err != nil {
		t.Fatal(err)
	}
	const n = 4929
	wantCounts := map[string]int{
		"A": n, "C": n, "I": n, "L": n, "P": n, "S": n, "T": n, "U": n, "V": n,
		"c": n, "o": n, "t": n,
		"D": 3253, "p": 2024, "i": 1538, "m": 4789, "k": 72,
	}
	if diff := cmp.Diff(wantCounts, fieldCounts(idx.Packages)); diff != "" {
		t.Errorf("records per field (-want +got):\n%s", diff)
	}
	if idx.Description != "v3.16.3-13-g4d933a1fa3" {
		t.Errorf("Description = %q, want v3.16.3-13-g4d933a1fa3", idx.Description)
	}
	if idx.SignedBy != alpineKeyName {
		t.Errorf("SignedBy = %q, want %s", idx.SignedBy, alpineKeyName)
	}
	if len(idx.Signatures) != 1 || idx.Signatures[0].Alg != SigRSA ||
		len(idx.Signatures[0].Data) != 512 {
		t.Errorf("want one 512-byte RSA (SHA-1) signature, got %+v", idx.Signatures)
	}

	want := Package{
		Name:             "dhcp-server-vanilla",
		Version:          "4.4.3_p1-r0",
		Arch:             "x86_64",
		Size:             1184328,
		InstalledSize:    2633728,
		Description:      "ISC dhcpd server",
		URL:              "https://www.isc.org/",
		License:          "MPL-2.0",
		Origin:           "dhcp",
		Maintainer:       "Jakub Jirutka <jakub@jirutka.cz>",
		BuildTime:        1665009184,
		Commit:           "c51fa88ffdf6710df461f319cadaebf0ce24452d",
		ProviderPriority: 200,
		Depends:          "!dhcp-server-ldap dhcp so:libc.musl-x86_64.so.1 so:libgcc_s.so.1",
		Provides:         "dhcp-server cmd:dhcpd=4.4.3_p1-r0",
		InstallIf:        "dhcp=4.4.3_p1-r0",
		Checksum:         mustChecksum(t, "Q1Go/5rmOTUV7bq06iddjWlUHRdOU="),
	}
	if diff := cmp.Diff(want, findPackage(t, idx.Packages, want.Name)); diff != "" {
		t.Errorf("record %s (-want +got):\n%s", want.Name, diff)
	}
}

func findPackage(t testing.TB, pkgs []Package, name string) Package {
	t.Helper()
	for _, p := range pkgs {
		if p.Name == name {
			return p
		}
	}
	t.Fatalf("no package %s", name)
	return Package{}
}

// TestReadIndexWolfiEachKey checks that each of the three signatures of the
// resigned Wolfi index verifies with its own key alone.
func TestReadIndexWolfiEachKey(t *testing.T) {
	data := readFile(t, testutil.RealData(t, "wolfi-aarch64-resigned", "APKINDEX.tar.gz"))
	for _, key := range wolfiKeys(t) {
		t.Run(filepath.Base(key)[:20], func(t *testing.T) {
			idx, err := ReadIndex(bytes.NewReader(data), IndexOptions{Keyring: loadKeyring(t, key)})
			if err != nil {
				t.Fatal(err)
			}
			if idx.SignedBy != filepath.Base(key) {
				t.Errorf("SignedBy = %q, want %s", idx.SignedBy, filepath.Base(key))
			}
			checkWolfiIndex(t, idx)
		})
	}
}

func checkWolfiIndex(t *testing.T, idx *Index) {
	t.Helper()
	if len(idx.Packages) != 16 || idx.Description != "" || len(idx.Signatures) != 3 {
		t.Fatalf("want 16 records, an empty DESCRIPTION and 3 signatures; got %d, %q, %d",
			len(idx.Packages), idx.Description, len(idx.Signatures))
	}
	for _, s := range idx.Signatures {
		if s.Alg != SigRSA256 {
			t.Errorf("signature %s: want RSA256", s.EntryName())
		}
	}
	priorities := map[string]uint64{}
	for _, p := range idx.Packages {
		if p.ProviderPriority != 0 {
			priorities[p.Name] = p.ProviderPriority
		}
	}
	want := map[string]uint64{"ld-linux": 10, "busybox": 10, "libcrypt1": 10}
	if diff := cmp.Diff(want, priorities); diff != "" {
		t.Errorf("provider priorities (-want +got):\n%s", diff)
	}
	counts := fieldCounts(idx.Packages)
	if counts["U"] != 0 || counts["m"] != 0 || counts["C"] != 16 || counts["t"] != 16 {
		t.Errorf("want C and t on every record and no U or m (Wolfi field set), got %v", counts)
	}
}

func TestReadIndexRSA256(t *testing.T) {
	data := readFile(t, testutil.RealData(t, "rsa256-index", "aarch64", "APKINDEX.tar.gz"))
	kr := loadKeyring(t, testutil.RealData(t, "rsa256-index", rsa256KeyName))
	idx, err := ReadIndex(bytes.NewReader(data), IndexOptions{Keyring: kr})
	if err != nil {
		t.Fatal(err)
	}
	want := &Index{
		Packages: []Package{{
			Name:          "alpine-baselayout",
			Version:       "3.2.0-r23",
			Arch:          "aarch64",
			Size:          11012,
			InstalledSize: 339968,
			Description:   "Alpine base dir structure and init scripts",
			URL:           "https://git.alpinelinux.org/cgit/aports/tree/main/alpine-baselayout",
			License:       "GPL-2.0-only",
			Origin:        "alpine-baselayout",
			Maintainer:    "Natanael Copa <ncopa@alpinelinux.org>",
			BuildTime:     1662926906,
			Commit:        "348653a9ba0701e8e968b3344e72313a9ef334e4",
			Depends:       "alpine-baselayout-data=3.2.0-r23 /bin/sh so:libc.musl-aarch64.so.1",
			Provides:      "cmd:mkmntdirs=3.2.0-r23",
			Checksum:      mustChecksum(t, "Q1LLq2qDNrS/qRnhxQ3hsY/sHbQnc="),
		}},
		Signatures: idx.Signatures,
		SignedBy:   rsa256KeyName,
	}
	if diff := cmp.Diff(want, idx); diff != "" {
		t.Errorf("index (-want +got):\n%s", diff)
	}
	if got := idx.Packages[0].Checksum.String(); got != "Q1LLq2qDNrS/qRnhxQ3hsY/sHbQnc=" {
		t.Errorf("C: = %s", got)
	}
	if len(idx.Signatures) != 1 || idx.Signatures[0].EntryName() != ".SIGN.RSA256."+rsa256KeyName {
		t.Errorf("signatures = %+v", idx.Signatures)
	}
}

// member0End returns the size of the first gzip member of data.
func member0End(t testing.TB, data []byte) int {
	t.Helper()
	mr := NewMemberReader(bytes.NewReader(data))
	m, err := mr.Next(nil, 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(io.Discard, m); err != nil {
		t.Fatal(err)
	}
	return int(mr.Offset())
}

func TestReadIndexRejects(t *testing.T) {
	alpine, alpineKeys := alpineIndex(t)
	rsa256Keys := loadKeyring(t, testutil.RealData(t, "rsa256-index", rsa256KeyName))
	unsigned := writeTestIndex(t, WriteIndexOptions{})

	// Byte 4 of a gzip member is its MTIME: changing it keeps the member
	// valid, so only the signature can notice.
	tampered := bytes.Clone(alpine)
	tampered[member0End(t, alpine)+4] ^= 1

	// Signed by a key the keyring lacks, with broken text: the signature
	// is refused before the text is read.
	testKey, _ := benchKey(t)
	unknownSigner := buildIndex(t, testKey, nil,
		[][]tarFile{{{"APKINDEX", []byte("broken")}, endOfArchive}})

	var sigErr *SignatureError
	tests := []struct {
		name    string
		data    []byte
		opts    IndexOptions
		want    string // in the error message
		sigFail bool   // the error is a *SignatureError
		target  error
	}{
		{name: "wrong key", data: alpine, opts: IndexOptions{Keyring: rsa256Keys},
			want: "UNTRUSTED", sigFail: true},
		{name: "unknown key, broken text", data: unknownSigner, opts: IndexOptions{Keyring: alpineKeys},
			want: "key index-test.rsa.pub not in keyring (UNTRUSTED)", sigFail: true},
		{name: "modified byte after member 0", data: tampered, opts: IndexOptions{Keyring: alpineKeys},
			want: "does not verify", sigFail: true},
		{name: "no keyring", data: alpine, want: "no keyring"},
		{name: "unsigned", data: unsigned, opts: IndexOptions{Keyring: alpineKeys},
			want: "UNTRUSTED", target: ErrUnsigned},
		{name: "signature member only", data: alpine[:member0End(t, alpine)],
			opts: IndexOptions{Keyring: alpineKeys}, want: "unexpected EOF"},
		{name: "empty", data: nil, opts: IndexOptions{Keyring: alpineKeys}, want: "unexpected EOF"},
		{name: "garbage", data: bytes.Repeat([]byte("APKINDEX"), 100),
			opts: IndexOptions{Keyring: alpineKeys}, want: "gzip"},
		{name: "too large", data: alpine, opts: IndexOptions{Keyring: alpineKeys, MaxSize: 1 << 20},
			want: "exceeds size limit", target: ErrTooLarge},
		{name: "too many records", data: alpine,
			opts: IndexOptions{Keyring: alpineKeys, MaxRecords: 4928},
			want: "APKINDEX line 75739 (record 4929): more than 4928 records", target: ErrTooLarge},
		{name: "record too large", data: alpine,
			opts: IndexOptions{Keyring: alpineKeys, MaxRecordSize: 1000},
			want: "record is longer than 1000 bytes", target: ErrTooLarge},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ReadIndex(bytes.NewReader(tt.data), tt.opts)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("ReadIndex error = %v, want one containing %q", err, tt.want)
			}
			if tt.sigFail != errors.As(err, &sigErr) {
				t.Errorf("error %v: is a *SignatureError = %v, want %v", err, !tt.sigFail, tt.sigFail)
			}
			if tt.target != nil && !errors.Is(err, tt.target) {
				t.Errorf("error %v does not wrap %v", err, tt.target)
			}
		})
	}
}

// TestReadIndexTruncated cuts the real index at many points: every cut must
// fail cleanly (the last member is cut, so its trailer is missing).
func TestReadIndexTruncated(t *testing.T) {
	data := readFile(t, testutil.RealData(t, "wolfi-aarch64-resigned", "APKINDEX.tar.gz"))
	kr := loadKeyring(t, wolfiKeys(t)...)
	for cut := 0; cut < len(data); cut += 97 {
		if _, err := ReadIndex(bytes.NewReader(data[:cut]), IndexOptions{Keyring: kr}); err == nil {
			t.Errorf("index cut at %d of %d bytes: no error", cut, len(data))
		}
	}
}

func TestReadIndexAllowUntrusted(t *testing.T) {
	alpine, _ := alpineIndex(t)
	otherKeys := loadKeyring(t, testutil.RealData(t, "rsa256-index", rsa256KeyName))
	unsigned := writeTestIndex(t, WriteIndexOptions{Description: "unsigned"})
	tests := []struct {
		name     string
		data     []byte
		keyring  *Keyring
		records  int
		desc     string
		signedBy string
	}{
		{name: "unsigned, no keyring", data: unsigned, records: 3, desc: "unsigned"},
		{name: "unsigned, keyring", data: unsigned, keyring: otherKeys, records: 3, desc: "unsigned"},
		{name: "untrusted key", data: alpine, keyring: otherKeys, records: 4929,
			desc: "v3.16.3-13-g4d933a1fa3"},
		{name: "no keyring", data: alpine, records: 4929, desc: "v3.16.3-13-g4d933a1fa3"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			opts := IndexOptions{Keyring: tt.keyring, AllowUntrusted: true}
			idx, err := ReadIndex(bytes.NewReader(tt.data), opts)
			if err != nil {
				t.Fatal(err)
			}
			got := []any{len(idx.Packages), idx.Description, idx.SignedBy}
			if diff := cmp.Diff([]any{tt.records, tt.desc, tt.signedBy}, got); diff != "" {
				t.Errorf("records, description, signer (-want +got):\n%s", diff)
			}
		})
	}
}

// TestReadIndexLayouts builds indexes apk-tools or melange could write but
// the real files do not show: APKINDEX before DESCRIPTION, the index tar
// split over two gzip members, extra entries; and layouts to reject.
func TestReadIndexLayouts(t *testing.T) {
	key, kr := benchKey(t)
	text := []byte("C:Q1LLq2qDNrS/qRnhxQ3hsY/sHbQnc=\nP:a\nV:1-r0\n")
	tests := []struct {
		name    string
		members [][]tarFile // gzip members after the signature member
		sig     []tarFile   // extra entries in the signature member
		want    string      // error text; "" = must read one record
	}{
		{name: "APKINDEX first", members: [][]tarFile{{
			{"APKINDEX", text}, {"DESCRIPTION", []byte("d")}, endOfArchive}}},
		{name: "two members", members: [][]tarFile{
			{{"DESCRIPTION", []byte("d")}}, {{"APKINDEX", text}, endOfArchive}}},
		{name: "extra entry", members: [][]tarFile{{
			{"DESCRIPTION", []byte("d")}, {"NOTES", []byte("x")}, {"APKINDEX", text}, endOfArchive}}},
		{name: "no APKINDEX", members: [][]tarFile{{{"DESCRIPTION", []byte("d")}, endOfArchive}},
			want: "no APKINDEX entry"},
		{name: "two APKINDEX", members: [][]tarFile{{
			{"APKINDEX", text}, {"APKINDEX", text}, endOfArchive}}, want: "two APKINDEX"},
		{name: "APKINDEX in the signature member", sig: []tarFile{{"APKINDEX", text}},
			members: [][]tarFile{{{"DESCRIPTION", []byte("d")}, endOfArchive}},
			want:    `entry "APKINDEX" in the signature member`},
		{name: "trailing garbage", members: [][]tarFile{
			{{"APKINDEX", text}, {"DESCRIPTION", []byte("d")}, endOfArchive}, {{"", nil}}},
			want: "gzip"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			data := buildIndex(t, key, tt.sig, tt.members)
			idx, err := ReadIndex(bytes.NewReader(data), IndexOptions{Keyring: kr})
			if tt.want != "" {
				if err == nil || !strings.Contains(err.Error(), tt.want) {
					t.Fatalf("ReadIndex error = %v, want one containing %q", err, tt.want)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(idx.Packages) != 1 || idx.Description != "d" || idx.SignedBy != key.Name {
				t.Errorf("got %d records, description %q, signer %q", len(idx.Packages),
					idx.Description, idx.SignedBy)
			}
		})
	}
}

// tarFile is one entry for buildIndex; endOfArchive stands for the two zero
// blocks, and an entry with an empty name for raw garbage.
type tarFile struct {
	name string
	data []byte
}

var endOfArchive = tarFile{name: "\x00"}

// buildIndex signs members with key, each member being a gzipped tar
// fragment, as abuild-tar --cut and gzip would produce them.
func buildIndex(t *testing.T, key *SigningKey, sigExtra []tarFile, members [][]tarFile) []byte {
	t.Helper()
	var body []byte
	for _, m := range members {
		if len(m) == 1 && m[0].name == "" {
			body = append(body, "not gzip"...)
			continue
		}
		z, err := GzipMember(tarFragment(t, m))
		if err != nil {
			t.Fatal(err)
		}
		body = append(body, z...)
	}
	sig, err := key.Sign(SigRSA256, body)
	if err != nil {
		t.Fatal(err)
	}
	sigTar := tarFragment(t, append([]tarFile{{sig.EntryName(), sig.Data}}, sigExtra...))
	sigMember, err := GzipMember(sigTar)
	if err != nil {
		t.Fatal(err)
	}
	return append(sigMember, body...)
}

func tarFragment(t *testing.T, files []tarFile) []byte {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, f := range files {
		if f.name == endOfArchive.name {
			buf.Write(make([]byte, 1024))
			continue
		}
		hdr := &tar.Header{Name: f.name, Mode: 0o644, Size: int64(len(f.data)), Format: tar.FormatUSTAR}
		if err := tw.WriteHeader(hdr); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write(f.data); err != nil {
			t.Fatal(err)
		}
		if err := tw.Flush(); err != nil {
			t.Fatal(err)
		}
	}
	return buf.Bytes()
}
