package image

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/rules-apk/rules_apk/tools/internal/fsutil"
)

// Annotations WriteLayout puts on the index.json descriptor when given a
// tag: the OCI one (image-spec annotations.md) holds the tag, which is what
// skopeo's oci:DIR:TAG looks up; containerd's holds the whole name, which
// is what ctr import names the image.
const (
	AnnotationRefName        = "org.opencontainers.image.ref.name"
	AnnotationContainerdName = "io.containerd.image.name"
)

// WriteOptions tune WriteLayout and WriteTarball.
type WriteOptions struct {
	// Tag names the image, NAME[:TAG] (":latest" when TAG is left out).
	// WriteTarball requires it: docker load names the image with it.
	// WriteLayout records it in annotations of the index.json descriptor.
	Tag string
}

// WriteLayout writes r as an OCI image layout in dir: oci-layout,
// index.json with one descriptor (the image, or the index of several
// platforms) and blobs/sha256. The layout is written in a temporary
// directory beside dir and renamed into place; an existing dir is replaced
// only when it is empty or already an image layout. Files get mode 0644 and
// directories 0755 whatever the umask, so the tree is the same everywhere.
func WriteLayout(dir string, r *Result, o WriteOptions) error {
	top, err := topIndex(r, o.Tag)
	if err != nil {
		return fmt.Errorf("writing layout %s: %w", dir, err)
	}
	return replaceDir(dir, func(tmp string) error {
		if _, err := layout.Write(tmp, top); err != nil {
			return err
		}
		return normalizeModes(tmp)
	})
}

// topIndex is index.json: one descriptor for the image (with its
// platform) or for the index, annotated with the tag if any.
func topIndex(r *Result, tag string) (v1.ImageIndex, error) {
	var ann map[string]string
	if tag != "" {
		t, err := name.NewTag(tag)
		if err != nil {
			return nil, fmt.Errorf("parsing tag %q: %w", tag, err)
		}
		full := t.String()
		if !strings.HasSuffix(full, ":"+t.TagStr()) {
			full += ":" + t.TagStr()
		}
		ann = map[string]string{AnnotationRefName: t.TagStr(), AnnotationContainerdName: full}
	}
	add := mutate.IndexAddendum{Descriptor: v1.Descriptor{Annotations: ann}}
	if r.Index != nil {
		add.Add = r.Index
	} else {
		p := r.Images[0].Platform
		add.Add = r.Images[0].Image
		add.Platform = &p
	}
	return mutate.AppendManifests(empty.Index, add), nil
}

// WriteTarball writes r's image as a tarball that docker load accepts,
// named o.Tag, through a temporary file renamed into place. A tarball holds
// one image, so r must have one platform.
func WriteTarball(path string, r *Result, o WriteOptions) error {
	if r.Index != nil {
		return fmt.Errorf("writing tarball %s: a docker tarball holds one platform, "+
			"%d were built; write an OCI layout instead", path, len(r.Images))
	}
	if o.Tag == "" {
		return fmt.Errorf("writing tarball %s: no tag given; docker load names the image with it",
			path)
	}
	tag, err := name.NewTag(o.Tag)
	if err != nil {
		return fmt.Errorf("writing tarball %s: parsing tag %q: %w", path, o.Tag, err)
	}
	return fsutil.WriteAtomic(path, 0o644, func(w io.Writer) error {
		return tarball.Write(tag, r.Images[0].Image, w)
	})
}

// replaceDir fills a temporary directory beside dir with write, then puts
// it in dir's place. Between the two renames dir is briefly absent; it is
// never half-written.
func replaceDir(dir string, write func(tmp string) error) (err error) {
	dir = filepath.Clean(dir)
	if err := checkReplaceable(dir); err != nil {
		return err
	}
	parent, base := filepath.Split(dir)
	if parent == "" {
		parent = "."
	}
	tmp, err := os.MkdirTemp(parent, "."+base+".tmp-*")
	if err != nil {
		return fmt.Errorf("writing layout %s: %w", dir, err)
	}
	defer func() {
		if err != nil {
			os.RemoveAll(tmp)
		}
	}()
	if err := write(tmp); err != nil {
		return fmt.Errorf("writing layout %s: %w", dir, err)
	}
	return swapDir(tmp, dir)
}

// swapDir renames tmp to dir, moving an existing dir aside first and
// removing it once tmp is in place.
func swapDir(tmp, dir string) error {
	old := tmp + ".old"
	moved := true
	if err := os.Rename(dir, old); errors.Is(err, fs.ErrNotExist) {
		moved = false
	} else if err != nil {
		return fmt.Errorf("replacing layout %s: %w", dir, err)
	}
	if err := os.Rename(tmp, dir); err != nil {
		if moved {
			os.Rename(old, dir)
		}
		return fmt.Errorf("replacing layout %s: %w", dir, err)
	}
	if moved {
		if err := os.RemoveAll(old); err != nil {
			return fmt.Errorf("removing the previous layout %s: %w", old, err)
		}
	}
	return nil
}

// checkReplaceable refuses to replace anything but nothing, an empty
// directory or an image layout, so that a mistyped -o never deletes data.
func checkReplaceable(dir string) error {
	entries, err := os.ReadDir(dir)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil
	case err != nil:
		return fmt.Errorf("writing layout %s: it exists and is not a directory "+
			"that can be replaced: %w", dir, err)
	case len(entries) == 0:
		return nil
	}
	if _, err := os.Stat(filepath.Join(dir, "oci-layout")); err != nil {
		return fmt.Errorf("writing layout %s: it exists and is not an OCI image layout; "+
			"remove it or write elsewhere", dir)
	}
	return nil
}

// normalizeModes sets directories to 0755 and files to 0644: ggcr creates
// layer blobs 0600 and index.json 0777 minus the umask.
func normalizeModes(root string) error {
	return filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		mode := fs.FileMode(0o644)
		if d.IsDir() {
			mode = 0o755
		}
		return os.Chmod(p, mode)
	})
}
