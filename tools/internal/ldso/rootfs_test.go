package ldso

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
	"testing/fstest"
)

func symlink(target string) *fstest.MapFile {
	return &fstest.MapFile{Data: []byte(target), Mode: fs.ModeSymlink}
}

func file(data string) *fstest.MapFile { return &fstest.MapFile{Data: []byte(data)} }

func TestResolve(t *testing.T) {
	root, err := newRootFS(fstest.MapFS{
		"lib":                    symlink("usr/lib"),
		"usr/lib/libz.so.1.3":    file("z"),
		"usr/lib/libz.so.1":      symlink("libz.so.1.3"),
		"usr/lib/abs.so":         symlink("/usr/lib/libz.so.1.3"),
		"usr/lib/up.so":          symlink("../../../../../usr/lib/libz.so.1.3"),
		"usr/lib/host.so":        symlink("/../../etc/motd"),
		"etc/motd":               file("hi"),
		"usr/lib/loop.so":        symlink("loop.so"),
		"usr/lib/chain/a":        symlink("b"),
		"usr/lib/chain/b":        symlink("/lib/libz.so.1"),
		"usr/lib/dangling.so.1":  symlink("gone/libx.so"),
		"usr/lib/sub/keep.so.1":  file("k"),
		"usr/lib/sub/parent.so":  symlink("../libz.so.1"),
		"usr/local/lib/inner.so": symlink("../../lib/libz.so.1"),
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, want string
		err        error
	}{
		{"/", ".", nil},
		{"/../..", ".", nil},
		{"/lib", "usr/lib", nil},
		{"/lib/..", "usr", nil},
		{"/lib/libz.so.1", "usr/lib/libz.so.1.3", nil},
		{"lib/libz.so.1", "usr/lib/libz.so.1.3", nil},
		{"/lib/abs.so", "usr/lib/libz.so.1.3", nil},
		{"/lib/up.so", "usr/lib/libz.so.1.3", nil},
		{"/lib/chain/a", "usr/lib/libz.so.1.3", nil},
		{"/usr/lib/sub/parent.so", "usr/lib/libz.so.1.3", nil},
		{"/usr/local/lib/inner.so", "usr/lib/libz.so.1.3", nil},
		{"//usr/./lib//sub/keep.so.1", "usr/lib/sub/keep.so.1", nil},
		// The last component may be missing, as with chroot_canon.
		{"/lib/missing.so", "usr/lib/missing.so", nil},
		{"/lib/host.so", "etc/motd", nil},
		{"/nodir/x", "", fs.ErrNotExist},
		{"/lib/dangling.so.1", "", fs.ErrNotExist},
		{"/lib/loop.so", "", errSymlinkLoop},
		{"/lib/libz.so.1.3/x", "", errNotDir},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := root.resolve(tc.name)
			if tc.err != nil {
				if !errors.Is(err, tc.err) || !isMissing(err) {
					t.Errorf("resolve(%q) = %q, %v; want error %v", tc.name, got, err, tc.err)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Errorf("resolve(%q) = %q, %v; want %q", tc.name, got, err, tc.want)
			}
		})
	}
}

// TestBuildStaysInsideRoot builds on an os.DirFS whose symlinks point at a
// real library outside the root, absolutely and through "..": neither may
// be read, since ldconfig -r resolves them inside the root.
func TestBuildStaysInsideRoot(t *testing.T) {
	outside := t.TempDir()
	writeFile(t, filepath.Join(outside, "libout.so.1"),
		makeELF(elfSpec{machine: 62, soname: "libout.so.1"}))
	root := t.TempDir()
	lib := filepath.Join(root, "usr/lib")
	mustMkdir(t, lib)
	rel, err := filepath.Rel(lib, filepath.Join(outside, "libout.so.1"))
	if err != nil {
		t.Fatal(err)
	}
	mustSymlink(t, filepath.Join(outside, "libout.so.1"), filepath.Join(lib, "libabs.so.1"))
	mustSymlink(t, rel, filepath.Join(lib, "librel.so.1"))
	mustSymlink(t, outside, filepath.Join(root, "usr/lib64"))

	c, links, err := Build(os.DirFS(root), Options{Arch: "x86_64"})
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Entries) != 0 || len(links) != 0 {
		t.Errorf("Build read outside the root: entries %+v, links %+v", c.Entries, links)
	}
}

// readOnlyFS hides ReadLink and Lstat.
type readOnlyFS struct{ fs.FS }

func TestBuildNeedsReadLinkFS(t *testing.T) {
	_, _, err := Build(readOnlyFS{fstest.MapFS{}}, Options{Arch: "x86_64"})
	if err == nil || !contains(err.Error(), "fs.ReadLinkFS") {
		t.Errorf("Build error = %v, want one naming fs.ReadLinkFS", err)
	}
}

func TestBuildUnknownArch(t *testing.T) {
	_, _, err := Build(fstest.MapFS{}, Options{Arch: "riscv64"})
	if err == nil || !contains(err.Error(), `unsupported architecture "riscv64"`) {
		t.Errorf("Build error = %v, want an unsupported architecture error", err)
	}
}
