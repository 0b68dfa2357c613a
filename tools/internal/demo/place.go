package demo

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// cacheLifetime is how long a cached package or index unused by any build
// is kept.
const cacheLifetime = 7 * 24 * time.Hour

// place puts the cached packages of a snapshot into dir and removes the
// packages of earlier runs that the snapshot no longer has.
func (b *builder) place(dir string, plans []*plan, s *SnapshotResult) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	want := map[string]bool{"APKINDEX.tar.gz": true}
	for _, p := range plans {
		want[p.file()] = true
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	for _, e := range entries {
		if !want[e.Name()] {
			if err := os.RemoveAll(filepath.Join(dir, e.Name())); err != nil {
				return err
			}
		}
	}
	for _, p := range plans {
		b.used = append(b.used, filepath.Dir(p.cached))
		dst := filepath.Join(dir, p.file())
		if err := linkFile(p.cached, dst); err != nil {
			return fmt.Errorf("placing %s: %w", p.file(), err)
		}
		fi, err := os.Stat(dst)
		if err != nil {
			return err
		}
		s.Packages = append(s.Packages, BuiltPackage{Name: p.recipe.Name, Version: p.version,
			Origin: p.origin, File: dst, Size: fi.Size(), Packed: p.packed})
	}
	return nil
}

// index writes the snapshot's signed index with apkpack index, or takes it
// from the cache when the same packages were indexed before.
func (b *builder) index(ctx context.Context, snap, dir string, plans []*plan) error {
	desc := "rules_apk demo " + snap + " (Debian bookworm binaries)"
	type entry struct{ File, Key string }
	var entries []entry
	var files []string
	for _, p := range plans {
		entries = append(entries, entry{p.file(), p.key})
		files = append(files, filepath.Join(dir, p.file()))
	}
	slices.SortFunc(entries, func(a, b entry) int { return strings.Compare(a.File, b.File) })
	slices.Sort(files)
	key, err := b.digest(struct {
		Description string
		Packages    []entry
	}{desc, entries})
	if err != nil {
		return err
	}
	cached := filepath.Join(b.o.CacheDir, "indexes", key[:40], "APKINDEX.tar.gz")
	b.used = append(b.used, filepath.Dir(cached))
	if _, err := os.Stat(cached); err != nil {
		if err := os.MkdirAll(filepath.Dir(cached), 0o755); err != nil {
			return err
		}
		tmp := cached + ".tmp"
		args := append([]string{"index", "--signing-key", b.key.Private, "-d", desc, "-o", tmp},
			files...)
		if err := b.apkpack(ctx, args...); err != nil {
			os.Remove(tmp)
			return fmt.Errorf("indexing %s: %w", snap, err)
		}
		if err := os.Rename(tmp, cached); err != nil {
			return err
		}
		b.log.Info("indexed", "snapshot", snap, "packages", len(files))
	}
	return linkFile(cached, filepath.Join(dir, "APKINDEX.tar.gz"))
}

// secDB is Wolfi's security database format (security.json), with the
// field order Wolfi writes.
type secDB struct {
	APKURL    string       `json:"apkurl"`
	Archs     []string     `json:"archs"`
	RepoName  string       `json:"reponame"`
	URLPrefix string       `json:"urlprefix"`
	Packages  []secDBEntry `json:"packages"`
}

type secDBEntry struct {
	Pkg struct {
		Name     string              `json:"name"`
		Secfixes map[string][]string `json:"secfixes"`
	} `json:"pkg"`
}

// writeSecDB writes dir/security.json: for each origin v2 updates, the
// CVEs the newest security entry of its Debian changelog names, as fixed
// by the origin's v2 version. The URL prefix is a placeholder (.invalid,
// RFC 2606): the repository is served from wherever a test puts it.
func (b *builder) writeSecDB(ctx context.Context, dir string, plans []*plan) error {
	db := secDB{
		APKURL: "{{urlprefix}}/{{reponame}}/{{arch}}/{{pkg.name}}-{{pkg.ver}}.apk",
		Archs:  []string{Arch}, RepoName: "demo", URLPrefix: "https://demo.rules-apk.invalid",
	}
	for _, u := range Updates {
		i := slices.IndexFunc(plans, func(p *plan) bool {
			return len(p.debs) > 0 && p.debs[0].Name == u.Changelog
		})
		if i < 0 {
			continue
		}
		fixes, err := DebFixes(ctx, b.paths[u.Changelog], u.Changelog)
		if err != nil {
			return err
		}
		var e secDBEntry
		e.Pkg.Name = u.Origin
		e.Pkg.Secfixes = map[string][]string{plans[i].version: fixes.CVEs}
		db.Packages = append(db.Packages, e)
	}
	out, err := json.MarshalIndent(db, "", "  ")
	if err != nil {
		return err
	}
	return writeIfChanged(filepath.Join(dir, "security.json"), append(out, '\n'))
}

// writeIfChanged writes a file unless it already has these bytes.
func writeIfChanged(p string, data []byte) error {
	if old, err := os.ReadFile(p); err == nil && bytes.Equal(old, data) {
		return nil
	}
	return os.WriteFile(p, data, 0o644)
}

// linkFile makes dst the same file as src: a hard link, or a copy across
// file systems. It leaves dst alone when it already is src.
func linkFile(src, dst string) error {
	sfi, err := os.Stat(src)
	if err != nil {
		return err
	}
	if dfi, err := os.Stat(dst); err == nil {
		if os.SameFile(sfi, dfi) {
			return nil
		}
		if err := os.Remove(dst); err != nil {
			return err
		}
	}
	return linkOrCopy(src, dst, sfi.Mode())
}

// prune marks the cache entries of this build as used now and removes
// entries no build has used for cacheLifetime, so that the cache does not
// grow with every change of the tools. Entries are directories named by
// cache key; their own mtime records the last use (the files are hard
// links shared with OUTDIR, whose mtimes are left alone).
func (b *builder) prune() error {
	now := time.Now()
	for _, dir := range b.used {
		if err := os.Chtimes(dir, now, now); err != nil {
			return err
		}
	}
	for _, kind := range []string{"apks", "indexes"} {
		entries, err := os.ReadDir(filepath.Join(b.o.CacheDir, kind))
		if err != nil {
			return err
		}
		for _, e := range entries {
			p := filepath.Join(b.o.CacheDir, kind, e.Name())
			fi, err := e.Info()
			if err != nil || slices.Contains(b.used, p) || now.Sub(fi.ModTime()) < cacheLifetime {
				continue
			}
			b.log.Info("removing an unused cache entry", "path", p)
			if err := os.RemoveAll(p); err != nil {
				return err
			}
		}
	}
	return nil
}
