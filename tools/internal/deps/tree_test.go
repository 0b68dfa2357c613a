package deps

import (
	"errors"
	"os"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// openRoot opens a fixture tree as an os.Root.
func openRoot(t *testing.T, nodes ...node) *os.Root {
	t.Helper()
	r, err := os.OpenRoot(buildTree(t, nodes...))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	return r
}

func TestResolve(t *testing.T) {
	r := openRoot(t,
		file("usr/lib/libz.so.1.3", "", 0o644),
		symlink("usr/lib/libz.so.1", "libz.so.1.3"),
		symlink("usr/lib/libz.so", "/usr/lib/libz.so.1"),
		symlink("lib", "usr/lib"),
		symlink("lib64", "/lib"),
		symlink("usr/bin/up", "../../../../../usr/lib/libz.so"),
		symlink("usr/bin/dot", "./../lib/./libz.so.1"),
		symlink("usr/bin/missing", "nothing"),
		symlink("usr/bin/file-as-dir", "/usr/lib/libz.so.1.3/x"),
		symlink("usr/bin/root", "/"),
		symlink("usr/bin/self", "self"),
		symlink("usr/bin/etc-passwd", "/etc/passwd"),
	)
	tests := []struct {
		name    string
		want    string
		wantErr error
	}{
		{"usr/lib/libz.so.1.3", "usr/lib/libz.so.1.3", nil},
		{"usr/lib/libz.so.1", "usr/lib/libz.so.1.3", nil},
		{"usr/lib/libz.so", "usr/lib/libz.so.1.3", nil},
		{"lib/libz.so", "usr/lib/libz.so.1.3", nil},
		{"lib64/libz.so.1", "usr/lib/libz.so.1.3", nil},
		{"usr/bin/up", "usr/lib/libz.so.1.3", nil},
		{"usr/bin/dot", "usr/lib/libz.so.1.3", nil},
		{"usr/bin/root", ".", nil},
		{"usr/bin/../lib/libz.so", "usr/lib/libz.so.1.3", nil},
		{"usr/bin/missing", "", errBrokenLink},
		{"usr/bin/file-as-dir", "", errBrokenLink},
		{"usr/bin/etc-passwd", "", errBrokenLink},
		{"usr/bin/self", "", errLinkLoop},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := resolve(r, tt.name)
			if !errors.Is(err, tt.wantErr) || got != tt.want {
				t.Errorf("resolve(%q) = %q, %v; want %q, %v",
					tt.name, got, err, tt.want, tt.wantErr)
			}
		})
	}
}

func TestDirectories(t *testing.T) {
	tests := []struct {
		dir        string
		lib, pcDir bool
	}{
		{"lib", true, false},
		{"lib64", true, false},
		{"usr/lib", true, false},
		{"usr/lib64", true, false},
		{"usr/local/lib", true, false},
		{"usr/lib/x86_64-linux-gnu", true, false},
		{"lib/aarch64-linux-gnu", true, false},
		{"usr/lib/arm-linux-gnueabihf", true, false},
		{"usr/lib/x86_64-linux-musl", true, false},
		{"usr/lib/python3.12", false, false},
		{"usr/lib/x86_64-linux-gnu/gconv", false, false},
		{"usr/lib/-linux-gnu", false, false},
		{"usr/lib/X86-linux-gnu", false, false},
		{"opt/lib", false, false},
		{"usr/lib/pkgconfig", false, true},
		{"usr/lib64/pkgconfig", false, true},
		{"lib/pkgconfig", false, true},
		{"usr/local/lib/pkgconfig", false, true},
		{"usr/lib/x86_64-linux-gnu/pkgconfig", false, true},
		{"usr/share/pkgconfig", false, true},
		{"usr/local/share/pkgconfig", false, true},
		{"opt/lib/pkgconfig", false, false},
		{"usr/lib/foo/pkgconfig", false, false},
	}
	for _, tt := range tests {
		t.Run(tt.dir, func(t *testing.T) {
			if got := isStdLibDir(tt.dir); got != tt.lib {
				t.Errorf("isStdLibDir(%q) = %v, want %v", tt.dir, got, tt.lib)
			}
			if got := isPCDir(tt.dir); got != tt.pcDir {
				t.Errorf("isPCDir(%q) = %v, want %v", tt.dir, got, tt.pcDir)
			}
		})
	}
}

func TestLdSoConfDirs(t *testing.T) {
	tests := []struct {
		name         string
		nodes        []node
		want         map[string]bool
		wantWarnings []Warning
	}{{
		name: "no configuration",
		want: map[string]bool{},
	}, {
		name: "Wolfi's glibc layout",
		nodes: []node{
			file("etc/ld.so.conf", "include /etc/ld.so.conf.d/*.conf\n", 0o644),
			file("etc/ld.so.conf.d/libc.conf", "/usr/local/lib\n/usr/lib\n", 0o644),
		},
		want: map[string]bool{"usr/local/lib": true, "usr/lib": true},
	}, {
		name: "ld.so.conf.d without ld.so.conf, as melange reads it",
		nodes: []node{
			file("etc/ld.so.conf.d/a.conf", "/opt/a/lib\n", 0o644),
			file("etc/ld.so.conf.d/b.txt", "/opt/b/lib\n", 0o644),
		},
		want: map[string]bool{"opt/a/lib": true},
	}, {
		name: "relative and nested includes, comments, hwcap, odd paths",
		nodes: []node{
			file("etc/ld.so.conf", "# top\ninclude sub/*.conf other.conf\n"+
				"hwcap 0 nosegneg\n/opt//x/../y/ # trailing\nrelative/dir\n\n", 0o644),
			file("etc/sub/one.conf", "include ../two.conf\n/one\n", 0o644),
			file("etc/two.conf", "/two\n", 0o644),
			file("etc/other.conf", "include /etc/ld.so.conf\n/other\n", 0o644),
		},
		want: map[string]bool{"opt/y": true, "one": true, "two": true, "other": true},
		wantWarnings: []Warning{
			{"etc/ld.so.conf", `relative directory "relative/dir" is ignored, as ldconfig does`},
		},
	}, {
		name: "directories through links are kept in both forms",
		nodes: []node{
			file("etc/ld.so.conf", "/opt/app/lib\n/missing\n", 0o644),
			file("opt/app-1.0/lib/.keep", "", 0o644),
			symlink("opt/app", "app-1.0"),
		},
		want: map[string]bool{"opt/app/lib": true, "opt/app-1.0/lib": true, "missing": true},
	}, {
		name: "an include loop ends",
		nodes: []node{
			file("etc/ld.so.conf", "include /etc/a.conf\n", 0o644),
			file("etc/a.conf", "include /etc/b.conf\n/a\n", 0o644),
			file("etc/b.conf", "include /etc/a.conf\n/b\n", 0o644),
		},
		want: map[string]bool{"a": true, "b": true},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dirs, warnings, err := ldSoConfDirs(openRoot(t, tt.nodes...))
			if err != nil {
				t.Fatalf("ldSoConfDirs: %v", err)
			}
			if diff := cmp.Diff(tt.want, dirs); diff != "" {
				t.Errorf("directories (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.wantWarnings, warnings); diff != "" {
				t.Errorf("warnings (-want +got):\n%s", diff)
			}
		})
	}
}
