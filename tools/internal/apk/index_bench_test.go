package apk_test

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/rules-apk/rules_apk/tools/internal/apk"
	"github.com/rules-apk/rules_apk/tools/internal/synth"
	"github.com/rules-apk/rules_apk/tools/internal/testutil"
)

// syntheticIndex returns the synthetic Wolfi-sized index of package synth,
// written into the user cache directory on first use, and its keyring.
func syntheticIndex(tb testing.TB) (string, *apk.Keyring) {
	tb.Helper()
	key, err := apk.LoadSigningKey(filepath.Join("testdata", "index-test.rsa"))
	if err != nil {
		tb.Fatal(err)
	}
	dir, err := synth.CachedRepo(key)
	if err != nil {
		tb.Fatal(err)
	}
	kr, err := apk.LoadKeyring(synth.KeyPath(dir, key))
	if err != nil {
		tb.Fatal(err)
	}
	return synth.IndexPath(dir), kr
}

// BenchmarkReadIndex loads and verifies a Wolfi-sized index (200,000
// records, RSA256) from a file, as `apkpack lock` does.
func BenchmarkReadIndex(b *testing.B) {
	path, kr := syntheticIndex(b)
	benchmarkReadIndexFile(b, path, kr, synth.Records)
}

// BenchmarkReadIndexAlpine loads and verifies the real Alpine 3.16 index.
func BenchmarkReadIndexAlpine(b *testing.B) {
	path := testutil.RealData(b, "alpine-3.16-x86_64", "APKINDEX.tar.gz")
	kr, err := apk.LoadKeyring(testutil.RealData(b, "alpine-3.16-x86_64",
		"alpine-devel@lists.alpinelinux.org-6165ee59.rsa.pub"))
	if err != nil {
		b.Fatal(err)
	}
	benchmarkReadIndexFile(b, path, kr, 4929)
}

func benchmarkReadIndexFile(b *testing.B, path string, kr *apk.Keyring, records int) {
	fi, err := os.Stat(path)
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(fi.Size())
	b.ReportAllocs()
	for b.Loop() {
		f, err := os.Open(path)
		if err != nil {
			b.Fatal(err)
		}
		idx, err := apk.ReadIndex(f, apk.IndexOptions{Keyring: kr})
		f.Close()
		if err != nil {
			b.Fatal(err)
		}
		if len(idx.Packages) != records {
			b.Fatalf("read %d records, want %d", len(idx.Packages), records)
		}
	}
}

// TestReadIndexLarge reads an index large enough that decompression and
// parsing run on two goroutines (the real indexes are read on one).
func TestReadIndexLarge(t *testing.T) {
	key, kr := apk.BenchKey(t)
	pkgs := synth.WolfiLike(1000)
	var buf bytes.Buffer
	if err := apk.WriteIndex(&buf, pkgs, apk.WriteIndexOptions{Keys: []*apk.SigningKey{key}}); err != nil {
		t.Fatal(err)
	}
	if text := apk.TarEntry(t, buf.Bytes(), "APKINDEX"); len(text) < apk.AsyncMinBytes {
		t.Fatalf("APKINDEX of %d bytes is read on one goroutine", len(text))
	}
	idx, err := apk.ReadIndex(bytes.NewReader(buf.Bytes()), apk.IndexOptions{Keyring: kr})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(apk.SortedPackages(pkgs), idx.Packages); diff != "" {
		t.Errorf("records read back (-want +got):\n%s", diff)
	}
}
