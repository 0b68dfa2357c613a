// Package spec reads package-set specs (*.apk.yaml): the contents and archs
// keys of an apko configuration, plus base, the set of packages already
// installed (what apk add --root BASE works on top of).
//
// Example:
//
//	contents:
//	  repositories:
//	    - https://packages.wolfi.dev/os
//	    - "@local file:///srv/apk"
//	  keyring:
//	    - https://packages.wolfi.dev/os/wolfi-signing.rsa.pub
//	  packages:
//	    - so:libcurl.so.4
//	    - mytool@local
//	archs: [x86_64, aarch64]
//	base:
//	  packages: [wolfi-baselayout, glibc, ca-certificates-bundle]
//	os-release:
//	  id: example
//	  version-id: "1.0"
//	  name: Example
//
// os-release (apko's key and fields) is what a layer writes as
// etc/os-release when no package of the closure ships one. Any other key is
// an error that names it: a spec only says which packages make up a closure;
// image settings (entrypoint, accounts, …) belong to the image rule.
package spec

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Spec is a parsed *.apk.yaml file.
type Spec struct {
	// Repositories are the repositories to resolve from, in priority order
	// (apk prefers the earliest on a tie, §3.3).
	Repositories []Repository `json:"repositories"`
	// Keyring lists the trusted public keys: URLs, or paths made absolute
	// relative to the spec's directory.
	Keyring []string `json:"keyring"`
	// Packages is the world: one constraint per entry.
	Packages []string `json:"packages"`
	// Archs are the architectures to resolve, normalised to apk's names.
	Archs []string `json:"archs"`
	// Base is what is installed already; nil when the closure starts from
	// an empty root.
	Base *Base `json:"base,omitempty"`
	// OSRelease is etc/os-release for a closure where no package ships
	// one; nil leaves it to the layer.
	OSRelease *OSRelease `json:"os_release,omitempty"`
}

// Repository is one entry of contents.repositories: "[@tag ]url".
type Repository struct {
	// Tag pins the repository: its packages are only taken for world
	// constraints written name@tag (§3.3 pinning). Empty for untagged.
	Tag string `json:"tag,omitempty"`
	URL string `json:"url"`
}

// String formats r as apk's /etc/apk/repositories line.
func (r Repository) String() string {
	if r.Tag == "" {
		return r.URL
	}
	return "@" + r.Tag + " " + r.URL
}

// Base is the installed set the closure is added to: a list of constraints
// resolved together with the world, or a lockfile whose packages count as
// installed.
type Base struct {
	Packages []string `json:"packages,omitempty"`
	Lockfile string   `json:"lockfile,omitempty"`
}

// archAliases maps OCI/Go architecture names to apk's.
var archAliases = map[string]string{
	"amd64": "x86_64", "x86_64": "x86_64",
	"arm64": "aarch64", "aarch64": "aarch64",
	"386": "x86", "x86": "x86",
	"arm/v7": "armv7", "armv7": "armv7", "arm/v6": "armhf", "armhf": "armhf",
	"ppc64le": "ppc64le", "s390x": "s390x", "riscv64": "riscv64", "loongarch64": "loongarch64",
}

// NormalizeArch returns the apk name of an architecture given by its apk
// name or its OCI/Go alias (amd64 is x86_64, arm64 is aarch64), or an error
// listing the names it knows.
func NormalizeArch(a string) (string, error) {
	if norm, ok := archAliases[a]; ok {
		return norm, nil
	}
	names := make([]string, 0, len(archAliases))
	for n := range archAliases {
		names = append(names, n)
	}
	sort.Strings(names)
	return "", fmt.Errorf("unknown architecture %q (use apk names such as x86_64, aarch64; known: %s)",
		a, strings.Join(names, ", "))
}

// allowed lists the keys a spec may hold, per mapping.
var allowed = map[string][]string{
	"":           {"contents", "archs", "base", "os-release"},
	"contents":   {"repositories", "keyring", "packages"},
	"base":       {"packages", "lockfile"},
	"os-release": {"id", "version-id", "name", "pretty-name", "home-url", "bug-report-url"},
}

// Load reads and validates the spec at path.
func Load(path string) (*Spec, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading spec: %w", err)
	}
	// Relative keyring and base paths become absolute, so that what a
	// lockfile records of them (made relative to the spec's directory
	// again) does not depend on the working directory.
	dir, err := filepath.Abs(filepath.Dir(path))
	if err != nil {
		return nil, fmt.Errorf("reading spec %s: %w", path, err)
	}
	s, err := Parse(b, dir)
	if err != nil {
		return nil, fmt.Errorf("reading spec %s: %w", path, err)
	}
	return s, nil
}

// Parse parses spec bytes. dir is the directory relative paths (keyring
// files, base lockfile) are resolved against.
func Parse(b []byte, dir string) (*Spec, error) {
	var root yaml.Node
	if err := yaml.Unmarshal(b, &root); err != nil {
		return nil, fmt.Errorf("parsing YAML: %w", err)
	}
	if len(root.Content) == 0 {
		return nil, errors.New("the spec is empty: it needs contents.packages and archs")
	}
	if err := checkKeys(root.Content[0], ""); err != nil {
		return nil, err
	}
	var raw struct {
		Contents struct {
			Repositories []string `yaml:"repositories"`
			Keyring      []string `yaml:"keyring"`
			Packages     []string `yaml:"packages"`
		} `yaml:"contents"`
		Archs     []string `yaml:"archs"`
		Base      *Base    `yaml:"base"`
		OSRelease *struct {
			ID           string `yaml:"id"`
			VersionID    string `yaml:"version-id"`
			Name         string `yaml:"name"`
			PrettyName   string `yaml:"pretty-name"`
			HomeURL      string `yaml:"home-url"`
			BugReportURL string `yaml:"bug-report-url"`
		} `yaml:"os-release"`
	}
	if err := root.Decode(&raw); err != nil {
		return nil, fmt.Errorf("parsing spec: %w", err)
	}
	s := &Spec{Packages: raw.Contents.Packages, Base: raw.Base}
	if o := raw.OSRelease; o != nil {
		s.OSRelease = &OSRelease{ID: o.ID, VersionID: o.VersionID, Name: o.Name,
			PrettyName: o.PrettyName, HomeURL: o.HomeURL, BugReportURL: o.BugReportURL}
	}
	for _, line := range raw.Contents.Repositories {
		r, err := ParseRepository(line)
		if err != nil {
			return nil, err
		}
		s.Repositories = append(s.Repositories, r)
	}
	for _, k := range raw.Contents.Keyring {
		s.Keyring = append(s.Keyring, resolvePath(k, dir))
	}
	for _, a := range raw.Archs {
		norm, err := NormalizeArch(a)
		if err != nil {
			return nil, fmt.Errorf("archs: %w", err)
		}
		s.Archs = append(s.Archs, norm)
	}
	if s.Base != nil && s.Base.Lockfile != "" {
		s.Base.Lockfile = resolvePath(s.Base.Lockfile, dir)
	}
	return s, s.validate()
}

func (s *Spec) validate() error {
	switch {
	case len(s.Repositories) == 0:
		return errors.New("contents.repositories is empty: name at least one repository")
	case len(s.Packages) == 0:
		return errors.New("contents.packages is empty: name at least one package or constraint")
	case len(s.Archs) == 0:
		return errors.New("archs is missing: add for example `archs: [x86_64]`")
	case s.Base != nil && len(s.Base.Packages) > 0 && s.Base.Lockfile != "":
		return errors.New("base: give either packages or lockfile, not both")
	}
	if s.OSRelease != nil {
		if err := s.OSRelease.Validate(); err != nil {
			return fmt.Errorf("os-release: %w", err)
		}
	}
	seen := map[string]bool{}
	for _, a := range s.Archs {
		if seen[a] {
			return fmt.Errorf("archs: %s is listed twice", a)
		}
		seen[a] = true
	}
	return nil
}

// checkKeys rejects keys a spec does not support, naming each.
func checkKeys(n *yaml.Node, path string) error {
	if n.Kind != yaml.MappingNode {
		if path == "" {
			return errors.New("the spec must be a YAML mapping with contents and archs")
		}
		return nil
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		key := n.Content[i].Value
		full := key
		if path != "" {
			full = path + "." + key
		}
		if !contains(allowed[path], key) {
			return fmt.Errorf("line %d: key %q is not supported: a spec holds only %s",
				n.Content[i].Line, full, describe(path))
		}
		if _, nested := allowed[key]; nested && path == "" {
			if err := checkKeys(n.Content[i+1], key); err != nil {
				return err
			}
		}
	}
	return nil
}

func describe(path string) string {
	keys := make([]string, len(allowed[path]))
	for i, k := range allowed[path] {
		keys[i] = k
		if path != "" {
			keys[i] = path + "." + k
		}
	}
	return strings.Join(keys, ", ")
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// ParseRepository parses a repositories entry: "url" or "@tag url".
func ParseRepository(line string) (Repository, error) {
	f := strings.Fields(line)
	var r Repository
	switch {
	case len(f) == 1 && !strings.HasPrefix(f[0], "@"):
		r.URL = f[0]
	case len(f) == 2 && strings.HasPrefix(f[0], "@") && len(f[0]) > 1:
		r.Tag, r.URL = f[0][1:], f[1]
	default:
		return Repository{}, fmt.Errorf("contents.repositories: %q is not \"URL\" or \"@tag URL\"", line)
	}
	r.URL = strings.TrimRight(r.URL, "/")
	if u, err := url.Parse(r.URL); err != nil || (u.Scheme != "http" && u.Scheme != "https" && u.Scheme != "file") {
		return Repository{}, fmt.Errorf("contents.repositories: %q is not an http, https or file URL", r.URL)
	}
	return r, nil
}

func resolvePath(p, dir string) string {
	if strings.Contains(p, "://") || filepath.IsAbs(p) || dir == "" {
		return p
	}
	return filepath.Join(dir, p)
}

// Digest identifies the spec's meaning: the SHA-256 of its canonical JSON
// form, so that reformatting or comments do not make a lockfile stale but
// any change of repositories, keys, packages, archs or base does. Paths are
// made relative to dir so that the digest does not depend on where the
// workspace is checked out.
func (s *Spec) Digest(dir string) string {
	c := *s
	c.Keyring = relPaths(s.Keyring, dir)
	c.Archs = append([]string(nil), s.Archs...)
	sort.Strings(c.Archs)
	if s.Base != nil {
		b := *s.Base
		if b.Lockfile != "" {
			b.Lockfile = relPaths([]string{b.Lockfile}, dir)[0]
		}
		c.Base = &b
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	// Encoding a struct of strings cannot fail.
	_ = enc.Encode(c)
	sum := sha256.Sum256(buf.Bytes())
	return "sha256:" + hex.EncodeToString(sum[:])
}

func relPaths(paths []string, dir string) []string {
	out := make([]string, len(paths))
	for i, p := range paths {
		out[i] = p
		if filepath.IsAbs(p) && dir != "" {
			if r, err := filepath.Rel(dir, p); err == nil {
				out[i] = filepath.ToSlash(r)
			}
		}
	}
	return out
}
