package ldso

import (
	"bytes"
	"debug/elf"
	"encoding/binary"
)

// elfSpec describes a synthetic shared object for tests: small, but complete
// enough for glibc's ldconfig to read (ELF header, PT_LOAD, PT_DYNAMIC with
// DT_STRTAB, optional PT_INTERP and x86 ISA property note).
type elfSpec struct {
	class   elf.Class // ELFCLASS64 when zero
	machine elf.Machine
	typ     elf.Type // ET_DYN when zero
	flags   uint32   // e_flags
	soname  string   // no DT_SONAME when empty
	needed  []string
	interp  string
	// isaNeeded is the GNU_PROPERTY_X86_ISA_1_NEEDED bit set; 0 means no
	// property note.
	isaNeeded uint32
	// noDynamic leaves PT_DYNAMIC out.
	noDynamic bool
}

// elfBuf appends little-endian words of the spec's class.
type elfBuf struct {
	bytes.Buffer
	is32 bool
}

func (b *elfBuf) u16(v uint16) { _ = binary.Write(b, binary.LittleEndian, v) }
func (b *elfBuf) u32(v uint32) { _ = binary.Write(b, binary.LittleEndian, v) }

// word writes an address-sized value.
func (b *elfBuf) word(v uint64) {
	if b.is32 {
		b.u32(uint32(v))
		return
	}
	_ = binary.Write(b, binary.LittleEndian, v)
}

func (b *elfBuf) pad(align int) {
	for b.Len()%align != 0 {
		b.WriteByte(0)
	}
}

const elfBase = 0x10000 // load address, so that DT_STRTAB needs the PT_LOAD mapping

// makeELF builds the shared object described by s.
func makeELF(s elfSpec) []byte {
	if s.class == 0 {
		s.class = elf.ELFCLASS64
	}
	if s.typ == 0 {
		s.typ = elf.ET_DYN
	}
	is32 := s.class == elf.ELFCLASS32
	ehSize, phSize, wordSize := 64, 56, 8
	if is32 {
		ehSize, phSize, wordSize = 52, 32, 4
	}

	// Payload after the headers: interpreter, note, dynamic strings, dynamic.
	nph := 2 // PT_LOAD, PT_DYNAMIC
	if s.interp != "" {
		nph++
	}
	if s.isaNeeded != 0 {
		nph++
	}
	body := &elfBuf{is32: is32}
	start := ehSize + nph*phSize
	interpOff := start
	body.WriteString(s.interp)
	if s.interp != "" {
		body.WriteByte(0)
	}
	body.pad(wordSize)
	noteOff := start + body.Len()
	if s.isaNeeded != 0 {
		body.u32(4)
		body.u32(uint32(8 + wordSize)) // one property, padded
		body.u32(5)                    // NT_GNU_PROPERTY_TYPE_0
		body.WriteString("GNU\x00")
		body.u32(gnuPropertyX86ISA1Needed)
		body.u32(4)
		body.u32(s.isaNeeded)
		body.pad(wordSize)
	}
	noteLen := start + body.Len() - noteOff
	strOff := start + body.Len()
	strs := []byte{0}
	nameAt := func(n string) uint64 {
		at := len(strs)
		strs = append(append(strs, n...), 0)
		return uint64(at)
	}
	type dynEnt struct {
		tag elf.DynTag
		val uint64
	}
	var dyns []dynEnt
	for _, n := range s.needed {
		dyns = append(dyns, dynEnt{elf.DT_NEEDED, nameAt(n)})
	}
	if s.soname != "" {
		dyns = append(dyns, dynEnt{elf.DT_SONAME, nameAt(s.soname)})
	}
	body.Write(strs)
	body.pad(wordSize)
	dyns = append(dyns, dynEnt{elf.DT_STRTAB, elfBase + uint64(strOff)},
		dynEnt{elf.DT_STRSZ, uint64(len(strs))}, dynEnt{elf.DT_NULL, 0})
	dynOff := start + body.Len()
	for _, d := range dyns {
		body.word(uint64(d.tag))
		body.word(d.val)
	}
	dynLen := start + body.Len() - dynOff
	total := uint64(start + body.Len())

	out := &elfBuf{is32: is32}
	out.WriteString(elf.ELFMAG)
	out.Write([]byte{byte(s.class), byte(elf.ELFDATA2LSB), 1, 0})
	out.Write(make([]byte, 8))
	out.u16(uint16(s.typ))
	out.u16(uint16(s.machine))
	out.u32(1)
	out.word(0)              // e_entry
	out.word(uint64(ehSize)) // e_phoff
	out.word(0)              // e_shoff
	out.u32(s.flags)
	out.u16(uint16(ehSize))
	out.u16(uint16(phSize))
	out.u16(uint16(nph))
	out.u16(0)
	out.u16(0)
	out.u16(0)
	phdr := func(typ elf.ProgType, off, size, align uint64) {
		if is32 {
			for _, v := range []uint64{uint64(typ), off, elfBase + off, elfBase + off,
				size, size, 4, align} {
				out.u32(uint32(v))
			}
			return
		}
		out.u32(uint32(typ))
		out.u32(4)
		for _, v := range []uint64{off, elfBase + off, elfBase + off, size, size, align} {
			out.word(v)
		}
	}
	phdr(elf.PT_LOAD, 0, total, 0x1000)
	dynType := elf.PT_DYNAMIC
	if s.noDynamic {
		dynType = elf.PT_NOTE
	}
	phdr(dynType, uint64(dynOff), uint64(dynLen), uint64(wordSize))
	if s.interp != "" {
		phdr(elf.PT_INTERP, uint64(interpOff), uint64(len(s.interp)+1), 1)
	}
	if s.isaNeeded != 0 {
		phdr(elf.PT_GNU_PROPERTY, uint64(noteOff), uint64(noteLen), uint64(wordSize))
	}
	out.Write(body.Bytes())
	return out.Bytes()
}
