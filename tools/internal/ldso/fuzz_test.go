package ldso

import (
	"bytes"
	"debug/elf"
	"errors"
	"os"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/rules-apk/rules_apk/tools/internal/testutil"
)

// FuzzParse feeds Parse arbitrary bytes. Whatever it accepts must encode,
// and parse back to the same cache in Encode's order.
func FuzzParse(f *testing.F) {
	data, err := os.ReadFile(testutil.RealData(f, "ldso", "ld.so.cache.glibc-2.36-aarch64"))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(data)
	sample, err := Encode(sampleCache())
	if err != nil {
		f.Fatal(err)
	}
	f.Add(sample)
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := Parse(data)
		if err != nil {
			var fe *FormatError
			if !errors.As(err, &fe) && !errors.Is(err, ErrUnsupportedFormat) {
				t.Fatalf("Parse error %v is neither a FormatError nor ErrUnsupportedFormat", err)
			}
			return
		}
		out, err := Encode(c)
		if err != nil {
			t.Fatalf("Encode of a parsed cache: %v", err)
		}
		back, err := Parse(out)
		if err != nil {
			t.Fatalf("Parse of an encoded cache: %v", err)
		}
		c.Entries = sortedEntries(c)
		if diff := cmp.Diff(c, back, cmp.AllowUnexported(Cache{})); diff != "" {
			t.Fatalf("Parse(Encode(c)) (-c +back):\n%s", diff)
		}
	})
}

// FuzzReadELF feeds the ELF classifier of both architectures arbitrary
// files: it must only ever skip or succeed.
func FuzzReadELF(f *testing.F) {
	for _, s := range []elfSpec{
		{machine: elf.EM_X86_64, soname: "libx.so.1", needed: []string{"libc.so.6"}},
		{machine: elf.EM_X86_64, soname: "libx.so.1", isaNeeded: 0b111},
		{class: elf.ELFCLASS32, machine: elf.EM_386, interp: "/lib/ld-linux.so.2"},
		{class: elf.ELFCLASS32, machine: elf.EM_ARM, soname: "liba.so", flags: 0x05000400},
		{machine: elf.EM_AARCH64, soname: "libz.so.1"},
	} {
		f.Add(makeELF(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, name := range []string{"x86_64", "aarch64"} {
			_, err := arches[name].readELF(bytes.NewReader(data), int64(len(data)))
			var se *skipError
			if err != nil && !errors.As(err, &se) {
				t.Fatalf("%s: readELF on an in-memory file failed: %v", name, err)
			}
		}
	})
}
