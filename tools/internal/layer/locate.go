package layer

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/rules-apk/rules_apk/tools/internal/lock"
	"github.com/rules-apk/rules_apk/tools/internal/repo"
)

// Locator finds the file of a locked package. It returns an error wrapping
// fs.ErrNotExist when it has none; Build then lists every missing package at
// once. What it returns is not trusted: Build verifies every byte.
type Locator func(ctx context.Context, p lock.Package) (string, error)

// errMissing marks a package a Locator does not hold.
var errMissing = os.ErrNotExist

// DirLocator finds packages as dir/<name>-<version>.apk, the layout
// `apkpack fetch` writes.
func DirLocator(dir string) Locator {
	return func(_ context.Context, p lock.Package) (string, error) {
		path := filepath.Join(dir, p.Name+"-"+p.Version+".apk")
		if _, err := os.Stat(path); err != nil {
			return "", fmt.Errorf("looking for %s: %w", path, err)
		}
		return path, nil
	}
}

// FilesLocator finds packages among files, as Bazel passes them: a file
// named <name>-<version>.apk is taken for that package; a file with any
// other name is matched by its SHA-256 against the lockfile (Bazel's
// downloader may name a file "downloaded"). A file that matches no locked
// package of pkgs is an error, so that a wrong input is not ignored.
func FilesLocator(files []string, pkgs []lock.Package) (Locator, error) {
	byFile := map[string]string{} // "<name>-<version>.apk" → path
	bySum := map[string]string{}
	want := map[string]bool{}
	wantSum := map[string]bool{}
	for _, p := range pkgs {
		want[p.Name+"-"+p.Version+".apk"] = true
		wantSum[p.SHA256] = true
	}
	for _, f := range files {
		base := filepath.Base(f)
		if want[base] {
			byFile[base] = f
			continue
		}
		sum, err := fileSHA256(f)
		if err != nil {
			return nil, err
		}
		if !wantSum[sum] {
			return nil, fmt.Errorf("package file %s (sha256 %s) is not in the lockfile for this "+
				"arch: pass only the packages of the lockfile", f, sum)
		}
		bySum[sum] = f
	}
	return func(_ context.Context, p lock.Package) (string, error) {
		if f, ok := byFile[p.Name+"-"+p.Version+".apk"]; ok {
			return f, nil
		}
		if f, ok := bySum[p.SHA256]; ok {
			return f, nil
		}
		return "", fmt.Errorf("no file given for %s-%s: %w", p.Name, p.Version, errMissing)
	}, nil
}

func fileSHA256(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", fmt.Errorf("reading package file: %w", err)
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", fmt.Errorf("reading package file %s: %w", path, err)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// MissingError lists the locked packages no Locator could find.
type MissingError struct {
	Packages []string // name-version
	Errs     []error
}

// Error names every missing package, says how to get them, and gives each
// distinct cause once, with how many packages it hit and one URL: an
// unreachable repository is one line, not one per package.
func (e *MissingError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%d locked packages not found (%s): run `apkpack fetch` or pass them "+
		"with --package or --packages-dir", len(e.Packages), strings.Join(e.Packages, ", "))
	type cause struct {
		text, example string
		count         int
	}
	var causes []*cause
	byText := map[string]*cause{}
	network := false
	for _, err := range e.Errs {
		network = network || repo.Unreachable(err)
		msg := err.Error()
		text := urlPattern.ReplaceAllString(msg, "<url>")
		c := byText[text]
		if c == nil {
			c = &cause{text: text, example: urlPattern.FindString(msg)}
			byText[text] = c
			causes = append(causes, c)
		}
		c.count++
	}
	for _, c := range causes {
		b.WriteString("\n  ")
		b.WriteString(c.text)
		if c.example != "" {
			fmt.Fprintf(&b, " (%d of them; <url> is e.g. %s)", c.count, c.example)
		}
	}
	if network {
		b.WriteString("\nThe repository cannot be reached from here: fetch the packages where it " +
			"can, or give a reachable copy with --mirror REPOSITORY=URL.")
	}
	return b.String()
}

// urlPattern matches the URLs in fetch errors, so that errors differing only
// in the package's URL count as one cause.
var urlPattern = regexp.MustCompile(`[a-z]+://[^\s"]+[^\s":,]`)

// locateAll finds every package, collecting every miss.
func locateAll(ctx context.Context, loc Locator, pkgs []lock.Package) ([]string, error) {
	paths := make([]string, len(pkgs))
	var missing MissingError
	for i, p := range pkgs {
		path, err := loc(ctx, p)
		if err != nil {
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			missing.Packages = append(missing.Packages, p.Name+"-"+p.Version)
			missing.Errs = append(missing.Errs, err)
			continue
		}
		paths[i] = path
	}
	if len(missing.Packages) > 0 {
		return nil, &missing
	}
	return paths, nil
}

// RepoLocator finds packages through a repository client: its cache when it
// holds the package's SHA-256, else a download from the package's URL as
// mirrors rewrite it (nil: none).
func RepoLocator(c *repo.Client, mirrors lock.Mirrors) Locator {
	return func(ctx context.Context, p lock.Package) (string, error) {
		res, err := c.Fetch(ctx, repo.Request{URL: mirrors.Rewrite(p.URL), SHA256: p.SHA256,
			Size: int64(p.Size)})
		if err != nil {
			return "", err
		}
		return res.Path, nil
	}
}
