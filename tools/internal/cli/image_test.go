package cli

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

// layerFile writes a one-file tar (gzip-compressed when zip is set) into
// dir and returns its path and the sha256 of the tar, its diffID.
func layerFile(t *testing.T, dir, name, content string, zip bool) (string, v1.Hash) {
	t.Helper()
	var tarBuf bytes.Buffer
	tw := tar.NewWriter(&tarBuf)
	hdr := &tar.Header{Name: "etc/" + name, Mode: 0o644, Size: int64(len(content)),
		ModTime: time.Unix(1700000000, 0)}
	if err := tw.WriteHeader(hdr); err != nil {
		t.Fatal(err)
	}
	tw.Write([]byte(content))
	tw.Close()
	data := tarBuf.Bytes()
	if zip {
		var zbuf bytes.Buffer
		zw := gzip.NewWriter(&zbuf)
		zw.Write(data)
		zw.Close()
		data = zbuf.Bytes()
	}
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(tarBuf.Bytes())
	return p, v1.Hash{Algorithm: "sha256", Hex: fmt.Sprintf("%x", sum)}
}

// imageResult reads a layout back: per platform, the manifest digest, the
// diffIDs and the config.
type imageResult struct {
	Digest  string
	DiffIDs []v1.Hash
	Config  v1.Config
	Created time.Time
}

func readLayout(t *testing.T, dir string) map[string]imageResult {
	t.Helper()
	idx, err := layout.ImageIndexFromPath(dir)
	if err != nil {
		t.Fatal(err)
	}
	im, err := idx.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	if len(im.Manifests) != 1 {
		t.Fatalf("index.json lists %d manifests, want 1", len(im.Manifests))
	}
	descs := im.Manifests
	if descs[0].MediaType.IsIndex() {
		if idx, err = idx.ImageIndex(descs[0].Digest); err != nil {
			t.Fatal(err)
		}
		inner, err := idx.IndexManifest()
		if err != nil {
			t.Fatal(err)
		}
		descs = inner.Manifests
	}
	out := map[string]imageResult{}
	for _, d := range descs {
		img, err := idx.Image(d.Digest)
		if err != nil {
			t.Fatal(err)
		}
		cfg, err := img.ConfigFile()
		if err != nil {
			t.Fatal(err)
		}
		out[d.Platform.String()] = imageResult{d.Digest.String(), cfg.RootFS.DiffIDs,
			cfg.Config, cfg.Created.Time}
	}
	return out
}

// TestImageIndex builds two platforms with a common layer and checks that
// each --layer bound to the right platform, and that --json tells the
// digests the layout holds.
func TestImageIndex(t *testing.T) {
	dir := t.TempDir()
	common, commonID := layerFile(t, dir, "common.tar.gz", "shared\n", true)
	amd, amdID := layerFile(t, dir, "amd.tar", "amd64\n", false)
	arm, armID := layerFile(t, dir, "arm.tar", "arm64\n", false)
	out := filepath.Join(dir, "image")
	code, stdout, stderr := apkpack(t, "image", "--layer", common,
		"--platform", "linux/amd64", "--layer", amd,
		"--platform", "linux/arm64/v8", "--layer", arm,
		"--entrypoint", "/usr/bin/app", "--entrypoint", "--flag", "--cmd", "serve",
		"--env", "PATH=/usr/bin", "--user", "65532", "--workdir", "/srv",
		"--label", "org.example=1", "--annotation", "org.opencontainers.image.source=demo",
		"--created", "2024-01-02T03:04:05Z", "--json", "-o", out)
	if code != 0 {
		t.Fatalf("image exit %d\nstderr:\n%s", code, stderr)
	}

	var j imageJSON
	if err := json.Unmarshal([]byte(stdout), &j); err != nil {
		t.Fatalf("stdout is not JSON: %v\n%s", err, stdout)
	}
	cfg := v1.Config{Entrypoint: []string{"/usr/bin/app", "--flag"}, Cmd: []string{"serve"},
		Env: []string{"PATH=/usr/bin"}, User: "65532", WorkingDir: "/srv",
		Labels: map[string]string{"org.example": "1"}}
	created := time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC)
	got := readLayout(t, out)
	want := map[string]imageResult{
		"linux/amd64": {j.Manifests[0].Digest, []v1.Hash{commonID, amdID}, cfg, created},
		"linux/arm64/v8": {j.Manifests[1].Digest, []v1.Hash{commonID, armID}, cfg,
			created},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("layout (-want +got):\n%s", diff)
	}
	if j.MediaType != "application/vnd.oci.image.index.v1+json" || len(j.Manifests) != 2 ||
		j.Manifests[0].Platform != "linux/amd64" || j.Manifests[1].Platform != "linux/arm64/v8" {
		t.Errorf("--json output: %+v", j)
	}
}

// TestImageSingle checks the plain output, SOURCE_DATE_EPOCH, and that the
// docker tarball holds the same image as the layout.
func TestImageSingle(t *testing.T) {
	t.Setenv("SOURCE_DATE_EPOCH", "1700000000")
	dir := t.TempDir()
	gz, gzID := layerFile(t, dir, "base.tar.gz", "base\n", true)
	plain, plainID := layerFile(t, dir, "app.tar", "app\n", false)
	args := []string{"image", "--platform", "linux/amd64", "--layer", gz, "--layer", plain}

	out := filepath.Join(dir, "image")
	code, stdout, stderr := apkpack(t, append(args, "-o", out)...)
	if code != 0 {
		t.Fatalf("image exit %d\nstderr:\n%s", code, stderr)
	}
	got := readLayout(t, out)["linux/amd64"]
	want := imageResult{strings.TrimSpace(stdout), []v1.Hash{gzID, plainID}, v1.Config{},
		time.Unix(1700000000, 0).UTC()}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("layout (-want +got):\n%s", diff)
	}
	if !strings.HasPrefix(stdout, "sha256:") || strings.Count(stdout, "\n") != 1 {
		t.Errorf("stdout %q, want one sha256: line", stdout)
	}

	tarPath := filepath.Join(dir, "image.tar")
	code, tarOut, stderr := apkpack(t, append(args, "--format", "docker",
		"--tag", "example.com/app:1", "-o", tarPath)...)
	if code != 0 || tarOut != stdout {
		t.Fatalf("docker format: exit %d, stdout %q (want %q)\nstderr:\n%s",
			code, tarOut, stdout, stderr)
	}
	img, err := tarball.ImageFromPath(tarPath, nil)
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]v1.Hash{gzID, plainID}, cfg.RootFS.DiffIDs); diff != "" {
		t.Errorf("tarball diffIDs (-want +got):\n%s", diff)
	}
}

// TestImageErrors gives bad flags and inputs: each fails with a message
// naming the culprit and leaves nothing in the output's directory.
func TestImageErrors(t *testing.T) {
	dir := t.TempDir()
	good, _ := layerFile(t, dir, "good.tar", "ok\n", false)
	notTar := filepath.Join(dir, "notes.txt")
	os.WriteFile(notTar, []byte("just some notes"), 0o644)
	base := func(extra ...string) []string {
		return append([]string{"image", "--platform", "linux/amd64", "--layer", good}, extra...)
	}
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"missing layer", base("--layer", filepath.Join(dir, "missing.tar")),
			"reading layer " + filepath.Join(dir, "missing.tar")},
		{"not a tar", base("--layer", notTar), "notes.txt: not a tar archive"},
		{"bad env", base("--env", "FOO"), `--env "FOO": want KEY=VALUE`},
		{"bad platform", []string{"image", "--platform", "linux/x86_64", "--layer", good},
			"the OCI platform is linux/amd64"},
		{"no platform", []string{"image", "--layer", good}, "no --platform given"},
		{"bad label", base("--label", "=v"), `--label "=v": want KEY=VALUE`},
		{"duplicate annotation", base("--annotation", "a=1", "--annotation", "a=2"),
			`--annotation: key "a" given twice`},
		{"relative workdir", base("--workdir", "srv"), `--workdir "srv": want an absolute path`},
		{"bad created", base("--created", "May 5"), "--created: parsing creation time"},
		{"bad format", base("--format", "zip"), `--format "zip": want oci or docker`},
		{"docker without tag", base("--format", "docker"), "--format docker needs --tag"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "image")
			code, stdout, stderr := apkpack(t, append(tt.args, "-o", out)...)
			if code != 1 || stdout != "" || !strings.Contains(stderr, tt.want) {
				t.Errorf("exit %d, stdout %q, stderr %q; want 1, nothing, an error with %q",
					code, stdout, stderr, tt.want)
			}
			if left, _ := os.ReadDir(filepath.Dir(out)); len(left) != 0 {
				t.Errorf("left behind: %v", left)
			}
		})
	}
}

// TestImageSourceDateEpochInvalid rejects a SOURCE_DATE_EPOCH that is not
// a time rather than falling back silently.
func TestImageSourceDateEpochInvalid(t *testing.T) {
	t.Setenv("SOURCE_DATE_EPOCH", "soon")
	dir := t.TempDir()
	good, _ := layerFile(t, dir, "good.tar", "ok\n", false)
	code, _, stderr := apkpack(t, "image", "--platform", "linux/amd64", "--layer", good,
		"-o", filepath.Join(dir, "image"))
	if code != 1 || !strings.Contains(stderr, "reading SOURCE_DATE_EPOCH") {
		t.Errorf("exit %d, stderr %q", code, stderr)
	}
}
