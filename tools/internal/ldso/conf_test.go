package ldso

import (
	"io/fs"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/google/go-cmp/cmp"
)

func contains(s, sub string) bool { return strings.Contains(s, sub) }

func dir() *fstest.MapFile { return &fstest.MapFile{Mode: fs.ModeDir | 0o755} }

// confDirs runs the directory collection of Build and lists the result.
func confDirs(t *testing.T, fsys fstest.MapFS, opts Options) ([]string, error) {
	t.Helper()
	if opts.Arch == "" {
		opts.Arch = "x86_64"
	}
	b, err := newBuilder(fsys, opts)
	if err != nil {
		t.Fatal(err)
	}
	if err := b.parseConf(b.opts.ConfigFile, 0); err != nil {
		return nil, err
	}
	for _, d := range b.opts.SystemDirs {
		if err := b.addDir(d, "<builtin>"); err != nil {
			return nil, err
		}
	}
	var out []string
	for _, d := range b.dirs {
		s := d.path + " -> " + d.real
		if name, ok := map[int32]string{FlagELFLibc5: "libc5", FlagELFLibc6: "libc6"}[d.flag]; ok {
			s += " =" + name
		}
		if d.hwcaps != "" {
			s += " [" + d.hwcaps + "]"
		}
		out = append(out, s)
	}
	return out, nil
}

func TestConfig(t *testing.T) {
	fsys := fstest.MapFS{
		"etc/ld.so.conf": file("# comment\n" +
			"include /etc/ld.so.conf.d/*.conf\n" +
			"include\trel/*.conf  other.conf\n" +
			"include /etc/sel/[!x]*.conf\n" +
			"/usr/local/lib   # trailing comment\n" +
			"/usr/lib=libc6\n" +
			"  /usr/lib64/  \n" +
			"/opt/t=libc5\n" +
			"/opt/bad=libc7\n" +
			"hwcap 1 nosegneg\n" +
			"includes/x\n" +
			"/missing\n" +
			"/etc/ld.so.conf\n"),
		"etc/ld.so.conf.d/b.conf":       file("/b\n"),
		"etc/ld.so.conf.d/a.conf":       file("/a"),
		"etc/ld.so.conf.d/.hidden.conf": file("/hidden\n"),
		"etc/ld.so.conf.d/c.txt":        file("/txt\n"),
		"etc/ld.so.conf.d/dir.conf":     dir(),
		"etc/rel/r.conf":                file("/r\n"),
		"etc/other.conf":                file("/other\n"),
		"etc/sel/a1.conf":               file("/s1\n"),
		"etc/sel/x1.conf":               file("/sx\n"),
		"a":                             dir(),
		"b":                             symlink("a"),
		"r":                             dir(),
		"other":                         dir(),
		"s1":                            dir(),
		"sx":                            dir(),
		"hidden":                        dir(),
		"txt":                           dir(),
		"usr/local/lib":                 dir(),
		"usr/lib/glibc-hwcaps/x86-64-v3/libx.so.1": file("x"),
		"usr/lib/glibc-hwcaps/x86-64-v2":           symlink("x86-64-v3"),
		"usr/lib/glibc-hwcaps/.hidden":             dir(),
		"usr/lib/glibc-hwcaps/a:b":                 dir(),
		"usr/lib/glibc-hwcaps/file":                file("f"),
		"usr/lib64":                                symlink("lib"),
		"opt/t":                                    dir(),
		"opt/bad":                                  dir(),
		"includes/x":                               dir(),
	}
	got, err := confDirs(t, fsys, Options{SystemDirs: []string{"/usr/lib64", "/opt/t"},
		LegacyTypes: true})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"/a -> a", // /b is the same directory: dropped
		"/r -> r",
		"/other -> other",
		"/s1 -> s1",
		"/usr/local/lib -> usr/local/lib",
		// /usr/lib64 (the same directory) comes later without a type, and
		// its type wins, as in ldconfig.
		"/usr/lib -> usr/lib",
		// x86-64-v2 links to x86-64-v3 and is listed first, so it names the
		// directory; it took /usr/lib's type when it was added.
		"/usr/lib/glibc-hwcaps/x86-64-v2 -> usr/lib/glibc-hwcaps/x86-64-v3 =libc6 [x86-64-v2]",
		"/opt/t -> opt/t", // the built-in /opt/t resets its libc5 type
		"/opt/bad -> opt/bad",
		"includes/x -> includes/x",
		"/etc/ld.so.conf -> etc/ld.so.conf", // a file: listed, never searched
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("directories (-want +got):\n%s", diff)
	}
}

// TestConfigTypes reads "dir=TYPE" lines as glibc 2.36 does (LegacyTypes)
// and as glibc 2.43 does, which takes the whole line for the directory.
func TestConfigTypes(t *testing.T) {
	fsys := fstest.MapFS{
		"etc/ld.so.conf": file("/five=libc5\n/six=libc6\n/g=glibc2\n/t=libc6  \n"),
		"five":           dir(), "six": dir(), "g": dir(), "t": dir(), "six=libc6": dir(),
	}
	for _, tc := range []struct {
		legacy bool
		want   []string
	}{
		{true, []string{"/five -> five =libc5", "/six -> six =libc6", "/g -> g =libc6",
			"/t -> t"}}, // trailing blanks make the type unknown, as in ldconfig
		{false, []string{"/six=libc6 -> six=libc6"}},
	} {
		got, err := confDirs(t, fsys, Options{SystemDirs: []string{}, LegacyTypes: tc.legacy})
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(tc.want, got); diff != "" {
			t.Errorf("LegacyTypes %v: directories (-want +got):\n%s", tc.legacy, diff)
		}
	}
}

func TestConfigErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		fsys fstest.MapFS
		want string
	}{
		{"include loop", fstest.MapFS{"etc/ld.so.conf": file("include /etc/ld.so.conf\n")},
			"nest deeper than 32"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := confDirs(t, tc.fsys, Options{})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error = %v, want one containing %q", err, tc.want)
			}
		})
	}
}

// TestConfigLiteralBracket checks that an unclosed "[" matches itself, as
// in glob(3).
func TestConfigLiteralBracket(t *testing.T) {
	fsys := fstest.MapFS{
		"etc/ld.so.conf": file("include /etc/[a.conf /etc/[b*.conf\n"),
		"etc/[a.conf":    file("/lit\n"),
		"etc/[b1.conf":   file("/star\n"),
		"lit":            dir(),
		"star":           dir(),
	}
	got, err := confDirs(t, fsys, Options{SystemDirs: []string{}})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"/lit -> lit", "/star -> star"}, got); diff != "" {
		t.Errorf("directories (-want +got):\n%s", diff)
	}
}

func TestConfigMissing(t *testing.T) {
	got, err := confDirs(t, fstest.MapFS{"usr/lib": dir(), "usr/libx32": dir()}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"/usr/lib -> usr/lib", "/usr/libx32 -> usr/libx32"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("directories with no ld.so.conf (-want +got):\n%s", diff)
	}
}
