package cli

import (
	"crypto/sha1"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	spdxjson "github.com/spdx/tools-golang/json"
	"github.com/spdx/tools-golang/spdx/v2/v2_3"

	"github.com/rules-apk/rules_apk/tools/internal/lock"
	"github.com/rules-apk/rules_apk/tools/internal/testrepo"
	"github.com/rules-apk/rules_apk/tools/internal/testutil"
)

// layerFixture locks a small signed repository and returns the lockfile
// path and a cache directory.
func layerFixture(t *testing.T) (lockPath, cache string) {
	t.Helper()
	lockPath, cache, _ = mirroredLayerFixture(t, "")
	return lockPath, cache
}

// mirroredLayerFixture is layerFixture; with a canonical URL, the spec names that
// repository and apkpack lock reads it through a mirror to repoDir.
func mirroredLayerFixture(t *testing.T, canonical string) (lockPath, cache, repoDir string) {
	t.Helper()
	return lockedRepo(t, canonical, fixturePkgs())
}

// fixturePkgs are the packages of layerFixture: zlib, which depends on a
// usr-merged baselayout.
func fixturePkgs() []testrepo.Pkg {
	return []testrepo.Pkg{
		{Name: "baselayout", Version: "1-r0", BuildTime: 100, Provides: []string{"merged-lib"},
			Files: map[string]string{"etc/os-release": "ID=fixture\nVERSION_ID=3\n",
				"usr/lib/": "", "lib": "->usr/lib"}},
		{Name: "zlib", Version: "1.3.1-r0", BuildTime: 300, Depends: []string{"baselayout"},
			License: "Zlib", Files: map[string]string{"lib/libz.so.1": "zlib"}},
	}
}

// lockedRepo builds a signed repository of pkgs and locks zlib from it (see
// mirroredLayerFixture for canonical).
func lockedRepo(t *testing.T, canonical string, pkgs []testrepo.Pkg) (lockPath, cache,
	repoDir string) {
	t.Helper()
	dir := t.TempDir()
	repoDir = filepath.Join(dir, "repo")
	testrepo.Build(t, repoDir, pkgs)
	testrepo.WriteKey(t, dir)
	specPath := filepath.Join(dir, "runtime.apk.yaml")
	repoURL := "file://" + repoDir
	args := []string{"lock", specPath}
	if canonical != "" {
		repoURL = canonical
		args = append(args, "--mirror", canonical+"=file://"+repoDir)
	}
	spec := "contents:\n  repositories: [" + repoURL + "]\n  keyring: [test.rsa.pub]\n" +
		"  packages: [zlib]\narchs: [x86_64]\n"
	if err := os.WriteFile(specPath, []byte(spec), 0o644); err != nil {
		t.Fatal(err)
	}
	cache = filepath.Join(dir, "cache")
	if code, _, stderr := apkpack(t, append(args, "--cache-dir", cache)...); code != 0 {
		t.Fatalf("apkpack lock: exit %d: %s", code, stderr)
	}
	return filepath.Join(dir, "runtime.apk.lock.json"), cache, repoDir
}

// TestMirror fetches and layers a lockfile that names an unreachable
// repository, through --mirror and an empty cache.
func TestMirror(t *testing.T) {
	const canonical = "https://apk.example.invalid/os"
	lockPath, cache, repoDir := mirroredLayerFixture(t, canonical)
	l, err := lock.Load(lockPath)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range l.Packages {
		if !strings.HasPrefix(p.URL, canonical+"/") {
			t.Errorf("the lockfile pins %s at %s, want the canonical repository", p.Name, p.URL)
		}
	}
	mirror := canonical + "=file://" + repoDir
	out := t.TempDir()
	code, stdout, stderr := apkpack(t, "fetch", lockPath, "-o", filepath.Join(out, "packages"),
		"--cache-dir", filepath.Join(out, "cache1"), "--mirror", mirror)
	if code != 0 || strings.Count(stdout, ".apk\n") != 2 {
		t.Fatalf("apkpack fetch --mirror: exit %d, stdout %q, stderr %s", code, stdout, stderr)
	}
	mirrored := filepath.Join(out, "mirrored.tar")
	code, _, stderr = apkpack(t, "layer", lockPath, "-o", mirrored,
		"--cache-dir", filepath.Join(out, "cache2"), "--mirror", mirror)
	if code != 0 {
		t.Fatalf("apkpack layer --mirror: exit %d: %s", code, stderr)
	}
	fetched := filepath.Join(out, "fetched.tar")
	code, _, stderr = apkpack(t, "layer", lockPath, "-o", fetched,
		"--packages-dir", filepath.Join(out, "packages"))
	if code != 0 {
		t.Fatalf("apkpack layer --packages-dir: exit %d: %s", code, stderr)
	}
	if fileSHA256(t, mirrored) != fileSHA256(t, fetched) {
		t.Errorf("the layer built through the mirror differs from the one of the fetched packages")
	}

	// Packages read from a file:// repository are not copied into the
	// cache, so without the mirror the canonical URL is all there is.
	code, _, stderr = apkpack(t, "layer", lockPath, "-o", filepath.Join(out, "x.tar"),
		"--cache-dir", cache)
	if code != 1 || !strings.Contains(stderr, "zlib-1.3.1-r0") ||
		!strings.Contains(stderr, "<url> is e.g. "+canonical+"/x86_64/") {
		t.Errorf("no mirror: exit %d, stderr %s", code, stderr)
	}

	// A mirror without the packages fails, naming them and where it looked.
	empty := t.TempDir()
	code, _, stderr = apkpack(t, "layer", lockPath, "-o", filepath.Join(out, "x.tar"),
		"--cache-dir", filepath.Join(out, "cache3"), "--mirror", canonical+"=file://"+empty)
	if code != 1 || !strings.Contains(stderr, "zlib-1.3.1-r0") || !strings.Contains(stderr, empty) {
		t.Errorf("empty mirror: exit %d, stderr %s", code, stderr)
	}
}

func TestFetchThenLayer(t *testing.T) {
	lockPath, cache := layerFixture(t)
	out := t.TempDir()
	pkgDir := filepath.Join(out, "packages")
	code, stdout, stderr := apkpack(t, "fetch", lockPath, "--arch", "x86_64", "-o", pkgDir,
		"--cache-dir", cache)
	if code != 0 {
		t.Fatalf("apkpack fetch: exit %d: %s", code, stderr)
	}
	want := filepath.Join(pkgDir, "baselayout-1-r0.apk") + "\n" +
		filepath.Join(pkgDir, "zlib-1.3.1-r0.apk") + "\n"
	if diff := cmp.Diff(want, stdout); diff != "" {
		t.Errorf("fetch stdout (-want +got):\n%s", diff)
	}

	layerPath := filepath.Join(out, "layer.tar.gz")
	sbomPath := filepath.Join(out, "layer.spdx.json")
	code, stdout, stderr = apkpack(t, "layer", lockPath, "--packages-dir", pkgDir,
		"-o", layerPath, "--sbom", sbomPath, "--json")
	if code != 0 {
		t.Fatalf("apkpack layer: exit %d: %s", code, stderr)
	}
	var v layerResultView
	if err := json.Unmarshal([]byte(stdout), &v); err != nil {
		t.Fatalf("layer --json: %v\n%s", err, stdout)
	}
	for _, p := range []string{layerPath, sbomPath} {
		if fi, err := os.Stat(p); err != nil || fi.Mode().Perm() != 0o644 {
			t.Errorf("%s: mode %v (%v), want 0644", p, fi.Mode(), err)
		}
	}
	if len(v.Layers) != 1 || v.Layers[0].Digest != "sha256:"+fileSHA256(t, layerPath) {
		t.Errorf("layer --json says %+v; the file's sha256 is %s", v.Layers, fileSHA256(t, layerPath))
	}
	if v.Layers[0].MediaType != "application/vnd.oci.image.layer.v1.tar+gzip" ||
		v.OSRelease.ID != "fixture" || v.Epoch != 300 {
		t.Errorf("layer --json says %+v", v)
	}
	doc := readSBOM(t, sbomPath)
	var purls []string
	for _, p := range doc.Packages {
		purls = append(purls, p.PackageExternalReferences[0].Locator)
	}
	wantPURLs := []string{"pkg:apk/fixture/baselayout@1-r0?arch=x86_64&distro=fixture-3",
		"pkg:apk/fixture/zlib@1.3.1-r0?arch=x86_64&distro=fixture-3"}
	if diff := cmp.Diff(wantPURLs, purls); diff != "" {
		t.Errorf("SBOM purls (-want +got):\n%s", diff)
	}

	// The same packages passed as files, or found in the cache, give the
	// same bytes.
	again := filepath.Join(out, "again.tar.gz")
	code, _, stderr = apkpack(t, "layer", lockPath,
		"--package", filepath.Join(pkgDir, "zlib-1.3.1-r0.apk"),
		"--package", filepath.Join(pkgDir, "baselayout-1-r0.apk"), "-o", again)
	if code != 0 {
		t.Fatalf("apkpack layer --package: exit %d: %s", code, stderr)
	}
	cached := filepath.Join(out, "cached.tar.gz")
	if code, _, stderr = apkpack(t, "layer", lockPath, "--cache-dir", cache, "-o", cached); code != 0 {
		t.Fatalf("apkpack layer from the cache: exit %d: %s", code, stderr)
	}
	for _, p := range []string{again, cached} {
		if fileSHA256(t, p) != fileSHA256(t, layerPath) {
			t.Errorf("%s differs from %s", p, layerPath)
		}
	}
}

// TestFetchFailureLeavesNoDir: a failed fetch removes the directories it
// created, and what it put in them, but keeps a directory that existed.
func TestFetchFailureLeavesNoDir(t *testing.T) {
	lockPath, cache := layerFixture(t)
	l, err := lock.Load(lockPath)
	if err != nil {
		t.Fatal(err)
	}
	l.Packages[1].DataHash = strings.Repeat("0", 64)
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.apk.lock.json")
	if err := l.WriteFile(bad); err != nil {
		t.Fatal(err)
	}
	created := filepath.Join(dir, "new")
	code, _, stderr := apkpack(t, "fetch", bad, "-o", filepath.Join(created, "packages"), "--cache-dir", cache)
	if code != 1 || !strings.Contains(stderr, "datahash") {
		t.Errorf("fetch of a bad datahash: exit %d, stderr %q", code, stderr)
	}
	if _, err := os.Stat(created); !os.IsNotExist(err) {
		t.Errorf("a failed fetch left %s behind (%v)", created, err)
	}
	if code, _, _ := apkpack(t, "fetch", bad, "-o", dir, "--cache-dir", cache); code != 1 {
		t.Errorf("fetch of a bad datahash into an existing directory: exit %d", code)
	}
	if _, err := os.Stat(bad); err != nil {
		t.Errorf("a failed fetch into an existing directory removed what it held: %v", err)
	}
}

func TestLayerEpochAndErrors(t *testing.T) {
	lockPath, cache := layerFixture(t)
	out := t.TempDir()
	t.Setenv("SOURCE_DATE_EPOCH", "1234")
	code, stdout, stderr := apkpack(t, "layer", lockPath, "--cache-dir", cache,
		"-o", filepath.Join(out, "l.tar"), "--json")
	if code != 0 || !strings.Contains(stdout, `"epoch": 1234`) {
		t.Errorf("SOURCE_DATE_EPOCH: exit %d, stdout %s, stderr %s", code, stdout, stderr)
	}
	code, stdout, _ = apkpack(t, "layer", lockPath, "--cache-dir", cache,
		"-o", filepath.Join(out, "l.tar"), "--json", "--source-date-epoch", "7")
	if code != 0 || !strings.Contains(stdout, `"epoch": 7`) {
		t.Errorf("--source-date-epoch: exit %d, stdout %s", code, stdout)
	}

	l, err := lock.Load(lockPath)
	if err != nil {
		t.Fatal(err)
	}
	l.Packages[1].DataHash = strings.Repeat("0", 64)
	bad := filepath.Join(out, "bad.apk.lock.json")
	if err := l.WriteFile(bad); err != nil {
		t.Fatal(err)
	}
	code, _, stderr = apkpack(t, "layer", bad, "--cache-dir", cache, "-o", filepath.Join(out, "bad.tar"))
	if code != 1 || !strings.Contains(stderr, "datahash") {
		t.Errorf("bad datahash: exit %d, stderr %s", code, stderr)
	}
	if _, err := os.Stat(filepath.Join(out, "bad.tar")); !os.IsNotExist(err) {
		t.Errorf("a failed build left its output: %v", err)
	}
	code, _, stderr = apkpack(t, "layer", lockPath, "--arch", "s390x", "-o", filepath.Join(out, "x"))
	if code != 1 || !strings.Contains(stderr, "no arch s390x") {
		t.Errorf("unknown arch: exit %d, stderr %s", code, stderr)
	}
	code, _, stderr = apkpack(t, "layer", lockPath, "--layering", "origin:0", "-o", filepath.Join(out, "x"))
	if code != 1 || !strings.Contains(stderr, "positive integer") {
		t.Errorf("bad layering: exit %d, stderr %s", code, stderr)
	}
}

// TestLayerStrictScripts layers a package with a post-install script, which
// apkpack does not run: a warning naming it, or with --strict-scripts an
// error naming it and no layer.
func TestLayerStrictScripts(t *testing.T) {
	pkgs := fixturePkgs()
	pkgs[1].Scripts = map[string]string{".post-install": "#!/bin/sh\nldconfig\n"}
	lockPath, cache, _ := lockedRepo(t, "", pkgs)
	out := filepath.Join(t.TempDir(), "l.tar")
	code, stdout, stderr := apkpack(t, "layer", lockPath, "--cache-dir", cache, "-o", out,
		"--json")
	if code != 0 || !strings.Contains(stderr, "zlib-1.3.1-r0.post-install") ||
		!strings.Contains(stdout, `"zlib-1.3.1-r0.post-install"`) {
		t.Errorf("without --strict-scripts: exit %d, stdout %s, stderr %s", code, stdout, stderr)
	}
	if err := os.Remove(out); err != nil {
		t.Fatal(err)
	}
	code, _, stderr = apkpack(t, "layer", lockPath, "--cache-dir", cache, "-o", out,
		"--strict-scripts")
	if code != 1 || !strings.Contains(stderr, "zlib-1.3.1-r0.post-install") {
		t.Errorf("--strict-scripts: exit %d, stderr %s", code, stderr)
	}
	if _, err := os.Stat(out); !os.IsNotExist(err) {
		t.Errorf("--strict-scripts failed but left the layer: %v", err)
	}
}

// TestLayerAllOrNothing checks that a failed apkpack layer leaves no new
// output: an SBOM that cannot be written fails before the layer appears
// (and an earlier layer stays as it was), and a directory of layers is
// replaced as a whole, without the layers of an earlier run.
func TestLayerAllOrNothing(t *testing.T) {
	lockPath, cache := layerFixture(t)
	out := t.TempDir()
	layerPath := filepath.Join(out, "l.tar")
	for _, sbomPath := range []string{filepath.Join(out, "missing", "s.json"), out} {
		code, _, stderr := apkpack(t, "layer", lockPath, "--cache-dir", cache, "-o", layerPath,
			"--sbom", sbomPath)
		if code != 1 || !strings.Contains(stderr, "--sbom") || !strings.Contains(stderr, sbomPath) {
			t.Errorf("--sbom %s: exit %d, stderr %s", sbomPath, code, stderr)
		}
		if _, err := os.Stat(layerPath); !os.IsNotExist(err) {
			t.Errorf("--sbom %s failed but left the layer: %v", sbomPath, err)
		}
	}
	if code, _, stderr := apkpack(t, "layer", lockPath, "--cache-dir", cache, "-o", layerPath,
		"--source-date-epoch", "1"); code != 0 {
		t.Fatalf("apkpack layer: exit %d: %s", code, stderr)
	}
	before := fileSHA256(t, layerPath)
	code, _, _ := apkpack(t, "layer", lockPath, "--cache-dir", cache, "-o", layerPath,
		"--sbom", filepath.Join(out, "missing", "s.json"))
	if code != 1 || fileSHA256(t, layerPath) != before {
		t.Errorf("a failed run replaced the earlier layer (exit %d)", code)
	}
	if entries, _ := os.ReadDir(out); len(entries) != 1 {
		t.Errorf("the output directory holds %v, want only l.tar", entries)
	}

	// Several layers: an earlier run's extra layer goes.
	dir := filepath.Join(out, "layers")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "007.tar"), []byte("stale"), 0o644); err != nil {
		t.Fatal(err)
	}
	code, stdout, stderr := apkpack(t, "layer", lockPath, "--cache-dir", cache, "-o", dir,
		"--layering", "per-package")
	if code != 0 {
		t.Fatalf("apkpack layer --layering per-package: exit %d: %s", code, stderr)
	}
	if diff := cmp.Diff([]string{"000.tar", "001.tar"}, testutil.DirNames(t, dir)); diff != "" {
		t.Errorf("layer directory (-want +got):\n%s", diff)
	}
	if strings.Count(stdout, "digest sha256:") != 2 {
		t.Errorf("stdout %q, want two layers", stdout)
	}

	// A directory holding files of its own is not replaced.
	mine := filepath.Join(out, "l.tar")
	code, _, stderr = apkpack(t, "layer", lockPath, "--cache-dir", cache, "-o", out,
		"--layering", "per-package")
	if code != 1 || !strings.Contains(stderr, "holds l.tar") {
		t.Errorf("-o a directory of other files: exit %d, stderr %s", code, stderr)
	}
	if fileSHA256(t, mine) != before {
		t.Errorf("%s changed", mine)
	}
}

// TestLayerSBOMPerLayer builds one layer per package with --sbom: beside
// each layer lies the SBOM of the packages it holds, referring to the
// closure's SBOM (by namespace and SHA-1) for dependencies on the others.
func TestLayerSBOMPerLayer(t *testing.T) {
	lockPath, cache := layerFixture(t)
	out := t.TempDir()
	dir, sbomPath := filepath.Join(out, "layers"), filepath.Join(out, "closure.spdx.json")
	code, _, stderr := apkpack(t, "layer", lockPath, "--cache-dir", cache, "-o", dir,
		"--layering", "per-package", "--sbom", sbomPath)
	if code != 0 {
		t.Fatalf("apkpack layer: exit %d: %s", code, stderr)
	}
	if diff := cmp.Diff([]string{"000.spdx.json", "000.tar", "001.spdx.json", "001.tar"},
		testutil.DirNames(t, dir)); diff != "" {
		t.Errorf("layer directory (-want +got):\n%s", diff)
	}
	packages := func(doc *v2_3.Document) []string {
		var out []string
		for _, p := range doc.Packages {
			out = append(out, p.PackageName)
		}
		return out
	}
	closure := readSBOM(t, sbomPath)
	if diff := cmp.Diff([]string{"baselayout", "zlib"}, packages(closure)); diff != "" {
		t.Errorf("closure SBOM packages (-want +got):\n%s", diff)
	}
	sum := sha1.Sum(mustRead(t, sbomPath))
	for i, want := range [][]string{{"baselayout"}, {"zlib"}} {
		doc := readSBOM(t, filepath.Join(dir, fmt.Sprintf("%03d.spdx.json", i)))
		if diff := cmp.Diff(want, packages(doc)); diff != "" {
			t.Errorf("layer %d SBOM packages (-want +got):\n%s", i, diff)
		}
		refs := doc.ExternalDocumentReferences
		if len(refs) != 1 || refs[0].URI != closure.DocumentNamespace ||
			refs[0].Checksum.Value != hex.EncodeToString(sum[:]) {
			t.Errorf("layer %d SBOM refers to %+v, want the closure's %s", i, refs,
				closure.DocumentNamespace)
		}
	}
	zlib := readSBOM(t, filepath.Join(dir, "001.spdx.json"))
	var deps []string
	for _, r := range zlib.Relationships {
		if r.Relationship == "DEPENDS_ON" {
			deps = append(deps, string(r.RefB.DocumentRefID)+":"+string(r.RefB.ElementRefID))
		}
	}
	if diff := cmp.Diff([]string{"closure:Package-apk-baselayout-1-r0"}, deps); diff != "" {
		t.Errorf("zlib's dependencies in its layer's SBOM (-want +got):\n%s", diff)
	}
}

// readSBOM reads an SPDX JSON document.
func readSBOM(t *testing.T, path string) *v2_3.Document {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	doc, err := spdxjson.Read(f)
	if err != nil {
		t.Fatalf("reading %s: %v", path, err)
	}
	return doc
}

func mustRead(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func fileSHA256(t *testing.T, path string) string {
	t.Helper()
	sum := sha256.Sum256(mustRead(t, path))
	return hex.EncodeToString(sum[:])
}
