package ldso

import (
	"fmt"
	"io/fs"
	"path"
	"slices"
	"strings"
)

// maxIncludeDepth bounds nested include directives; glibc has no bound and
// recurses until its stack overflows on an include loop.
const maxIncludeDepth = 32

// libTypes are the "dir=TYPE" suffixes of ld.so.conf (elf/ldconfig.c).
var libTypes = map[string]int32{
	"libc4": FlagLibc4, "libc5": FlagELFLibc5, "libc6": FlagELFLibc6, "glibc2": FlagELFLibc6,
}

// parseConf reads one configuration file as elf/ldconfig.c:parse_conf does.
// A missing file is not an error, as for ldconfig.
func (b *builder) parseConf(name string, depth int) error {
	if depth > maxIncludeDepth {
		return fmt.Errorf("reading %s: includes nest deeper than %d; look for an "+
			"include loop", name, maxIncludeDepth)
	}
	p, fi, err := b.root.stat(name)
	if err != nil {
		if isMissing(err) {
			b.log.Debug("no ldconfig configuration file", "file", name)
			return nil
		}
		return fmt.Errorf("reading ldconfig configuration %s: %w", name, err)
	}
	if !fi.Mode().IsRegular() {
		b.log.Warn("ignoring ldconfig configuration that is not a file", "file", name)
		return nil
	}
	data, err := fs.ReadFile(b.root.fsys, p)
	if err != nil {
		return fmt.Errorf("reading ldconfig configuration %s: %w", name, err)
	}
	for i, line := range strings.Split(string(data), "\n") {
		if err := b.confLine(name, i+1, line, depth); err != nil {
			return err
		}
	}
	return nil
}

func (b *builder) confLine(name string, lineno int, line string, depth int) error {
	if i := strings.IndexByte(line, '#'); i >= 0 {
		line = line[:i]
	}
	line = strings.TrimLeft(line, cSpace)
	switch {
	case line == "":
		return nil
	case len(line) > 7 && line[:7] == "include" && isBlank(line[7]):
		for _, pat := range strings.FieldsFunc(line[8:], func(r rune) bool {
			return r == ' ' || r == '\t'
		}) {
			if err := b.include(name, pat, depth); err != nil {
				return err
			}
		}
		return nil
	case len(line) > 5 && strings.EqualFold(line[:5], "hwcap") && isBlank(line[5]):
		b.log.Warn("ignoring hwcap directive, as ldconfig does", "file", name, "line", lineno)
		return nil
	}
	return b.addDir(line, fmt.Sprintf("%s:%d", name, lineno))
}

// include reads the configuration files matching pattern, in sorted order,
// as elf/ldconfig.c:parse_conf_include does with glob(3). A relative
// pattern is relative to the including file's directory.
func (b *builder) include(from, pattern string, depth int) error {
	if !strings.HasPrefix(pattern, "/") {
		pattern = path.Join(path.Dir(from), pattern)
	}
	files, err := b.root.glob(pattern)
	if err != nil {
		return fmt.Errorf("expanding include %s in %s: %w", pattern, from, err)
	}
	for _, f := range files {
		if err := b.parseConf(f, depth+1); err != nil {
			return err
		}
	}
	return nil
}

// cSpace holds the characters C's isspace accepts.
const cSpace = " \t\n\v\f\r"

func isBlank(c byte) bool { return c == ' ' || c == '\t' }

// glob expands an absolute pattern inside the root the way glob(3) does
// without flags: "*", "?" and "[...]" match within one component, a leading
// dot must be matched explicitly, and the matches come back sorted bytewise
// (ldconfig sets LC_COLLATE to C). Unreadable directories match nothing.
func (r *rootFS) glob(pattern string) ([]string, error) {
	type match struct{ shown, real string }
	cur := []match{{shown: "", real: "."}}
	comps := splitPath(pattern)
	for i, c := range comps {
		last := i == len(comps)-1
		var next []match
		for _, m := range cur {
			for _, n := range r.matchNames(m.real, c) {
				real, fi, err := r.stat(path.Join(m.real, n))
				if err != nil {
					if isMissing(err) {
						continue
					}
					return nil, err
				}
				if last || fi.IsDir() {
					next = append(next, match{shown: m.shown + "/" + n, real: real})
				}
			}
		}
		cur = next
	}
	out := make([]string, len(cur))
	for i, m := range cur {
		out[i] = m.shown
	}
	slices.Sort(out)
	return out, nil
}

// matchNames lists the names in directory dir that match one pattern
// component; a component without wildcards is returned as is.
func (r *rootFS) matchNames(dir, comp string) []string {
	if !strings.ContainsAny(comp, "*?[") {
		return []string{comp}
	}
	goPat := strings.ReplaceAll(comp, "[!", "[^")
	if _, err := path.Match(goPat, ""); err != nil {
		// glob(3) takes an unclosed "[" literally; so does its escape here.
		goPat = strings.ReplaceAll(comp, "[", `\[`)
	}
	ents, err := fs.ReadDir(r.fsys, dir)
	if err != nil {
		return nil
	}
	var names []string
	for _, e := range ents {
		n := e.Name()
		if strings.HasPrefix(n, ".") && !strings.HasPrefix(comp, ".") {
			continue
		}
		if ok, _ := path.Match(goPat, n); ok {
			names = append(names, n)
		}
	}
	return names
}

// splitFlag splits a "dir=TYPE" line of ld.so.conf with LegacyTypes; an
// unknown TYPE is reported and the directory kept without a type, as
// ldconfig does. Without LegacyTypes the line is the directory.
func (b *builder) splitFlag(line string) (string, int32) {
	dir, typ, ok := strings.Cut(line, "=")
	if !ok || !b.opts.LegacyTypes {
		return line, flagAny
	}
	flag, known := libTypes[typ]
	if !known {
		b.log.Warn("unknown library type in ldconfig configuration", "line", line)
		return dir, flagAny
	}
	return dir, flag
}
