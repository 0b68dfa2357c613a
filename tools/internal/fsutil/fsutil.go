// Package fsutil holds the file-system helpers every writer of rules_apk
// uses, so that bad input or an interrupted run never leaves a half-written
// lockfile, layer or cache entry behind.
package fsutil

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
)

// WriteFileAtomic writes data to path through a temporary file in the same
// directory, renamed into place once complete and synced.
func WriteFileAtomic(path string, data []byte, perm os.FileMode) error {
	return WriteAtomic(path, perm, func(w io.Writer) error {
		_, err := w.Write(data)
		return err
	})
}

// WriteAtomic streams write's output to path through a temporary file in the
// same directory. When write fails, the temporary file is removed and path
// is left as it was.
func WriteAtomic(path string, perm os.FileMode, write func(io.Writer) error) error {
	p, err := CreatePending(path, perm)
	if err != nil {
		return err
	}
	defer p.Discard()
	if err := write(p.File); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	return p.Commit()
}

// Pending is a temporary file in the directory of Path that becomes Path on
// Commit, so that a caller can create it before a long computation (and fail
// at once when Path cannot be written), and rename it into place only once
// everything else has succeeded.
type Pending struct {
	*os.File
	Path string
	perm os.FileMode
	done bool
}

// CreatePending creates the temporary file of path. It fails when path's
// directory does not exist or cannot be written, or when path is a
// directory.
func CreatePending(path string, perm os.FileMode) (*Pending, error) {
	if fi, err := os.Stat(path); err == nil && fi.IsDir() {
		return nil, fmt.Errorf("writing %s: it is a directory; give a file name", path)
	}
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	f, err := os.CreateTemp(dir, "."+base+".tmp-*")
	if err != nil {
		return nil, fmt.Errorf("writing %s: %w", path, err)
	}
	return &Pending{File: f, Path: path, perm: perm}, nil
}

// Commit syncs the file and renames it to Path.
func (p *Pending) Commit() error {
	if p.done {
		return fmt.Errorf("writing %s: committed or discarded already", p.Path)
	}
	err := p.Chmod(p.perm)
	if err == nil {
		err = p.Sync()
	}
	if cerr := p.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(p.Name(), p.Path)
	}
	if err != nil {
		p.Discard()
		return fmt.Errorf("writing %s: %w", p.Path, err)
	}
	p.done = true
	return nil
}

// Discard removes the temporary file unless Commit renamed it; it may be
// deferred right after CreatePending.
func (p *Pending) Discard() {
	if p.done {
		return
	}
	p.done = true
	p.Close()
	os.Remove(p.Name())
}

// CheckParentDir returns an error naming path's directory when it does not
// exist, is not a directory or cannot be written, so that a command can
// refuse an output before any long work rather than fail at its end.
func CheckParentDir(path string) error {
	dir := filepath.Dir(path)
	fi, err := os.Stat(dir)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return fmt.Errorf("writing %s: directory %s does not exist; create it first", path, dir)
	case err != nil:
		return fmt.Errorf("writing %s: %w", path, err)
	case !fi.IsDir():
		return fmt.Errorf("writing %s: %s is not a directory", path, dir)
	}
	f, err := os.CreateTemp(dir, ".apkpack-probe-*")
	if err != nil {
		return fmt.Errorf("writing %s: directory %s is not writable: %w", path, dir, err)
	}
	f.Close()
	return os.Remove(f.Name())
}

// CheckOutputFile is CheckParentDir for a file, which also must not be an
// existing directory.
func CheckOutputFile(path string) error {
	if fi, err := os.Stat(path); err == nil && fi.IsDir() {
		return fmt.Errorf("writing %s: it is a directory; give a file name", path)
	}
	return CheckParentDir(path)
}
