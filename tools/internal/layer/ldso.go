package layer

import "archive/tar"

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

// ldsoCache writes etc/ld.so.cache for a glibc root.
func (g *generator) ldsoCache() error {
	if !g.hasGlibc() {
		return nil
	}
	g.opts.Logger.Warn("the closure has glibc but this apkpack cannot write ld.so.cache yet")
	return nil
}
