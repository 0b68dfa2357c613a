package layer

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/rules-apk/rules_apk/tools/internal/lock"
	"github.com/rules-apk/rules_apk/tools/internal/testutil"
)

// entryNames are the files a complete cache holds for the lockfile.
func entryNames(l *lock.Lockfile) []string {
	var names []string
	for _, p := range l.Packages {
		names = append(names, p.SHA256+".data", p.SHA256+".json")
	}
	slices.Sort(names)
	return names
}

// damage flips a byte near the end of each file.
func damage(t *testing.T, paths ...string) {
	t.Helper()
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		b[len(b)-30] ^= 0xff
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// damageAll damages every package file of dir.
func damageAll(t *testing.T, dir string) {
	t.Helper()
	paths, _ := filepath.Glob(filepath.Join(dir, "*.apk"))
	if len(paths) == 0 {
		t.Fatalf("no package in %s", dir)
	}
	damage(t, paths...)
}

// TestExpandedCache builds the wolfi-like closure (scripts, a hard link, an
// xattr, setuid, owners, usr-merge) through the expanded cache: the build
// that fills it and the builds that read it give the bytes of a build
// without it, in every format; once filled, the packages are not read at
// all (damaging them changes nothing); an entry that does not hold together
// is read again from its package and rewritten.
func TestExpandedCache(t *testing.T) {
	l, d := fixture(t, wolfiLike()...)
	pristine := t.TempDir()
	for _, p := range l.Packages {
		name := p.Name + "-" + p.Version + ".apk"
		b, err := os.ReadFile(filepath.Join(d, name))
		if err != nil {
			t.Fatal(err)
		}
		os.WriteFile(filepath.Join(pristine, name), b, 0o644)
	}
	cache := filepath.Join(t.TempDir(), "expanded")
	formats := []Format{FormatTar, FormatTarGzip, FormatTarZstd}
	want := map[Format]Layer{}
	for _, f := range formats {
		want[f] = mustBuild(t, l, d, func(o *Options) {
			o.Format, o.Output = f, filepath.Join(t.TempDir(), "layer"+f.Ext())
		}).Layers[0]
	}
	check := func(t *testing.T, pkgDir string) {
		t.Helper()
		for _, f := range formats {
			got := mustBuild(t, l, pkgDir, func(o *Options) {
				o.Format, o.Output = f, filepath.Join(t.TempDir(), "layer"+f.Ext())
				o.ExpandedCache = cache
			}).Layers[0]
			if got.Digest != want[f].Digest || got.DiffID != want[f].DiffID {
				t.Errorf("%s through the cache: digest %s diffid %s, without: %s %s", f.Ext(),
					got.Digest, got.DiffID, want[f].Digest, want[f].DiffID)
			}
		}
		if got, want := testutil.DirNames(t, cache), entryNames(l); !slices.Equal(got, want) {
			t.Errorf("cache holds %v, want %v", got, want)
		}
	}

	t.Run("fill", func(t *testing.T) { check(t, d) })
	t.Run("packages damaged, all from the cache", func(t *testing.T) {
		damageAll(t, d)
		check(t, d)
	})
	t.Run("entries damaged, read again", func(t *testing.T) {
		tool := l.Packages[slices.IndexFunc(l.Packages, func(p lock.Package) bool {
			return p.Name == "tool"
		})]
		data := filepath.Join(cache, tool.SHA256+".data")
		if err := os.Truncate(data, 3); err != nil {
			t.Fatal(err)
		}
		meta := filepath.Join(cache, l.Packages[0].SHA256+".json")
		if err := os.WriteFile(meta, []byte(`{"format": 99}`), 0o644); err != nil {
			t.Fatal(err)
		}
		// From the damaged packages the two entries cannot be rebuilt...
		if _, err := build(t, l, d, func(o *Options) { o.ExpandedCache = cache }); err == nil {
			t.Fatal("Build succeeded with damaged entries and damaged packages")
		}
		// ...from the pristine ones they are.
		check(t, pristine)
		st, err := os.Stat(data)
		if err != nil || st.Size() <= 3 {
			t.Errorf("the truncated entry was not rewritten: %v %v", st, err)
		}
	})
}

// TestExpandedCacheFailedPackage: a package that fails verification gets
// no entry, and no temporary file is left in the cache.
func TestExpandedCacheFailedPackage(t *testing.T) {
	l, d := fixture(t, pkg("a", dir("usr"), file("usr/a", strings.Repeat("a", 4096))))
	damageAll(t, d)
	cache := t.TempDir()
	if _, err := build(t, l, d, func(o *Options) { o.ExpandedCache = cache }); err == nil ||
		!strings.Contains(err.Error(), "a-1.0-r0.apk") {
		t.Fatalf("a damaged package gave %v, want an error naming it", err)
	}
	if names := testutil.DirNames(t, cache); len(names) != 0 {
		t.Errorf("cache holds %v after a failed package", names)
	}
}

// TestExpandedCacheKey: a lockfile sha256 that is not 64 hex digits cannot
// name a path outside the cache.
func TestExpandedCacheKey(t *testing.T) {
	c := &expandedCache{dir: t.TempDir()}
	for _, sum := range []string{"../../etc/passwd", strings.Repeat("A", 64), ""} {
		if _, err := c.key(lock.Package{Name: "a", Version: "1", SHA256: sum}); err == nil {
			t.Errorf("key(%q) succeeded", sum)
		}
	}
}

// FuzzExpandedMeta feeds arbitrary entry metadata to the loader, which must
// reject what does not hold together without panicking.
func FuzzExpandedMeta(f *testing.F) {
	l, d := fixture(f, wolfiLike()...)
	cache := f.TempDir()
	if _, err := build(f, l, d, func(o *Options) { o.ExpandedCache = cache }); err != nil {
		f.Fatal(err)
	}
	for _, p := range l.Packages {
		raw, err := os.ReadFile(filepath.Join(cache, p.SHA256+".json"))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(raw)
	}
	f.Add([]byte(`{"format":2,"entries":[{"p":"x","t":48,"s":-1,"o":5}]}`))
	lp := l.Packages[0]
	f.Fuzz(func(t *testing.T, raw []byte) {
		var m expandedMeta
		if json.Unmarshal(raw, &m) != nil {
			return
		}
		d, err := m.pkgData(lp)
		if err != nil {
			return
		}
		for _, e := range d.entries {
			if e.size < 0 || e.content.off < 0 || e.content.off+e.size > m.DataSize {
				t.Errorf("entry %s: bytes %d+%d accepted outside %d", e.path, e.content.off,
					e.size, m.DataSize)
			}
		}
	})
}
