package demo

import (
	"testing"

	"github.com/rules-apk/rules_apk/tools/internal/apk"
)

func TestAPKVersion(t *testing.T) {
	tests := []struct {
		debian, want string
	}{
		// The versions of the committed manifest's kinds.
		{"2.36-9+deb12u14", "2.36-r914"},
		{"7.88.1-10+deb12u15", "7.88.1-r1015"},
		{"1:1.2.13.dfsg-1+deb12u1", "1.2.13-r101"},
		{"2:6.2.1+dfsg1-1.1", "6.2.1-r101"},
		{"20250419~deb12u2", "20250419-r2"},
		{"3.0.22-1~deb12u2", "3.0.22-r102"},
		{"2.40-2", "2.40-r200"},
		{"1.47.0-2+b2", "1.47.0-r202"},
		{"2.4+20151223.gitfa8646d.1-2+b2", "2.4-r202"},
		{"5.3.28+dfsg2-1", "5.3.28-r100"},
		{"1.0-2", "1.0-r200"},
		{"6.1.192-3", "6.1.192-r300"},
		// A letter right after the numbers is kept, as apk allows one.
		{"1.1.1w-0+deb11u1", "1.1.1w-r1"},
		{"1.2rc1-1", "1.2-r100"},
		{"20230311", "20230311-r0"},
	}
	for _, tt := range tests {
		t.Run(tt.debian, func(t *testing.T) {
			got, err := APKVersion(tt.debian)
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("APKVersion(%q) = %q, want %q", tt.debian, got, tt.want)
			}
			if !apk.ValidVersion(got) {
				t.Errorf("APKVersion(%q) = %q is not a valid apk version", tt.debian, got)
			}
		})
	}
}

func TestAPKVersionErrors(t *testing.T) {
	for _, v := range []string{"", "abc-1", "1.0-deb1", "1.0-1+deb12u100"} {
		t.Run(v, func(t *testing.T) {
			if got, err := APKVersion(v); err == nil {
				t.Errorf("APKVersion(%q) = %q, want an error", v, got)
			}
		})
	}
}

func TestBumpRevision(t *testing.T) {
	tests := []struct {
		in   string
		n    int
		want string
	}{
		{"7.88.1-r1015", 1, "7.88.1-r1016"},
		{"1.2.13-r101", 2, "1.2.13-r103"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := BumpRevision(tt.in, tt.n)
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("BumpRevision(%q, %d) = %q, want %q", tt.in, tt.n, got, tt.want)
			}
		})
	}
	if _, err := BumpRevision("1.0", 1); err == nil {
		t.Error("BumpRevision(1.0) gave no error")
	}
}
