package apk

import (
	"bytes"
	"cmp"
	"crypto/sha256"
	"encoding/hex"
	"slices"
	"strings"
	"testing"

	gocmp "github.com/google/go-cmp/cmp"
	"github.com/rules-apk/rules_apk/tools/internal/testutil"
)

// testPackages is a small, unsorted package set using every field an
// index record holds.
func testPackages(t testing.TB) []Package {
	return []Package{
		{
			Name: "zlib", Version: "1.3.1-r6", Arch: "x86_64", Size: 60123, InstalledSize: 131072,
			Description: "A compression/decompression Library", URL: "https://zlib.net/",
			License: "Zlib", Origin: "zlib", Maintainer: "A <a@example.org>",
			BuildTime: 1727692797, Commit: "6639769b4ab80789b2f62cf43862e97778bb2de0",
			Depends: "so:libc.so.6", Provides: "so:libz.so.1=1 pc:zlib=1.3.1",
			Checksum: mustChecksum(t, "Q13+6MfiuOBmevCCZvDgl6/DGVCy4="),
		},
		{
			Name: "busybox", Version: "1.37.0-r0", Arch: "x86_64", Size: 430558, InstalledSize: 801344,
			Description: "swiss-army knife for embedded systems", License: "GPL-2.0-only",
			Origin: "busybox", BuildTime: 1727692797, ProviderPriority: 10,
			Depends:  "so:ld-linux-x86-64.so.2 so:libc.so.6",
			Provides: "cmd:busybox=1.37.0-r0",
			Checksum: mustChecksum(t, "Q1LLq2qDNrS/qRnhxQ3hsY/sHbQnc="),
		},
		{
			Name: "busybox-openrc", Version: "1.37.0-r0", Arch: "noarch",
			InstallIf: "openrc busybox=1.37.0-r0",
			Checksum:  mustChecksum(t, "Q1kxWXVLoJZoZwO4UM5oz/8gQMKOU="),
		},
	}
}

func writeTestIndex(t testing.TB, opts WriteIndexOptions) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := WriteIndex(&buf, testPackages(t), opts); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func sortedPackages(pkgs []Package) []Package {
	s := slices.Clone(pkgs)
	slices.SortFunc(s, func(a, b Package) int {
		return cmp.Or(strings.Compare(a.Name, b.Name), strings.Compare(a.Version, b.Version))
	})
	return s
}

func TestWriteIndexRoundTrip(t *testing.T) {
	key, _ := benchKey(t)
	other, err := GenerateSigningKey("other.rsa.pub", 2048)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		opts WriteIndexOptions
		alg  SigAlg
	}{
		{name: "unsigned", opts: WriteIndexOptions{Description: "v1"}},
		{name: "RSA256", opts: WriteIndexOptions{Keys: []*SigningKey{key}}, alg: SigRSA256},
		{name: "RSA", opts: WriteIndexOptions{Keys: []*SigningKey{key}, Alg: SigRSA}, alg: SigRSA},
		{name: "two keys", opts: WriteIndexOptions{Keys: []*SigningKey{key, other}}, alg: SigRSA256},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			data := writeTestIndex(t, tt.opts)
			keys := tt.opts.Keys
			if len(keys) == 0 {
				idx := readWritten(t, data, IndexOptions{AllowUntrusted: true}, "")
				if idx.Description != "v1" {
					t.Errorf("Description = %q, want v1", idx.Description)
				}
				return
			}
			// Each key alone must verify its own signature.
			for _, k := range keys {
				kr := NewKeyring()
				pub, err := k.PublicKeyPEM()
				if err != nil {
					t.Fatal(err)
				}
				if err := kr.Add(k.Name, pub); err != nil {
					t.Fatal(err)
				}
				idx := readWritten(t, data, IndexOptions{Keyring: kr}, k.Name)
				if len(idx.Signatures) != len(keys) || idx.Signatures[0].Alg != tt.alg {
					t.Errorf("signatures = %+v, want %d %s", idx.Signatures, len(keys), tt.alg)
				}
			}
		})
	}
}

// readWritten reads a written index and compares its records with
// testPackages in write order.
func readWritten(t *testing.T, data []byte, opts IndexOptions, signer string) *Index {
	t.Helper()
	idx, err := ReadIndex(bytes.NewReader(data), opts)
	if err != nil {
		t.Fatal(err)
	}
	if diff := gocmp.Diff(sortedPackages(testPackages(t)), idx.Packages); diff != "" {
		t.Errorf("records read back (-want +got):\n%s", diff)
	}
	if idx.SignedBy != signer {
		t.Errorf("SignedBy = %q, want %q", idx.SignedBy, signer)
	}
	return idx
}

// TestWriteIndexGolden pins the written bytes: the APKINDEX text (field
// order, always-written fields) and the digest of the whole signed file.
func TestWriteIndexGolden(t *testing.T) {
	key, _ := benchKey(t)
	opts := WriteIndexOptions{Description: "golden", Keys: []*SigningKey{key}}
	data := writeTestIndex(t, opts)
	pkgs := testPackages(t)
	slices.Reverse(pkgs)
	var again bytes.Buffer
	if err := WriteIndex(&again, pkgs, opts); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(data, again.Bytes()) {
		t.Error("writing the same packages in another order gave other bytes")
	}
	testutil.Golden(t, "index_write.APKINDEX", tarEntry(t, data, "APKINDEX"))
	sum := sha256.Sum256(data)
	testutil.Golden(t, "index_write.tar.gz.sha256", []byte(hex.EncodeToString(sum[:])+"\n"))
}

// TestWriteIndexAlpineRoundTrip rewrites the real Alpine index: every
// record survives, and writing what was read gives the same bytes again.
func TestWriteIndexAlpineRoundTrip(t *testing.T) {
	data, kr := alpineIndex(t)
	idx, err := ReadIndex(bytes.NewReader(data), IndexOptions{Keyring: kr})
	if err != nil {
		t.Fatal(err)
	}
	var first bytes.Buffer
	opts := WriteIndexOptions{Description: idx.Description}
	if err := WriteIndex(&first, idx.Packages, opts); err != nil {
		t.Fatal(err)
	}
	back, err := ReadIndex(bytes.NewReader(first.Bytes()), IndexOptions{AllowUntrusted: true})
	if err != nil {
		t.Fatal(err)
	}
	if diff := gocmp.Diff(sortedPackages(idx.Packages), back.Packages); diff != "" {
		t.Errorf("records read back (-want +got):\n%s", diff)
	}
	var second bytes.Buffer
	if err := WriteIndex(&second, back.Packages, opts); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(first.Bytes(), second.Bytes()) {
		t.Error("rewriting the index read back changed its bytes")
	}
}

func TestWriteIndexRejects(t *testing.T) {
	tests := []struct {
		name   string
		modify func(p []Package) []Package
		want   string
	}{
		{name: "duplicate", want: "package zlib-1.3.1-r6 is listed twice",
			modify: func(p []Package) []Package { return append(p, p[0]) }},
		{name: "no checksum", want: "package zlib-1.3.1-r6 has no checksum",
			modify: func(p []Package) []Package { p[0].Checksum = Checksum{}; return p }},
		{name: "no name", want: `package with version "1.3.1-r6" has no name`,
			modify: func(p []Package) []Package { p[0].Name = ""; return p }},
		{name: "no version", want: "package zlib has no version",
			modify: func(p []Package) []Package { p[0].Version = ""; return p }},
		{name: "newline", want: "package busybox-1.37.0-r0: field D holds a newline",
			modify: func(p []Package) []Package { p[1].Depends = "a\nb"; return p }},
		{name: "negative build time", want: "negative build time",
			modify: func(p []Package) []Package { p[1].BuildTime = -1; return p }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var buf bytes.Buffer
			err := WriteIndex(&buf, tt.modify(testPackages(t)), WriteIndexOptions{})
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("WriteIndex error = %v, want one containing %q", err, tt.want)
			}
			if buf.Len() != 0 {
				t.Errorf("%d bytes written despite the error", buf.Len())
			}
		})
	}
}
