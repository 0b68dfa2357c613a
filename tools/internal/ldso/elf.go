package ldso

import (
	"bytes"
	"debug/elf"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math/bits"
	"slices"
)

// elfClass is the word size an ELF file is read with.
type elfClass int

const (
	class32 elfClass = 32
	class64 elfClass = 64
)

// classByte is the e_ident[EI_CLASS] value of a word size.
func classByte(c elfClass) byte {
	if c == class32 {
		return byte(elf.ELFCLASS32)
	}
	return byte(elf.ELFCLASS64)
}

// minELFSize is the size below which ldconfig does not look at a file: the
// larger of struct exec and Elf64_Ehdr (elf/readlib.c:process_file).
const minELFSize = 64

// gnuPropertyX86ISA1Needed is GNU_PROPERTY_X86_ISA_1_NEEDED, the property
// holding the x86-64 ISA levels (v2, v3, v4) a library needs.
const gnuPropertyX86ISA1Needed = 0xc0008002

// ntGNUPropertyType0 is the type of the note holding GNU properties.
const ntGNUPropertyType0 = 5

// elfHeader holds the ELF header fields ldconfig reads.
type elfHeader struct {
	class   byte // e_ident[EI_CLASS]
	typ     uint16
	machine elf.Machine
	flags   uint32 // e_flags
	phoff   uint64
	phnum   uint16
}

// elfInfo is what ldconfig learns from a shared library.
type elfInfo struct {
	flags int32
	// soname is the DT_SONAME; hasSOName is false when there is none.
	soname    string
	hasSOName bool
	// isaLevel is the highest x86 ISA level the library needs, 0 otherwise.
	isaLevel uint32
}

// skipError explains why ldconfig ignores a file; it is not a failure.
type skipError struct{ reason string }

func (e *skipError) Error() string { return e.reason }

func skipf(format string, args ...any) error {
	return &skipError{reason: fmt.Sprintf(format, args...)}
}

// readELF classifies a file as glibc's process_file and process_elf_file do
// (elf/readlib.c, elf/readelflib.c): a little-endian ELF shared object of
// the architecture with a dynamic segment and a string table. It returns a
// *skipError for a file ldconfig ignores, any other error for a read
// failure.
func (a *archInfo) readELF(r io.ReaderAt, size int64) (elfInfo, error) {
	f := &elfFile{r: r, size: uint64(size)}
	if size < minELFSize {
		return elfInfo{}, skipf("%d bytes is too small for an ELF file", size)
	}
	h, err := f.header()
	if err != nil {
		return elfInfo{}, err
	}
	class, fileFlags, ok := a.classify(h)
	if !ok {
		return elfInfo{}, skipf("ELF machine %v (class %d) is not one ldconfig for "+
			"this architecture reads", h.machine, h.class)
	}
	info, err := f.dynamic(a, h, class)
	if err != nil {
		return elfInfo{}, err
	}
	if fileFlags != 0 {
		info.flags = fileFlags
	}
	return info, nil
}

// classifyX86 follows sysdeps/unix/sysv/linux/x86/readelflib.c: x86-64 and
// x32 libraries are always libc6; i386 ones are classified generically.
func classifyX86(h *elfHeader) (elfClass, int32, bool) {
	switch {
	case h.machine == elf.EM_X86_64 && h.class == byte(elf.ELFCLASS64):
		return class64, FlagX8664Lib64 | FlagELFLibc6, true
	case h.machine == elf.EM_X86_64:
		return class32, FlagX8664LibX32 | FlagELFLibc6, true
	case h.machine == elf.EM_386 && h.class == byte(elf.ELFCLASS32):
		return class32, 0, true
	}
	return 0, 0, false
}

// classifyARM follows sysdeps/unix/sysv/linux/arm/readelflib.c, which
// aarch64 uses: every 64-bit file is an AArch64 libc6 library, whatever its
// machine; 32-bit ones get their float ABI from the EABI flags.
func classifyARM(h *elfHeader) (elfClass, int32, bool) {
	if h.class != byte(elf.ELFCLASS32) {
		return class64, FlagAArch64Lib64 | FlagELFLibc6, true
	}
	const eabiMask, eabiVer5 = 0xff000000, 0x05000000
	const floatHard, floatSoft = 0x400, 0x200
	if h.flags&eabiMask != eabiVer5 {
		return class32, 0, true
	}
	switch {
	case h.flags&floatHard != 0:
		return class32, FlagARMLibHF | FlagELFLibc6, true
	case h.flags&floatSoft != 0:
		return class32, FlagARMLibSF | FlagELFLibc6, true
	}
	return class32, FlagELFLibc6, true
}

// elfFile reads fields of an ELF file at absolute offsets, treating a read
// past the end as a truncated file. Fields are little-endian: ldconfig reads
// them in its own (little-endian) byte order, so a big-endian file fails the
// ET_DYN check as it does there.
type elfFile struct {
	r    io.ReaderAt
	size uint64
}

func (f *elfFile) read(off, n uint64) ([]byte, error) {
	if off > f.size || n > f.size-off {
		return nil, skipf("ELF file is truncated: %d bytes at %d are past its end", n, off)
	}
	b := make([]byte, n)
	if _, err := f.r.ReadAt(b, int64(off)); err != nil && !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("reading %d bytes at %d: %w", n, off, err)
	} else if err != nil {
		return nil, skipf("ELF file is shorter than it claims")
	}
	return b, nil
}

// cstring reads the NUL-terminated string at off. Strings longer than
// PATH_MAX make the file skipped: glibc would take them, but no path that
// long can be opened, and Parse refuses them.
func (f *elfFile) cstring(off uint64) (string, error) {
	n := min(uint64(maxString+1), f.size-min(off, f.size))
	b, err := f.read(off, n)
	if err != nil {
		return "", err
	}
	if i := bytes.IndexByte(b, 0); i >= 0 {
		return string(b[:i]), nil
	}
	if n <= maxString {
		return "", skipf("ELF string at %d has no NUL before the end of the file", off)
	}
	return "", skipf("ELF string at %d is longer than %d bytes", off, maxString)
}

func (f *elfFile) header() (*elfHeader, error) {
	b, err := f.read(0, minELFSize)
	if err != nil {
		return nil, err
	}
	if string(b[:4]) != elf.ELFMAG {
		return nil, skipf("not an ELF file")
	}
	le := binary.LittleEndian
	h := &elfHeader{class: b[elf.EI_CLASS], typ: le.Uint16(b[16:]),
		machine: elf.Machine(le.Uint16(b[18:]))}
	if h.typ != uint16(elf.ET_DYN) {
		return nil, skipf("ELF type %d is not ET_DYN", h.typ)
	}
	if h.class == byte(elf.ELFCLASS32) {
		h.phoff, h.flags, h.phnum = uint64(le.Uint32(b[28:])), le.Uint32(b[36:]), le.Uint16(b[44:])
	} else {
		h.phoff, h.flags, h.phnum = le.Uint64(b[32:]), le.Uint32(b[48:]), le.Uint16(b[56:])
	}
	return h, nil
}

// prog is one program header.
type prog struct {
	typ                         elf.ProgType
	offset, vaddr, filesz, algn uint64
}

func (f *elfFile) progs(h *elfHeader, class elfClass) ([]prog, error) {
	size := uint64(56)
	if class == class32 {
		size = 32
	}
	b, err := f.read(h.phoff, uint64(h.phnum)*size)
	if err != nil {
		return nil, err
	}
	le := binary.LittleEndian
	ps := make([]prog, h.phnum)
	for i := range ps {
		p := b[uint64(i)*size:]
		ps[i].typ = elf.ProgType(le.Uint32(p))
		if class == class32 {
			ps[i].offset, ps[i].vaddr = uint64(le.Uint32(p[4:])), uint64(le.Uint32(p[8:]))
			ps[i].filesz, ps[i].algn = uint64(le.Uint32(p[16:])), uint64(le.Uint32(p[28:]))
		} else {
			ps[i].offset, ps[i].vaddr = le.Uint64(p[8:]), le.Uint64(p[16:])
			ps[i].filesz, ps[i].algn = le.Uint64(p[32:]), le.Uint64(p[48:])
		}
	}
	return ps, nil
}

// dynamic is the generic part of process_elf_file: the program headers,
// then DT_STRTAB, DT_NEEDED and DT_SONAME from the dynamic segment.
func (f *elfFile) dynamic(a *archInfo, h *elfHeader, class elfClass) (elfInfo, error) {
	if want := classByte(class); h.class != want {
		return elfInfo{}, skipf("ELF class %d is not the expected %d (%d-bit)",
			h.class, want, class)
	}
	ps, err := f.progs(h, class)
	if err != nil {
		return elfInfo{}, err
	}
	info := elfInfo{flags: FlagELF}
	var dynAddr, dynSize uint64
	for _, p := range ps {
		switch p.typ {
		case elf.PT_DYNAMIC:
			// glibc keeps the offset in an unsigned int.
			dynAddr, dynSize = uint64(uint32(p.offset)), p.filesz
		case elf.PT_INTERP:
			if p.offset > f.size {
				return elfInfo{}, skipf("ELF file is truncated: PT_INTERP at %d", p.offset)
			}
			if interp, err := f.cstring(p.offset); err == nil &&
				slices.Contains(a.interpreters, interp) {
				info.flags = FlagELFLibc6
			}
		case elf.PT_GNU_PROPERTY:
			if level, ok := f.x86ISALevel(p, class); ok && a.isaLevels {
				info.isaLevel = level
			}
		}
	}
	if dynSize == 0 {
		return elfInfo{}, skipf("no dynamic segment")
	}
	dyns, err := f.dynEntries(dynAddr, class)
	if err != nil {
		return elfInfo{}, err
	}
	strtab, ok := stringTableOffset(dyns, ps)
	if !ok {
		return elfInfo{}, skipf("no DT_STRTAB in the dynamic segment")
	}
	return f.names(info, dyns, strtab)
}

type dyn struct {
	tag elf.DynTag
	val uint64
}

// dynEntries reads the dynamic segment up to DT_NULL; like glibc, it is
// bounded by the file, not by the segment's size.
func (f *elfFile) dynEntries(off uint64, class elfClass) ([]dyn, error) {
	size := uint64(16)
	if class == class32 {
		size = 8
	}
	le := binary.LittleEndian
	var out []dyn
	for ; ; off += size {
		b, err := f.read(off, size)
		if err != nil {
			return nil, err
		}
		d := dyn{tag: elf.DynTag(int32(le.Uint32(b))), val: uint64(le.Uint32(b[4:]))}
		if class == class64 {
			d = dyn{tag: elf.DynTag(int64(le.Uint64(b))), val: le.Uint64(b[8:])}
		}
		if d.tag == elf.DT_NULL {
			return out, nil
		}
		out = append(out, d)
	}
}

// stringTableOffset maps DT_STRTAB's address to a file offset through the
// PT_LOAD segment holding it, or as is when none does ("very strange", says
// glibc, which does the same).
func stringTableOffset(dyns []dyn, ps []prog) (uint64, bool) {
	for _, d := range dyns {
		if d.tag != elf.DT_STRTAB {
			continue
		}
		for _, p := range ps {
			if p.typ == elf.PT_LOAD && d.val >= p.vaddr && d.val-p.vaddr < p.filesz {
				return d.val - (p.vaddr - p.offset), true
			}
		}
		return d.val, true
	}
	return 0, false
}

// names reads DT_NEEDED (to recognise a libc6 library) and DT_SONAME,
// stopping as soon as both are known, as glibc does.
func (f *elfFile) names(info elfInfo, dyns []dyn, strtab uint64) (elfInfo, error) {
	for _, d := range dyns {
		if d.tag != elf.DT_NEEDED && d.tag != elf.DT_SONAME {
			continue
		}
		at := strtab + d.val
		if at < strtab || at > f.size {
			return elfInfo{}, skipf("ELF file is truncated: dynamic string at %d", at)
		}
		if d.tag == elf.DT_SONAME || info.flags == FlagELF {
			name, err := f.cstring(at)
			if err != nil {
				return elfInfo{}, err
			}
			if d.tag == elf.DT_SONAME {
				info.soname, info.hasSOName = name, true
			} else if slices.Contains(knownLibs, name) {
				info.flags = FlagELFLibc6
			}
		}
		if info.hasSOName && info.flags != FlagELF {
			break
		}
	}
	return info, nil
}

// x86ISALevel reads the index of the highest bit of
// GNU_PROPERTY_X86_ISA_1_NEEDED from a PT_GNU_PROPERTY segment, following
// process_elf_file and sysdeps/unix/sysv/linux/x86/elf-read-prop.h: only the
// first NT_GNU_PROPERTY_TYPE_0 note counts, properties must be ascending,
// and anything malformed ends the search with level 0 or what was found.
func (f *elfFile) x86ISALevel(p prog, class elfClass) (uint32, bool) {
	word := uint64(class) / 8
	if p.algn != word {
		return 0, false
	}
	seg, err := f.read(p.offset, p.filesz)
	if err != nil {
		return 0, false
	}
	le := binary.LittleEndian
	for off := uint64(0); off+12 < uint64(len(seg)); {
		namesz, descsz := uint64(le.Uint32(seg[off:])), uint64(le.Uint32(seg[off+4:]))
		typ := le.Uint32(seg[off+8:])
		if namesz == 4 && typ == ntGNUPropertyType0 &&
			off+16 <= uint64(len(seg)) && string(seg[off+12:off+16]) == "GNU\x00" {
			return isaFromProperties(seg, off+16, descsz, word)
		}
		off = alignUp(alignUp(off+12+namesz, word)+descsz, word)
	}
	return 0, false
}

func isaFromProperties(seg []byte, start, descsz, word uint64) (uint32, bool) {
	if descsz < 8 || descsz%word != 0 || start+descsz > uint64(len(seg)) {
		return 0, false
	}
	le := binary.LittleEndian
	end, last := start+descsz, uint32(0)
	for p := start; p <= end && end-p >= 8; {
		typ, datasz := le.Uint32(seg[p:]), uint64(le.Uint32(seg[p+4:]))
		p += 8
		if typ < last || p+datasz > end || typ > gnuPropertyX86ISA1Needed {
			return 0, false
		}
		last = typ
		if typ == gnuPropertyX86ISA1Needed {
			if datasz != 4 {
				return 0, false
			}
			needed := le.Uint32(seg[p:])
			if needed == 0 {
				return 0, false
			}
			return uint32(bits.Len32(needed) - 1), true
		}
		p += alignUp(datasz, word)
	}
	return 0, false
}

func alignUp(v, a uint64) uint64 { return (v + a - 1) &^ (a - 1) }
