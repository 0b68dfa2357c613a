package demo

import (
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

const (
	sumA = "0000000000000000000000000000000000000000000000000000000000000001"
	sumB = "00000000000000000000000000000000000000000000000000000000000000ff"
)

func TestManifestRoundTrip(t *testing.T) {
	in := "# comment\n\nzlib1g 1:1.2.13.dfsg-1+deb12u1 zlib " + sumB + "\n" +
		"libc6   2.36-9+deb12u14   glibc   " + sumA + "\n"
	m, err := ParseManifest(strings.NewReader(in), "packages.txt")
	if err != nil {
		t.Fatal(err)
	}
	want := []Deb{
		{Name: "libc6", Version: "2.36-9+deb12u14", Source: "glibc", SHA256: sumA},
		{Name: "zlib1g", Version: "1:1.2.13.dfsg-1+deb12u1", Source: "zlib", SHA256: sumB},
	}
	if diff := cmp.Diff(want, m.Debs); diff != "" {
		t.Errorf("ParseManifest (-want +got):\n%s", diff)
	}
	out := string(m.Format())
	wantOut := manifestHeader +
		"libc6  2.36-9+deb12u14         glibc " + sumA + "\n" +
		"zlib1g 1:1.2.13.dfsg-1+deb12u1 zlib  " + sumB + "\n"
	if diff := cmp.Diff(wantOut, out); diff != "" {
		t.Errorf("Format (-want +got):\n%s", diff)
	}
	again, err := ParseManifest(strings.NewReader(out), "again")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(m, again); diff != "" {
		t.Errorf("reparsed manifest (-want +got):\n%s", diff)
	}
	if d, ok := m.Lookup("zlib1g"); !ok || d.Source != "zlib" {
		t.Errorf("Lookup(zlib1g) = %+v, %v", d, ok)
	}
	if _, ok := m.Lookup("libc"); ok {
		t.Error("Lookup(libc) found an entry")
	}
}

func TestParseManifestErrors(t *testing.T) {
	tests := []struct {
		name, in string
		line     int
		reason   string
	}{
		{"fields", "libc6 2.36 glibc\n", 1, "want 4 fields"},
		{"sum", "# c\nlibc6 2.36 glibc ABC\n", 2, "not a lowercase hex sha256"},
		{"twice", "a 1 a " + sumA + "\na 2 a " + sumA + "\n", 2, "listed twice"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseManifest(strings.NewReader(tt.in), "m.txt")
			var me *ManifestError
			if !errors.As(err, &me) {
				t.Fatalf("err = %v, want a *ManifestError", err)
			}
			if me.Line != tt.line || !strings.Contains(me.Reason, tt.reason) {
				t.Errorf("err = %v, want line %d and %q", err, tt.line, tt.reason)
			}
		})
	}
}
