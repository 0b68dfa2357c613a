package image

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// FuzzLoadLayer feeds arbitrary layer files to loadLayer: it must not
// panic, and a layer it accepts must hash to its digest (compressed bytes)
// and its diffID (uncompressed bytes).
func FuzzLoadLayer(f *testing.F) {
	tarBytes := tarOf(f, map[string]string{"etc/os-release": "ID=demo\n", "bin/x": "x"})
	f.Add(tarBytes)
	f.Add(gzipOf(f, tarBytes))
	f.Add(zstdRawFrame(tarBytes))
	f.Add(tarBytes[:700])
	f.Add([]byte("not a tar"))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, data []byte) {
		dir := t.TempDir()
		path := filepath.Join(dir, "layer")
		if err := os.WriteFile(path, data, 0o644); err != nil {
			t.Fatal(err)
		}
		l, err := loadLayer(context.Background(), path, func() (string, error) { return dir, nil })
		if err != nil {
			return
		}
		if got, want := mustDigest(t, l), hashOf(t, l.Compressed); got != want {
			t.Errorf("digest %s, compressed bytes hash to %s", got, want)
		}
		diffID, _ := l.DiffID()
		if want := hashOf(t, l.Uncompressed); diffID != want {
			t.Errorf("diffID %s, uncompressed bytes hash to %s", diffID, want)
		}
	})
}

func hashOf(t *testing.T, open func() (io.ReadCloser, error)) v1.Hash {
	t.Helper()
	rc, err := open()
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	b, err := io.ReadAll(rc)
	if err != nil {
		t.Fatal(err)
	}
	return sha(b)
}
