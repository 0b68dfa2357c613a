package demo

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"slices"
	"strings"
)

// manifestHeader opens every manifest the program writes.
const manifestHeader = `# The Debian bookworm amd64 packages of the demo repository, pinned: one per line,
#   name version source sha256-of-the-.deb
# Written by demorepo; regenerate with: bash e2e/demo/build_repo.sh --update-manifest OUTDIR
`

// Deb is one pinned Debian package of the manifest.
type Deb struct {
	// Name is the Debian binary package name ("libc6").
	Name string
	// Version is the full Debian version, epoch included ("1:1.2.13.dfsg-1+deb12u1").
	Version string
	// Source is the Debian source package name ("glibc"), which becomes the
	// origin of the packages made from it.
	Source string
	// SHA256 is the lowercase hex SHA-256 of the .deb file.
	SHA256 string
}

// Manifest is the committed list of pinned .deb files, sorted by name.
type Manifest struct {
	Debs []Deb
}

// ManifestError reports a line of a manifest that cannot be read.
type ManifestError struct {
	File   string // the manifest's path
	Line   int    // 1-based line number
	Reason string // what is wrong
}

// Error names the file, the line and the problem.
func (e *ManifestError) Error() string {
	return fmt.Sprintf("reading manifest %s:%d: %s", e.File, e.Line, e.Reason)
}

// ParseManifest reads a manifest; file names it in errors. Blank lines and
// lines starting with '#' are skipped.
func ParseManifest(r io.Reader, file string) (*Manifest, error) {
	m := &Manifest{}
	seen := map[string]bool{}
	sc := bufio.NewScanner(r)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		f := strings.Fields(line)
		if len(f) != 4 {
			return nil, &ManifestError{file, n, fmt.Sprintf("want 4 fields "+
				"(name version source sha256), got %d", len(f))}
		}
		d := Deb{Name: f[0], Version: f[1], Source: f[2], SHA256: f[3]}
		if !isSHA256Hex(d.SHA256) {
			return nil, &ManifestError{file, n, fmt.Sprintf("%q is not a lowercase hex sha256",
				d.SHA256)}
		}
		if seen[d.Name] {
			return nil, &ManifestError{file, n, fmt.Sprintf("%s is listed twice", d.Name)}
		}
		seen[d.Name] = true
		m.Debs = append(m.Debs, d)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("reading manifest %s: %w", file, err)
	}
	m.sort()
	return m, nil
}

// Lookup returns the entry for a Debian package name.
func (m *Manifest) Lookup(name string) (Deb, bool) {
	i, ok := slices.BinarySearchFunc(m.Debs, name, func(d Deb, n string) int {
		return strings.Compare(d.Name, n)
	})
	if !ok {
		return Deb{}, false
	}
	return m.Debs[i], true
}

// Format writes the manifest in its file format: a header, then one
// aligned line per package, sorted by name.
func (m *Manifest) Format() []byte {
	m.sort()
	var widths [3]int
	for _, d := range m.Debs {
		for i, s := range []string{d.Name, d.Version, d.Source} {
			widths[i] = max(widths[i], len(s))
		}
	}
	var b bytes.Buffer
	b.WriteString(manifestHeader)
	for _, d := range m.Debs {
		fmt.Fprintf(&b, "%-*s %-*s %-*s %s\n", widths[0], d.Name, widths[1], d.Version,
			widths[2], d.Source, d.SHA256)
	}
	return b.Bytes()
}

func (m *Manifest) sort() {
	slices.SortFunc(m.Debs, func(a, b Deb) int { return strings.Compare(a.Name, b.Name) })
}

// isSHA256Hex reports whether s is 64 lowercase hex digits.
func isSHA256Hex(s string) bool {
	if len(s) != 64 {
		return false
	}
	for _, c := range s {
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return false
		}
	}
	return true
}
