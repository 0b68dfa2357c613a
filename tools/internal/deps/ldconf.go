package deps

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"strings"
)

const (
	// maxConfSize bounds one ld.so.conf file; real ones are a few lines.
	maxConfSize = 64 << 10
	// maxIncludeDepth bounds nested "include" lines.
	maxIncludeDepth = 8
)

// ldConf collects the library directories a tree's own dynamic loader
// configuration adds: etc/ld.so.conf with its "include" globs (glibc
// elf/ldconfig.c parse_conf) and every etc/ld.so.conf.d/*.conf, which
// melange reads even when ld.so.conf does not include them. Wolfi's glibc
// ships ld.so.conf = "include /etc/ld.so.conf.d/*.conf" (§6.2).
type ldConf struct {
	root     *os.Root
	dirs     map[string]bool
	visited  map[string]bool
	warnings []Warning
}

// ldSoConfDirs returns the library directories configured inside root,
// relative to it, and what it had to skip.
func ldSoConfDirs(root *os.Root) (map[string]bool, []Warning, error) {
	c := &ldConf{root: root, dirs: map[string]bool{}, visited: map[string]bool{}}
	if err := c.file("etc/ld.so.conf", 0); err != nil {
		return nil, nil, err
	}
	if err := c.include("/etc/ld.so.conf.d/*.conf", "etc/ld.so.conf", 0); err != nil {
		return nil, nil, err
	}
	return c.dirs, c.warnings, nil
}

// file reads one configuration file. A missing file is not an error.
func (c *ldConf) file(name string, depth int) error {
	real, err := resolve(c.root, name)
	if errors.Is(err, errBrokenLink) || errors.Is(err, errLinkLoop) {
		return nil
	} else if err != nil {
		return fmt.Errorf("resolving %s: %w", name, err)
	}
	if c.visited[real] {
		return nil
	}
	c.visited[real] = true
	if fi, err := c.root.Stat(real); err != nil || !fi.Mode().IsRegular() {
		return nil
	}

	data, err := readSmallFile(c.root, real, maxConfSize)
	if errors.Is(err, errTooLarge) {
		c.warn(name, err.Error()+"; its directories are not library directories")
		return nil
	} else if err != nil {
		return fmt.Errorf("reading %s: %w", name, err)
	}
	for line := range strings.Lines(string(data)) {
		if err := c.line(line, name, depth); err != nil {
			return err
		}
	}
	return nil
}

// line handles one line: a comment, "include <glob>…", "hwcap …" (ignored,
// as modern glibc does) or a directory.
func (c *ldConf) line(line, name string, depth int) error {
	line, _, _ = strings.Cut(line, "#")
	line = strings.TrimSpace(line)
	fields := strings.Fields(line)
	switch {
	case len(fields) == 0:
		return nil
	case fields[0] == "include" && len(fields) > 1:
		for _, pattern := range fields[1:] {
			if err := c.include(pattern, name, depth+1); err != nil {
				return err
			}
		}
		return nil
	case fields[0] == "hwcap":
		return nil
	case !strings.HasPrefix(line, "/"):
		c.warn(name, fmt.Sprintf("relative directory %q is ignored, as ldconfig does", line))
		return nil
	}
	c.addDir(strings.TrimPrefix(path.Clean(line), "/"))
	return nil
}

// include reads the files matching pattern. A relative pattern is relative
// to the directory of the file that includes it, as in glibc.
func (c *ldConf) include(pattern, from string, depth int) error {
	if depth > maxIncludeDepth {
		c.warn(from, fmt.Sprintf("include %s: more than %d nested includes", pattern,
			maxIncludeDepth))
		return nil
	}
	if !strings.HasPrefix(pattern, "/") {
		pattern = path.Join("/", path.Dir(from), pattern)
	}
	matches, err := fs.Glob(c.root.FS(), strings.TrimPrefix(path.Clean(pattern), "/"))
	if err != nil {
		c.warn(from, fmt.Sprintf("include %s: %v", pattern, err))
		return nil
	}
	for _, m := range matches {
		if err := c.file(m, depth); err != nil {
			return err
		}
	}
	return nil
}

// addDir records a configured directory both as written and, when it goes
// through symbolic links, as resolved, since files are matched by the path
// they are found at.
func (c *ldConf) addDir(dir string) {
	if dir == "" {
		dir = "."
	}
	c.dirs[dir] = true
	if real, err := resolve(c.root, dir); err == nil {
		c.dirs[real] = true
	}
}

// warn records a warning about a configuration file.
func (c *ldConf) warn(name, msg string) {
	c.warnings = append(c.warnings, Warning{Path: name, Message: msg})
}
