package cli

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"text/tabwriter"

	"github.com/rules-apk/rules_apk/tools/internal/apk"
)

// installedView is the JSON form of an installed database.
type installedView struct {
	Kind     string             `json:"kind"`
	File     string             `json:"file"`
	Packages []installedPkgView `json:"packages"`
}

// installedPkgView is one record: the package's metadata, the repository
// tag it came from and how many files it owns.
type installedPkgView struct {
	pkgMeta
	Tag   string `json:"tag,omitempty"`
	Files int    `json:"files"`
}

// installedDBPath tells whether path names an installed database: a
// directory (the root of an image or sysroot; its database is found at
// apk.InstalledDBPaths) or a file starting with a field line ("C:Q1…"),
// where packages and indexes start with gzip's magic bytes. It returns the
// database file.
func installedDBPath(path string) (string, bool, error) {
	st, err := os.Stat(path)
	if err != nil {
		return "", false, err
	}
	if st.IsDir() {
		for _, rel := range apk.InstalledDBPaths {
			db := filepath.Join(path, rel)
			if _, err := os.Stat(db); err == nil {
				return db, true, nil
			}
		}
		return "", false, fmt.Errorf("%s is a directory without an installed database (%s)",
			path, apk.InstalledDBPaths[0])
	}
	f, err := os.Open(path)
	if err != nil {
		return "", false, err
	}
	defer f.Close()
	head := make([]byte, 2)
	n, err := io.ReadFull(f, head)
	switch {
	case err != nil && !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, io.EOF):
		return "", false, fmt.Errorf("reading %s: %w", path, err)
	case n == 2 && bytes.Equal(head, []byte{0x1f, 0x8b}):
		return "", false, nil
	case n == 2 && isASCIILetter(head[0]) && head[1] == ':', n == 0:
		// An empty file is an empty database, as apk reads it.
		return path, true, nil
	}
	return "", false, fmt.Errorf("reading %s: not an APK package, index or installed database",
		path)
}

func isASCIILetter(c byte) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }

func inspectInstalled(path string) (*installedView, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	db, err := apk.ReadInstalled(f)
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", path, err)
	}
	v := &installedView{Kind: "installed", File: path, Packages: []installedPkgView{}}
	for i := range db.Packages {
		p := &db.Packages[i]
		files := 0
		for _, d := range p.Dirs {
			files += len(d.Files)
		}
		v.Packages = append(v.Packages, installedPkgView{pkgMeta: metaOf(&p.Package),
			Tag: p.Tag, Files: files})
	}
	return v, nil
}

func printInstalled(out io.Writer, v *installedView) error {
	fmt.Fprintf(out, "installed database  %s\n", v.File)
	fmt.Fprintf(out, "packages            %d\n", len(v.Packages))
	tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "  NAME\tVERSION\tARCH\tFILES\n")
	for _, p := range v.Packages {
		fmt.Fprintf(tw, "  %s\t%s\t%s\t%d\n", p.Name, p.Version, p.Arch, p.Files)
	}
	return tw.Flush()
}
