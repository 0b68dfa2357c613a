package layer

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
)

// Staged is the output of Stage: complete layers in temporary files, which
// Commit puts at Options.Output all at once. Until then Output is
// untouched.
type Staged struct {
	// Result describes the layers; Layer.Path are the paths they get on
	// Commit.
	Result *Result

	output string
	single bool
	tmp    string // one layer: the temporary file beside Output
	dir    string // several layers: the directory that replaces Output
	done   bool
}

// outputName is what a layer directory may hold: the layers and their
// SBOMs, as apkpack layer writes them.
var outputName = regexp.MustCompile(`^[0-9]{3,}\.(tar|tar\.gz|tar\.zst|spdx\.json)$`)

// checkOutput fails early when Output cannot take the layers: with several
// layers, Output is replaced as a whole on Commit, so it must be a
// directory holding nothing but what a previous run wrote there (or not
// exist), lest a mistyped -o delete someone's files.
func (o *Options) checkOutput() error {
	if o.Layering.Kind == LayeringSingle {
		if fi, err := os.Stat(o.Output); err == nil && fi.IsDir() {
			return fmt.Errorf("building layer: output %s is a directory; with layering "+
				"single the output is the layer file", o.Output)
		}
		return nil
	}
	entries, err := os.ReadDir(o.Output)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil
	case err != nil && !isDir(o.Output):
		return fmt.Errorf("building layer: output %s is not a directory; with layering %s "+
			"the output is a directory of layers", o.Output, o.Layering)
	case err != nil:
		return fmt.Errorf("building layer: reading the output directory: %w", err)
	}
	for _, e := range entries {
		if !e.Type().IsRegular() || !outputName.MatchString(e.Name()) {
			return fmt.Errorf("building layer: output directory %s holds %s, which apkpack "+
				"layer does not write; the directory is replaced as a whole with the layers, "+
				"so give a new or empty directory (or remove that file)", o.Output, e.Name())
		}
	}
	return nil
}

func isDir(path string) bool {
	fi, err := os.Stat(path)
	return err == nil && fi.IsDir()
}

// newStaged makes the temporary home of the layers: the parent directories
// of Output, and with several layers a new directory beside Output.
func newStaged(opts *Options) (*Staged, error) {
	s := &Staged{output: opts.Output, single: opts.Layering.Kind == LayeringSingle}
	if s.single {
		return s, nil
	}
	parent := filepath.Dir(opts.Output)
	if err := os.MkdirAll(parent, 0o755); err != nil {
		return nil, fmt.Errorf("creating the parent of the layer directory: %w", err)
	}
	dir, err := os.MkdirTemp(parent, "."+filepath.Base(opts.Output)+".tmp-*")
	if err != nil {
		return nil, fmt.Errorf("creating the layer directory: %w", err)
	}
	// MkdirTemp makes the directory 0700; layers are no secret.
	if err := os.Chmod(dir, 0o755); err != nil {
		os.Remove(dir)
		return nil, fmt.Errorf("creating the layer directory: %w", err)
	}
	s.dir = dir
	return s, nil
}

// layerPath returns where layer i is written and the path it gets on
// Commit.
func (s *Staged) layerPath(opts *Options, i int) (write, final string) {
	if s.single {
		return opts.Output, opts.Output
	}
	name := fmt.Sprintf("%03d%s", i, opts.Format.Ext())
	return filepath.Join(s.dir, name), filepath.Join(opts.Output, name)
}

// AddFile writes a file beside the layers, in the directory that replaces
// Output on Commit (several layers only): name is a plain file name that
// the layers do not use, such as 000.spdx.json.
func (s *Staged) AddFile(name string, write func(io.Writer) error) error {
	switch {
	case s.single:
		return fmt.Errorf("adding %s to the layers: with one layer, the output is a file", name)
	case s.done:
		return fmt.Errorf("adding %s to the layers: committed or discarded already", name)
	case !outputName.MatchString(name):
		return fmt.Errorf("adding %s to the layers: not a name a layer directory holds", name)
	}
	path := filepath.Join(s.dir, name)
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return fmt.Errorf("adding %s to the layers: %w", name, err)
	}
	err = write(f)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("writing %s: %w", filepath.Join(s.output, name), err)
	}
	return nil
}

// Commit puts the layers at Output: renames the layer file into place, or
// replaces the directory Output (and whatever an earlier run left in it)
// with the new one.
func (s *Staged) Commit() error {
	if s.done {
		return fmt.Errorf("writing %s: committed or discarded already", s.output)
	}
	var err error
	if s.single {
		err = os.Rename(s.tmp, s.output)
	} else {
		err = swapDir(s.dir, s.output)
	}
	if err != nil {
		s.Discard()
		return fmt.Errorf("writing %s: %w", s.output, err)
	}
	s.done = true
	return nil
}

// swapDir replaces dst with the directory dir: the old dst is moved aside,
// dir renamed to dst, and the old one removed (a failure to remove it
// leaves a hidden directory beside dst, but the new layers are in place).
// If the second rename fails, the old dst is moved back.
func swapDir(dir, dst string) error {
	if _, err := os.Lstat(dst); errors.Is(err, fs.ErrNotExist) {
		return os.Rename(dir, dst)
	}
	old := dir + ".old"
	if err := os.Rename(dst, old); err != nil {
		return err
	}
	if err := os.Rename(dir, dst); err != nil {
		if rerr := os.Rename(old, dst); rerr != nil {
			return fmt.Errorf("%w (and moving the previous layers back from %s: %v)", err,
				old, rerr)
		}
		return err
	}
	os.RemoveAll(old)
	return nil
}

// Discard removes the temporary layers unless Commit put them in place; it
// may be deferred right after Stage.
func (s *Staged) Discard() {
	if s.done {
		return
	}
	s.done = true
	if s.tmp != "" {
		os.Remove(s.tmp)
	}
	if s.dir != "" {
		os.RemoveAll(s.dir)
	}
}
