package synth

import (
	"compress/gzip"
	"errors"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"

	"github.com/rules-apk/rules_apk/tools/internal/apk"
)

// Arch is the architecture of the synthetic repository.
const Arch = "x86_64"

// IndexPath is the index of the repository in dir.
func IndexPath(dir string) string { return filepath.Join(dir, Arch, "APKINDEX.tar.gz") }

// KeyPath is the public key of the repository in dir, named after the
// signing key as apk names keys.
func KeyPath(dir string, key *apk.SigningKey) string { return filepath.Join(dir, key.Name) }

// WriteRepo writes the repository into dir in apk's layout: the signed
// <dir>/x86_64/APKINDEX.tar.gz of Packages, the newest version of every
// closure name (and of the other provider of Curl) as a package file next
// to it, and the public key as <dir>/<key name>. The bytes depend only on
// the key.
func WriteRepo(dir string, key *apk.SigningKey) error {
	pkgs := Packages()
	closure, other := Closure()
	want := map[string]bool{other: true}
	for _, n := range closure {
		want[n] = true
	}
	newest := map[string]int{}
	for i := range pkgs {
		if want[pkgs[i].Name] {
			// Versions grow with the record order of a name.
			newest[pkgs[i].Name] = i
		}
	}
	archDir := filepath.Join(dir, Arch)
	if err := os.MkdirAll(archDir, 0o755); err != nil {
		return fmt.Errorf("writing the synthetic repository: %w", err)
	}
	for _, i := range newest {
		p, err := writePackage(archDir, pkgs[i], key)
		if err != nil {
			return err
		}
		pkgs[i] = *p
	}
	f, err := os.Create(IndexPath(dir))
	if err != nil {
		return fmt.Errorf("writing the synthetic index: %w", err)
	}
	err = apk.WriteIndex(f, pkgs, apk.WriteIndexOptions{Description: "synthetic", Keys: []*apk.SigningKey{key}})
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("writing the synthetic index: %w", err)
	}
	pub, err := key.PublicKeyPEM()
	if err != nil {
		return fmt.Errorf("writing the synthetic repository's key: %w", err)
	}
	if err := os.WriteFile(KeyPath(dir, key), pub, 0o644); err != nil {
		return fmt.Errorf("writing the synthetic repository's key: %w", err)
	}
	return nil
}

// writePackage packs a tree of a library of the record's size (at most
// 2 MiB of incompressible bytes from a seed of the name) and returns the
// record with the package's C:, size and installed size.
func writePackage(dir string, info apk.Package, key *apk.SigningKey) (*apk.Package, error) {
	tree, err := os.MkdirTemp("", "synth-pkg-")
	if err != nil {
		return nil, fmt.Errorf("packing %s: %w", info.Name, err)
	}
	defer os.RemoveAll(tree)
	lib := filepath.Join(tree, "usr", "lib", "lib"+info.Name+".so.1")
	if err := os.MkdirAll(filepath.Dir(lib), 0o755); err != nil {
		return nil, fmt.Errorf("packing %s: %w", info.Name, err)
	}
	seed := uint64(0)
	for _, c := range info.Name {
		seed = seed*31 + uint64(c)
	}
	rng := rand.New(rand.NewPCG(seed, 2))
	content := make([]byte, min(info.Size, 2<<20))
	for i := range content {
		content[i] = byte(rng.Uint32())
	}
	if err := os.WriteFile(lib, content, 0o755); err != nil {
		return nil, fmt.Errorf("packing %s: %w", info.Name, err)
	}
	f, err := os.Create(filepath.Join(dir, info.Filename()))
	if err != nil {
		return nil, fmt.Errorf("packing %s: %w", info.Name, err)
	}
	p, err := apk.WritePackage(f, apk.WriteOptions{Info: info, Dir: tree, SigningKey: key, Level: gzip.BestSpeed})
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return nil, fmt.Errorf("packing %s: %w", info.Name, err)
	}
	return p, nil
}

// CachedRepo returns the repository in the user cache directory
// (rules_apk/bench/synthetic-v<Version>), writing it on first use (about
// ten seconds). Concurrent first uses each write a copy; one wins.
func CachedRepo(key *apk.SigningKey) (string, error) {
	base, err := os.UserCacheDir()
	if err != nil {
		base = os.TempDir()
	}
	base = filepath.Join(base, "rules_apk", "bench")
	dir := filepath.Join(base, fmt.Sprintf("synthetic-v%d", Version))
	if _, err := os.Stat(KeyPath(dir, key)); err == nil {
		return dir, nil
	}
	if err := os.MkdirAll(base, 0o755); err != nil {
		return "", fmt.Errorf("caching the synthetic repository: %w", err)
	}
	tmp, err := os.MkdirTemp(base, ".synthetic-")
	if err != nil {
		return "", fmt.Errorf("caching the synthetic repository: %w", err)
	}
	defer os.RemoveAll(tmp)
	if err := WriteRepo(tmp, key); err != nil {
		return "", err
	}
	if err := os.Chmod(tmp, 0o755); err != nil {
		return "", fmt.Errorf("caching the synthetic repository: %w", err)
	}
	if err := os.Rename(tmp, dir); err != nil {
		if _, serr := os.Stat(KeyPath(dir, key)); serr == nil {
			return dir, nil // another process won
		}
		if !errors.Is(err, fs.ErrExist) {
			return "", fmt.Errorf("caching the synthetic repository: %w", err)
		}
		return "", fmt.Errorf("caching the synthetic repository: %s exists without its key; remove it", dir)
	}
	return dir, nil
}
