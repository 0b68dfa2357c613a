package ldso

import (
	"fmt"
	"slices"
	"strings"
)

// archInfo is what ldconfig compiled for one architecture knows about it.
type archInfo struct {
	// systemDirs are the directories ldconfig always scans after
	// ld.so.conf's, for Wolfi's glibc build (slibdir = libdir = /usr/lib,
	// expanded by the arch's add_system_dir macro in
	// sysdeps/unix/sysv/linux/<arch>/dl-cache.h).
	systemDirs []string
	// signedChar is the C char signedness, which _dl_cache_libcmp inherits.
	signedChar bool
	// hwcapNames are the legacy hwcap subdirectory names by bit, important
	// the bits whose subdirectories ldconfig ≤ 2.36 scans, and platforms the
	// platform names, whose bits start at 48 (sysdeps/*/dl-procinfo.c).
	hwcapNames []string
	important  uint64
	platforms  []string
	// interpreters are the PT_INTERP values that mark a generic ELF file as
	// a libc6 one (elf/readlib.c and the arch's ldconfig.h).
	interpreters []string
	// isaLevels tells whether the x86 ISA level of PT_GNU_PROPERTY is read
	// (sysdeps/unix/sysv/linux/x86/elf-read-prop.h).
	isaLevels bool
	// classify gives the flags of an ELF file from its header
	// (sysdeps/unix/sysv/linux/<arch>/readelflib.c).
	classify func(h *elfHeader) (elfClass, int32, bool)
}

// knownLibs are the DT_NEEDED names that mark a generic ELF file as libc6.
var knownLibs = []string{"libc.so.6", "libm.so.6"}

const (
	platformBase = 48
	tlsBit       = 63
)

var arches = map[string]*archInfo{
	"x86_64": {
		systemDirs: []string{"/usr/lib", "/usr/lib64", "/usr/libx32"},
		signedChar: true,
		isaLevels:  true,
		// ldconfig's own build covers both i386 and x86-64 names
		// (sysdeps/x86/dl-hwcap.h, IS_IN (ldconfig)).
		hwcapNames: []string{"sse2", "x86_64", "avx512_1"},
		important:  0b111,
		platforms:  []string{"i586", "i686", "haswell", "xeon_phi"},
		interpreters: []string{
			"/lib/ld-linux-x86-64.so.2", "/lib/ld-linux.so.2",
			"/libx32/ld-linux-x32.so.2", "/lib64/ld-linux-x86-64.so.2",
		},
		classify: classifyX86,
	},
	"aarch64": {
		systemDirs: []string{"/usr/lib", "/usr/lib64", "/usr/libilp32"},
		hwcapNames: []string{
			"fp", "asimd", "evtstrm", "aes", "pmull", "sha1", "sha2", "crc32",
			"atomics", "fphp", "asimdhp", "cpuid", "asimdrdm", "jscvt", "fcma",
			"lrcpc", "dcpop", "sha3", "sm3", "sm4", "asimddp", "sha512", "sve",
			"asimdfhm", "dit", "uscat", "ilrcpc", "flagm", "ssbs", "sb", "paca",
			"pacg",
		},
		important: 1 << 8, // atomics
		interpreters: []string{
			"/lib/ld-linux-aarch64.so.1", "/lib/ld-linux-aarch64_be.so.1",
			"/lib/ld-linux-aarch64_ilp32.so.1", "/lib/ld-linux-aarch64_be_ilp32.so.1",
			"/lib/ld-linux.so.3", "/lib/ld-linux-armhf.so.3",
		},
		classify: classifyARM,
	},
}

func lookupArch(name string) (*archInfo, error) {
	a, ok := arches[name]
	if !ok {
		return nil, fmt.Errorf("unsupported architecture %q: use x86_64 or aarch64", name)
	}
	return a, nil
}

// DefaultSystemDirs returns the directories glibc's ldconfig scans on
// every run for arch ("x86_64" or "aarch64") as Wolfi builds glibc
// (slibdir = libdir = /usr/lib): /usr/lib, /usr/lib64 and /usr/libx32 or
// /usr/libilp32. It returns nil for other architectures. Debian's glibc
// scans /lib/<triplet>, /usr/lib/<triplet>, /lib and /usr/lib instead.
func DefaultSystemDirs(arch string) []string {
	a, ok := arches[arch]
	if !ok {
		return nil
	}
	return slices.Clone(a.systemDirs)
}

// isHWCapPlatform tells whether ldconfig ≤ 2.36 descends into a
// subdirectory of this name (elf/ldconfig.c:is_hwcap_platform).
func (a *archInfo) isHWCapPlatform(name string) bool {
	if i := slices.Index(a.hwcapNames, name); i >= 0 && a.important&(1<<i) != 0 {
		return true
	}
	return slices.Contains(a.platforms, name) || name == "tls"
}

// pathHWCap sums the hwcap bits of the trailing legacy hwcap components of
// dir, as elf/ldconfig.c:path_hwcap does: "/usr/lib/tls/haswell" on x86_64
// gives bit 63 (tls) plus bit 50 (haswell). The sum wraps like glibc's.
func (a *archInfo) pathHWCap(dir string) uint64 {
	var hwcap uint64
	for {
		i := strings.LastIndexByte(dir, '/')
		if i < 0 {
			return hwcap
		}
		bit := a.hwcapBit(dir[i+1:])
		if bit < 0 {
			return hwcap
		}
		hwcap += 1 << bit
		dir = dir[:i]
	}
}

// hwcapBit returns the bit of one legacy hwcap component, or -1.
func (a *archInfo) hwcapBit(name string) int {
	if i := slices.Index(a.hwcapNames, name); i >= 0 {
		return i
	}
	if i := slices.Index(a.platforms, name); i >= 0 {
		return platformBase + i
	}
	if name == "tls" {
		return tlsBit
	}
	return -1
}
