package layer

import (
	"archive/tar"
	"bytes"
	"fmt"
	"path"
	"slices"
	"strings"
	"time"

	"github.com/rules-apk/rules_apk/tools/internal/apk"
)

// generator adds what apk itself writes, and what the scripts apkpack does
// not run would have made, to the merged root.
type generator struct {
	opts  *Options
	a     *assembled
	epoch time.Time
	// emulated marks the scripts whose effect Build reproduces
	// (name-version.type).
	emulated map[string]bool
	// ldconfig is set once ld.so.cache has been written.
	ldconfig bool
}

func (g *generator) run() error {
	g.emulated = map[string]bool{}
	if err := g.osRelease(); err != nil {
		return err
	}
	if err := g.busybox(); err != nil {
		return err
	}
	if err := g.ldsoCache(); err != nil {
		return err
	}
	if err := g.reportScripts(); err != nil {
		return err
	}
	return g.database()
}

// osRelease reads the root's etc/os-release, or writes one when no package
// ships it (§5.4): Options.OSRelease, else the lockfile's (the spec's
// os-release key), else GenericOSRelease.
func (g *generator) osRelease() error {
	t := g.a.tree
	if n := t.follow("etc/os-release"); n != nil && n.typ == tar.TypeReg {
		b, err := readContent(n)
		if err != nil {
			return err
		}
		g.a.res.OSRelease = ParseOSRelease(b)
		return nil
	}
	if t.lookup("etc/os-release") != nil {
		return fmt.Errorf("etc/os-release is a symlink that leads to no file: ship the file " +
			"or drop the symlink")
	}
	b := g.opts.OSRelease
	if b == nil && g.opts.Lockfile.OSRelease != nil {
		b = g.opts.Lockfile.OSRelease.File()
	}
	if b == nil {
		b = GenericOSRelease
		g.opts.Logger.Warn("no package ships etc/os-release; writing a generic one that " +
			"scanners match to no distribution (name one with the spec's os-release key " +
			"or --os-release)")
	}
	if _, err := t.addGenerated("etc/os-release", fileNode(b, 0o644)); err != nil {
		return err
	}
	g.a.res.OSRelease = ParseOSRelease(b)
	return nil
}

// busybox recreates the applet symlinks `busybox --install -s` makes in
// busybox's trigger (§6.2), from the lists busybox ships in
// etc/busybox-paths.d/ (one path per line, as `busybox --list-path`
// prints them). Like --install -s, it leaves existing paths alone, skips
// applets whose directory does not exist, and points every link at the
// busybox binary the package ships.
func (g *generator) busybox() error {
	t := g.a.tree
	d := t.follow("etc/busybox-paths.d")
	if d == nil || d.typ != tar.TypeDir {
		return nil
	}
	for _, name := range sortedNames(d) {
		n := d.children[name]
		if n.typ != tar.TypeReg || n.owner == generated {
			continue
		}
		ip := g.a.pkgs[n.owner]
		bin := busyboxBinary(ip)
		if bin == "" {
			g.opts.Logger.Warn("busybox path list has no busybox binary beside it; links not made",
				"list", n.path(), "package", ip.info.NameVersion())
			continue
		}
		if err := g.busyboxLinks(n, bin); err != nil {
			return fmt.Errorf("making busybox links from %s: %w", n.path(), err)
		}
		g.emulated[ip.info.NameVersion()+".trigger"] = true
	}
	return nil
}

func (g *generator) busyboxLinks(list *node, bin string) error {
	b, err := readContent(list)
	if err != nil {
		return err
	}
	t := g.a.tree
	for line := range strings.SplitSeq(string(b), "\n") {
		p := strings.Trim(strings.TrimSpace(line), "/")
		if p == "" || strings.HasPrefix(p, "#") {
			continue
		}
		if err := checkGeneratedPath(p); err != nil {
			return err
		}
		dir, base := path.Split(p)
		parent, err := t.resolveDir(dir, false)
		if err != nil {
			if _, ok := err.(*EscapeError); ok {
				return err
			}
			continue // --install -s skips applets whose directory is missing
		}
		if parent.children[base] != nil || "/"+p == bin {
			continue
		}
		n := symlinkNode(bin)
		n.name, n.parent, n.owner = base, parent, generated
		parent.children[base] = n
	}
	return nil
}

// checkGeneratedPath refuses a path read from a package file that names
// "..", "." or control characters.
func checkGeneratedPath(p string) error {
	for _, c := range strings.Split(p, "/") {
		if c == ".." || c == "." || c == "" ||
			strings.ContainsFunc(c, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
			return fmt.Errorf("path %q: empty, \".\" or \"..\" component or control "+
				"character", p)
		}
	}
	return nil
}

// busyboxBinary returns the absolute path of the busybox binary a package
// ships, preferring usr/bin (Wolfi) over bin (Alpine).
func busyboxBinary(ip *installed) string {
	found := ""
	for _, e := range ip.data.entries {
		if e.typ != tar.TypeReg || path.Base(e.path) != "busybox" {
			continue
		}
		if e.path == "usr/bin/busybox" {
			return "/usr/bin/busybox"
		}
		if found == "" {
			found = "/" + e.path
		}
	}
	return found
}

func sortedNames(d *node) []string {
	names := make([]string, 0, len(d.children))
	for name := range d.children {
		names = append(names, name)
	}
	slices.Sort(names)
	return names
}

// ScriptsError reports package scripts, triggers and commit hooks that Build
// neither runs nor emulates, with Options.StrictScripts.
type ScriptsError struct {
	Scripts []string
}

// Error lists the scripts.
func (e *ScriptsError) Error() string {
	return fmt.Sprintf("%d package scripts would not run (apkpack runs none; it emulates "+
		"busybox links and ldconfig only): %s; drop --strict-scripts to build anyway",
		len(e.Scripts), strings.Join(e.Scripts, ", "))
}

// reportScripts warns about every script, trigger and commit hook (§6.1)
// whose effect the layer lacks.
func (g *generator) reportScripts() error {
	var left []string
	for _, ip := range g.a.pkgs {
		for _, name := range sortedKeys(ip.data.file.Scripts) {
			id := ip.info.NameVersion() + name
			if g.emulated[id] {
				continue
			}
			left = append(left, id)
		}
	}
	left = append(left, g.commitHooks()...)
	g.a.res.Scripts = left
	if len(left) == 0 {
		return nil
	}
	if g.opts.StrictScripts {
		return &ScriptsError{Scripts: left}
	}
	for _, s := range left {
		g.opts.Logger.Warn("package script not run", "script", s)
	}
	return nil
}

// commitHooks lists the commit hooks (etc/apk/commit_hooks.d/*) other than
// an ldconfig hook made redundant by the generated ld.so.cache.
func (g *generator) commitHooks() []string {
	d := g.a.tree.follow("etc/apk/commit_hooks.d")
	if d == nil || d.typ != tar.TypeDir {
		return nil
	}
	var out []string
	for _, name := range sortedNames(d) {
		if strings.HasPrefix(name, ".") {
			continue
		}
		if g.ldconfig && strings.Contains(name, "ldconfig") {
			continue
		}
		out = append(out, "commit hook etc/apk/commit_hooks.d/"+name)
	}
	return out
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// database writes the installed database and apk's configuration (§5):
// lib/apk/db/{installed,scripts.tar,triggers} (through lib -> usr/lib on
// usr-merged Wolfi), etc/apk/world, etc/apk/arch and etc/apk/repositories.
// A package's own etc/apk file is kept.
func (g *generator) database() error {
	l := g.opts.Lockfile
	tags := map[string]string{}
	var repos []string
	for _, r := range l.Repositories {
		tags[r.URL] = r.Tag
		if r.Tag != "" {
			repos = append(repos, "@"+r.Tag+" "+r.URL)
		} else {
			repos = append(repos, r.URL)
		}
	}
	db := installedDB(g.a.pkgs, tags)
	files := []struct {
		path  string
		write func(*bytes.Buffer) error
	}{
		{"lib/apk/db/installed", func(b *bytes.Buffer) error { return apk.WriteInstalled(b, db) }},
		{"lib/apk/db/scripts.tar", func(b *bytes.Buffer) error {
			return apk.WriteInstalledScripts(b, installedScripts(g.a.pkgs, g.epoch))
		}},
		{"lib/apk/db/triggers", func(b *bytes.Buffer) error {
			return apk.WriteInstalledTriggers(b, installedTriggers(db, g.a.pkgs))
		}},
		{"etc/apk/world", func(b *bytes.Buffer) error { return apk.WriteWorld(b, l.World) }},
		{"etc/apk/arch", func(b *bytes.Buffer) error {
			_, err := b.WriteString(g.opts.Arch + "\n")
			return err
		}},
		{"etc/apk/repositories", func(b *bytes.Buffer) error {
			_, err := b.Write(encodeLines(repos))
			return err
		}},
	}
	for _, f := range files {
		if strings.HasPrefix(f.path, "etc/") && g.a.tree.lookup(f.path) != nil {
			continue
		}
		b, err := encode(f.write)
		if err != nil {
			return err
		}
		if _, err := g.a.tree.addGenerated(f.path, fileNode(b, 0o644)); err != nil {
			return err
		}
	}
	return nil
}
