package image

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/sha256"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/klauspost/compress/gzip"
)

// tarOf writes a tar of the given files (path → content), sorted, with
// fixed owners and mtimes, so that the bytes never change.
func tarOf(t testing.TB, files map[string]string) []byte {
	t.Helper()
	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, n)
	}
	sort.Strings(names)
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, n := range names {
		hdr := &tar.Header{Name: n, Mode: 0o644, Size: int64(len(files[n])),
			ModTime: time.Unix(1700000000, 0), Typeflag: tar.TypeReg, Format: tar.FormatPAX}
		if err := tw.WriteHeader(hdr); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write([]byte(files[n])); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// gzipOf compresses b as a tool other than apkpack would: best
// compression, a file name in the header.
func gzipOf(t testing.TB, b []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw, err := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	if err != nil {
		t.Fatal(err)
	}
	zw.Name = "layer.tar"
	if _, err := zw.Write(b); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func gunzip(t testing.TB, b []byte) []byte {
	t.Helper()
	zr, err := gzip.NewReader(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if _, err := out.ReadFrom(zr); err != nil {
		t.Fatal(err)
	}
	return out.Bytes()
}

func writeFile(t testing.TB, dir, name string, data []byte) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func sha(b []byte) v1.Hash {
	return v1.Hash{Algorithm: "sha256", Hex: fmt.Sprintf("%x", sha256.Sum256(b))}
}

// fixture is a pair of layers: a tar.gz written by another tool and a plain
// tar that Build compresses.
type fixture struct {
	gzTar, plainTar   []byte // the uncompressed tars
	gzFile, plainFile string
	gzBytes           []byte // the tar.gz file
	armTar            []byte
	armFile           string
}

func newFixture(t testing.TB) fixture {
	t.Helper()
	dir := t.TempDir()
	f := fixture{
		gzTar: tarOf(t, map[string]string{
			"etc/os-release": "ID=demo\n", "usr/lib/libdemo.so.1": "\x7fELF demo",
		}),
		plainTar: tarOf(t, map[string]string{"usr/bin/app": "#!app\n"}),
		armTar:   tarOf(t, map[string]string{"usr/bin/app": "#!app for arm64\n"}),
	}
	f.gzBytes = gzipOf(t, f.gzTar)
	f.gzFile = writeFile(t, dir, "runtime.tar.gz", f.gzBytes)
	f.plainFile = writeFile(t, dir, "app.tar", f.plainTar)
	f.armFile = writeFile(t, dir, "app-arm64.tar", f.armTar)
	return f
}

// options is the single-platform build of the fixture.
func (f fixture) options(t testing.TB) Options {
	return Options{
		Platforms: []PlatformLayers{{
			Platform: v1.Platform{OS: "linux", Architecture: "amd64"},
			Layers:   []string{f.gzFile, f.plainFile},
		}},
		Config: Config{
			Entrypoint: []string{"/usr/bin/app"},
			Cmd:        []string{"--serve"},
			Env:        []string{"PATH=/usr/bin", "EMPTY="},
			User:       "65532:65532",
			WorkingDir: "/srv",
			Labels:     map[string]string{"org.example.b": "2", "org.example.a": "1"},
		},
		Annotations: map[string]string{"org.opencontainers.image.source": "demo"},
		Created:     time.Date(2024, 5, 6, 7, 8, 9, 0, time.UTC),
		TempDir:     t.TempDir(),
	}
}

// indexOptions builds the fixture for amd64 and arm64, sharing the gzip
// layer.
func (f fixture) indexOptions(t testing.TB) Options {
	o := f.options(t)
	o.Platforms = []PlatformLayers{
		{Platform: v1.Platform{OS: "linux", Architecture: "amd64"},
			Layers: []string{f.gzFile, f.plainFile}},
		{Platform: v1.Platform{OS: "linux", Architecture: "arm64", Variant: "v8"},
			Layers: []string{f.gzFile, f.armFile}},
	}
	return o
}

func build(t testing.TB, o Options) *Result {
	t.Helper()
	res, err := Build(context.Background(), o)
	if err != nil {
		t.Fatalf("Build: %v", err)
	}
	t.Cleanup(func() { res.Close() })
	return res
}

func mustDigest(t testing.TB, d interface{ Digest() (v1.Hash, error) }) v1.Hash {
	t.Helper()
	h, err := d.Digest()
	if err != nil {
		t.Fatal(err)
	}
	return h
}
