package demo

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// UpdateHint tells a user how to re-pin the manifest.
const UpdateHint = "update the manifest with: bash e2e/demo/build_repo.sh --update-manifest OUTDIR " +
	"(or set RULES_APK_DEMO_UPDATE=1), then commit e2e/demo/packages.txt"

// DownloadFunc fetches Debian packages into dir, as `apt-get download
// SPEC...` run in dir does; a spec is "name=version", or a bare name for
// the archive's current version.
type DownloadFunc func(ctx context.Context, dir string, specs ...string) error

// AptDownload is the DownloadFunc that runs apt-get download. Its error
// carries apt's own message, which names the package it could not get.
func AptDownload(ctx context.Context, dir string, specs ...string) error {
	cmd := exec.CommandContext(ctx, "apt-get", append([]string{"download", "-q"}, specs...)...)
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("apt-get download %s: %w: %s", strings.Join(specs, " "), err,
			aptErrors(out))
	}
	return nil
}

// aptErrors keeps apt's "E:" lines, which say what went wrong, and drops
// its progress and sandbox warnings.
func aptErrors(out []byte) string {
	var lines []string
	for line := range strings.Lines(string(out)) {
		if strings.HasPrefix(line, "E:") {
			lines = append(lines, strings.TrimSpace(line))
		}
	}
	if len(lines) == 0 {
		return strings.TrimSpace(string(out))
	}
	return strings.Join(lines, "; ")
}

// DownloadError reports a pinned .deb that apt could not download.
type DownloadError struct {
	Deb Deb
	Err error
}

// Error names the package and version and says what to do.
func (e *DownloadError) Error() string {
	return fmt.Sprintf("downloading Debian package %s %s: %v\n"+
		"When apt's package lists are empty or old (a fresh machine), run apt-get update as "+
		"root and retry; build_repo.sh does that itself when it runs as root. When the "+
		"archive no longer serves this version, %s. When apt cannot reach the archive, "+
		"check the network and /etc/apt/sources.list.", e.Deb.Name, e.Deb.Version, e.Err,
		UpdateHint)
}

// Unwrap returns the download error.
func (e *DownloadError) Unwrap() error { return e.Err }

// ChecksumError reports a .deb whose bytes differ from the manifest's pin.
type ChecksumError struct {
	Deb  Deb
	Got  string // sha256 of what apt served
	File string
}

// Error names the package, both digests and the remedy.
func (e *ChecksumError) Error() string {
	return fmt.Sprintf("Debian package %s %s (%s): sha256 %s, but the manifest pins %s; "+
		"if the archive rebuilt it, %s", e.Deb.Name, e.Deb.Version, e.File, e.Got, e.Deb.SHA256,
		UpdateHint)
}

// AptUpdate refreshes apt's package lists (apt-get update; needs root).
func AptUpdate(ctx context.Context) error {
	out, err := exec.CommandContext(ctx, "apt-get", "update", "-q").CombinedOutput()
	if err != nil {
		return fmt.Errorf("apt-get update: %w: %s", err, aptErrors(out))
	}
	return nil
}

// DebCache keeps downloaded .deb files in one directory, named
// name_version.deb with ':' written as %3a. It is not safe for concurrent
// use.
type DebCache struct {
	Dir      string
	Download DownloadFunc // nil means AptDownload
	// Update, when set, runs once, the first time a download fails, before
	// the download is tried again: AptUpdate, since on a fresh machine
	// apt's package lists are empty and apt finds no version at all.
	Update func(context.Context) error

	updated   bool
	updateErr error // what Update returned
}

// Path is where the cache keeps d.
func (c *DebCache) Path(d Deb) string {
	return filepath.Join(c.Dir, d.Name+"_"+strings.ReplaceAll(d.Version, ":", "%3a")+".deb")
}

// FetchAll returns the paths of the .deb files of debs by name. It
// downloads, with one apt-get run, those the cache lacks or holds with
// another sha256; when that run fails, it retries one package at a time to
// name the one apt cannot get.
func (c *DebCache) FetchAll(ctx context.Context, debs []Deb) (map[string]string, error) {
	paths := map[string]string{}
	var missing []Deb
	var specs []string
	for _, d := range debs {
		p := c.Path(d)
		if sum, err := fileSHA256(p); err == nil && sum == d.SHA256 {
			paths[d.Name] = p
			continue
		}
		missing = append(missing, d)
		specs = append(specs, d.Name+"="+d.Version)
	}
	if len(missing) == 0 {
		return paths, nil
	}
	dir, err := c.download(ctx, specs...)
	if err != nil && c.updateErr != nil {
		// apt has no usable package lists: one package at a time would fail alike.
		return nil, err
	}
	if err != nil {
		for _, d := range missing {
			if _, err := c.Fetch(ctx, d); err != nil {
				return nil, err
			}
		}
		return nil, err
	}
	defer os.RemoveAll(dir)
	for _, d := range missing {
		if paths[d.Name], err = c.adopt(dir, d); err != nil {
			return nil, err
		}
	}
	return paths, nil
}

// Fetch returns the path of d's .deb, downloading it unless the cache holds
// a file with the pinned sha256.
func (c *DebCache) Fetch(ctx context.Context, d Deb) (string, error) {
	p := c.Path(d)
	if sum, err := fileSHA256(p); err == nil && sum == d.SHA256 {
		return p, nil
	}
	dir, err := c.download(ctx, d.Name+"="+d.Version)
	if err != nil {
		return "", &DownloadError{Deb: d, Err: err}
	}
	defer os.RemoveAll(dir)
	return c.adopt(dir, d)
}

// adopt checks the .deb of d that apt wrote in dir against the manifest
// and moves it into the cache.
func (c *DebCache) adopt(dir string, d Deb) (string, error) {
	tmp, err := downloaded(dir, d.Name)
	if err != nil {
		return "", err
	}
	sum, err := fileSHA256(tmp)
	if err != nil {
		return "", err
	}
	if sum != d.SHA256 {
		return "", &ChecksumError{Deb: d, Got: sum, File: filepath.Base(tmp)}
	}
	p := c.Path(d)
	if err := os.Rename(tmp, p); err != nil {
		return "", fmt.Errorf("caching %s: %w", d.Name, err)
	}
	return p, nil
}

// downloaded finds the .deb of a package in a download directory: apt
// names it name_version_arch.deb, and Debian names hold no '_'.
func downloaded(dir, name string) (string, error) {
	debs, err := filepath.Glob(filepath.Join(dir, name+"_*.deb"))
	if err != nil {
		return "", err
	}
	if len(debs) != 1 {
		return "", fmt.Errorf("apt-get download wrote %d .deb files for %s, want 1", len(debs), name)
	}
	return debs[0], nil
}

// FetchCurrent downloads the archive's current versions of Debian
// packages into the cache and returns their manifest entries, for
// --update-manifest.
func (c *DebCache) FetchCurrent(ctx context.Context, names []string) ([]Deb, error) {
	dir, err := c.download(ctx, names...)
	if err != nil {
		return nil, fmt.Errorf("downloading the current Debian packages: %w", err)
	}
	defer os.RemoveAll(dir)
	var debs []Deb
	for _, name := range names {
		tmp, err := downloaded(dir, name)
		if err != nil {
			return nil, err
		}
		ctl, err := ReadControl(ctx, tmp)
		if err != nil {
			return nil, err
		}
		d := Deb{Name: name, Version: ctl["Version"], Source: SourceName(ctl)}
		if d.SHA256, err = fileSHA256(tmp); err != nil {
			return nil, err
		}
		if err := os.Rename(tmp, c.Path(d)); err != nil {
			return nil, fmt.Errorf("caching %s: %w", name, err)
		}
		debs = append(debs, d)
	}
	return debs, nil
}

// download runs the DownloadFunc in a fresh directory of the cache and
// returns that directory.
func (c *DebCache) download(ctx context.Context, specs ...string) (string, error) {
	if err := os.MkdirAll(c.Dir, 0o755); err != nil {
		return "", fmt.Errorf("creating the .deb cache: %w", err)
	}
	dir, err := os.MkdirTemp(c.Dir, ".download-")
	if err != nil {
		return "", fmt.Errorf("creating a download directory: %w", err)
	}
	dl := c.Download
	if dl == nil {
		dl = AptDownload
	}
	err = dl(ctx, dir, specs...)
	if err != nil && c.Update != nil && !c.updated {
		// apt may only lack its package lists: refresh them once, retry.
		c.updated = true
		if c.updateErr = c.Update(ctx); c.updateErr != nil {
			os.RemoveAll(dir)
			return "", fmt.Errorf("%w (and refreshing apt's package lists: %w)", err, c.updateErr)
		}
		err = dl(ctx, dir, specs...)
	}
	if err != nil {
		os.RemoveAll(dir)
		return "", err
	}
	return dir, nil
}

// ReadControl returns the control fields of a .deb (`dpkg-deb -f`);
// continuation lines are joined to their field with newlines.
func ReadControl(ctx context.Context, deb string) (map[string]string, error) {
	out, err := exec.CommandContext(ctx, "dpkg-deb", "-f", deb).Output()
	if err != nil {
		return nil, fmt.Errorf("reading the control fields of %s: %w%s", deb, err, stderrOf(err))
	}
	fields := map[string]string{}
	var last string
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, " ") && last != "" {
			fields[last] += "\n" + strings.TrimPrefix(line, " ")
			continue
		}
		k, v, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		last = k
		fields[k] = strings.TrimSpace(v)
	}
	return fields, sc.Err()
}

// SourceName returns the source package of a .deb's control fields: the
// Source field without the "(version)" a binNMU adds, or the package name.
func SourceName(ctl map[string]string) string {
	src, _, _ := strings.Cut(ctl["Source"], " ")
	if src == "" {
		return ctl["Package"]
	}
	return src
}

// Extract unpacks a .deb's files into dir (`dpkg-deb -x`), keeping modes,
// links and mtimes.
func Extract(ctx context.Context, deb, dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	out, err := exec.CommandContext(ctx, "dpkg-deb", "-x", deb, dir).CombinedOutput()
	if err != nil {
		return fmt.Errorf("extracting %s: %w: %s", deb, err, strings.TrimSpace(string(out)))
	}
	return nil
}

// stderrOf returns ": <stderr>" for an *exec.ExitError that captured it.
func stderrOf(err error) string {
	var ee *exec.ExitError
	if errors.As(err, &ee) && len(ee.Stderr) > 0 {
		return ": " + strings.TrimSpace(string(ee.Stderr))
	}
	return ""
}

// fileSHA256 returns the lowercase hex SHA-256 of a file.
func fileSHA256(p string) (string, error) {
	f, err := os.Open(p)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", fmt.Errorf("hashing %s: %w", p, err)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}
