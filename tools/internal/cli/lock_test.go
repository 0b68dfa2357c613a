package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rules-apk/rules_apk/tools/internal/apk"
	"github.com/rules-apk/rules_apk/tools/internal/testrepo"
	"github.com/rules-apk/rules_apk/tools/internal/testutil"
)

func lockFixture(t *testing.T) (dir, url string) {
	t.Helper()
	dir = t.TempDir()
	testrepo.Build(t, filepath.Join(dir, "repo"), []testrepo.Pkg{
		{Name: "glibc", Version: "2.40-r0", Provides: []string{"so:libc.so.6=6"}},
		{Name: "zlib", Version: "1.3.1-r5", Origin: "zlib", Depends: []string{"so:libc.so.6"},
			Provides: []string{"so:libz.so.1=1"}},
		{Name: "libcurl-openssl4", Version: "8.11.1-r0", Origin: "curl", ProviderPriority: 10,
			Depends: []string{"so:libz.so.1"}, Provides: []string{"so:libcurl.so.4=4"}},
	})
	testrepo.WriteKey(t, dir)
	return dir, testrepo.Serve(t, filepath.Join(dir, "repo"))
}

func TestLockCheckDiff(t *testing.T) {
	dir, url := lockFixture(t)
	specPath := filepath.Join(dir, "runtime.apk.yaml")
	writeSpec := func(pkgs string) {
		y := "contents:\n  repositories: [" + url + "]\n  keyring: [test.rsa.pub]\n  packages: [" + pkgs + "]\narchs: [x86_64]\n"
		if err := os.WriteFile(specPath, []byte(y), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	cache := "--cache-dir=" + filepath.Join(dir, "cache")
	writeSpec("zlib")
	code, out, stderr := apkpack(t, "lock", specPath, cache)
	lockPath := filepath.Join(dir, "runtime.apk.lock.json")
	if code != 0 || out != lockPath+": 2 packages for x86_64\n" {
		t.Fatalf("lock: exit %d, stdout %q, stderr %q", code, out, stderr)
	}
	old, err := os.ReadFile(lockPath)
	if err != nil {
		t.Fatal(err)
	}
	if code, out, _ := apkpack(t, "lock", specPath, "--check", cache); code != 0 || !strings.Contains(out, "is up to date") {
		t.Errorf("lock --check of a fresh lockfile: exit %d, %q", code, out)
	}

	// A constraint the closure already meets changes the world only.
	writeSpec("zlib, glibc")
	code, out, stderr = apkpack(t, "lock", specPath, "--check", cache)
	if code != 1 || out != "world:\n  + glibc\nno package changes\n" || !strings.Contains(stderr, "the spec changed") {
		t.Errorf("lock --check of a changed world: exit %d, stdout %q, stderr %q", code, out, stderr)
	}
	code, out, _ = apkpack(t, "lock", specPath, "--check", "--json", cache)
	if code != 1 || !strings.Contains(out, `"world_added": [
    "glibc"
  ]`) || !strings.Contains(out, `"packages": []`) {
		t.Errorf("lock --check --json of a changed world: exit %d, stdout %s", code, out)
	}

	// Without a lockfile, --check fails before fetching anything.
	unreachable := filepath.Join(dir, "unreachable.apk.yaml")
	if err := os.WriteFile(unreachable, []byte("contents:\n  repositories: [http://127.0.0.1:1/os]\n"+
		"  keyring: [test.rsa.pub]\n  packages: [zlib]\narchs: [x86_64]\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	code, out, stderr = apkpack(t, "lock", unreachable, "--check", cache)
	if code != 1 || out != "" || !strings.Contains(stderr, filepath.Join(dir, "unreachable.apk.lock.json")+
		" does not exist yet: create it with apkpack lock "+unreachable) {
		t.Errorf("lock --check without a lockfile: exit %d, stdout %q, stderr %q", code, out, stderr)
	}

	writeSpec("zlib, so:libcurl.so.4")
	code, out, stderr = apkpack(t, "lock", specPath, "--check", cache)
	if code != 1 || !strings.Contains(out, "+ libcurl-openssl4 8.11.1-r0") ||
		!strings.Contains(stderr, "the spec changed") {
		t.Errorf("lock --check of a stale lockfile: exit %d, stdout %q, stderr %q", code, out, stderr)
	}
	if b, _ := os.ReadFile(lockPath); string(b) != string(old) {
		t.Error("lock --check wrote the lockfile")
	}

	oldPath := filepath.Join(dir, "old.apk.lock.json")
	if err := os.WriteFile(oldPath, old, 0o644); err != nil {
		t.Fatal(err)
	}
	if code, out, stderr := apkpack(t, "lock", specPath, cache); code != 0 || !strings.Contains(out, "+ libcurl-openssl4") {
		t.Errorf("re-lock: exit %d, stdout %q, stderr %q", code, out, stderr)
	}
	code, out, _ = apkpack(t, "diff", oldPath, lockPath, "--json")
	if code != 0 || !strings.Contains(out, `"kind": "added"`) {
		t.Errorf("diff --json: exit %d, %s", code, out)
	}

	if code, _, stderr := apkpack(t, "lock", specPath, "zlib", cache); code == 0 || !strings.Contains(stderr, "only allowed with --upgrade") {
		t.Errorf("names without --upgrade: exit %d, %q", code, stderr)
	}
}

func TestResolveCommand(t *testing.T) {
	dir, _ := lockFixture(t)
	index := filepath.Join(dir, "repo", "x86_64", "APKINDEX.tar.gz")
	code, out, stderr := apkpack(t, "resolve", "--index", index, "--keyring", filepath.Join(dir, "test.rsa.pub"),
		"so:libcurl.so.4")
	if code != 0 || out != "glibc-2.40-r0\nzlib-1.3.1-r5\nlibcurl-openssl4-8.11.1-r0\n" {
		t.Errorf("resolve: exit %d, stdout %q, stderr %q", code, out, stderr)
	}
	code, _, stderr = apkpack(t, "resolve", "--index", index, "--keyring", filepath.Join(dir, "test.rsa.pub"), "nosuch")
	if code != 1 || !strings.Contains(stderr, "nosuch") {
		t.Errorf("resolve of a missing name: exit %d, stderr %q", code, stderr)
	}
	code, _, stderr = apkpack(t, "resolve", "--index", index, "zlib")
	if code != 1 || !strings.Contains(stderr, "UNTRUSTED") {
		t.Errorf("resolve without a keyring: exit %d, stderr %q", code, stderr)
	}
}

// TestArchAliases: resolve and fetch take the OCI names of an arch, and
// refuse an unknown one with the list of names.
func TestArchAliases(t *testing.T) {
	dir, _ := lockFixture(t)
	keyring := filepath.Join(dir, "test.rsa.pub")
	repoDir := filepath.Join(dir, "repo")
	cacheDir := "--cache-dir=" + filepath.Join(dir, "cache") // bazel test has no $HOME
	code, out, stderr := apkpack(t, "resolve", "--repository", repoDir, "--keyring", keyring,
		"--arch", "amd64", cacheDir, "zlib")
	if code != 0 || out != "glibc-2.40-r0\nzlib-1.3.1-r5\n" {
		t.Errorf("resolve --arch amd64: exit %d, stdout %q, stderr %q", code, out, stderr)
	}
	code, _, stderr = apkpack(t, "resolve", "--repository", repoDir, "--keyring", keyring,
		"--arch", "sparc", cacheDir, "zlib")
	if code != 1 || !strings.Contains(stderr, `--arch: unknown architecture "sparc"`) ||
		!strings.Contains(stderr, "aarch64") {
		t.Errorf("resolve --arch sparc: exit %d, stderr %q", code, stderr)
	}

	lockPath, cache := layerFixture(t)
	pkgDir := filepath.Join(t.TempDir(), "packages")
	code, _, stderr = apkpack(t, "fetch", lockPath, "--arch", "amd64", "-o", pkgDir, "--cache-dir", cache)
	if code != 0 {
		t.Errorf("fetch --arch amd64: exit %d, stderr %q", code, stderr)
	}
	code, _, stderr = apkpack(t, "fetch", lockPath, "--arch", "arm64", "-o", pkgDir, "--cache-dir", cache)
	if code != 1 || !strings.Contains(stderr, "the lockfile has no arch aarch64") {
		t.Errorf("fetch --arch arm64: exit %d, stderr %q", code, stderr)
	}
}

// TestResolveRealWolfi resolves wolfi-base on the real Wolfi metadata: the
// 15 packages apk-tools 2.14 installs, in its order (apk-reference §3.4).
func TestResolveRealWolfi(t *testing.T) {
	dir := testutil.RealData(t, "wolfi-aarch64-resigned")
	code, out, stderr := apkpack(t, "resolve", "--arch", "aarch64", "--keyring", filepath.Join(dir, "keys"),
		"--index", filepath.Join(dir, "APKINDEX.tar.gz"), "wolfi-base")
	want := strings.Join([]string{"ca-certificates-bundle", "wolfi-baselayout", "ld-linux", "glibc-locale-posix",
		"libgcc", "glibc", "libcrypto3", "libssl3", "zlib", "apk-tools", "libxcrypt", "libcrypt1", "busybox",
		"wolfi-keys", "wolfi-base"}, "\n")
	if code != 0 {
		t.Fatalf("resolve: exit %d: %s", code, stderr)
	}
	var names []string
	for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
		name, _, ok := apk.SplitNameVersion(l)
		if !ok {
			t.Fatalf("resolve printed %q, not name-version", l)
		}
		names = append(names, name)
	}
	if strings.Join(names, "\n") != want {
		t.Errorf("resolve wolfi-base:\n%s\nwant the names\n%s", out, want)
	}
}

// TestLockUpgrade: a newer zlib in the repository is kept out without
// --upgrade (as apk keeps installed packages), reported by --check --upgrade
// with exit 1, taken by --upgrade zlib; diff --secdb names the CVE it fixes.
func TestLockUpgrade(t *testing.T) {
	dir, url := lockFixture(t)
	specPath := filepath.Join(dir, "runtime.apk.yaml")
	y := "contents:\n  repositories: [" + url + "]\n  keyring: [test.rsa.pub]\n  packages: [zlib]\narchs: [x86_64]\n"
	if err := os.WriteFile(specPath, []byte(y), 0o644); err != nil {
		t.Fatal(err)
	}
	cache := "--cache-dir=" + filepath.Join(dir, "cache")
	lockPath := filepath.Join(dir, "runtime.apk.lock.json")
	if code, _, stderr := apkpack(t, "lock", specPath, cache); code != 0 {
		t.Fatalf("lock: exit %d, %s", code, stderr)
	}
	old, err := os.ReadFile(lockPath)
	if err != nil {
		t.Fatal(err)
	}
	// The repository gains zlib 1.3.1-r6 (the index is rewritten and signed).
	testrepo.Build(t, filepath.Join(dir, "repo"), []testrepo.Pkg{
		{Name: "glibc", Version: "2.40-r0", Provides: []string{"so:libc.so.6=6"}},
		{Name: "zlib", Version: "1.3.1-r5", Origin: "zlib", Depends: []string{"so:libc.so.6"},
			Provides: []string{"so:libz.so.1=1"}},
		{Name: "zlib", Version: "1.3.1-r6", Origin: "zlib", Depends: []string{"so:libc.so.6"},
			Provides: []string{"so:libz.so.1=1"}},
	})
	// Last-Modified has a resolution of a second: make the new index newer
	// than the one the cache revalidates, as a real repository's would be.
	index := filepath.Join(dir, "repo", "x86_64", "APKINDEX.tar.gz")
	later := time.Now().Add(2 * time.Second)
	if err := os.Chtimes(index, later, later); err != nil {
		t.Fatal(err)
	}

	if code, out, stderr := apkpack(t, "lock", specPath, "--check", cache); code != 0 {
		t.Errorf("lock --check without --upgrade: exit %d, stdout %q, stderr %q", code, out, stderr)
	}
	code, out, stderr := apkpack(t, "lock", specPath, "--check", "--upgrade", cache)
	if code != 1 || !strings.Contains(out, "zlib 1.3.1-r5 -> 1.3.1-r6") {
		t.Errorf("lock --check --upgrade: exit %d, stdout %q, stderr %q", code, out, stderr)
	}
	if b, _ := os.ReadFile(lockPath); string(b) != string(old) {
		t.Error("lock --check --upgrade wrote the lockfile")
	}
	if code, out, stderr := apkpack(t, "lock", specPath, "--upgrade", "zlib", cache); code != 0 ||
		!strings.Contains(out, "zlib 1.3.1-r5 -> 1.3.1-r6") {
		t.Errorf("lock --upgrade zlib: exit %d, stdout %q, stderr %q", code, out, stderr)
	}

	oldPath := filepath.Join(dir, "old.apk.lock.json")
	secdb := filepath.Join(dir, "security.json")
	if err := os.WriteFile(oldPath, old, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(secdb, []byte(`{"packages": [{"pkg": {"name": "zlib", `+
		`"secfixes": {"1.3.1-r6": ["CVE-2026-0001"]}}}]}`), 0o644); err != nil {
		t.Fatal(err)
	}
	code, out, stderr = apkpack(t, "diff", oldPath, lockPath, "--secdb", secdb)
	if code != 0 || !strings.Contains(out, "zlib 1.3.1-r5 -> 1.3.1-r6 (upgraded) fixes CVE-2026-0001") ||
		!strings.Contains(out, "1 vulnerabilities fixed") {
		t.Errorf("diff --secdb: exit %d, stdout %q, stderr %q", code, out, stderr)
	}

	// Another JSON document, such as a lockfile, is no security database.
	code, out, stderr = apkpack(t, "diff", oldPath, lockPath, "--secdb", oldPath)
	if code != 1 || out != "" || !strings.Contains(stderr, oldPath+": parsing security database") ||
		!strings.Contains(stderr, "not a security database") {
		t.Errorf("diff --secdb LOCKFILE: exit %d, stdout %q, stderr %q", code, out, stderr)
	}

	// A name in the lockfile but not the world may be upgraded; a name in
	// neither is a typo.
	if code, out, stderr := apkpack(t, "lock", specPath, "--upgrade", "glibc", cache); code != 0 {
		t.Errorf("lock --upgrade glibc: exit %d, stdout %q, stderr %q", code, out, stderr)
	}
	code, out, stderr = apkpack(t, "lock", specPath, "--upgrade", "zlib", "nosuch", cache)
	if code != 1 || out != "" || !strings.Contains(stderr, "--upgrade nosuch: not in the spec's packages nor in "+lockPath) {
		t.Errorf("lock --upgrade nosuch: exit %d, stdout %q, stderr %q", code, out, stderr)
	}
}
