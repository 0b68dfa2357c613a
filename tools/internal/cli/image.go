package cli

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/rules-apk/rules_apk/tools/internal/image"
	"github.com/spf13/cobra"
)

func init() { commandBuilders = append(commandBuilders, newImageCmd) }

type imageOptions struct {
	plan        layerPlan
	entrypoint  []string
	cmd         []string
	env         []string
	user        string
	workdir     string
	labels      []string
	annotations []string
	output      string
	format      string
	tag         string
	created     string
	json        bool
}

func newImageCmd() *cobra.Command {
	o := &imageOptions{}
	cmd := &cobra.Command{
		Use:   "image --platform OS/ARCH --layer TAR... -o DIR",
		Short: "Assemble an OCI image from layer tars, from scratch",
		Long: `Assemble an image from layer tars with no base image (scratch) and write it
as an OCI image layout (a directory: oci-layout, index.json, blobs/sha256) or,
with --format docker, as a tarball that docker load accepts.

Layers are tar, tar.gz or tar.zst files, told apart by their first bytes.
Compressed layers are used as they are; plain tars are gzip-compressed
(deterministically: same tar, same digest).

Platforms and layers bind by position on the command line:
  - layers given before the first --platform are common to every platform
    and come first, bottom layer first;
  - layers given after a --platform belong to that platform only.
One --platform gives one image; several give an image index.

The config's created time, and each layer's history entry, come from
--created, else $SOURCE_DATE_EPOCH, else the unix epoch: the same inputs give
the same digests. The image digest (the index's with several platforms) is
printed on stdout; --json prints it with each platform's manifest digest.
The output is written beside its destination and renamed into place.`,
		Example: `  # One platform:
  apkpack image --platform linux/amd64 --layer runtime.tar.gz --layer app.tar \
      --entrypoint /usr/bin/app --env PATH=/usr/bin -o image/

  # Two platforms sharing a first layer:
  apkpack image --layer config.tar \
      --platform linux/amd64 --layer runtime-x86_64.tar.gz \
      --platform linux/arm64 --layer runtime-aarch64.tar.gz -o image/

  # A tarball for docker load:
  apkpack image --platform linux/amd64 --layer rootfs.tar --format docker \
      --tag example.com/app:1.0 -o app.tar`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runImage(cmd.Context(), cmd.OutOrStdout(), o)
		},
	}
	f := cmd.Flags()
	f.Var(&platformFlag{&o.plan}, "platform",
		"OS/ARCH[/VARIANT] of an image, e.g. linux/amd64 (repeat for an index; "+
			"the --layer flags that follow bind to it)")
	f.Var(&layerFlag{&o.plan}, "layer",
		"layer file: tar, tar.gz or tar.zst (repeatable; before any --platform: common to all)")
	f.StringArrayVar(&o.entrypoint, "entrypoint", nil, "one entrypoint argument (repeatable)")
	f.StringArrayVar(&o.cmd, "cmd", nil, "one default argument (repeatable)")
	f.StringArrayVar(&o.env, "env", nil, "KEY=VALUE environment entry (repeatable)")
	f.StringVar(&o.user, "user", "", "user (and group) to run as, e.g. 65532 or nonroot:nonroot")
	f.StringVar(&o.workdir, "workdir", "", "absolute working directory")
	f.StringArrayVar(&o.labels, "label", nil, "KEY=VALUE config label (repeatable)")
	f.StringArrayVar(&o.annotations, "annotation", nil,
		"KEY=VALUE manifest and index annotation (repeatable)")
	f.StringVarP(&o.output, "output", "o", "", "output directory (oci) or file (docker) (required)")
	f.StringVar(&o.format, "format", "oci", "output format: oci (image layout) or docker (tarball)")
	f.StringVar(&o.tag, "tag", "", "NAME:TAG of the image (required with --format docker)")
	f.StringVar(&o.created, "created", "",
		"creation time, RFC 3339 or unix seconds (default: $SOURCE_DATE_EPOCH or 0)")
	f.BoolVar(&o.json, "json", false, "print the digests as JSON")
	_ = cmd.MarkFlagRequired("output")
	return cmd
}

// layerPlan records --platform and --layer in command-line order, which a
// plain string-array flag would lose.
type layerPlan struct {
	common    []string
	platforms []string
	layers    [][]string
}

// platformFlag starts a new platform in the plan.
type platformFlag struct{ p *layerPlan }

func (f *platformFlag) Set(s string) error {
	f.p.platforms = append(f.p.platforms, s)
	f.p.layers = append(f.p.layers, nil)
	return nil
}

func (f *platformFlag) String() string { return "" }
func (f *platformFlag) Type() string   { return "platform" }

// layerFlag adds a layer to the latest platform, or to the common layers.
type layerFlag struct{ p *layerPlan }

func (f *layerFlag) Set(s string) error {
	if n := len(f.p.platforms); n > 0 {
		f.p.layers[n-1] = append(f.p.layers[n-1], s)
	} else {
		f.p.common = append(f.p.common, s)
	}
	return nil
}

func (f *layerFlag) String() string { return "" }
func (f *layerFlag) Type() string   { return "file" }

// platforms resolves the plan into one layer list per platform.
func (p *layerPlan) resolve() ([]image.PlatformLayers, error) {
	if len(p.platforms) == 0 {
		return nil, fmt.Errorf("no --platform given: name the image's platform, " +
			"e.g. --platform linux/amd64")
	}
	out := make([]image.PlatformLayers, 0, len(p.platforms))
	for i, s := range p.platforms {
		plat, err := image.ParsePlatform(s)
		if err != nil {
			return nil, fmt.Errorf("--platform: %w", err)
		}
		layers := append(append([]string(nil), p.common...), p.layers[i]...)
		out = append(out, image.PlatformLayers{Platform: plat, Layers: layers})
	}
	return out, nil
}

// imageJSON is what --json prints.
type imageJSON struct {
	Digest    string         `json:"digest"`
	MediaType string         `json:"mediaType"`
	Manifests []manifestJSON `json:"manifests"`
}

type manifestJSON struct {
	Platform string `json:"platform"`
	Digest   string `json:"digest"`
	Config   string `json:"config"`
}

func runImage(ctx context.Context, out io.Writer, o *imageOptions) error {
	bo, err := o.buildOptions()
	if err != nil {
		return err
	}
	if o.format != "oci" && o.format != "docker" {
		return fmt.Errorf("--format %q: want oci or docker", o.format)
	}
	if o.format == "docker" && o.tag == "" {
		return fmt.Errorf("--format docker needs --tag NAME:TAG: docker load names the image with it")
	}

	res, err := image.Build(ctx, bo)
	if err != nil {
		return err
	}
	defer res.Close()

	wo := image.WriteOptions{Tag: o.tag}
	if o.format == "docker" {
		err = image.WriteTarball(o.output, res, wo)
	} else {
		err = image.WriteLayout(o.output, res, wo)
	}
	if err != nil {
		return err
	}
	return printImage(out, res, o.json)
}

// buildOptions checks and converts the flags.
func (o *imageOptions) buildOptions() (image.Options, error) {
	plats, err := o.plan.resolve()
	if err != nil {
		return image.Options{}, err
	}
	created, err := creationTime(o.created)
	if err != nil {
		return image.Options{}, err
	}
	if err := checkEnv(o.env); err != nil {
		return image.Options{}, err
	}
	labels, err := keyValues("--label", o.labels)
	if err != nil {
		return image.Options{}, err
	}
	annotations, err := keyValues("--annotation", o.annotations)
	if err != nil {
		return image.Options{}, err
	}
	if o.workdir != "" && !strings.HasPrefix(o.workdir, "/") {
		return image.Options{}, fmt.Errorf("--workdir %q: want an absolute path", o.workdir)
	}
	return image.Options{
		Platforms: plats,
		Config: image.Config{
			Entrypoint: o.entrypoint, Cmd: o.cmd, Env: o.env,
			User: o.user, WorkingDir: o.workdir, Labels: labels,
		},
		Annotations: annotations,
		Created:     created,
		Logger:      logger(),
	}, nil
}

// creationTime is --created, else $SOURCE_DATE_EPOCH, else the zero time
// (the unix epoch in the image).
func creationTime(flag string) (time.Time, error) {
	if flag != "" {
		t, err := image.ParseCreated(flag)
		if err != nil {
			return time.Time{}, fmt.Errorf("--created: %w", err)
		}
		return t, nil
	}
	if env := os.Getenv("SOURCE_DATE_EPOCH"); env != "" {
		t, err := image.ParseCreated(env)
		if err != nil {
			return time.Time{}, fmt.Errorf("reading SOURCE_DATE_EPOCH: %w", err)
		}
		return t, nil
	}
	return time.Time{}, nil
}

func checkEnv(env []string) error {
	for _, kv := range env {
		if k, _, ok := strings.Cut(kv, "="); !ok || k == "" {
			return fmt.Errorf("--env %q: want KEY=VALUE (the value may be empty: KEY=)", kv)
		}
	}
	return nil
}

// keyValues reads KEY=VALUE flags into a map; a key given twice is an
// error rather than a silent override.
func keyValues(flag string, kvs []string) (map[string]string, error) {
	if len(kvs) == 0 {
		return nil, nil
	}
	m := make(map[string]string, len(kvs))
	for _, kv := range kvs {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" {
			return nil, fmt.Errorf("%s %q: want KEY=VALUE", flag, kv)
		}
		if _, dup := m[k]; dup {
			return nil, fmt.Errorf("%s: key %q given twice", flag, k)
		}
		m[k] = v
	}
	return m, nil
}

func printImage(out io.Writer, res *image.Result, asJSON bool) error {
	digest, err := res.Digest()
	if err != nil {
		return err
	}
	if !asJSON {
		_, err := fmt.Fprintln(out, digest)
		return err
	}
	j := imageJSON{Digest: digest.String(), MediaType: string(types.OCIManifestSchema1)}
	if res.Index != nil {
		j.MediaType = string(types.OCIImageIndex)
	}
	for _, pi := range res.Images {
		m, err := manifestDigests(pi)
		if err != nil {
			return err
		}
		j.Manifests = append(j.Manifests, m)
	}
	return writeJSON(out, j)
}

func manifestDigests(pi image.PlatformImage) (manifestJSON, error) {
	var d, c v1.Hash
	var err error
	if d, err = pi.Image.Digest(); err == nil {
		c, err = pi.Image.ConfigName()
	}
	if err != nil {
		return manifestJSON{}, fmt.Errorf("computing the %s digests: %w",
			image.FormatPlatform(pi.Platform), err)
	}
	return manifestJSON{Platform: image.FormatPlatform(pi.Platform), Digest: d.String(),
		Config: c.String()}, nil
}
