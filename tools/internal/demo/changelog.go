package demo

import (
	"archive/tar"
	"bufio"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"regexp"
	"slices"
	"strings"
)

// maxChangelogSize bounds the decompressed changelog read; Debian's
// largest are a few MB.
const maxChangelogSize = 64 << 20

var (
	// changelogHeader matches the first line of a Debian changelog entry:
	// "curl (7.88.1-10+deb12u15) bookworm; urgency=medium".
	changelogHeader = regexp.MustCompile(`^[a-z0-9][a-z0-9+.-]* \(([^)]+)\) `)
	cveID           = regexp.MustCompile(`CVE-[0-9]{4}-[0-9]{4,}`)
)

// Fixes is what one Debian changelog entry says it fixes.
type Fixes struct {
	// Version is the Debian version of the entry.
	Version string
	// CVEs are the identifiers the entry names, sorted, each once.
	CVEs []string
}

// ParseFixes returns the newest entry of a Debian changelog that names a
// CVE, and the CVEs it names.
func ParseFixes(r io.Reader) (Fixes, error) {
	var cur Fixes
	sc := bufio.NewScanner(r)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if m := changelogHeader.FindStringSubmatch(line); m != nil {
			if len(cur.CVEs) > 0 {
				break
			}
			cur = Fixes{Version: m[1]}
			continue
		}
		for _, id := range cveID.FindAllString(line, -1) {
			if !slices.Contains(cur.CVEs, id) {
				cur.CVEs = append(cur.CVEs, id)
			}
		}
	}
	if err := sc.Err(); err != nil {
		return Fixes{}, fmt.Errorf("reading changelog: %w", err)
	}
	if len(cur.CVEs) == 0 {
		return Fixes{}, errors.New("the changelog names no CVE")
	}
	slices.Sort(cur.CVEs)
	return cur, nil
}

// DebFixes reads usr/share/doc/<pkg>/changelog.Debian.gz out of a .deb
// (`dpkg-deb --fsys-tarfile`) and returns what its newest security entry
// fixes.
func DebFixes(ctx context.Context, deb, pkg string) (Fixes, error) {
	cmd := exec.CommandContext(ctx, "dpkg-deb", "--fsys-tarfile", deb)
	out, err := cmd.StdoutPipe()
	if err != nil {
		return Fixes{}, err
	}
	if err := cmd.Start(); err != nil {
		return Fixes{}, fmt.Errorf("reading %s: %w", deb, err)
	}
	want := "./usr/share/doc/" + pkg + "/changelog.Debian.gz"
	fixes, findErr := findFixes(out, want)
	// Drain the pipe so that dpkg-deb is not killed by SIGPIPE.
	_, _ = io.Copy(io.Discard, out)
	if err := cmd.Wait(); err != nil && findErr == nil {
		return Fixes{}, fmt.Errorf("reading %s: %w", deb, err)
	}
	if findErr != nil {
		return Fixes{}, fmt.Errorf("reading the changelog of %s: %w", deb, findErr)
	}
	return fixes, nil
}

// findFixes parses the changelog named want in a tar stream.
func findFixes(r io.Reader, want string) (Fixes, error) {
	tr := tar.NewReader(r)
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			return Fixes{}, fmt.Errorf("%s is missing", strings.TrimPrefix(want, "."))
		}
		if err != nil {
			return Fixes{}, err
		}
		if hdr.Name != want {
			continue
		}
		if hdr.Typeflag != tar.TypeReg {
			return Fixes{}, fmt.Errorf("%s is not a regular file", want)
		}
		zr, err := gzip.NewReader(tr)
		if err != nil {
			return Fixes{}, err
		}
		return ParseFixes(io.LimitReader(zr, maxChangelogSize))
	}
}
