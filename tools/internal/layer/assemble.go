package layer

import (
	"archive/tar"
	"bytes"
	"crypto/sha1"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/rules-apk/rules_apk/tools/internal/apk"
)

// assembled is the merged root, ready for pass 2.
type assembled struct {
	tree    *tree
	pkgs    []*installed // by install position
	layerOf []int        // layer index per install position
	nLayers int
	res     Result
}

// assemble merges the packages in install order, adds the generated files
// and assigns packages to layers.
func assemble(opts *Options, data []*pkgData) (*assembled, error) {
	a := &assembled{tree: newTree()}
	m := &merger{t: a.tree}
	for i, d := range data {
		ip := &installed{pos: i, data: d, info: &d.file.Info}
		a.pkgs = append(a.pkgs, ip)
	}
	m.pkgs = a.pkgs
	for _, ip := range a.pkgs {
		if err := m.apply(ip); err != nil {
			return nil, err
		}
	}
	a.res.Epoch = epochOf(opts, data)
	g := &generator{opts: opts, a: a, epoch: a.res.Epoch}
	if err := g.run(); err != nil {
		return nil, err
	}
	var err error
	a.layerOf, a.nLayers, err = assignLayers(opts.Layering, a.pkgs)
	if err != nil {
		return nil, err
	}
	return a, nil
}

// epochOf is the mtime of every entry: Options.Epoch, else the newest
// build_time of the closure in the lockfile (the .PKGINFO builddate for a
// package whose lockfile entry has none).
func epochOf(opts *Options, data []*pkgData) time.Time {
	if !opts.Epoch.IsZero() {
		return opts.Epoch.UTC()
	}
	var newest int64
	for _, d := range data {
		t := d.lock.BuildTime
		if t == 0 {
			t = d.file.Info.BuildTime
		}
		newest = max(newest, t)
	}
	return time.Unix(newest, 0).UTC()
}

// maxConfigSize bounds the package files Build reads itself (os-release,
// busybox path lists, ld.so.conf).
const maxConfigSize = 1 << 20

// readContent returns a regular file's content.
func readContent(n *node) ([]byte, error) {
	if n.content.data != nil || n.size == 0 {
		return n.content.data, nil
	}
	if n.size > maxConfigSize {
		return nil, fmt.Errorf("reading %s: %d bytes, more than %d", n.path(), n.size,
			maxConfigSize)
	}
	b := make([]byte, n.size)
	if _, err := n.content.spool.f.ReadAt(b, n.content.off); err != nil && err != io.EOF {
		return nil, fmt.Errorf("reading %s from the spool: %w", n.path(), err)
	}
	return b, nil
}

// fileNode makes a generated regular file.
func fileNode(data []byte, mode int64) *node {
	sum := sha1.Sum(data)
	return &node{typ: tar.TypeReg, mode: mode, size: int64(len(data)),
		content: contentRef{data: data}, sum: apk.SHA1Checksum(sum[:]),
		key: contentKey{generated, 0}}
}

// symlinkNode makes a generated symlink.
func symlinkNode(target string) *node {
	sum := sha1.Sum([]byte(target))
	return &node{typ: tar.TypeSymlink, mode: 0o777, link: target, sum: apk.SHA1Checksum(sum[:])}
}

// OSRelease holds what scanners read from etc/os-release (§5.4).
type OSRelease struct {
	ID        string
	VersionID string
}

// GenericOSRelease is the etc/os-release Build writes when no package ships
// one and Options.OSRelease is nil. Scanners identify the distribution by
// ID; "rules_apk" matches none, so pass the distribution's file (for Wolfi,
// ID=wolfi) to have vulnerabilities matched.
var GenericOSRelease = []byte(`ID=rules_apk
NAME="rules_apk"
PRETTY_NAME="Image assembled by rules_apk from APK packages"
HOME_URL="https://github.com/rules-apk/rules_apk"
`)

// ParseOSRelease reads ID and VERSION_ID from an os-release file (KEY=VALUE
// lines, values optionally quoted).
func ParseOSRelease(b []byte) OSRelease {
	var r OSRelease
	for line := range strings.SplitSeq(string(b), "\n") {
		k, v, ok := strings.Cut(strings.TrimSpace(line), "=")
		if !ok {
			continue
		}
		v = strings.Trim(v, `"'`)
		switch k {
		case "ID":
			r.ID = v
		case "VERSION_ID":
			r.VersionID = v
		}
	}
	return r
}

// encodeLines joins lines with a trailing newline each.
func encodeLines(lines []string) []byte {
	var b bytes.Buffer
	for _, l := range lines {
		b.WriteString(l)
		b.WriteByte('\n')
	}
	return b.Bytes()
}
