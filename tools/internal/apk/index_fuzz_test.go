package apk

import (
	"bytes"
	"errors"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/rules-apk/rules_apk/tools/internal/testutil"
)

// indexSeeds returns the real indexes small enough to mutate, plus the
// start of the Alpine one.
func indexSeeds(f *testing.F) (archives, texts [][]byte) {
	for _, p := range [][]string{
		{"wolfi-aarch64-resigned", "APKINDEX.tar.gz"},
		{"rsa256-index", "aarch64", "APKINDEX.tar.gz"},
	} {
		data := readFile(f, testutil.RealData(f, p...))
		archives = append(archives, data)
		texts = append(texts, tarEntry(f, data, "APKINDEX"))
	}
	alpine, _ := alpineIndex(f)
	texts = append(texts, tarEntry(f, alpine, "APKINDEX")[:8<<10])
	archives = append(archives, writeTestIndex(f, WriteIndexOptions{Description: "unsigned"}))
	return archives, texts
}

// FuzzParseIndexText checks that the parser never panics, that what it
// accepts has a name and a version, and that the result does not depend
// on where the text is cut into chunks.
func FuzzParseIndexText(f *testing.F) {
	_, texts := indexSeeds(f)
	for _, s := range texts {
		f.Add(s)
	}
	f.Add([]byte("P:a\nV:1\np:x=1\np:y\nX:new\n\n\nP:b\nV:2\nS:18446744073709551615"))
	f.Fuzz(func(t *testing.T, data []byte) {
		want, err := ParseIndexText(bytes.NewReader(data))
		var ie *IndexError
		if err != nil && !errors.As(err, &ie) {
			t.Fatalf("error %v is not an *IndexError", err)
		}
		for _, p := range want {
			if p.Name == "" || p.Version == "" {
				t.Fatalf("accepted a record without name or version: %+v", p)
			}
		}
		lim := defaultIndexLimits()
		lim.chunkSize = 3
		got, err2 := parseIndexRecords(bytes.NewReader(data), -1, lim)
		if (err == nil) != (err2 == nil) {
			t.Fatalf("chunked parse error %v, whole parse error %v", err2, err)
		}
		if err == nil && !slices.Equal(want, got) {
			t.Fatalf("chunked parse differs (-whole +chunked):\n%s", cmp.Diff(want, got))
		}
	})
}

// FuzzReadIndex checks that reading arbitrary bytes as an index never
// panics and that an index read without a verified signature has no
// signer.
func FuzzReadIndex(f *testing.F) {
	archives, _ := indexSeeds(f)
	for _, s := range archives {
		f.Add(s)
	}
	kr := loadKeyring(f, wolfiKeys(f)...)
	f.Fuzz(func(t *testing.T, data []byte) {
		opts := IndexOptions{Keyring: kr, AllowUntrusted: true, MaxSize: 1 << 20}
		idx, err := ReadIndex(bytes.NewReader(data), opts)
		if err != nil {
			return
		}
		for _, p := range idx.Packages {
			if p.Name == "" || p.Version == "" {
				t.Fatalf("accepted a record without name or version: %+v", p)
			}
		}
		if idx.SignedBy != "" && len(idx.Signatures) == 0 {
			t.Fatalf("signed by %s without signatures", idx.SignedBy)
		}
	})
}
