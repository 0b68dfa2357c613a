package spec

import (
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/rules-apk/rules_apk/tools/internal/testutil"
)

// TestExampleSpecs loads the specs under examples/: the demo ones that the
// end-to-end run locks, and their Wolfi twins that no test can lock here
// (their host is out of reach), which must ask for the same worlds from
// Wolfi's repository with Wolfi's key.
func TestExampleSpecs(t *testing.T) {
	root := filepath.Join(testutil.RepoRoot(t), "examples")
	for _, name := range []string{"runtime", "build"} {
		t.Run(name, func(t *testing.T) {
			demo, err := Load(filepath.Join(root, name+".apk.yaml"))
			if err != nil {
				t.Fatal(err)
			}
			wolfi, err := Load(filepath.Join(root, "wolfi", name+".apk.yaml"))
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(demo.Packages, wolfi.Packages); diff != "" {
				t.Errorf("examples/wolfi/%s.apk.yaml asks for another world (-demo +wolfi):\n%s", name, diff)
			}
			wantRepos := []Repository{{URL: "https://packages.wolfi.dev/os"}}
			if diff := cmp.Diff(wantRepos, wolfi.Repositories); diff != "" {
				t.Errorf("Wolfi repositories (-want +got):\n%s", diff)
			}
			wantKeys := []string{"https://packages.wolfi.dev/os/wolfi-signing.rsa.pub"}
			if diff := cmp.Diff(wantKeys, wolfi.Keyring); diff != "" {
				t.Errorf("Wolfi keyring (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff([]string{"x86_64", "aarch64"}, wolfi.Archs); diff != "" {
				t.Errorf("Wolfi archs (-want +got):\n%s", diff)
			}
		})
	}
}
