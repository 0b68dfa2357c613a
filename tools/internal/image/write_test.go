package image

import (
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/rules-apk/rules_apk/tools/internal/testutil"
)

// tree reads every file under root, by relative path, with its mode.
func tree(t *testing.T, root string) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		if d.IsDir() {
			out[rel+"/"] = info.Mode().String()
			return nil
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		out[rel] = fmt.Sprintf("%s %x", info.Mode(), sha(b).Hex)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestReproducible builds the same inputs twice, from copies of the layer
// files in another directory, and pins the digests in a golden file: a
// change of digest means the image bytes changed.
func TestReproducible(t *testing.T) {
	var lines []string
	for _, tt := range []struct {
		name string
		opts func(fixture, testing.TB) Options
	}{
		{"image", fixture.options},
		{"index", fixture.indexOptions},
	} {
		var trees []map[string]string
		for i := 0; i < 2; i++ {
			f := newFixture(t)
			res := build(t, tt.opts(f, t))
			dir := filepath.Join(t.TempDir(), "out")
			if err := WriteLayout(dir, res, WriteOptions{}); err != nil {
				t.Fatal(err)
			}
			trees = append(trees, tree(t, dir))
			if i == 0 {
				lines = append(lines, fmt.Sprintf("%s %s", tt.name, mustDigest(t, res)))
			}
		}
		if diff := cmp.Diff(trees[0], trees[1]); diff != "" {
			t.Errorf("%s: two builds differ (-first +second):\n%s", tt.name, diff)
		}
	}
	testutil.Golden(t, "digests.golden", []byte(strings.Join(lines, "\n")+"\n"))
}

// TestWriteLayoutReplace covers the destination rules: absent, empty and
// earlier layouts are replaced; anything else is refused untouched.
func TestWriteLayoutReplace(t *testing.T) {
	f := newFixture(t)
	res := build(t, f.options(t))
	tests := []struct {
		name    string
		prepare func(dir string)
		wantErr string
	}{
		{"absent", func(string) {}, ""},
		{"empty directory", func(dir string) { os.Mkdir(dir, 0o755) }, ""},
		{"earlier layout", func(dir string) {
			os.Mkdir(dir, 0o755)
			os.WriteFile(filepath.Join(dir, "oci-layout"), []byte("{}"), 0o644)
			os.WriteFile(filepath.Join(dir, "stale"), []byte("old"), 0o644)
		}, ""},
		{"other directory", func(dir string) {
			os.Mkdir(dir, 0o755)
			os.WriteFile(filepath.Join(dir, "precious.txt"), []byte("keep"), 0o644)
		}, "is not an OCI image layout"},
		{"file", func(dir string) { os.WriteFile(dir, []byte("keep"), 0o644) },
			"is not a directory"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			parent := t.TempDir()
			dir := filepath.Join(parent, "out")
			tt.prepare(dir)
			before := tree(t, parent)
			err := WriteLayout(dir, res, WriteOptions{})
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("WriteLayout: %v, want an error containing %q", err, tt.wantErr)
				}
				if diff := cmp.Diff(before, tree(t, parent)); diff != "" {
					t.Errorf("a refused write changed the tree (-before +after):\n%s", diff)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			got := tree(t, parent)
			if _, stale := got["out/stale"]; stale {
				t.Error("the earlier layout's files survived")
			}
			delete(got, "./")
			for p, mode := range got {
				if strings.HasPrefix(p, ".") {
					t.Errorf("temporary %s left beside the layout", p)
				}
				if want := map[bool]string{true: "drwxr-xr-x", false: "-rw-r--r--"}[strings.HasSuffix(p, "/")]; !strings.HasPrefix(mode, want) {
					t.Errorf("%s has mode %s, want %s", p, mode, want)
				}
			}
		})
	}
}

// TestWriteTarball writes a docker tarball and loads it back with ggcr.
func TestWriteTarball(t *testing.T) {
	f := newFixture(t)
	res := build(t, f.options(t))
	path := filepath.Join(t.TempDir(), "image.tar")
	if err := WriteTarball(path, res, WriteOptions{Tag: "example.com/app:1.0"}); err != nil {
		t.Fatal(err)
	}

	m, err := tarball.LoadManifest(func() (io.ReadCloser, error) { return os.Open(path) })
	if err != nil {
		t.Fatal(err)
	}
	if len(m) != 1 || !cmp.Equal(m[0].RepoTags, []string{"example.com/app:1.0"}) {
		t.Errorf("manifest.json = %+v, want one image tagged example.com/app:1.0", m)
	}
	loaded, err := tarball.ImageFromPath(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	want, got := summary(t, res.Images[0].Image), summary(t, loaded)
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("image loaded from the tarball (-built +loaded):\n%s", diff)
	}

	// A second write gives the same bytes.
	again := filepath.Join(t.TempDir(), "image.tar")
	if err := WriteTarball(again, res, WriteOptions{Tag: "example.com/app:1.0"}); err != nil {
		t.Fatal(err)
	}
	a, _ := os.ReadFile(path)
	b, _ := os.ReadFile(again)
	if sha(a) != sha(b) {
		t.Error("two tarball writes differ")
	}
}

// summary is what a docker tarball keeps of an image: the config and the
// layer digests (the manifest itself is rebuilt on load).
func summary(t *testing.T, img v1.Image) map[string]any {
	t.Helper()
	cfg, err := img.ConfigName()
	if err != nil {
		t.Fatal(err)
	}
	layers, err := img.Layers()
	if err != nil {
		t.Fatal(err)
	}
	var digests, diffIDs []v1.Hash
	for _, l := range layers {
		d, _ := l.DiffID()
		digests, diffIDs = append(digests, mustDigest(t, l)), append(diffIDs, d)
	}
	return map[string]any{"config": cfg, "digests": digests, "diffIDs": diffIDs}
}

func TestWriteTarballErrors(t *testing.T) {
	f := newFixture(t)
	single := build(t, f.options(t))
	index := build(t, f.indexOptions(t))
	tests := []struct {
		name string
		res  *Result
		tag  string
		want string
	}{
		{"no tag", single, "", "no tag given"},
		{"bad tag", single, "Upper/Case:1", `parsing tag "Upper/Case:1"`},
		{"index", index, "example.com/app:1", "holds one platform, 2 were built"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			err := WriteTarball(filepath.Join(dir, "image.tar"), tt.res, WriteOptions{Tag: tt.tag})
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("WriteTarball: %v, want an error containing %q", err, tt.want)
			}
			if left, _ := os.ReadDir(dir); len(left) != 0 {
				t.Errorf("files left behind: %v", left)
			}
		})
	}
}

// TestSkopeoInspect has skopeo read an image layout and an index layout,
// when it is installed, and compares the manifest it finds with ours.
func TestSkopeoInspect(t *testing.T) {
	skopeo, err := exec.LookPath("skopeo")
	if err != nil {
		t.Skip("skopeo is not installed; install it to check layouts with a second reader")
	}
	f := newFixture(t)
	tests := []struct {
		name string
		opts Options
		tag  string
	}{
		{"image", f.options(t), "1.0"},
		{"index", f.indexOptions(t), ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := build(t, tt.opts)
			dir := filepath.Join(t.TempDir(), "image")
			wo := WriteOptions{}
			ref := "oci:" + dir
			if tt.tag != "" {
				wo.Tag, ref = "example.com/app:"+tt.tag, ref+":"+tt.tag
			}
			if err := WriteLayout(dir, res, wo); err != nil {
				t.Fatal(err)
			}
			out, err := exec.Command(skopeo, "inspect", "--raw", ref).CombinedOutput()
			if err != nil {
				t.Fatalf("skopeo inspect: %v\n%s", err, out)
			}
			var raw []byte
			if res.Index != nil {
				raw, err = res.Index.RawManifest()
			} else {
				raw, err = res.Images[0].Image.RawManifest()
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(string(raw), strings.TrimSpace(string(out))); diff != "" {
				t.Errorf("skopeo's manifest (-built +skopeo):\n%s", diff)
			}
		})
	}
}
