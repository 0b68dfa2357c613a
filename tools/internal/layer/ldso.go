package layer

import (
	"archive/tar"
	"bytes"
	"fmt"
	"path"
	"strings"

	"github.com/rules-apk/rules_apk/tools/internal/apk"
	"github.com/rules-apk/rules_apk/tools/internal/ldso"
)

// hasGlibc reports whether the root holds a glibc dynamic loader setup:
// an etc/ld.so.conf or a glibc loader (ld-linux-*.so.*) in lib or usr/lib.
func (g *generator) hasGlibc() bool {
	t := g.a.tree
	if n := t.follow("etc/ld.so.conf"); n != nil && n.typ == tar.TypeReg {
		return true
	}
	for _, dir := range []string{"lib", "lib64", "usr/lib", "usr/lib64"} {
		d := t.follow(dir)
		if d == nil || d.typ != tar.TypeDir {
			continue
		}
		for name := range d.children {
			if len(name) > 9 && name[:9] == "ld-linux-" {
				return true
			}
		}
	}
	return false
}

// ldsoCache writes etc/ld.so.cache for a glibc root, as the ldconfig
// commit hook (Wolfi since 2025-03) or trigger (earlier glibc) would have
// (§6.2, §6.3), with ldso.Build scanning the merged root, and adds the
// SONAME symlinks ldconfig would create where nothing exists yet. A cache a
// package ships is kept. An arch ldso does not know is warned about and
// left without a cache.
func (g *generator) ldsoCache() error {
	if !g.hasGlibc() {
		return nil
	}
	t := g.a.tree
	if t.lookup("etc/ld.so.cache") != nil {
		g.opts.Logger.Info("a package ships etc/ld.so.cache; keeping it")
		return nil
	}
	if ldso.DefaultSystemDirs(g.opts.Arch) == nil {
		g.opts.Logger.Warn("the closure has glibc, but ld.so.cache can only be written for "+
			"x86_64 and aarch64; none written", "arch", g.opts.Arch)
		return nil
	}
	legacy := g.glibcBefore237()
	cache, links, err := ldso.Build(&treeFS{t: t, epoch: g.epoch},
		ldso.Options{Arch: g.opts.Arch, LegacyHWCaps: legacy, LegacyTypes: legacy,
			Logger: g.opts.Logger})
	if err != nil {
		return err
	}
	b, err := ldso.Encode(cache)
	if err != nil {
		return fmt.Errorf("encoding ld.so.cache: %w", err)
	}
	for _, l := range links {
		if err := g.sonameLink(l); err != nil {
			return err
		}
	}
	if _, err := t.addGenerated("etc/ld.so.cache", fileNode(b, 0o644)); err != nil {
		return err
	}
	g.ldconfig = true
	for _, ip := range g.a.pkgs {
		if s, ok := ip.data.file.Scripts[".trigger"]; ok && bytes.Contains(s, []byte("ldconfig")) {
			g.emulated[ip.info.NameVersion()+".trigger"] = true
		}
	}
	return nil
}

// glibcBefore237 reports whether the closure's glibc package is older than
// 2.37, whose ldconfig dropped legacy hwcap subdirectories: the cache is
// then written by that older ldconfig's rules, as the package's own trigger
// would have written it.
func (g *generator) glibcBefore237() bool {
	for _, ip := range g.a.pkgs {
		if ip.info.Name == "glibc" {
			return apk.CompareVersions(ip.info.Version, "2.37") < 0
		}
	}
	return false
}

// sonameLink creates a SONAME symlink ldconfig would make, unless the path
// exists.
func (g *generator) sonameLink(l ldso.Link) error {
	p := strings.TrimPrefix(l.Path, "/")
	if err := checkGeneratedPath(p); err != nil {
		return fmt.Errorf("SONAME link: %w", err)
	}
	dir, base := path.Split(p)
	parent, err := g.a.tree.resolveDir(dir, false)
	if err != nil {
		return fmt.Errorf("SONAME link %s: %w", l.Path, err)
	}
	if parent.children[base] != nil {
		return nil
	}
	n := symlinkNode(l.Target)
	n.name, n.parent, n.owner = base, parent, generated
	parent.children[base] = n
	return nil
}
