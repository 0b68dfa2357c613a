package demo

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/rules-apk/rules_apk/tools/internal/testutil"
)

// demoEnv locates the repository, the demo cache and the tools, and skips
// when the machine cannot build the demo repository.
type demoEnv struct {
	root, cache, apkpack string
}

func newDemoEnv(t *testing.T) demoEnv {
	t.Helper()
	if testing.Short() {
		t.Skip("builds the demo repository from Debian packages; skipped in -short mode")
	}
	for _, tool := range []string{"apt-get", "dpkg-deb", "bash"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s is not installed; the demo repository needs Debian's apt and dpkg", tool)
		}
	}
	root := testutil.RepoRoot(t)
	cache := os.Getenv("RULES_APK_DEMO_CACHE")
	if cache == "" {
		cache = filepath.Join(root, ".cache", "demo")
	}
	return demoEnv{root: root, cache: cache, apkpack: filepath.Join(cache, "bin", "apkpack")}
}

// buildRepo runs e2e/demo/build_repo.sh, as CI does.
func (e demoEnv) buildRepo(t *testing.T, flags ...string) {
	t.Helper()
	cmd := exec.Command("bash", append([]string{filepath.Join(e.root, "e2e/demo/build_repo.sh")},
		flags...)...)
	cmd.Env = append(os.Environ(), "RULES_APK_DEMO_CACHE="+e.cache)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("build_repo.sh: %v\n%s", err, b)
	}
}

// treeSums maps every file under dir to its sha256.
func treeSums(t *testing.T, dir string) map[string]string {
	t.Helper()
	sums := map[string]string{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		sum := sha256.Sum256(b)
		sums[rel] = hex.EncodeToString(sum[:])
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return sums
}

// TestRepository builds the demo repository twice with the script, checks
// it (Check: signatures, closure, names, versions, security database) and
// that the second run changed no byte, then repacks a few packages without
// the cache to show that packing itself is deterministic.
func TestRepository(t *testing.T) {
	e := newDemoEnv(t)
	out := filepath.Join(e.cache, "test-repo")
	e.buildRepo(t, "--check", out)
	first := treeSums(t, out)
	e.buildRepo(t, out)
	if diff := cmp.Diff(first, treeSums(t, out)); diff != "" {
		t.Errorf("a second build changed the repository (-first +second):\n%s", diff)
	}
	for _, name := range []string{"v1/x86_64/APKINDEX.tar.gz", "v2/x86_64/APKINDEX.tar.gz",
		"v2/security.json", "keys/demo.rsa.pub"} {
		if _, ok := first[name]; !ok {
			t.Errorf("the repository has no %s", name)
		}
	}
	// The keyring is the committed demo key, and no private key is served.
	committed := treeSums(t, filepath.Join(e.root, "e2e/demo/keys"))[KeyFile+".pub"]
	if first["keys/"+KeyFile+".pub"] != committed {
		t.Errorf("keys/%s.pub is not the committed demo key", KeyFile)
	}
	if _, ok := first["keys/"+KeyFile]; ok {
		t.Errorf("the repository serves the private key keys/%s", KeyFile)
	}

	t.Run("repack without cache", func(t *testing.T) {
		repack(t, e, out, first)
	})
	t.Run("compile and run with libcurl", func(t *testing.T) {
		compileAndRun(t, filepath.Join(out, SnapshotV1, Arch))
	})
}

// repack builds a few recipes with an empty package cache and the same key,
// and compares the packages with the repository's.
func repack(t *testing.T, e demoEnv, repo string, sums map[string]string) {
	names := []string{"demo-baselayout", "ca-certificates-bundle", "ld-linux", "libcurl-openssl4"}
	var recipes []Recipe
	for _, r := range Recipes {
		if slices.Contains(names, r.Name) {
			recipes = append(recipes, r)
		}
	}
	tmp := t.TempDir()
	out := filepath.Join(tmp, "out")
	cache := filepath.Join(tmp, "cache")
	if err := os.MkdirAll(cache, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Join(e.cache, "debs"), filepath.Join(cache, "debs")); err != nil {
		t.Fatal(err)
	}
	res, err := Build(context.Background(), Options{
		OutDir: out, KeyDir: filepath.Join(e.root, "e2e/demo/keys"), CacheDir: cache,
		Apkpack: e.apkpack, Recipes: recipes,
		ManifestPath: filepath.Join(e.root, "e2e/demo/packages.txt"), ToolDigest: "repack test",
	})
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, s := range res.Snapshots {
		for _, p := range s.Packages {
			rel, _ := filepath.Rel(out, p.File)
			got := treeSums(t, filepath.Dir(p.File))[filepath.Base(p.File)]
			if want := sums[rel]; got != want {
				t.Errorf("repacked %s has sha256 %s, the repository's has %s", rel, got, want)
			}
			n++
		}
	}
	if n != 2*len(names) {
		t.Errorf("repacked %d packages, want %d", n, 2*len(names))
	}
}

// helloCurl prints libcurl's version and fetches a file:// URL.
const helloCurl = `#include <stdio.h>
#include <curl/curl.h>
int main(void) {
	curl_version_info_data *d = curl_version_info(CURLVERSION_NOW);
	printf("libcurl %s %s\n", d->version, d->ssl_version);
	CURL *c = curl_easy_init();
	curl_easy_setopt(c, CURLOPT_URL, "file:///etc/os-release");
	CURLcode rc = curl_easy_perform(c);
	curl_easy_cleanup(c);
	return rc;
}
`

// compileAndRun unpacks every package of a snapshot into one root and, in
// a chroot there, compiles a program against libcurl with the repository's
// gcc and runs it: the packages hold a working toolchain and runtime.
func compileAndRun(t *testing.T, dir string) {
	if os.Geteuid() != 0 {
		t.Skip("chroot needs root; the toolchain smoke test is skipped")
	}
	if _, err := exec.LookPath("chroot"); err != nil {
		t.Skip("chroot is not installed; the toolchain smoke test is skipped")
	}
	root := t.TempDir()
	pkgs, err := filepath.Glob(filepath.Join(dir, "*.apk"))
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range pkgs {
		// A package is concatenated gzip tar segments (§1.1); GNU tar
		// reads them all with --ignore-zeros.
		cmd := exec.Command("tar", "-xzf", p, "--ignore-zeros", "-C", root,
			"--exclude=.PKGINFO", "--exclude=.SIGN.*")
		if b, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("unpacking %s: %v\n%s", p, err, b)
		}
	}
	if err := os.WriteFile(filepath.Join(root, "tmp/hello.c"), []byte(helloCurl), 0o644); err != nil {
		t.Fatal(err)
	}
	chroot := func(args ...string) string {
		t.Helper()
		var stdout, stderr bytes.Buffer
		cmd := exec.Command("chroot", append([]string{root}, args...)...)
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		cmd.Env = []string{"PATH=/usr/bin"}
		if err := cmd.Run(); err != nil {
			t.Fatalf("chroot %s: %v\n%s%s", strings.Join(args, " "), err, &stdout, &stderr)
		}
		return stdout.String()
	}
	chroot("gcc", "-O2", "-Wall", "-o", "/tmp/hello", "/tmp/hello.c", "-lcurl")
	got := chroot("/tmp/hello")
	for _, want := range []string{"libcurl 7.88.1 OpenSSL/3.0", "ID=rules-apk-demo"} {
		if !strings.Contains(got, want) {
			t.Errorf("hello printed %q, want it to contain %q", got, want)
		}
	}
}
