// Package lock reads and writes lockfiles (*.apk.lock.json): the closure of
// a spec, per architecture, with every package pinned by URL and SHA-256, so
// that a build never reads an index.
//
// A lockfile's bytes are stable: locking twice against the same indexes gives
// identical bytes (sorted entries, 2-space indent, trailing newline, no
// timestamps).
package lock

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"sort"
	"strings"

	"github.com/rules-apk/rules_apk/tools/internal/apk"
	"github.com/rules-apk/rules_apk/tools/internal/fsutil"
	"github.com/rules-apk/rules_apk/tools/internal/spec"
)

// Version is the lockfile schema this code writes and reads.
const Version = 1

// MaxSize bounds the lockfile size accepted by Parse (a lockfile of 10,000
// packages is about 10 MB).
const MaxSize = 64 << 20

// Lockfile is the content of a *.apk.lock.json file.
type Lockfile struct {
	// Version is the schema version, Version.
	Version int `json:"version"`
	// SpecDigest is spec.Spec.Digest of the spec this was locked from; a
	// different digest means the lockfile is stale.
	SpecDigest string `json:"spec_digest"`
	// World is the list of constraints the closure satisfies, as
	// etc/apk/world holds them.
	World []string `json:"world"`
	// Archs are the architectures locked, sorted.
	Archs []string `json:"archs"`
	// Repositories are the repositories resolved from, in priority order.
	Repositories []Repository `json:"repositories"`
	// Keyring lists the keys the indexes were verified with.
	Keyring []Key `json:"keyring"`
	// OSRelease is the spec's os-release: etc/os-release of a layer where
	// no package ships one. Absent when the spec has none.
	OSRelease *spec.OSRelease `json:"os_release,omitempty"`
	// Packages is the closure, sorted by arch then name.
	Packages []Package `json:"packages"`
}

// Repository is a repository and, per arch, the index read from it.
type Repository struct {
	URL     string  `json:"url"`
	Tag     string  `json:"tag,omitempty"`
	Indexes []Index `json:"indexes"`
}

// Index records where an arch's index came from and which key signed it.
// Its digest is deliberately not recorded: indexes change hourly, and a
// lockfile must change only when a package does.
type Index struct {
	Arch     string `json:"arch"`
	URL      string `json:"url"`
	SignedBy string `json:"signed_by"`
}

// Key is a trusted public key: its file name (what signatures name), where
// it came from and its SHA-256.
type Key struct {
	Name   string `json:"name"`
	URL    string `json:"url"`
	SHA256 string `json:"sha256"`
}

// Package is one locked package.
type Package struct {
	Name    string `json:"name"`
	Version string `json:"version"`
	// Arch is the architecture of the closure the entry belongs to. A
	// noarch package appears once per arch; its URL names the directory
	// it is fetched from.
	Arch string `json:"arch"`
	// Repository is the URL of the repository the package was chosen from.
	Repository string `json:"repository"`
	// URL is where the package is downloaded from.
	URL string `json:"url"`
	// SHA256 is the hex SHA-256 of the whole .apk file: what Bazel's
	// downloader checks.
	SHA256 string `json:"sha256"`
	Size   uint64 `json:"size"`
	// Checksum is the package identity C: (Q1…), DataHash the .PKGINFO
	// datahash; apkpack re-checks both before a byte reaches a layer.
	Checksum  string   `json:"checksum"`
	DataHash  string   `json:"datahash,omitempty"`
	Origin    string   `json:"origin,omitempty"`
	License   string   `json:"license,omitempty"`
	BuildTime int64    `json:"build_time,omitempty"`
	Depends   []string `json:"depends,omitempty"`
	Provides  []string `json:"provides,omitempty"`
	// Base marks a package that the spec's base already installs: it is
	// part of the closure (the installed database lists it) but not of the
	// delta apk add would install.
	Base bool `json:"base,omitempty"`
}

// Load reads and validates the lockfile at path.
func Load(path string) (*Lockfile, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading lockfile: %w", err)
	}
	l, err := Parse(b)
	if err != nil {
		return nil, fmt.Errorf("reading lockfile %s: %w", path, err)
	}
	return l, nil
}

// Parse decodes and validates lockfile bytes. Unknown fields and unknown
// schema versions are errors: a newer apkpack wrote the file.
func Parse(b []byte) (*Lockfile, error) {
	if len(b) > MaxSize {
		return nil, fmt.Errorf("lockfile is %d bytes, more than the %d allowed", len(b), MaxSize)
	}
	var probe struct {
		Version *int `json:"version"`
	}
	if err := json.Unmarshal(b, &probe); err != nil {
		return nil, fmt.Errorf("parsing JSON: %w", err)
	}
	if probe.Version == nil {
		return nil, errors.New("no \"version\" field: this is not an apkpack lockfile")
	}
	if *probe.Version != Version {
		return nil, fmt.Errorf("lockfile schema version %d is not supported by this apkpack (it reads version %d); "+
			"regenerate the lockfile with `apkpack lock`", *probe.Version, Version)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	var l Lockfile
	if err := dec.Decode(&l); err != nil {
		return nil, fmt.Errorf("parsing lockfile: %w", err)
	}
	if err := l.Validate(); err != nil {
		return nil, err
	}
	return &l, nil
}

// Validate checks that every package is pinned well enough to be fetched
// and verified.
func (l *Lockfile) Validate() error {
	archs := map[string]bool{}
	for _, a := range l.Archs {
		archs[a] = true
	}
	for i, k := range l.Keyring {
		if k.Name == "" || !isHexSHA256(k.SHA256) {
			return fmt.Errorf("keyring[%d] (%s): a name and a sha256 of 64 lowercase hex digits are required",
				i, k.Name)
		}
	}
	if l.OSRelease != nil {
		if err := l.OSRelease.Validate(); err != nil {
			return fmt.Errorf("os_release: %w", err)
		}
	}
	seen := map[string]bool{}
	for i, p := range l.Packages {
		where := fmt.Sprintf("packages[%d] (%s-%s %s)", i, p.Name, p.Version, p.Arch)
		switch {
		case p.Name == "" || p.Version == "" || p.Arch == "":
			return fmt.Errorf("%s: name, version and arch are required", where)
		case !archs[p.Arch]:
			return fmt.Errorf("%s: arch %s is not in archs %v", where, p.Arch, l.Archs)
		case p.URL == "":
			return fmt.Errorf("%s: url is required", where)
		case !isHexSHA256(p.SHA256):
			return fmt.Errorf("%s: sha256 %q is not 64 lowercase hex digits", where, p.SHA256)
		case p.DataHash != "" && !isHexSHA256(p.DataHash):
			return fmt.Errorf("%s: datahash %q is not 64 lowercase hex digits", where, p.DataHash)
		}
		if _, err := apk.ParseChecksum(p.Checksum); err != nil {
			return fmt.Errorf("%s: %w", where, err)
		}
		key := p.Arch + "/" + p.Name
		if seen[key] {
			return fmt.Errorf("%s: package %s is locked twice for %s", where, p.Name, p.Arch)
		}
		seen[key] = true
	}
	return nil
}

func isHexSHA256(s string) bool {
	if len(s) != 64 || strings.ToLower(s) != s {
		return false
	}
	_, err := hex.DecodeString(s)
	return err == nil
}

// Sort puts packages in the lockfile's canonical order: by arch, then name.
func (l *Lockfile) Sort() {
	sort.Strings(l.Archs)
	sort.SliceStable(l.Packages, func(i, j int) bool {
		a, b := l.Packages[i], l.Packages[j]
		if a.Arch != b.Arch {
			return a.Arch < b.Arch
		}
		return a.Name < b.Name
	})
}

// Marshal encodes l in its stable form: canonical order, 2-space indent,
// no HTML escaping, trailing newline.
func (l *Lockfile) Marshal() ([]byte, error) {
	c := *l
	c.Packages = append([]Package(nil), l.Packages...)
	c.Archs = append([]string(nil), l.Archs...)
	c.Version = Version
	c.Sort()
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(&c); err != nil {
		return nil, fmt.Errorf("encoding lockfile: %w", err)
	}
	return buf.Bytes(), nil
}

// WriteFile writes l to path atomically: a failure leaves the old lockfile.
func (l *Lockfile) WriteFile(path string) error {
	b, err := l.Marshal()
	if err != nil {
		return err
	}
	return fsutil.WriteFileAtomic(path, b, 0o644)
}

// PackagesFor returns the closure of one arch, in lockfile order.
func (l *Lockfile) PackagesFor(arch string) []Package {
	var out []Package
	for _, p := range l.Packages {
		if p.Arch == arch {
			out = append(out, p)
		}
	}
	return out
}
