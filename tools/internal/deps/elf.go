package deps

import (
	"bytes"
	"debug/elf"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"strings"
)

// minELFSize is the size of the smallest ELF header (ELF32); shorter files
// are not opened.
const minELFSize = 52

// maxInterpLen bounds the PT_INTERP string read from a file; real
// interpreter paths are a few dozen bytes.
const maxInterpLen = 4096

// errNoDynamicSection reports an ELF file that is dynamically linked
// (PT_DYNAMIC) but carries no section headers, as "sstrip" leaves it:
// debug/elf reads DT_NEEDED and DT_SONAME through the section headers only.
var errNoDynamicSection = errors.New(
	"dynamically linked ELF file without section headers; its so: names are not read")

// elfInfo is what the so: detector needs from one ELF file.
type elfInfo struct {
	dyn     bool     // ET_DYN: a shared object or a position-independent program
	sonames []string // DT_SONAME
	needed  []string // DT_NEEDED
	interp  string   // PT_INTERP, the program interpreter's path
}

// readELF inspects the file at f. It returns nil and no error for a file
// that is not ELF at all (no "\x7fELF" magic), so that scripts and data are
// skipped cheaply; a file with the magic that debug/elf cannot read is an
// error. debug/elf reads only the headers and the dynamic section, never the
// whole file.
func readELF(f *os.File) (*elfInfo, error) {
	var magic [4]byte
	n, err := f.ReadAt(magic[:], 0)
	if err != nil && !errors.Is(err, io.EOF) {
		return nil, err
	}
	if n < len(magic) || string(magic[:]) != elf.ELFMAG {
		return nil, nil
	}
	ef, err := elf.NewFile(f)
	if err != nil {
		return nil, err
	}
	defer ef.Close()

	info := &elfInfo{dyn: ef.Type == elf.ET_DYN}
	if info.interp, err = interpreter(ef); err != nil {
		return nil, fmt.Errorf("reading PT_INTERP: %w", err)
	}
	if ef.SectionByType(elf.SHT_DYNAMIC) == nil {
		if hasDynamicContent(ef) {
			return info, errNoDynamicSection
		}
		return info, nil // static, or a separate debug file (.dynamic is NOBITS)
	}
	if info.sonames, err = ef.DynString(elf.DT_SONAME); err != nil {
		return nil, fmt.Errorf("reading DT_SONAME: %w", err)
	}
	if info.needed, err = ef.DynString(elf.DT_NEEDED); err != nil {
		return nil, fmt.Errorf("reading DT_NEEDED: %w", err)
	}
	return info, nil
}

// interpreter returns the PT_INTERP path of ef, or "" for a file without
// one (a shared library or a static program).
func interpreter(ef *elf.File) (string, error) {
	for _, p := range ef.Progs {
		if p.Type != elf.PT_INTERP {
			continue
		}
		b, err := io.ReadAll(io.LimitReader(p.Open(), maxInterpLen))
		if err != nil {
			return "", err
		}
		if i := bytes.IndexByte(b, 0); i >= 0 {
			b = b[:i]
		}
		return string(b), nil
	}
	return "", nil
}

// hasDynamicContent reports whether ef has a PT_DYNAMIC segment with bytes
// in the file. A separate debug file (lib/debug/.build-id/…) keeps the
// program headers of its program with empty segments: it needs nothing.
func hasDynamicContent(ef *elf.File) bool {
	for _, p := range ef.Progs {
		if p.Type == elf.PT_DYNAMIC && p.Filesz > 0 {
			return true
		}
	}
	return false
}

// isLibrary reports whether an ELF file found under the name base is a
// shared library. A position-independent program is ET_DYN too, and a few
// (jlink output) even carry a SONAME; like melange, a file with a program
// interpreter is taken for a program unless its name looks like a library
// ("libc.so.6" and "libcap.so.2" have PT_INTERP so that they can print
// their version when run).
func (e *elfInfo) isLibrary(base string) bool {
	if !e.dyn {
		return false
	}
	return e.interp == "" || strings.Contains(base, ".so.") || strings.HasSuffix(base, ".so")
}

// interpName is the so: name a program interpreter path stands for: its
// base name, except musl's loader "ld-musl-<arch>.so.1", a link to
// "libc.musl-<arch>.so.1", whose SONAME is what musl's package provides
// (melange pkg/sca/sca.go does the same replacement).
func interpName(interp string) string {
	base := path.Base(interp)
	if rest, ok := strings.CutPrefix(base, "ld-musl-"); ok {
		return "libc.musl-" + rest
	}
	return base
}
