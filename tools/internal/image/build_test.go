package image

import (
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// TestBuildLayout builds an image from a tar.gz and a plain tar, writes
// it, and reads it back with ggcr's layout reader.
func TestBuildLayout(t *testing.T) {
	f := newFixture(t)
	res := build(t, f.options(t))
	dir := filepath.Join(t.TempDir(), "image")
	if err := WriteLayout(dir, res, WriteOptions{Tag: "example.com/app:1.0"}); err != nil {
		t.Fatal(err)
	}

	idx, err := layout.ImageIndexFromPath(dir)
	if err != nil {
		t.Fatal(err)
	}
	im, err := idx.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	if len(im.Manifests) != 1 {
		t.Fatalf("index.json lists %d manifests, want 1", len(im.Manifests))
	}
	desc := im.Manifests[0]
	wantDesc := map[string]any{
		"mediaType":   types.OCIManifestSchema1,
		"digest":      mustDigest(t, res),
		"platform":    &v1.Platform{OS: "linux", Architecture: "amd64"},
		"annotations": map[string]string{AnnotationRefName: "1.0", AnnotationContainerdName: "example.com/app:1.0"},
	}
	gotDesc := map[string]any{
		"mediaType": desc.MediaType, "digest": desc.Digest,
		"platform": desc.Platform, "annotations": desc.Annotations,
	}
	if diff := cmp.Diff(wantDesc, gotDesc); diff != "" {
		t.Errorf("index.json descriptor (-want +got):\n%s", diff)
	}

	img, err := idx.Image(desc.Digest)
	if err != nil {
		t.Fatal(err)
	}
	checkConfig(t, img, f)
	checkLayers(t, img, f)
	checkManifest(t, img)
}

func checkConfig(t *testing.T, img v1.Image, f fixture) {
	t.Helper()
	cfg, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	created := v1.Time{Time: time.Date(2024, 5, 6, 7, 8, 9, 0, time.UTC)}
	want := &v1.ConfigFile{
		Architecture: "amd64",
		OS:           "linux",
		Created:      created,
		History: []v1.History{
			{Created: created, CreatedBy: "apkpack image --layer runtime.tar.gz"},
			{Created: created, CreatedBy: "apkpack image --layer app.tar"},
		},
		RootFS: v1.RootFS{Type: "layers", DiffIDs: []v1.Hash{sha(f.gzTar), sha(f.plainTar)}},
		Config: v1.Config{
			Entrypoint: []string{"/usr/bin/app"},
			Cmd:        []string{"--serve"},
			Env:        []string{"PATH=/usr/bin", "EMPTY="},
			User:       "65532:65532",
			WorkingDir: "/srv",
			Labels:     map[string]string{"org.example.a": "1", "org.example.b": "2"},
		},
	}
	if diff := cmp.Diff(want, cfg); diff != "" {
		t.Errorf("config (-want +got):\n%s", diff)
	}
}

// checkLayers reads each layer blob back: the tar.gz is stored byte for
// byte, the plain tar as a gzip stream of exactly its bytes.
func checkLayers(t *testing.T, img v1.Image, f fixture) {
	t.Helper()
	layers, err := img.Layers()
	if err != nil {
		t.Fatal(err)
	}
	if len(layers) != 2 {
		t.Fatalf("%d layers, want 2", len(layers))
	}
	blobs := make([][]byte, 2)
	for i, l := range layers {
		rc, err := l.Compressed()
		if err != nil {
			t.Fatal(err)
		}
		blobs[i], err = io.ReadAll(rc)
		rc.Close()
		if err != nil {
			t.Fatal(err)
		}
		if got, want := mustDigest(t, l), sha(blobs[i]); got != want {
			t.Errorf("layer %d: digest %s, blob hashes to %s", i, got, want)
		}
		if mt, _ := l.MediaType(); mt != types.OCILayer {
			t.Errorf("layer %d: media type %s, want %s", i, mt, types.OCILayer)
		}
	}
	if diff := cmp.Diff(f.gzBytes, blobs[0]); diff != "" {
		t.Errorf("tar.gz layer not stored as given (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(f.plainTar, gunzip(t, blobs[1])); diff != "" {
		t.Errorf("plain tar layer does not decompress to the tar (-want +got):\n%s", diff)
	}
}

func checkManifest(t *testing.T, img v1.Image) {
	t.Helper()
	m, err := img.Manifest()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]any{"mediaType": m.MediaType, "config": m.Config.MediaType,
		"annotations": m.Annotations}
	want := map[string]any{"mediaType": types.OCIManifestSchema1, "config": types.OCIConfigJSON,
		"annotations": map[string]string{"org.opencontainers.image.source": "demo"}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("manifest (-want +got):\n%s", diff)
	}
}

// TestBuildIndex builds two platforms sharing a layer into an index.
func TestBuildIndex(t *testing.T) {
	f := newFixture(t)
	res := build(t, f.indexOptions(t))
	if res.Index == nil {
		t.Fatal("no index for two platforms")
	}
	dir := filepath.Join(t.TempDir(), "image")
	if err := WriteLayout(dir, res, WriteOptions{}); err != nil {
		t.Fatal(err)
	}

	top, err := layout.ImageIndexFromPath(dir)
	if err != nil {
		t.Fatal(err)
	}
	tm, err := top.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	if len(tm.Manifests) != 1 || tm.Manifests[0].MediaType != types.OCIImageIndex ||
		tm.Manifests[0].Digest != mustDigest(t, res) {
		t.Fatalf("index.json = %+v, want one %s descriptor of digest %s",
			tm.Manifests, types.OCIImageIndex, mustDigest(t, res))
	}
	idx, err := top.ImageIndex(tm.Manifests[0].Digest)
	if err != nil {
		t.Fatal(err)
	}
	im, err := idx.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(map[string]string{"org.opencontainers.image.source": "demo"},
		im.Annotations); diff != "" {
		t.Errorf("index annotations (-want +got):\n%s", diff)
	}

	type entry struct {
		Platform string
		Variant  string
		DiffIDs  []v1.Hash
	}
	var got []entry
	for _, d := range im.Manifests {
		img, err := idx.Image(d.Digest)
		if err != nil {
			t.Fatal(err)
		}
		cfg, err := img.ConfigFile()
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, entry{FormatPlatform(*d.Platform), cfg.Variant, cfg.RootFS.DiffIDs})
	}
	want := []entry{
		{"linux/amd64", "", []v1.Hash{sha(f.gzTar), sha(f.plainTar)}},
		{"linux/arm64/v8", "v8", []v1.Hash{sha(f.gzTar), sha(f.armTar)}},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("index manifests (-want +got):\n%s", diff)
	}
}

// TestBuildZstd checks that a zstd layer keeps its bytes and media type.
// No zstd encoder is at hand in the standard library, so the layer is the
// smallest valid frame holding the tar: one raw block (RFC 8878 §3.1.1).
func TestBuildZstd(t *testing.T) {
	tarBytes := tarOf(t, map[string]string{"etc/zstd": "z\n"})
	zst := zstdRawFrame(tarBytes)
	p := writeFile(t, t.TempDir(), "layer.tar.zst", zst)
	o := Options{Platforms: []PlatformLayers{{
		Platform: v1.Platform{OS: "linux", Architecture: "amd64"}, Layers: []string{p}}}}
	res := build(t, o)
	layers, err := res.Images[0].Image.Layers()
	if err != nil {
		t.Fatal(err)
	}
	mt, _ := layers[0].MediaType()
	diffID, _ := layers[0].DiffID()
	got := []any{mt, mustDigest(t, layers[0]), diffID}
	want := []any{types.OCILayerZStd, sha(zst), sha(tarBytes)}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("zstd layer (-want +got):\n%s", diff)
	}
}

// zstdRawFrame wraps b in a zstd frame of raw blocks of at most 128 KiB:
// magic, a frame header with a single-segment 8-byte content size, then
// block headers (last-block bit, type 0 = raw, size).
func zstdRawFrame(b []byte) []byte {
	out := []byte{0x28, 0xb5, 0x2f, 0xfd, 0xe0}
	for i := 0; i < 8; i++ {
		out = append(out, byte(uint64(len(b))>>(8*i)))
	}
	for len(b) > 0 || len(out) == 13 {
		n := min(len(b), 128<<10)
		last := 0
		if n == len(b) {
			last = 1
		}
		h := uint32(n)<<3 | uint32(last)
		out = append(out, byte(h), byte(h>>8), byte(h>>16))
		out = append(out, b[:n]...)
		b = b[n:]
		if last == 1 {
			break
		}
	}
	return out
}

// TestBuildErrors feeds bad inputs: each fails with a message naming the
// input, and leaves no temporary file behind.
func TestBuildErrors(t *testing.T) {
	f := newFixture(t)
	dir := t.TempDir()
	text := writeFile(t, dir, "notes.tar", []byte("these are notes, not a tar archive, "+
		"and they are long enough to fill more than one tar header block of 512 bytes: "+
		strings.Repeat("x", 600)))
	short := writeFile(t, dir, "short.tar", []byte("hi"))
	empty := writeFile(t, dir, "empty.tar", nil)
	xz := writeFile(t, dir, "layer.tar.xz", []byte{0xfd, '7', 'z', 'X', 'Z', 0, 1, 2})
	gzText := writeFile(t, dir, "text.gz", gzipOf(t, []byte("plain text, gzipped")))
	badGz := writeFile(t, dir, "bad.tar.gz", append(gzipOf(t, f.gzTar)[:30], 0, 0, 0))
	cutTar := writeFile(t, dir, "cut.tar", f.gzTar[:1200])
	amd := v1.Platform{OS: "linux", Architecture: "amd64"}

	tests := []struct {
		name   string
		mutate func(*Options)
		want   []string // substrings of the error
		layer  bool     // a *LayerError
	}{
		{"missing layer", layers(amd, f.plainFile, filepath.Join(dir, "nope.tar")),
			[]string{"nope.tar", "no such file"}, true},
		{"text file", layers(amd, f.plainFile, text), []string{"notes.tar", "not a tar archive"}, true},
		{"short file", layers(amd, short), []string{"short.tar", "not a tar archive"}, true},
		{"empty file", layers(amd, empty), []string{"empty.tar", "the file is empty"}, true},
		{"xz", layers(amd, xz), []string{"layer.tar.xz", "xz-compressed layers are not supported"}, true},
		{"gzipped text", layers(amd, gzText), []string{"text.gz", "not a tar archive"}, true},
		{"truncated gzip", layers(amd, badGz),
			[]string{"bad.tar.gz", "decompressing gzip", "truncated or corrupt"}, true},
		{"truncated tar", layers(amd, cutTar), []string{"cut.tar", "after 1 entries: truncated"}, true},
		{"bad env", func(o *Options) { o.Config.Env = []string{"NOVALUE"} },
			[]string{`"NOVALUE" is not KEY=VALUE`}, false},
		{"relative workdir", func(o *Options) { o.Config.WorkingDir = "srv" },
			[]string{`"srv" is not absolute`}, false},
		{"no platform", func(o *Options) { o.Platforms = nil }, []string{"no platform"}, false},
		{"twice", func(o *Options) {
			o.Platforms = append(o.Platforms, o.Platforms[0])
		}, []string{"linux/amd64 given twice"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := f.options(t)
			tt.mutate(&o)
			res, err := Build(context.Background(), o)
			if err == nil {
				res.Close()
				t.Fatal("Build succeeded")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
			var le *LayerError
			if errors.As(err, &le) != tt.layer {
				t.Errorf("error %q: is a *LayerError = %v, want %v", err, !tt.layer, tt.layer)
			}
			if left, _ := os.ReadDir(o.TempDir); len(left) != 0 {
				t.Errorf("temporary files left behind: %v", left)
			}
		})
	}
}

func layers(p v1.Platform, files ...string) func(*Options) {
	return func(o *Options) { o.Platforms = []PlatformLayers{{Platform: p, Layers: files}} }
}

// TestBuildCancelled stops a build whose context is done.
func TestBuildCancelled(t *testing.T) {
	f := newFixture(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	o := f.options(t)
	_, err := Build(ctx, o)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Build with a cancelled context: %v, want context.Canceled", err)
	}
}

// TestResultClose checks that Close removes the gzip copies of plain tars.
func TestResultClose(t *testing.T) {
	f := newFixture(t)
	o := f.options(t)
	res, err := Build(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	if left, _ := os.ReadDir(o.TempDir); len(left) != 1 {
		t.Fatalf("%d entries in the temporary directory during the build, want 1", len(left))
	}
	if err := res.Close(); err != nil {
		t.Fatal(err)
	}
	if left, _ := os.ReadDir(o.TempDir); len(left) != 0 {
		t.Errorf("temporary files left after Close: %v", left)
	}
}

// BenchmarkBuildPlainTar measures the one pass over a plain tar: walking
// it, hashing it and gzip-compressing it. The 16 MiB file mixes text and
// random bytes, as binaries do.
func BenchmarkBuildPlainTar(b *testing.B) {
	content := make([]byte, 16<<20)
	rng := uint64(1)
	for i := range content {
		if i%4096 < 2048 {
			content[i] = "the quick brown fox\n"[i%20]
			continue
		}
		rng = rng*6364136223846793005 + 1442695040888963407
		content[i] = byte(rng >> 56)
	}
	p := writeFile(b, b.TempDir(), "big.tar", tarOf(b, map[string]string{"big": string(content)}))
	o := Options{TempDir: b.TempDir(), Platforms: []PlatformLayers{{
		Platform: v1.Platform{OS: "linux", Architecture: "amd64"}, Layers: []string{p}}}}
	b.SetBytes(int64(len(content)))
	for b.Loop() {
		res, err := Build(context.Background(), o)
		if err != nil {
			b.Fatal(err)
		}
		res.Close()
	}
}
