package apk

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"unsafe"

	"github.com/google/go-cmp/cmp"
	"github.com/rules-apk/rules_apk/tools/internal/testutil"
)

func TestParseIndexText(t *testing.T) {
	sum := mustChecksum(t, "Q1LLq2qDNrS/qRnhxQ3hsY/sHbQnc=")
	tests := []struct {
		name string
		text string
		want []Package
	}{
		{
			name: "fields in any order, no trailing blank line",
			text: "k:5\nD:so:libc.so.6\nV:1.0-r0\nC:Q1LLq2qDNrS/qRnhxQ3hsY/sHbQnc=\n" +
				"P:a\nS:10\nI:20\nt:1700000000\nA:x86_64\nT:desc\nU:https://x\nL:MIT\n" +
				"o:orig\nm:me <me@x>\nc:abc\np:cmd:a=1.0-r0\ni:b c",
			want: []Package{{
				Name: "a", Version: "1.0-r0", Arch: "x86_64", Size: 10, InstalledSize: 20,
				Description: "desc", URL: "https://x", License: "MIT", Origin: "orig",
				Maintainer: "me <me@x>", BuildTime: 1700000000, Commit: "abc",
				ProviderPriority: 5, Depends: "so:libc.so.6", Provides: "cmd:a=1.0-r0",
				InstallIf: "b c", Checksum: sum,
			}},
		},
		{
			name: "blank lines around and between records",
			text: "\n\nP:a\nV:1\n\n\n\nP:b\nV:2\n\n\n",
			want: []Package{{Name: "a", Version: "1"}, {Name: "b", Version: "2"}},
		},
		{
			name: "empty values",
			text: "P:a\nV:1\nT:\nU:\nD:\np:\nc:\n",
			want: []Package{{Name: "a", Version: "1"}},
		},
		{
			name: "repeated list letters append (apk-tools test/provides.repo)",
			text: "P:a\nV:1\np:selfprovided=2\np:selfprovided=3\nD:x\nD:\nD:y\n",
			want: []Package{{Name: "a", Version: "1", Provides: "selfprovided=2 selfprovided=3",
				Depends: "x y"}},
		},
		{
			name: "repeated scalar letter: the last wins",
			text: "P:a\nV:1\nV:2\n",
			want: []Package{{Name: "a", Version: "2"}},
		},
		{
			name: "unknown lowercase letter ignored",
			text: "P:a\nV:1\nz:whatever\ng:x\n",
			want: []Package{{Name: "a", Version: "1"}},
		},
		{
			name: "unknown uppercase letter: not installable",
			text: "P:a\nV:1\nX:new-field\n\nP:b\nV:1\n",
			want: []Package{{Name: "a", Version: "1", NotInstallable: true}, {Name: "b", Version: "1"}},
		},
		{
			name: "installed-database letters ignored",
			text: "P:a\nV:1\nF:usr/bin\nM:0:0:755\nR:file\nZ:Q1LLq2qDNrS/qRnhxQ3hsY/sHbQnc=\n" +
				"r:old\nq:1\na:0:0:644\ns:tag\nf:x\n",
			want: []Package{{Name: "a", Version: "1"}},
		},
		{
			name: "record without C: (apk-tools test/provides.repo)",
			text: "c:a79b3f751d72fd4bdb6729139660d0b4f5b87a33\nP:pulseaudio\nV:1\nS:1\nI:1\nk:10\n",
			want: []Package{{Name: "pulseaudio", Version: "1", Size: 1, InstalledSize: 1,
				ProviderPriority: 10, Commit: "a79b3f751d72fd4bdb6729139660d0b4f5b87a33"}},
		},
		{
			name: "values keep spaces, colons and carriage returns",
			text: "P:a\nV:1\nT: a: b \r\nL:MIT AND (BSD-2-Clause OR ISC)\n",
			want: []Package{{Name: "a", Version: "1", Description: " a: b \r",
				License: "MIT AND (BSD-2-Clause OR ISC)"}},
		},
		{
			name: "largest numbers",
			text: "P:a\nV:1\nS:18446744073709551615\nt:9223372036854775807\n",
			want: []Package{{Name: "a", Version: "1", Size: 1<<64 - 1, BuildTime: 1<<63 - 1}},
		},
		{name: "empty input", text: ""},
		{name: "only blank lines", text: "\n\n\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseIndexText(strings.NewReader(tt.text))
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("packages (-want +got):\n%s", diff)
			}
		})
	}
}

func TestParseIndexTextErrors(t *testing.T) {
	tests := []struct {
		name string
		text string
		want *IndexError
		msg  string
	}{
		{name: "line without colon", text: "P:a\nV:1\n\nP:b\nversion 2\n",
			want: &IndexError{Line: 5, Record: 2, Package: "b"},
			msg:  `want a field line X:value, got "version 2"`},
		{name: "colon not second", text: "P:a\nVV:1\n",
			want: &IndexError{Line: 2, Record: 1, Package: "a"}, msg: "want a field line"},
		{name: "single character line", text: "P:a\nV\n",
			want: &IndexError{Line: 2, Record: 1, Package: "a"}, msg: "want a field line"},
		{name: "bad size", text: "P:a\nV:1\nS:12a\n",
			want: &IndexError{Line: 3, Record: 1, Package: "a"},
			msg:  `parsing S: "12a" is not a decimal number`},
		{name: "negative installed size", text: "P:a\nV:1\nI:-1\n",
			want: &IndexError{Line: 3, Record: 1, Package: "a"}, msg: "parsing I:"},
		{name: "empty build time", text: "P:a\nV:1\nt:\n",
			want: &IndexError{Line: 3, Record: 1, Package: "a"}, msg: "parsing t:"},
		{name: "build time past int64", text: "P:a\nV:1\nt:9223372036854775808\n",
			want: &IndexError{Line: 3, Record: 1, Package: "a"}, msg: "parsing t:"},
		{name: "size overflow", text: "P:a\nV:1\nS:18446744073709551616\n",
			want: &IndexError{Line: 3, Record: 1, Package: "a"}, msg: "parsing S:"},
		{name: "priority with spaces", text: "P:a\nV:1\nk: 1\n",
			want: &IndexError{Line: 3, Record: 1, Package: "a"}, msg: "parsing k:"},
		{name: "bad checksum", text: "C:Q1notbase64!!!!!!!!!!!!!!!!!!!!\nP:a\n",
			want: &IndexError{Line: 1, Record: 1}, msg: "parsing checksum"},
		{name: "empty checksum", text: "P:a\nC:\n",
			want: &IndexError{Line: 2, Record: 1, Package: "a"}, msg: "empty checksum"},
		{name: "no name", text: "P:a\nV:1\n\nV:2\nS:1\n\n",
			want: &IndexError{Line: 6, Record: 2}, msg: "no package name (P:)"},
		{name: "no version at the end", text: "P:a\nV:1\n\nP:b",
			want: &IndexError{Line: 4, Record: 2, Package: "b"}, msg: "no version (V:)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseIndexText(strings.NewReader(tt.text))
			var got *IndexError
			if !errors.As(err, &got) {
				t.Fatalf("error = %v, want an *IndexError", err)
			}
			if !strings.Contains(err.Error(), tt.msg) {
				t.Errorf("error = %q, want it to contain %q", err, tt.msg)
			}
			got.Err = nil
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("error position (-want +got):\n%s", diff)
			}
		})
	}
}

// TestParseIndexChunking parses the real Alpine text with chunk sizes that
// cut records, lines and the blank lines between them at every kind of
// place; the result must not depend on the chunking.
func TestParseIndexChunking(t *testing.T) {
	data, _ := alpineIndex(t)
	text := tarEntry(t, data, "APKINDEX")
	want, err := ParseIndexText(bytes.NewReader(text))
	if err != nil {
		t.Fatal(err)
	}
	if len(want) != 4929 {
		t.Fatalf("got %d records, want 4929", len(want))
	}
	for _, size := range []int{1, 7, 100, 4096, 65537} {
		for _, hint := range []int64{-1, int64(len(text))} { // -1: one goroutine
			lim := defaultIndexLimits()
			lim.chunkSize = size
			got, err := parseIndexRecords(bytes.NewReader(text), hint, lim)
			if err != nil {
				t.Fatalf("chunk size %d, size hint %d: %v", size, hint, err)
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("chunk size %d, size hint %d: packages differ (-want +got):\n%s",
					size, hint, diff)
			}
		}
	}
}

// TestParseIndexLongLines: lines far longer than a bufio.Scanner allows
// are read; a record past the limit is refused with ErrTooLarge, and so is
// text past the total size limit.
func TestParseIndexLongLines(t *testing.T) {
	long := strings.Repeat("so:libx.so.1 ", 5<<20/13) // a 5 MiB line
	pkgs, err := ParseIndexText(strings.NewReader("P:a\nV:1\np:" + long + "\n\nP:b\nV:1\n"))
	if err != nil {
		t.Fatal(err)
	}
	if len(pkgs) != 2 || pkgs[0].Provides != long {
		t.Errorf("got %d records, first provides of %d bytes", len(pkgs), len(pkgs[0].Provides))
	}

	huge := "P:a\nV:1\nT:" + strings.Repeat("x", DefaultIndexMaxRecordSize+1) + "\n"
	_, err = ParseIndexText(strings.NewReader(huge))
	if !errors.Is(err, ErrTooLarge) || !strings.Contains(err.Error(), "record is longer than") {
		t.Errorf("huge line: error = %v, want ErrTooLarge for the record", err)
	}

	lim := defaultIndexLimits()
	lim.maxSize = 1000
	text := strings.Repeat("P:a\nV:1\n\n", 200)
	_, err = parseIndexRecords(strings.NewReader(text), -1, lim)
	if !errors.Is(err, ErrTooLarge) || !strings.Contains(err.Error(), "larger than 1000 bytes") {
		t.Errorf("long text: error = %v, want ErrTooLarge for the text", err)
	}
}

// TestParseIndexGarbage feeds bytes that are no index text.
func TestParseIndexGarbage(t *testing.T) {
	data, _ := alpineIndex(t)
	for _, in := range [][]byte{data, bytes.Repeat([]byte{0}, 5000), []byte("\xff\xfe:\n")} {
		_, err := ParseIndexText(bytes.NewReader(in))
		var ie *IndexError
		if !errors.As(err, &ie) {
			t.Errorf("%q…: error = %v, want an *IndexError", clip(in), err)
		}
	}
}

// TestParseIndexSharesValues checks that repeated values are stored once:
// the ten records of a name share their description and license strings.
func TestParseIndexSharesValues(t *testing.T) {
	text := tarEntry(t, readFile(t, testutil.RealData(t, "alpine-3.16-x86_64", "APKINDEX.tar.gz")),
		"APKINDEX")
	pkgs, err := ParseIndexText(bytes.NewReader(text))
	if err != nil {
		t.Fatal(err)
	}
	licenses := map[string]bool{}
	for _, p := range pkgs {
		licenses[p.License] = true
	}
	distinct := map[*byte]bool{}
	for _, p := range pkgs {
		if p.License != "" {
			distinct[unsafe.StringData(p.License)] = true
		}
	}
	if len(distinct) != len(licenses)-boolInt(licenses[""]) {
		t.Errorf("%d distinct licenses stored %d times, want once each", len(licenses), len(distinct))
	}
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}
