package deps

import (
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"testing"
)

// hostLibDir is where Debian-style x86_64 hosts keep their libraries; the
// tests that copy real ELF files from the host look there.
const hostLibDir = "/usr/lib/x86_64-linux-gnu"

// node is one entry of a fixture tree: a file with content or copied from
// the host, or a symbolic link.
type node struct {
	path    string
	content string      // file content, when from and link are empty
	from    string      // host file to copy
	mode    os.FileMode // file mode; 0 means 0o644
	link    string      // symbolic link target
}

// file returns a node for a file written with content and mode.
func file(path, content string, mode os.FileMode) node {
	return node{path: path, content: content, mode: mode}
}

// copyOf returns a node for a host file copied with mode 0o755.
func copyOf(path, from string) node { return node{path: path, from: from, mode: 0o755} }

// symlink returns a node for a symbolic link.
func symlink(path, target string) node { return node{path: path, link: target} }

// buildTree writes nodes under a new temporary directory and returns it.
func buildTree(t *testing.T, nodes ...node) string {
	t.Helper()
	root := t.TempDir()
	for _, n := range nodes {
		p := filepath.Join(root, filepath.FromSlash(n.path))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if n.link != "" {
			if err := os.Symlink(n.link, p); err != nil {
				t.Fatal(err)
			}
			continue
		}
		data := []byte(n.content)
		if n.from != "" {
			var err error
			if data, err = os.ReadFile(n.from); err != nil {
				t.Fatal(err)
			}
		}
		mode := n.mode
		if mode == 0 {
			mode = 0o644
		}
		if err := os.WriteFile(p, data, mode); err != nil {
			t.Fatal(err)
		}
		// WriteFile's mode is filtered by the umask; set it exactly.
		if err := os.Chmod(p, mode); err != nil {
			t.Fatal(err)
		}
	}
	return root
}

// hostFile returns the single host file matching pattern, or skips the
// test with a message when there is none.
func hostFile(t *testing.T, pattern string) string {
	t.Helper()
	if runtime.GOOS != "linux" || runtime.GOARCH != "amd64" {
		t.Skipf("the host ELF fixtures are x86_64 Linux files; this host is %s/%s",
			runtime.GOOS, runtime.GOARCH)
	}
	matches, err := filepath.Glob(pattern)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range matches {
		if fi, err := os.Lstat(m); err == nil && fi.Mode().IsRegular() {
			return m
		}
	}
	t.Skipf("no regular host file matches %s; this test copies real ELF files from the host",
		pattern)
	return ""
}

// hostTool returns the path of a host program, or skips the test.
func hostTool(t *testing.T, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		t.Skipf("%s is not installed on this host: %v", name, err)
	}
	return p
}

// run runs a host command and fails the test with its output on error.
func run(t *testing.T, name string, args ...string) []byte {
	t.Helper()
	return runIn(t, "", name, args...)
}

// runIn is run in the working directory dir.
func runIn(t *testing.T, dir, name string, args ...string) []byte {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%s %v: %v\n%s", name, args, err, out)
	}
	return out
}
