// Package testutil holds helpers shared by the project's tests: where the
// real APK test data lives, and golden-file comparison.
package testutil

import (
	"flag"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// Update rewrites golden files instead of comparing against them:
// go test ./... -update.
var Update = flag.Bool("update", false, "rewrite golden files")

// RepoRoot returns the directory holding go.mod. Under bazel test it is the
// workspace's runfiles tree instead, where the files a test declares as data
// sit at their paths in the repository: walking up from the sandbox would
// leave it.
func RepoRoot(t testing.TB) string {
	t.Helper()
	if srcdir, ws := os.Getenv("TEST_SRCDIR"), os.Getenv("TEST_WORKSPACE"); srcdir != "" && ws != "" {
		return filepath.Join(srcdir, ws)
	}
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("no go.mod above the test's directory")
		}
		dir = parent
	}
}

// RealData returns the path of a file or folder under the shared real test
// data (../shared/testdata/real next to the repository, or
// $RULES_APK_REAL_TESTDATA), and skips the test with a message when it is
// absent: always under bazel test, unless --test_env passes
// RULES_APK_REAL_TESTDATA.
func RealData(t testing.TB, elem ...string) string {
	t.Helper()
	base := os.Getenv("RULES_APK_REAL_TESTDATA")
	if base == "" {
		base = filepath.Join(RepoRoot(t), "..", "shared", "testdata", "real")
	}
	p := filepath.Join(append([]string{base}, elem...)...)
	if _, err := os.Stat(p); err != nil {
		t.Skipf("real test data %s is missing (set RULES_APK_REAL_TESTDATA to the shared testdata/real folder): %v", p, err)
	}
	return p
}

// Golden compares got with the golden file testdata/<name> of the test's
// package, or rewrites it when -update is given.
func Golden(t testing.TB, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *Update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("reading golden file (run with -update to create it): %v", err)
	}
	if diff := cmp.Diff(string(want), string(got)); diff != "" {
		t.Errorf("%s differs from golden file (-want +got):\n%s", path, diff)
	}
}

// DirNames lists the names in a directory, sorted.
func DirNames(t testing.TB, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	return names
}
