// Package testrepo builds signed fixture repositories for tests with the
// project's own package and index writers, and serves them on 127.0.0.1.
package testrepo

import (
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/rules-apk/rules_apk/tools/internal/apk"
)

// Pkg describes one fixture package.
type Pkg struct {
	Name, Version string
	// Arch defaults to x86_64.
	Arch             string
	Origin           string
	License          string
	Depends          []string
	Provides         []string
	InstallIf        []string
	Replaces         []string
	ProviderPriority uint64
	BuildTime        int64
	// Files maps a path in the package to its content; a trailing "/"
	// makes a directory, a content starting with "->" a symlink.
	Files map[string]string
	// Scripts maps a script name (".post-install", …) to its content.
	Scripts map[string]string
}

var (
	keyOnce sync.Once
	key     *apk.SigningKey
	keyErr  error
)

// Key returns a signing key shared by the tests of a process (RSA key
// generation is slow), named test.rsa.pub.
func Key(t testing.TB) *apk.SigningKey {
	t.Helper()
	keyOnce.Do(func() { key, keyErr = apk.GenerateSigningKey("test.rsa.pub", 2048) })
	if keyErr != nil {
		t.Fatal(keyErr)
	}
	return key
}

// WriteKey writes the public half of Key into dir and returns its path.
func WriteKey(t testing.TB, dir string) string {
	t.Helper()
	pub, err := Key(t).PublicKeyPEM()
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, Key(t).Name)
	if err := os.WriteFile(p, pub, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// Build writes the packages into dir in apk's repository layout
// (<dir>/<arch>/<name>-<version>.apk) and a signed index per arch, and
// returns the packages' metadata as written (with C:), by file name.
func Build(t testing.TB, dir string, pkgs []Pkg) map[string]*apk.Package {
	t.Helper()
	byArch := map[string][]apk.Package{}
	written := map[string]*apk.Package{}
	for _, p := range pkgs {
		if p.Arch == "" {
			p.Arch = "x86_64"
		}
		info := writePkg(t, dir, p)
		byArch[p.Arch] = append(byArch[p.Arch], *info)
		written[p.Arch+"/"+info.Filename()] = info
	}
	archs := make([]string, 0, len(byArch))
	for a := range byArch {
		archs = append(archs, a)
	}
	sort.Strings(archs)
	for _, a := range archs {
		WriteIndex(t, filepath.Join(dir, a), byArch[a])
	}
	return written
}

// WriteIndex writes a signed APKINDEX.tar.gz of records into dir.
func WriteIndex(t testing.TB, dir string, records []apk.Package) {
	t.Helper()
	f, err := os.Create(filepath.Join(dir, "APKINDEX.tar.gz"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	err = apk.WriteIndex(f, records, apk.WriteIndexOptions{Description: "fixture", Keys: []*apk.SigningKey{Key(t)}})
	if err != nil {
		t.Fatal(err)
	}
}

func writePkg(t testing.TB, dir string, p Pkg) *apk.Package {
	t.Helper()
	root := t.TempDir()
	for path, content := range p.Files {
		full := filepath.Join(root, path)
		switch {
		case strings.HasSuffix(path, "/"):
			if err := os.MkdirAll(full, 0o755); err != nil {
				t.Fatal(err)
			}
			continue
		case strings.HasPrefix(content, "->"):
			if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.Symlink(strings.TrimPrefix(content, "->"), full); err != nil {
				t.Fatal(err)
			}
			continue
		}
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	scripts := map[string][]byte{}
	for name, s := range p.Scripts {
		scripts[name] = []byte(s)
	}
	origin := p.Origin
	if origin == "" {
		origin = p.Name
	}
	info := apk.Package{
		Name: p.Name, Version: p.Version, Arch: p.Arch, Origin: origin, License: p.License,
		Description: p.Name + " fixture", BuildTime: p.BuildTime, ProviderPriority: p.ProviderPriority,
		Depends: strings.Join(p.Depends, " "), Provides: strings.Join(p.Provides, " "),
		InstallIf: strings.Join(p.InstallIf, " "), Replaces: strings.Join(p.Replaces, " "),
	}
	archDir := filepath.Join(dir, p.Arch)
	if err := os.MkdirAll(archDir, 0o755); err != nil {
		t.Fatal(err)
	}
	f, err := os.Create(filepath.Join(archDir, info.Filename()))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	out, err := apk.WritePackage(f, apk.WriteOptions{Info: info, Dir: root, Scripts: scripts, SigningKey: Key(t)})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// Serve serves dir over http on 127.0.0.1 until the test ends and returns
// its base URL.
func Serve(t testing.TB, dir string) string {
	t.Helper()
	srv := httptest.NewServer(http.FileServer(http.Dir(dir)))
	t.Cleanup(srv.Close)
	return srv.URL
}
