package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestOutputDirChecked: an output in a directory that does not exist, or an
// output that is a directory, is refused before any work (no download:
// the repositories and mirrors are unreachable), naming the directory.
func TestOutputDirChecked(t *testing.T) {
	lockPath, _ := layerFixture(t)
	dir := t.TempDir()
	nodir := filepath.Join(dir, "nodir")
	missing := "directory " + nodir + " does not exist"
	spec := filepath.Join(dir, "s.apk.yaml")
	if err := os.WriteFile(spec, []byte("contents:\n  repositories: [http://127.0.0.1:1/os]\n"+
		"  packages: [zlib]\narchs: [x86_64]\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	unreachable := []string{"--cache-dir", filepath.Join(dir, "cache"), "--mirror", "file:///=http://127.0.0.1:1/"}
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"pack", "--unsigned", "--name", "a", "--version", "1-r0", "--arch", "x86_64", dir,
			"-o", filepath.Join(nodir, "a.apk")}, missing},
		{[]string{"index", "--unsigned", "-o", filepath.Join(nodir, "APKINDEX.tar.gz"), "a.apk"}, missing},
		{[]string{"keygen", "-o", filepath.Join(nodir, "k.rsa")}, missing},
		{append([]string{"lock", spec, "-o", filepath.Join(nodir, "l.json")}, unreachable...), missing},
		{append([]string{"lock", spec, "-o", dir}, unreachable...),
			"-o " + dir + " is a directory: -o names the lockfile to write, e.g. " +
				filepath.Join(dir, "s.apk.lock.json")},
		{append([]string{"layer", lockPath, "-o", filepath.Join(nodir, "l.tar")}, unreachable...), missing},
		{append([]string{"layer", lockPath, "-o", dir}, unreachable...), "it is a directory; give a file name"},
		{append([]string{"layer", lockPath, "--gzip-level", "0", "-o", filepath.Join(dir, "l.tar.gz")},
			unreachable...), "--gzip-level 0: use 1 (fastest) to 9 (smallest)"},
		{append([]string{"layer", lockPath, "--gzip-level", "10", "-o", filepath.Join(dir, "l.tar.gz")},
			unreachable...), "--gzip-level 10"},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args[:2], " "), func(t *testing.T) {
			code, out, stderr := apkpack(t, tt.args...)
			if code != 1 || out != "" || !strings.Contains(stderr, tt.want) {
				t.Errorf("%q: exit %d, stdout %q, stderr %q; want 1 and %q", tt.args, code, out, stderr, tt.want)
			}
		})
	}
	if _, err := os.Stat(nodir); !os.IsNotExist(err) {
		t.Errorf("a refused command created %s", nodir)
	}
}
