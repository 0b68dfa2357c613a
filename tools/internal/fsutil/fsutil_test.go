package fsutil

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestWriteAtomic(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "out.json")
	if err := WriteFileAtomic(path, []byte("first\n"), 0o644); err != nil {
		t.Fatal(err)
	}

	// A failing writer leaves the old content and no temporary file.
	boom := errors.New("boom")
	err := WriteAtomic(path, 0o644, func(w io.Writer) error {
		if _, err := w.Write([]byte("half")); err != nil {
			return err
		}
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("WriteAtomic error = %v, want boom", err)
	}
	got, err := os.ReadFile(path)
	if err != nil || string(got) != "first\n" {
		t.Errorf("after a failed write: %q, %v; want the old content", got, err)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 1 {
		t.Errorf("directory holds %d entries, want only out.json", len(entries))
	}
	fi, err := os.Stat(path)
	if err != nil || fi.Mode().Perm() != 0o644 {
		t.Errorf("mode %v, %v", fi.Mode(), err)
	}
}

func TestPending(t *testing.T) {
	dir := t.TempDir()
	if _, err := CreatePending(filepath.Join(dir, "missing", "s.json"), 0o644); err == nil {
		t.Error("CreatePending in a missing directory succeeded")
	}
	if _, err := CreatePending(dir, 0o644); err == nil {
		t.Error("CreatePending of a directory succeeded")
	}

	// Nothing appears before Commit, nor after Discard.
	path := filepath.Join(dir, "s.json")
	p, err := CreatePending(path, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.WriteString(p, "half"); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(path); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("%s exists before Commit: %v", path, err)
	}
	p.Discard()
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Errorf("Discard left %v", entries)
	}
	if err := p.Commit(); err == nil {
		t.Error("Commit after Discard succeeded")
	}

	p, err = CreatePending(path, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.WriteString(p, "whole\n"); err != nil {
		t.Fatal(err)
	}
	if err := p.Commit(); err != nil {
		t.Fatal(err)
	}
	p.Discard() // a no-op once committed
	if got, err := os.ReadFile(path); err != nil || string(got) != "whole\n" {
		t.Errorf("after Commit and Discard: %q, %v", got, err)
	}
}

func TestCheckOutputFile(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "f")
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ path, want string }{
		{filepath.Join(dir, "out"), ""},
		{file, ""},
		{filepath.Join(dir, "nodir", "out"), "directory " + filepath.Join(dir, "nodir") + " does not exist"},
		{filepath.Join(file, "out"), file + " is not a directory"},
		{dir, "it is a directory; give a file name"},
	} {
		err := CheckOutputFile(tc.path)
		if tc.want == "" && err != nil || tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)) {
			t.Errorf("CheckOutputFile(%s) = %v; want %q", tc.path, err, tc.want)
		}
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 1 {
		t.Errorf("the checks left %d entries in the directory, want 1", len(entries))
	}
}
