package image

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path"
	"path/filepath"
	"strings"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// Options says what Build assembles.
type Options struct {
	// Platforms lists one image per platform, in the order of the index.
	// One entry gives a single image, several an image index.
	Platforms []PlatformLayers

	// Config holds the runtime settings shared by every platform's image.
	Config Config

	// Annotations go on every image manifest and on the index.
	Annotations map[string]string

	// Created is the config's and the history's creation time; the zero
	// time means the unix epoch, so that an unset time stays reproducible.
	Created time.Time

	// TempDir holds gzip copies of plain tar layers until Result.Close;
	// empty means os.TempDir.
	TempDir string

	// Logger receives one Info record per layer; nil discards them.
	Logger *slog.Logger
}

// PlatformLayers is one platform's image: its layers, bottom first.
type PlatformLayers struct {
	Platform v1.Platform
	Layers   []string // layer files: tar, tar.gz or tar.zst
}

// Config is the execution part of an image config (image-spec config.md,
// "config" object). Empty fields are left out of the config.
type Config struct {
	Entrypoint []string
	Cmd        []string
	Env        []string // KEY=VALUE
	User       string
	WorkingDir string
	Labels     map[string]string
}

// Result is what Build assembled. Close it once written or pushed: it may
// hold temporary files.
type Result struct {
	// Images holds one image per platform, in the order of Options.Platforms.
	Images []PlatformImage

	// Index lists Images with their platforms when there are several; it is
	// nil for a single platform.
	Index v1.ImageIndex

	tmpDir string
}

// PlatformImage is one platform's built image.
type PlatformImage struct {
	Platform v1.Platform
	Image    v1.Image
}

// Digest returns the digest of the index, or of the single image manifest.
func (r *Result) Digest() (v1.Hash, error) {
	if r.Index != nil {
		return r.Index.Digest()
	}
	return r.Images[0].Image.Digest()
}

// Close removes the temporary gzip copies of plain tar layers.
func (r *Result) Close() error {
	if r.tmpDir == "" {
		return nil
	}
	err := os.RemoveAll(r.tmpDir)
	r.tmpDir = ""
	return err
}

// Build assembles an image per platform from scratch and, with several
// platforms, an index over them. Each layer file is read once; a file named
// by several platforms is read once in all.
func Build(ctx context.Context, o Options) (_ *Result, err error) {
	if err := validate(o); err != nil {
		return nil, err
	}
	log := o.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	built := &Result{}
	defer func() {
		if err != nil {
			built.Close()
		}
	}()

	loader := &layerLoader{ctx: ctx, res: built, tempDir: o.TempDir, log: log,
		loaded: map[string]v1.Layer{}}
	for _, pl := range o.Platforms {
		img, err := buildImage(loader, pl, o)
		if err != nil {
			return nil, err
		}
		built.Images = append(built.Images, PlatformImage{Platform: pl.Platform, Image: img})
	}
	if len(built.Images) > 1 {
		built.Index = buildIndex(built.Images, o.Annotations)
	}

	// Computing the digest now surfaces serialization errors here rather
	// than in a writer.
	if _, err := built.Digest(); err != nil {
		return nil, fmt.Errorf("computing the image digest: %w", err)
	}
	return built, nil
}

// validate checks what the config and the platforms must satisfy before a
// layer is read.
func validate(o Options) error {
	if len(o.Platforms) == 0 {
		return errors.New("building an image: no platform given")
	}
	seen := map[string]bool{}
	for _, pl := range o.Platforms {
		p := FormatPlatform(pl.Platform)
		if pl.Platform.OS == "" || pl.Platform.Architecture == "" {
			return fmt.Errorf("building an image: platform %q lacks an os or architecture", p)
		}
		if seen[p] {
			return fmt.Errorf("building an image: platform %s given twice", p)
		}
		seen[p] = true
	}
	for _, kv := range o.Config.Env {
		if k, _, ok := strings.Cut(kv, "="); !ok || k == "" {
			return fmt.Errorf("building an image: environment entry %q is not KEY=VALUE", kv)
		}
	}
	if wd := o.Config.WorkingDir; wd != "" && !path.IsAbs(wd) {
		return fmt.Errorf("building an image: working directory %q is not absolute", wd)
	}
	return nil
}

// layerLoader loads each layer file once per Build.
type layerLoader struct {
	ctx     context.Context
	res     *Result
	tempDir string
	log     *slog.Logger
	loaded  map[string]v1.Layer
}

func (ll *layerLoader) load(path string) (v1.Layer, error) {
	key := filepath.Clean(path)
	if l, ok := ll.loaded[key]; ok {
		return l, nil
	}
	l, err := loadLayer(ll.ctx, path, ll.mkTemp)
	if err != nil {
		return nil, err
	}
	digest, _ := l.Digest()
	diffID, _ := l.DiffID()
	ll.log.Info("layer", "file", path, "digest", digest, "diff_id", diffID)
	ll.loaded[key] = l
	return l, nil
}

// mkTemp creates the Result's temporary directory on first use.
func (ll *layerLoader) mkTemp() (string, error) {
	if ll.res.tmpDir != "" {
		return ll.res.tmpDir, nil
	}
	dir, err := os.MkdirTemp(ll.tempDir, "apkpack-image-*")
	if err != nil {
		return "", fmt.Errorf("creating a directory for compressed layers: %w", err)
	}
	ll.res.tmpDir = dir
	return dir, nil
}

// buildImage assembles one platform's image: config first, then the layers
// with their history entries, then the annotations.
func buildImage(ll *layerLoader, pl PlatformLayers, o Options) (v1.Image, error) {
	created := v1.Time{Time: o.Created.UTC()}
	if o.Created.IsZero() {
		created = v1.Time{Time: time.Unix(0, 0).UTC()}
	}
	img := mutate.MediaType(empty.Image, types.OCIManifestSchema1)
	img = mutate.ConfigMediaType(img, types.OCIConfigJSON)
	img, err := mutate.ConfigFile(img, configFile(pl.Platform, o.Config, created))
	if err != nil {
		return nil, fmt.Errorf("building the %s config: %w", FormatPlatform(pl.Platform), err)
	}

	adds := make([]mutate.Addendum, 0, len(pl.Layers))
	for _, path := range pl.Layers {
		l, err := ll.load(path)
		if err != nil {
			return nil, err
		}
		adds = append(adds, mutate.Addendum{Layer: l, History: v1.History{
			Created:   created,
			CreatedBy: "apkpack image --layer " + filepath.Base(path),
		}})
	}
	img, err = mutate.Append(img, adds...)
	if err != nil {
		return nil, fmt.Errorf("adding layers to the %s image: %w", FormatPlatform(pl.Platform), err)
	}
	if len(o.Annotations) > 0 {
		img = mutate.Annotations(img, o.Annotations).(v1.Image)
	}
	return img, nil
}

// configFile is a scratch image's config before its layers are added.
func configFile(p v1.Platform, c Config, created v1.Time) *v1.ConfigFile {
	return &v1.ConfigFile{
		Architecture: p.Architecture,
		OS:           p.OS,
		Variant:      p.Variant,
		Created:      created,
		RootFS:       v1.RootFS{Type: "layers"},
		Config: v1.Config{
			Entrypoint: c.Entrypoint,
			Cmd:        c.Cmd,
			Env:        c.Env,
			User:       c.User,
			WorkingDir: c.WorkingDir,
			Labels:     c.Labels,
		},
	}
}

// buildIndex lists the images with their platforms, in the given order.
func buildIndex(images []PlatformImage, annotations map[string]string) v1.ImageIndex {
	adds := make([]mutate.IndexAddendum, 0, len(images))
	for _, pi := range images {
		p := pi.Platform
		adds = append(adds, mutate.IndexAddendum{
			Add:        pi.Image,
			Descriptor: v1.Descriptor{Platform: &p},
		})
	}
	idx := mutate.AppendManifests(mutate.IndexMediaType(empty.Index, types.OCIImageIndex), adds...)
	if len(annotations) > 0 {
		idx = mutate.Annotations(idx, annotations).(v1.ImageIndex)
	}
	return idx
}
