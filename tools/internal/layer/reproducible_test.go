package layer

import (
	"bytes"
	"context"
	"crypto/sha256"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/rules-apk/rules_apk/tools/internal/lock"
	"github.com/rules-apk/rules_apk/tools/internal/testutil"
)

// TestReproducible builds the same closure twice per format, with other
// temporary directories, parallelism and core counts, and expects identical
// bytes; the digests are pinned in a golden file.
func TestReproducible(t *testing.T) {
	l, d := fixture(t, wolfiLike()...)
	var golden bytes.Buffer
	for _, f := range []Format{FormatTar, FormatTarGzip, FormatTarZstd} {
		var digests []Layer
		for i, procs := range []int{1, 4} {
			prev := runtime.GOMAXPROCS(procs)
			r := mustBuild(t, l, d, func(o *Options) {
				o.Format, o.Parallelism = f, i+1
				o.Output = filepath.Join(t.TempDir(), "layer"+f.Ext())
			})
			runtime.GOMAXPROCS(prev)
			digests = append(digests, r.Layers[0])
		}
		a, b := digests[0], digests[1]
		if a.Digest != b.Digest || a.DiffID != b.DiffID || a.Size != b.Size {
			t.Errorf("%s: two builds differ: %+v and %+v", f.Ext(), a, b)
		}
		fmt.Fprintf(&golden, "%s digest %s diffid %s\n", f.Ext(), a.Digest, a.DiffID)
	}
	testutil.Golden(t, "wolfi-like.digests", golden.Bytes())
}

// TestEpoch checks that every mtime is the newest build_time of the closure,
// or the given epoch.
func TestEpoch(t *testing.T) {
	a := pkg("a", dir("usr"), file("usr/a", "a"))
	b := pkg("b", dir("usr"), file("usr/b", "b"))
	b.info.BuildTime = 1800000000
	l, d := fixture(t, a, b)
	tests := []struct {
		name  string
		epoch time.Time
		want  int64
	}{
		{"newest build_time", time.Time{}, 1800000000},
		{"given", time.Unix(42, 0), 42},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := mustBuild(t, l, d, func(o *Options) { o.Epoch = tt.epoch })
			f, err := os.Open(r.Layers[0].Path)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			times, err := mtimes(f)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff([]int64{tt.want}, times); diff != "" {
				t.Errorf("distinct mtimes (-want +got):\n%s", diff)
			}
		})
	}
}

// TestLayering splits the closure into layers and checks which paths each
// holds.
func TestLayering(t *testing.T) {
	base := pkg("base", dir("usr"), dir("usr/lib"), symlink("lib", "usr/lib"))
	x1 := pkg("x1", dir("usr"), dir("usr/lib"), file("usr/lib/x1", strings.Repeat("1", 100)))
	x1.info.Origin = "x"
	x2 := pkg("x2", dir("lib"), file("lib/x2", strings.Repeat("2", 100)))
	x2.info.Origin = "x"
	y := pkg("y", dir("usr"), dir("usr/lib"), file("usr/lib/y", strings.Repeat("y", 150)))
	for _, s := range []*pkgSpec{&x1, &x2, &y} {
		s.info.Depends = "base"
	}
	l, d := fixture(t, base, x1, x2, y)
	tests := []struct {
		layering string
		want     [][]string
	}{
		{"single", [][]string{{"base", "x1", "x2", "y"}}},
		{"per-package", [][]string{{"base"}, {"x1"}, {"x2"}, {"y"}}},
		{"origin:2", [][]string{{"base", "y"}, {"x1", "x2"}}},
		{"origin:9", [][]string{{"base"}, {"x1", "x2"}, {"y"}}},
	}
	for _, tt := range tests {
		t.Run(tt.layering, func(t *testing.T) {
			ly, err := ParseLayering(tt.layering)
			if err != nil {
				t.Fatal(err)
			}
			out := filepath.Join(t.TempDir(), "layers")
			r := mustBuild(t, l, d, func(o *Options) { o.Layering, o.Output = ly, out })
			var got [][]string
			for _, layer := range r.Layers {
				got = append(got, layer.Packages)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("packages per layer (-want +got):\n%s", diff)
			}
			last := entryMap(readTar(t, r.Layers[len(r.Layers)-1].Path))
			if _, ok := last["usr/lib/apk/db/installed"]; !ok {
				t.Error("the last layer has no installed database")
			}
			for i, layer := range r.Layers {
				for _, e := range readTar(t, layer.Path) {
					if strings.HasPrefix(e.Name, "lib/") {
						t.Errorf("layer %d holds %s under the lib symlink", i, e.Name)
					}
				}
			}
		})
	}
}

// TestLayerDirectoryOutput checks that a directory of layers is replaced
// as a whole (no layer of an earlier run stays), that a failed or discarded
// build leaves the directory as it was and no temporary file beside it, and
// that a directory holding other files is refused.
func TestLayerDirectoryOutput(t *testing.T) {
	a, b := pkg("a", dir("usr"), file("usr/a", "a")), pkg("b", dir("usr"), file("usr/b", "b"))
	l, d := fixture(t, a, b)
	parent := t.TempDir()
	out := filepath.Join(parent, "layers")
	perPackage := func(o *Options) { o.Layering, o.Output = Layering{Kind: LayeringPerPackage}, out }
	write := func(path, data string) {
		t.Helper()
		if err := os.WriteFile(path, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}

	// A build that fails leaves nothing, not even the directory.
	bad, badDir := fixture(t, pkg("a", dir("usr"), file("usr/x", "1"), file("usr/x", "2")))
	if _, err := build(t, bad, badDir, perPackage); err == nil {
		t.Fatal("Build of a package with a duplicate entry succeeded")
	}
	if got := testutil.DirNames(t, parent); len(got) != 0 {
		t.Errorf("a failed build left %v", got)
	}

	// Layers of an earlier, larger run (and its SBOMs) are gone.
	if err := os.Mkdir(out, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, n := range []string{"000.tar", "001.tar", "002.tar", "002.spdx.json", "005.tar.gz"} {
		write(filepath.Join(out, n), "stale")
	}
	r := mustBuild(t, l, d, perPackage)
	want := []string{"000.tar", "001.tar"} // the generated files go in the last
	if len(r.Layers) != len(want) {
		t.Fatalf("%d layers, want %d", len(r.Layers), len(want))
	}
	if diff := cmp.Diff(want, testutil.DirNames(t, out)); diff != "" {
		t.Errorf("layer directory (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"layers"}, testutil.DirNames(t, parent)); diff != "" {
		t.Errorf("beside the layer directory (-want +got):\n%s", diff)
	}
	for _, ly := range r.Layers {
		if len(readTar(t, ly.Path)) == 0 {
			t.Errorf("%s is empty", ly.Path)
		}
	}

	// A failed build, and a discarded one with an added file, leave the
	// layers of the last good build.
	before := fileDigests(t, out)
	if _, err := build(t, bad, badDir, perPackage); err == nil {
		t.Fatal("Build of a package with a duplicate entry succeeded")
	}
	opts := Options{Lockfile: l, Arch: "x86_64", Locate: DirLocator(d), Output: out,
		Layering: Layering{Kind: LayeringPerPackage}, OSRelease: []byte("ID=test\n")}
	s, err := Stage(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.AddFile("000.spdx.json", func(w io.Writer) error {
		_, err := io.WriteString(w, "{}")
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if err := s.AddFile("notes.txt", func(io.Writer) error { return nil }); err == nil {
		t.Error("AddFile accepted a name a layer directory does not hold")
	}
	s.Discard()
	if diff := cmp.Diff(before, fileDigests(t, out)); diff != "" {
		t.Errorf("a failed or discarded build changed the layers (-before +after):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"layers"}, testutil.DirNames(t, parent)); diff != "" {
		t.Errorf("beside the layer directory (-want +got):\n%s", diff)
	}

	// Committed, the added file is there.
	s, err = Stage(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Discard()
	if err := s.AddFile("000.spdx.json", func(w io.Writer) error {
		_, err := io.WriteString(w, "{}")
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if err := s.Commit(); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"000.spdx.json", "000.tar", "001.tar"},
		testutil.DirNames(t, out)); diff != "" {
		t.Errorf("layer directory after AddFile (-want +got):\n%s", diff)
	}

	// A directory holding anything else is refused before any work, and
	// kept as it is.
	write(filepath.Join(out, "notes.txt"), "mine")
	_, err = build(t, l, d, perPackage)
	if err == nil || !strings.Contains(err.Error(), "holds notes.txt") {
		t.Errorf("output directory with a foreign file: error %v", err)
	}
	if got, _ := os.ReadFile(filepath.Join(out, "notes.txt")); string(got) != "mine" {
		t.Errorf("notes.txt holds %q after the refused build", got)
	}
}

// fileDigests maps the names of a directory's files to their SHA-256.
func fileDigests(t *testing.T, dir string) map[string]string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		out[e.Name()] = fmt.Sprintf("%x", sha256.Sum256(b))
	}
	return out
}

// TestInstallOrder checks dependency order, cycles and the merged-* rule.
func TestInstallOrder(t *testing.T) {
	tests := []struct {
		name string
		pkgs []lock.Package
		want []string
	}{
		{"chain and cycle", []lock.Package{
			{Name: "a", Depends: []string{"b"}},
			{Name: "b", Depends: []string{"c"}},
			{Name: "c", Depends: []string{"so:libb.so.1"}},
			{Name: "d"},
			{Name: "libb", Provides: []string{"so:libb.so.1=1"}, Depends: []string{"b"}},
		}, []string{"b", "c", "libb", "a", "d"}},
		{"merged first", []lock.Package{
			{Name: "aaa"},
			{Name: "zz-baselayout", Provides: []string{"merged-lib"}},
		}, []string{"zz-baselayout", "aaa"}},
		{"versioned and conflicts", []lock.Package{
			{Name: "a", Depends: []string{"b>=2", "!c"}},
			{Name: "b", Version: "2.1-r0"},
			{Name: "c"},
		}, []string{"b", "a", "c"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g, err := NewGraph(tt.pkgs)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, i := range InstallOrder(tt.pkgs, g) {
				got = append(got, tt.pkgs[i].Name)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("order (-want +got):\n%s", diff)
			}
		})
	}
}

func TestBuildCancelled(t *testing.T) {
	l, d := fixture(t, wolfiLike()...)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := Build(ctx, Options{Lockfile: l, Arch: "x86_64", Locate: DirLocator(d),
		Output: filepath.Join(t.TempDir(), "l.tar")})
	if err == nil {
		t.Fatal("Build succeeded with a cancelled context")
	}
}
