package deps

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"slices"
	"strings"
)

// maxLinkHops is how many symbolic links one path may go through, as
// Linux's limit before ELOOP.
const maxLinkHops = 40

var (
	// errBrokenLink reports a symbolic link whose target is not in the
	// tree. Such links are ignored: a -dev package's libfoo.so often points
	// at a library in another package.
	errBrokenLink = errors.New("symbolic link target is not in the tree")
	// errLinkLoop reports a chain of more than maxLinkHops links.
	errLinkLoop = errors.New("too many levels of symbolic links")
	// errTooLarge reports a text file past the size this package reads.
	errTooLarge = errors.New("file is too large")
)

// stdLibDirs are the directories whose shared objects provide so: names
// (melange pkg/sca/sca.go LibDirs, plus usr/local/lib from Wolfi's
// /etc/ld.so.conf.d/libc.conf, §6.2).
var stdLibDirs = []string{"lib", "lib64", "usr/lib", "usr/lib64", "usr/local/lib"}

// binDirs are the directories whose executables provide cmd: names.
var binDirs = []string{"bin", "sbin", "usr/bin", "usr/sbin", "usr/local/bin"}

// pcShareDirs are the architecture-independent pkg-config directories;
// the others are <lib dir>/pkgconfig.
var pcShareDirs = []string{"usr/share/pkgconfig", "usr/local/share/pkgconfig"}

// resolve returns the path, relative to the root, that name designates
// once every symbolic link on the way is followed, the way the tree would
// resolve it as the root of an image: an absolute target starts again at
// the root and ".." at the root stays there, so the result is always
// inside the tree. It returns errBrokenLink when a component does not
// exist (or is not a directory where one is needed) and errLinkLoop after
// maxLinkHops links.
func resolve(root *os.Root, name string) (string, error) {
	var done []string
	todo := strings.Split(name, "/")
	for hops := 0; len(todo) > 0; {
		c := todo[0]
		todo = todo[1:]
		switch c {
		case "", ".":
			continue
		case "..":
			if len(done) > 0 {
				done = done[:len(done)-1]
			}
			continue
		}
		cur := strings.Join(append(done, c), "/")
		fi, err := root.Lstat(cur)
		if errors.Is(err, fs.ErrNotExist) {
			return "", errBrokenLink
		} else if err != nil {
			return "", err
		}
		if fi.Mode()&fs.ModeSymlink == 0 {
			if len(todo) > 0 && !fi.IsDir() {
				return "", errBrokenLink
			}
			done = append(done, c)
			continue
		}
		if hops++; hops > maxLinkHops {
			return "", errLinkLoop
		}
		target, err := root.Readlink(cur)
		if err != nil {
			return "", err
		}
		if target == "" {
			return "", errBrokenLink // symlink(2) refuses to make one; a tar may not
		}
		if strings.HasPrefix(target, "/") {
			done = done[:0]
		}
		todo = append(strings.Split(target, "/"), todo...)
	}
	if len(done) == 0 {
		return ".", nil
	}
	return strings.Join(done, "/"), nil
}

// readSmallFile reads a text file of the tree (a .pc file, ld.so.conf),
// refusing one larger than limit bytes without reading past the limit.
func readSmallFile(root *os.Root, name string, limit int64) ([]byte, error) {
	f, err := root.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(data)) > limit {
		return nil, fmt.Errorf("%w: more than %d bytes", errTooLarge, limit)
	}
	return data, nil
}

// isStdLibDir reports whether dir is a standard library directory or a
// multiarch directory one level below one ("usr/lib/x86_64-linux-gnu").
func isStdLibDir(dir string) bool {
	if slices.Contains(stdLibDirs, dir) {
		return true
	}
	parent, base := path.Split(dir)
	return slices.Contains(stdLibDirs, strings.TrimSuffix(parent, "/")) && isMultiarch(base)
}

// isMultiarch reports whether name is a Debian multiarch tuple such as
// "x86_64-linux-gnu", "arm-linux-gnueabihf" or "x86_64-linux-musl". Other
// subdirectories of lib (a program's plugins, python3.12) are not library
// directories.
func isMultiarch(name string) bool {
	cpu, abi, ok := strings.Cut(name, "-linux-")
	return ok && isTupleWord(cpu) && isTupleWord(abi)
}

// isTupleWord reports whether s is a non-empty run of [a-z0-9_].
func isTupleWord(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c != '_' && (c < 'a' || c > 'z') && (c < '0' || c > '9') {
			return false
		}
	}
	return true
}

// isPCDir reports whether dir is one that pkg-config searches by default:
// <lib dir>/pkgconfig or one of pcShareDirs.
func isPCDir(dir string) bool {
	parent, ok := strings.CutSuffix(dir, "/pkgconfig")
	return ok && isStdLibDir(parent) || slices.Contains(pcShareDirs, dir)
}
