package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/rules-apk/rules_apk/tools/internal/testutil"
)

// TestInspectInstalled reads the real installed database apko wrote for
// wolfi-base, as a file and as the root of a usr-merged tree.
func TestInspectInstalled(t *testing.T) {
	db := testutil.RealData(t, "installed", "wolfi-base.apko-written")
	b, err := os.ReadFile(db)
	if err != nil {
		t.Fatal(err)
	}
	root := t.TempDir()
	if err := os.MkdirAll(filepath.Join(root, "usr/lib/apk/db"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, "usr/lib/apk/db/installed"), b, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("usr/lib", filepath.Join(root, "lib")); err != nil {
		t.Fatal(err)
	}

	views := []installedView{inspectJSON[installedView](t, db), inspectJSON[installedView](t, root)}
	v := views[0]
	if v.Kind != "installed" || len(v.Packages) != 15 {
		t.Fatalf("inspect says kind %q with %d packages, want installed with 15", v.Kind,
			len(v.Packages))
	}
	first := v.Packages[0]
	if first.Name != "wolfi-baselayout" || first.Version != "20230201-r23" || first.Files != 20 {
		t.Errorf("first record: %s-%s with %d files, want wolfi-baselayout-20230201-r23 with 20",
			first.Name, first.Version, first.Files)
	}
	// The root's database is found through lib -> usr/lib.
	views[1].File = v.File
	if diff := cmp.Diff(v, views[1], cmp.AllowUnexported(installedPkgView{})); diff != "" {
		t.Errorf("the root reads differently from the file (-file +root):\n%s", diff)
	}

	code, stdout, _ := apkpack(t, "inspect", db)
	if code != 0 || !strings.Contains(stdout, "packages            15\n") ||
		!strings.Contains(stdout, "wolfi-baselayout") {
		t.Errorf("inspect text: exit %d:\n%s", code, stdout)
	}
}

func TestInspectInstalledErrors(t *testing.T) {
	dir := t.TempDir()
	notDB := filepath.Join(dir, "sbom.json")
	if err := os.WriteFile(notDB, []byte("{\"spdxVersion\": \"SPDX-2.3\"}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	broken := filepath.Join(dir, "installed")
	if err := os.WriteFile(broken, []byte("P:zlib\nV:1.3.1-r0\nnot a field\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ path, want string }{
		{notDB, "not an APK package, index or installed database"},
		{dir, "a directory without an installed database"},
		{broken, "line 3"},
	} {
		code, _, stderr := apkpack(t, "inspect", tc.path)
		if code != 1 || !strings.Contains(stderr, tc.want) {
			t.Errorf("inspect %s: exit %d, stderr %q; want exit 1 saying %q", tc.path, code,
				stderr, tc.want)
		}
	}
}
