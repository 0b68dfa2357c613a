package ldso

import (
	"bytes"
	"debug/elf"
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestReadELF(t *testing.T) {
	x64 := elfSpec{machine: elf.EM_X86_64, soname: "libx.so.1"}
	i386 := elfSpec{class: elf.ELFCLASS32, machine: elf.EM_386, soname: "libi.so.1"}
	arm32 := elfSpec{class: elf.ELFCLASS32, machine: elf.EM_ARM, soname: "liba.so.1"}
	with := func(s elfSpec, edit func(*elfSpec)) elfSpec { edit(&s); return s }
	const eabi5 = 0x05000000
	type result struct {
		Flags    int32
		SOName   string
		Has      bool
		ISALevel uint32
		Skip     bool
	}
	for _, tc := range []struct {
		name string
		arch string
		data []byte
		want result
	}{
		{"x86-64", "x86_64", makeELF(x64), result{Flags: 0x0303, SOName: "libx.so.1", Has: true}},
		{"x86-64 without SONAME", "x86_64",
			makeELF(with(x64, func(s *elfSpec) { s.soname = "" })), result{Flags: 0x0303}},
		{"x86-64 ISA v3", "x86_64",
			makeELF(with(x64, func(s *elfSpec) { s.isaNeeded = 0b101 })),
			result{Flags: 0x0303, SOName: "libx.so.1", Has: true, ISALevel: 2}},
		{"x32", "x86_64",
			makeELF(with(x64, func(s *elfSpec) { s.class = elf.ELFCLASS32 })),
			result{Flags: 0x0803, SOName: "libx.so.1", Has: true}},
		{"i386 generic", "x86_64", makeELF(i386), result{Flags: 0x0001, SOName: "libi.so.1", Has: true}},
		{"i386 needing libc.so.6", "x86_64",
			makeELF(with(i386, func(s *elfSpec) { s.needed = []string{"libz.so.1", "libc.so.6"} })),
			result{Flags: 0x0003, SOName: "libi.so.1", Has: true}},
		{"i386 with a known interpreter", "x86_64",
			makeELF(with(i386, func(s *elfSpec) { s.interp = "/lib/ld-linux.so.2" })),
			result{Flags: 0x0003, SOName: "libi.so.1", Has: true}},
		{"i386 as 64-bit", "x86_64",
			makeELF(with(i386, func(s *elfSpec) { s.class = elf.ELFCLASS64 })), result{Skip: true}},
		{"aarch64 on x86_64", "x86_64",
			makeELF(elfSpec{machine: elf.EM_AARCH64, soname: "l.so"}), result{Skip: true}},
		{"executable", "x86_64",
			makeELF(with(x64, func(s *elfSpec) { s.typ = elf.ET_EXEC })), result{Skip: true}},
		{"no dynamic segment", "x86_64",
			makeELF(with(x64, func(s *elfSpec) { s.noDynamic = true })), result{Skip: true}},
		{"truncated", "x86_64", makeELF(x64)[:150], result{Skip: true}},
		{"SONAME longer than PATH_MAX", "x86_64",
			makeELF(with(x64, func(s *elfSpec) { s.soname = strings.Repeat("l", 5000) })),
			result{Skip: true}},
		{"too small", "x86_64", []byte(elf.ELFMAG), result{Skip: true}},
		{"linker script", "x86_64",
			[]byte("/* GNU ld script */\nGROUP ( /lib/libc.so.6 /usr/lib/libc_nonshared.a )\n"),
			result{Skip: true}},
		{"aarch64", "aarch64", makeELF(elfSpec{machine: elf.EM_AARCH64, soname: "l.so.1"}),
			result{Flags: 0x0a03, SOName: "l.so.1", Has: true}},
		// glibc's ARM reader takes every 64-bit file as AArch64.
		{"x86-64 on aarch64", "aarch64", makeELF(x64),
			result{Flags: 0x0a03, SOName: "libx.so.1", Has: true}},
		{"ISA note ignored on aarch64", "aarch64",
			makeELF(with(x64, func(s *elfSpec) { s.isaNeeded = 0b101 })),
			result{Flags: 0x0a03, SOName: "libx.so.1", Has: true}},
		{"arm hard-float", "aarch64",
			makeELF(with(arm32, func(s *elfSpec) { s.flags = eabi5 | 0x400 })),
			result{Flags: 0x0903, SOName: "liba.so.1", Has: true}},
		{"arm soft-float", "aarch64",
			makeELF(with(arm32, func(s *elfSpec) { s.flags = eabi5 | 0x200 })),
			result{Flags: 0x0b03, SOName: "liba.so.1", Has: true}},
		{"arm EABI5 unmarked", "aarch64",
			makeELF(with(arm32, func(s *elfSpec) { s.flags = eabi5 })),
			result{Flags: 0x0003, SOName: "liba.so.1", Has: true}},
		{"arm old ABI", "aarch64", makeELF(arm32), result{Flags: 0x0001, SOName: "liba.so.1", Has: true}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a, err := lookupArch(tc.arch)
			if err != nil {
				t.Fatal(err)
			}
			info, err := a.readELF(bytes.NewReader(tc.data), int64(len(tc.data)))
			var se *skipError
			if err != nil && !errors.As(err, &se) {
				t.Fatalf("readELF failed: %v", err)
			}
			got := result{Flags: info.flags, SOName: info.soname, Has: info.hasSOName,
				ISALevel: info.isaLevel, Skip: err != nil}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("readELF (-want +got):\n%s (skip reason: %v)", diff, err)
			}
		})
	}
}

func TestPathHWCap(t *testing.T) {
	x86, arm := arches["x86_64"], arches["aarch64"]
	for _, tc := range []struct {
		arch *archInfo
		dir  string
		want uint64
	}{
		{x86, "/usr/lib", 0},
		{x86, "/usr/lib/tls", 1 << 63},
		{x86, "/usr/lib/tls/haswell", 1<<63 | 1<<50},
		{x86, "/usr/lib/x86_64/avx512_1", 1<<1 | 1<<2},
		{x86, "/usr/lib/i686/sse2", 1<<49 | 1<<0},
		{x86, "/usr/lib/atomics", 0},
		{arm, "/usr/lib/atomics", 1 << 8},
		{arm, "/usr/lib/tls/atomics", 1<<63 | 1<<8},
		{arm, "/usr/lib/haswell", 0},
	} {
		if got := tc.arch.pathHWCap(tc.dir); got != tc.want {
			t.Errorf("pathHWCap(%q) = %#x, want %#x", tc.dir, got, tc.want)
		}
	}
	if !x86.isHWCapPlatform("haswell") || x86.isHWCapPlatform("atomics") ||
		!arm.isHWCapPlatform("atomics") || arm.isHWCapPlatform("asimd") ||
		!arm.isHWCapPlatform("tls") {
		t.Error("isHWCapPlatform: want haswell and tls on x86_64, atomics and tls " +
			"(not asimd, outside the important mask) on aarch64")
	}
}
