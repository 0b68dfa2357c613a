package demo

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestUsrMerged(t *testing.T) {
	tests := []struct{ in, want string }{
		{"lib/x86_64-linux-gnu/libc.so.6", "usr/lib/x86_64-linux-gnu/libc.so.6"},
		{"lib64/ld-linux-x86-64.so.2", "usr/lib/ld-linux-x86-64.so.2"},
		{"bin/sh", "usr/bin/sh"},
		{"sbin/ldconfig", "usr/bin/ldconfig"},
		{"usr/sbin/zic", "usr/bin/zic"},
		{"lib", "usr/lib"},
		{"libexec/x", "libexec/x"},
		{"usr/lib/x86_64-linux-gnu/libz.so.1", "usr/lib/x86_64-linux-gnu/libz.so.1"},
		{"etc/ld.so.conf", "etc/ld.so.conf"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			if got := usrMerged(tt.in); got != tt.want {
				t.Errorf("usrMerged(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestRelinkTarget(t *testing.T) {
	tests := []struct{ old, target, want string }{
		// libc6's /lib64 link, absolute.
		{"lib64/ld-linux-x86-64.so.2", "/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2",
			"x86_64-linux-gnu/ld-linux-x86-64.so.2"},
		// libc6-dev's .so links point at /lib.
		{"usr/lib/x86_64-linux-gnu/libm.so", "/lib/x86_64-linux-gnu/libm.so.6", "libm.so.6"},
		// A relative link that crosses the merge.
		{"usr/lib/x86_64-linux-gnu/libgcc_s.so", "../../../lib/x86_64-linux-gnu/libgcc_s.so.1",
			"libgcc_s.so.1"},
		{"usr/bin/ld", "x86_64-linux-gnu-ld", "x86_64-linux-gnu-ld"},
		{"usr/x86_64-linux-gnu/bin/as", "../../bin/x86_64-linux-gnu-as",
			"../../bin/x86_64-linux-gnu-as"},
		{"bin/tool", "/usr/share/tool/run", "../share/tool/run"},
		{"etc/alternatives/x", "/etc/x", "../x"},
	}
	for _, tt := range tests {
		t.Run(tt.old, func(t *testing.T) {
			got := relinkTarget(tt.old, usrMerged(tt.old), tt.target)
			if got != tt.want {
				t.Errorf("relinkTarget(%q, %q) = %q, want %q", tt.old, tt.target, got, tt.want)
			}
		})
	}
}

// fakeDeb writes an extracted .deb tree: entries are "path" (a file),
// "path*" (an executable) or "path -> target" (a link).
func fakeDeb(t *testing.T, mtime time.Time, entries ...string) string {
	t.Helper()
	dir := t.TempDir()
	for _, e := range entries {
		p, target, isLink := strings.Cut(e, " -> ")
		full := filepath.Join(dir, strings.TrimSuffix(p, "*"))
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		switch {
		case isLink:
			if err := os.Symlink(target, full); err != nil {
				t.Fatal(err)
			}
			continue
		case strings.HasSuffix(p, "*"):
			err := os.WriteFile(full, []byte(p), 0o755)
			if err == nil {
				err = os.Chmod(full, 0o755)
			}
			if err != nil {
				t.Fatal(err)
			}
		default:
			if err := os.WriteFile(full, []byte(p), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		if err := os.Chtimes(full, mtime, mtime); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// listTree describes a tree as "path mode" or "path -> target" lines.
func listTree(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || p == dir {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		fi, err := os.Lstat(p)
		if err != nil {
			return err
		}
		if fi.Mode()&fs.ModeSymlink != 0 {
			target, err := os.Readlink(p)
			out = append(out, rel+" -> "+target)
			return err
		}
		out = append(out, fmt.Sprintf("%s %v", rel, fi.Mode()))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestStagerAddTree(t *testing.T) {
	old := time.Unix(1700000000, 0)
	newer := time.Unix(1710000000, 0)
	libc := fakeDeb(t, old,
		"lib/x86_64-linux-gnu/libc.so.6*",
		"lib/x86_64-linux-gnu/ld-linux-x86-64.so.2*",
		"lib64/ld-linux-x86-64.so.2 -> /lib/x86_64-linux-gnu/ld-linux-x86-64.so.2",
		"usr/lib/x86_64-linux-gnu/gconv/UTF-16.so",
		"usr/share/doc/libc6/copyright",
		"usr/share/lintian/overrides/libc6",
	)
	bin := fakeDeb(t, newer,
		"etc/ld.so.conf",
		"etc/gai.conf",
		"sbin/ldconfig*",
	)
	dir := t.TempDir()
	st := newStager(dir)
	if err := st.addTree(libc, "libc6", filter{drop: []string{
		"usr/lib/x86_64-linux-gnu/gconv", "usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2",
	}}); err != nil {
		t.Fatal(err)
	}
	if err := st.addTree(bin, "libc-bin", filter{keep: []string{"etc/ld.so.conf"}}); err != nil {
		t.Fatal(err)
	}
	if err := st.addLink("usr/bin/ldd", "../lib/ldd", "recipe"); err != nil {
		t.Fatal(err)
	}
	want := []string{
		"etc drwxr-xr-x",
		"etc/ld.so.conf -rw-r--r--",
		"usr drwxr-xr-x",
		"usr/bin drwxr-xr-x",
		"usr/bin/ldd -> ../lib/ldd",
		"usr/lib drwxr-xr-x",
		"usr/lib/ld-linux-x86-64.so.2 -> x86_64-linux-gnu/ld-linux-x86-64.so.2",
		"usr/lib/x86_64-linux-gnu drwxr-xr-x",
		"usr/lib/x86_64-linux-gnu/libc.so.6 -rwxr-xr-x",
	}
	if diff := cmp.Diff(want, listTree(t, dir)); diff != "" {
		t.Errorf("staged tree (-want +got):\n%s", diff)
	}
	if !st.newest.Equal(newer) {
		t.Errorf("newest mtime = %v, want %v", st.newest, newer)
	}
}

func TestStagerCollision(t *testing.T) {
	mtime := time.Unix(1700000000, 0)
	a := fakeDeb(t, mtime, "lib/x86_64-linux-gnu/libz.so.1", "usr/bin/x -> y")
	b := fakeDeb(t, mtime, "usr/lib/x86_64-linux-gnu/libz.so.1")
	same := fakeDeb(t, mtime, "bin/x -> /usr/bin/y")
	st := newStager(t.TempDir())
	if err := st.addTree(a, "deb-a", filter{}); err != nil {
		t.Fatal(err)
	}
	// The same link twice is fine: Debian ships /bin/x and /usr/bin/x alike.
	if err := st.addTree(same, "deb-same", filter{}); err != nil {
		t.Errorf("placing an identical link: %v", err)
	}
	err := st.addTree(b, "deb-b", filter{})
	want := "deb-a and deb-b both ship usr/lib/x86_64-linux-gnu/libz.so.1"
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("err = %v, want %q", err, want)
	}
}

func TestMatchAny(t *testing.T) {
	tests := []struct {
		patterns []string
		path     string
		want     bool
	}{
		{commonDrops, "usr/share/doc/libc6/copyright", true},
		{commonDrops, "usr/share/docs", false},
		{[]string{"usr/lib/gcc/*/12/libasan*"}, "usr/lib/gcc/x86_64-linux-gnu/12/libasan.a", true},
		{[]string{"usr/lib/gcc/*/12/libasan*"}, "usr/lib/gcc/x86_64-linux-gnu/12/libgcc.a", false},
		{[]string{"usr/bin/*lto-dump-12"}, "usr/bin/x86_64-linux-gnu-lto-dump-12", true},
		{nil, "etc/passwd", false},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			if got := matchAny(tt.patterns, tt.path); got != tt.want {
				t.Errorf("matchAny(%q, %q) = %v, want %v", tt.patterns, tt.path, got, tt.want)
			}
		})
	}
}
