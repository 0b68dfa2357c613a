package apk

import (
	"archive/tar"
	"bytes"
	"errors"
	"math/rand/v2"
	"os"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/rules-apk/rules_apk/tools/internal/testutil"
)

func readRealScripts(t *testing.T) ([]byte, []InstalledScript) {
	t.Helper()
	raw, err := os.ReadFile(testutil.RealData(t, "installed", "alpine-3.16-aarch64", "scripts.tar"))
	if err != nil {
		t.Fatal(err)
	}
	scripts, err := ReadInstalledScripts(bytes.NewReader(raw))
	if err != nil {
		t.Fatalf("ReadInstalledScripts: %v", err)
	}
	return raw, scripts
}

// The scripts.tar written by apk-tools comes back byte for byte: the header
// layout of apk_tar_write_entry is reproduced, and each entry's time is kept.
func TestInstalledScriptsRealRoundTrip(t *testing.T) {
	raw, scripts := readRealScripts(t)
	var buf bytes.Buffer
	if err := WriteInstalledScripts(&buf, scripts); err != nil {
		t.Fatal(err)
	}
	got := buf.Bytes()
	if !bytes.Equal(raw, got) {
		off := 0
		for off < min(len(raw), len(got)) && raw[off] == got[off] {
			off++
		}
		blk := off / 512 * 512
		t.Fatalf("written scripts.tar (%d bytes) differs from apk-tools' (%d bytes) at %d:\n%q\n%q",
			len(got), len(raw), off,
			raw[blk:min(blk+512, len(raw))], got[blk:min(blk+512, len(got))])
	}
}

func TestInstalledScriptsRealEntries(t *testing.T) {
	_, scripts := readRealScripts(t)
	type entry struct {
		Name, Version, Checksum, Type string
		Size                          int
	}
	var got []entry
	for _, s := range scripts {
		got = append(got, entry{s.Name, s.Version, s.Checksum.String(), s.Type, len(s.Data)})
		if want := time.Unix(1657108507, 0); !s.ModTime.Equal(want) {
			t.Errorf("%s: time %v, want %v", s.EntryName(), s.ModTime, want)
		}
	}
	const bb, base = "Q1Meo+LHGPSi3uY9gIouEVb9z8Fbo=", "Q1PGxwzLd7SQ/SZjUGrncnpjjtpKY="
	want := []entry{
		{"busybox", "1.35.0-r17", bb, "post-install", 131},
		{"busybox", "1.35.0-r17", bb, "post-upgrade", 1231},
		{"busybox", "1.35.0-r17", bb, "trigger", 546},
		{"alpine-baselayout", "3.2.0-r22", base, "pre-install", 56},
		{"alpine-baselayout", "3.2.0-r22", base, "post-install", 983},
		{"alpine-baselayout", "3.2.0-r22", base, "pre-upgrade", 755},
		{"alpine-baselayout", "3.2.0-r22", base, "post-upgrade", 983},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	if !strings.HasPrefix(string(scripts[2].Data), "#!/bin/sh") {
		t.Errorf("busybox trigger starts %q", scripts[2].Data[:20])
	}

	// The checksums in the names are the packages' C: in the installed
	// database, which is how apk-tools attaches scripts to packages.
	_, db := readRealInstalled(t, "installed", "alpine-3.16-aarch64", "installed")
	for _, s := range scripts {
		if p := findInstalled(t, db, s.Name); p.Checksum != s.Checksum || p.Version != s.Version {
			t.Errorf("%s: installed database has %s %s", s.EntryName(), p.Version, p.Checksum)
		}
	}
}

func TestSortInstalledScripts(t *testing.T) {
	_, scripts := readRealScripts(t)
	scripts = append(scripts, InstalledScript{Name: "busybox", Type: "zz-custom"},
		InstalledScript{Name: "busybox", Type: "aa-custom"})
	rand.New(rand.NewPCG(1, 2)).Shuffle(len(scripts), func(i, j int) {
		scripts[i], scripts[j] = scripts[j], scripts[i]
	})
	SortInstalledScripts(scripts)
	var got []string
	for _, s := range scripts {
		got = append(got, s.Name+" "+s.Type)
	}
	want := []string{
		"alpine-baselayout pre-install", "alpine-baselayout post-install",
		"alpine-baselayout pre-upgrade", "alpine-baselayout post-upgrade",
		"busybox post-install", "busybox post-upgrade", "busybox trigger",
		"busybox aa-custom", "busybox zz-custom",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

func TestParseInstalledScriptName(t *testing.T) {
	sum := "Q1Meo+LHGPSi3uY9gIouEVb9z8Fbo="
	tests := []struct {
		entry              string
		name, version, typ string
		wantErr            string
	}{
		{entry: "busybox-1.35.0-r17." + sum + ".trigger",
			name: "busybox", version: "1.35.0-r17", typ: "trigger"},
		{entry: "alpine-baselayout-3.2.0-r22." + sum + ".pre-install", name: "alpine-baselayout",
			version: "3.2.0-r22", typ: "pre-install"},
		{entry: "py3-foo-2-1.0_git20230101-r0." + sum + ".post-upgrade", name: "py3-foo-2",
			version: "1.0_git20230101-r0", typ: "post-upgrade"},
		{entry: "libstdc++-13.2.0-r0." + sum + ".custom",
			name: "libstdc++", version: "13.2.0-r0", typ: "custom"},
		{entry: "wolfi-base-1-r7." + sum + ".post-install",
			name: "wolfi-base", version: "1-r7", typ: "post-install"},
		{entry: "busybox." + sum + ".trigger",
			wantErr: "cannot tell the package name from the version"},
		{entry: "-1.0-r0." + sum + ".trigger", wantErr: "cannot tell"},
		{entry: "a-b-c-1.0." + sum + ".trigger", name: "a-b-c", version: "1.0", typ: "trigger"},
		{entry: "a-1.0-b-c." + sum + ".trigger", wantErr: "cannot tell"},
		{entry: "busybox-1.0-r0.Q1bad.trigger", wantErr: `parsing checksum "Q1bad"`},
		{entry: "busybox-1.0-r0." + sum + ".",
			wantErr: "is not <name>-<version>.<checksum>.<type>"},
		{entry: "busybox-1.0-r0.trigger", wantErr: "parsing checksum"},
		{entry: "noDots", wantErr: "is not <name>"},
	}
	for _, tt := range tests {
		t.Run(tt.entry, func(t *testing.T) {
			got, err := ParseInstalledScriptName(tt.entry)
			if wantError(t, err, tt.wantErr) {
				return
			}
			want := InstalledScript{Name: tt.name, Version: tt.version,
				Checksum: mustChecksum(t, sum), Type: tt.typ}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
			if got.EntryName() != tt.entry {
				t.Errorf("EntryName() = %q, want %q", got.EntryName(), tt.entry)
			}
		})
	}
}

// Names past 99 bytes get a GNU long-name entry that archive/tar (and apk)
// read back; scripts of any size and a zero time round-trip.
func TestInstalledScriptsWriteRead(t *testing.T) {
	sum := mustChecksum(t, "Q1Meo+LHGPSi3uY9gIouEVb9z8Fbo=")
	in := []InstalledScript{
		{Name: strings.Repeat("long-name-", 12), Version: "1.0-r0", Checksum: sum,
			Type: "post-deinstall",
			Data: []byte("#!/bin/sh\nexit 0\n"), ModTime: time.Unix(1700000000, 0)},
		{Name: "empty", Version: "1-r0", Checksum: sum, Type: "pre-deinstall", Data: []byte{}},
		{Name: "block", Version: "1-r0", Checksum: sum, Type: "trigger",
			Data:    bytes.Repeat([]byte("x"), 1024),
			ModTime: time.Unix(1, 0)},
	}
	var buf bytes.Buffer
	if err := WriteInstalledScripts(&buf, in); err != nil {
		t.Fatal(err)
	}
	if buf.Len()%512 != 0 || !bytes.Equal(buf.Bytes()[buf.Len()-1024:], make([]byte, 1024)) {
		t.Errorf("archive of %d bytes does not end in two zero blocks", buf.Len())
	}
	got, err := ReadInstalledScripts(bytes.NewReader(buf.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	in[1].ModTime = time.Unix(0, 0)
	if diff := cmp.Diff(in, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

func TestInstalledScriptsErrors(t *testing.T) {
	tarOf := func(hdr *tar.Header, data string) []byte {
		var buf bytes.Buffer
		tw := tar.NewWriter(&buf)
		hdr.Size = int64(len(data))
		if err := tw.WriteHeader(hdr); err != nil {
			t.Fatal(err)
		}
		tw.Write([]byte(data))
		tw.Close()
		return buf.Bytes()
	}
	sum := "Q1Meo+LHGPSi3uY9gIouEVb9z8Fbo="
	readTests := []struct {
		name string
		in   []byte
		want string
	}{
		{"directory",
			tarOf(&tar.Header{Name: "x-1-r0." + sum + ".trigger", Typeflag: tar.TypeDir}, ""),
			`entry "x-1-r0.` + sum + `.trigger": type '5' is not a regular file`},
		{"bad name", tarOf(&tar.Header{Name: "README", Typeflag: tar.TypeReg}, "hi"),
			`entry "README": name "README" is not <name>-<version>.<checksum>.<type>`},
		{"truncated", tarOf(&tar.Header{Name: "x-1-r0." + sum + ".trigger", Typeflag: tar.TypeReg},
			"0123456789")[:515], "unexpected EOF"},
	}
	for _, tt := range readTests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ReadInstalledScripts(bytes.NewReader(tt.in))
			wantError(t, err, tt.want)
		})
	}

	c := mustChecksum(t, sum)
	writeTests := []struct {
		name string
		s    InstalledScript
		want string
	}{
		{"no checksum", InstalledScript{Name: "a", Version: "1", Type: "trigger"},
			"checksum is unset"},
		{"no type", InstalledScript{Name: "a", Version: "1", Checksum: c}, "must be set"},
		{"slash", InstalledScript{Name: "a/b", Version: "1", Type: "trigger", Checksum: c},
			"contains '/'"},
		{"version without digit", InstalledScript{Name: "a", Version: "x1", Type: "trigger",
			Checksum: c}, `would not read back as package "a" version "x1"`},
		{"dot in type", InstalledScript{Name: "a", Version: "1", Type: "post.install", Checksum: c},
			"would not read back"},
		{"before 1970", InstalledScript{Name: "a", Version: "1", Type: "trigger", Checksum: c,
			ModTime: time.Unix(-1, 0)}, "does not fit a tar header"},
	}
	for _, tt := range writeTests {
		t.Run(tt.name, func(t *testing.T) {
			err := WriteInstalledScripts(&bytes.Buffer{}, []InstalledScript{tt.s})
			wantError(t, err, tt.want)
		})
	}
}

func FuzzReadInstalledScripts(f *testing.F) {
	raw, err := os.ReadFile(testutil.RealData(f, "installed", "alpine-3.16-aarch64", "scripts.tar"))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(raw)
	f.Fuzz(func(t *testing.T, in []byte) {
		scripts, err := ReadInstalledScripts(bytes.NewReader(in))
		if err != nil {
			return
		}
		var out bytes.Buffer
		if err := WriteInstalledScripts(&out, scripts); err != nil {
			if strings.Contains(err.Error(), "does not fit a tar header") {
				return // a time before 1970 or past year 4147 reads, but apk cannot write it
			}
			t.Fatalf("WriteInstalledScripts of scripts ReadInstalledScripts accepted: %v", err)
		}
		back, err := ReadInstalledScripts(bytes.NewReader(out.Bytes()))
		if err != nil {
			t.Fatalf("reading what WriteInstalledScripts wrote: %v", err)
		}
		if !reflect.DeepEqual(scripts, back) {
			t.Fatalf("read → write → read differs (-want +got):\n%s", cmp.Diff(scripts, back))
		}
	})
}

func TestIdbLimitReader(t *testing.T) {
	for _, tt := range []struct {
		in      string
		tooLong bool
	}{{"12345", false}, {"123456", true}} {
		b := make([]byte, 3)
		lr := &idbLimitReader{r: strings.NewReader(tt.in), n: 5, what: "scripts.tar"}
		var err error
		var got []byte
		for err == nil {
			var n int
			n, err = lr.Read(b)
			got = append(got, b[:n]...)
		}
		if errors.Is(err, ErrTooLarge) != tt.tooLong || string(got) != tt.in[:5] {
			t.Errorf("%q: read %q, error %v", tt.in, got, err)
		}
	}
}

func TestInstalledTriggersRealRoundTrip(t *testing.T) {
	raw, err := os.ReadFile(testutil.RealData(t, "installed", "alpine-3.16-aarch64", "triggers"))
	if err != nil {
		t.Fatal(err)
	}
	got, err := ReadInstalledTriggers(bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	// busybox's C: in the installed database (§7).
	want := []InstalledTrigger{{Checksum: mustChecksum(t, "Q1Meo+LHGPSi3uY9gIouEVb9z8Fbo="),
		Globs: []string{"/bin", "/usr/bin", "/sbin", "/usr/sbin", "/lib/modules/*"}}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	var buf bytes.Buffer
	if err := WriteInstalledTriggers(&buf, got); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(string(raw), buf.String()); diff != "" {
		t.Errorf("read → write differs from the apk-tools file (-want +got):\n%s", diff)
	}
}

func TestInstalledTriggers(t *testing.T) {
	a, b := "Q1Meo+LHGPSi3uY9gIouEVb9z8Fbo=", "Q1PGxwzLd7SQ/SZjUGrncnpjjtpKY="
	tests := []struct {
		name    string
		in      string
		want    []InstalledTrigger
		written string
		wantErr string
	}{
		{name: "two packages, no final newline", in: a + " /usr/bin\n" + b + " /x /y",
			want: []InstalledTrigger{{mustChecksum(t, a), []string{"/usr/bin"}},
				{mustChecksum(t, b), []string{"/x", "/y"}}},
			written: a + " /usr/bin\n" + b + " /x /y\n"},
		{name: "blank lines and repeated spaces", in: "\n" + a + "  /a   /b \n\n",
			want:    []InstalledTrigger{{mustChecksum(t, a), []string{"/a", "/b"}}},
			written: a + " /a /b\n"},
		{name: "no globs: read, not written", in: a + "\n",
			want: []InstalledTrigger{{Checksum: mustChecksum(t, a)}}, written: ""},
		{name: "bad checksum", in: a + " /x\nQ1nope /y\n",
			wantErr: "reading triggers line 2: parsing checksum"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ReadInstalledTriggers(strings.NewReader(tt.in))
			if wantError(t, err, tt.wantErr) {
				return
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
			var buf bytes.Buffer
			if err := WriteInstalledTriggers(&buf, got); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.written, buf.String()); diff != "" {
				t.Errorf("written (-want +got):\n%s", diff)
			}
		})
	}
	for _, bad := range []InstalledTrigger{{Globs: []string{"/x"}},
		{Checksum: mustChecksum(t, a), Globs: []string{"/a b"}}} {
		if err := WriteInstalledTriggers(&bytes.Buffer{}, []InstalledTrigger{bad}); err == nil {
			t.Errorf("WriteInstalledTriggers(%v) succeeded, want an error", bad)
		}
	}
}

func FuzzReadInstalledTriggers(f *testing.F) {
	raw, err := os.ReadFile(testutil.RealData(f, "installed", "alpine-3.16-aarch64", "triggers"))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(raw)
	f.Add([]byte("\nQ1PGxwzLd7SQ/SZjUGrncnpjjtpKY=  /a\t/b \n" +
		"X1d1ea4a3f16e6d343c7f2e32f7b47d1f73f2a6f4b\n"))
	f.Fuzz(func(t *testing.T, in []byte) {
		triggers, err := ReadInstalledTriggers(bytes.NewReader(in))
		if err != nil {
			return
		}
		var out bytes.Buffer
		if err := WriteInstalledTriggers(&out, triggers); err != nil {
			t.Fatalf("WriteInstalledTriggers of triggers ReadInstalledTriggers accepted: %v", err)
		}
		back, err := ReadInstalledTriggers(bytes.NewReader(out.Bytes()))
		if err != nil {
			t.Fatalf("reading what WriteInstalledTriggers wrote: %v\n%q", err, out.Bytes())
		}
		var want []InstalledTrigger
		for _, tr := range triggers {
			if len(tr.Globs) > 0 { // packages without globs are not written
				want = append(want, tr)
			}
		}
		if diff := cmp.Diff(want, back); diff != "" {
			t.Fatalf("read → write → read differs (-want +got):\n%s", diff)
		}
	})
}

func TestWorld(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		read    []string
		written string
		wantErr string
	}{
		{name: "apk's file", in: "alpine-base\nbusybox\n", read: []string{"alpine-base", "busybox"},
			written: "alpine-base\nbusybox\n"},
		{name: "spaces, old style, unsorted", in: "zlib  busybox\tso:libc.so.6\n\n",
			read:    []string{"zlib", "busybox", "so:libc.so.6"},
			written: "busybox\nso:libc.so.6\nzlib\n"},
		{name: "sorted by name, not by text", in: "!foo\nbar@edge>1.0\nBaz\nfoo-dev<2\nbar-x\n",
			read:    []string{"!foo", "bar@edge>1.0", "Baz", "foo-dev<2", "bar-x"},
			written: "bar@edge>1.0\nbar-x\nBaz\n!foo\nfoo-dev<2\n"},
		{name: "empty", in: "", read: nil, written: "\n"},
		{name: "same name twice", in: "lib>3.7 lib<3.8", read: []string{"lib>3.7", "lib<3.8"},
			wantErr: `"lib>3.7" and "lib<3.8" constrain the same name`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ReadWorld(strings.NewReader(tt.in))
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.read, got); diff != "" {
				t.Errorf("read (-want +got):\n%s", diff)
			}
			var buf bytes.Buffer
			err = WriteWorld(&buf, got)
			if wantError(t, err, tt.wantErr) {
				return
			}
			if diff := cmp.Diff(tt.written, buf.String()); diff != "" {
				t.Errorf("written (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.read, got); diff != "" {
				t.Errorf("WriteWorld changed its argument (-want +got):\n%s", diff)
			}
		})
	}
	if err := WriteWorld(&bytes.Buffer{}, []string{"a b"}); err == nil {
		t.Error("WriteWorld accepted a constraint with a space")
	}
}
