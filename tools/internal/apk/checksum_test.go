package apk

import (
	"crypto/sha1"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestParseChecksum(t *testing.T) {
	sum := sha1.Sum([]byte("#!/bin/true\n"))
	tests := []struct {
		name string
		in   string
		want Checksum
		out  string
	}{
		{"q1", "Q1XzjB02WPjssBRuLz9NPGu10sMbM=", SHA1Checksum(sum[:]), "Q1XzjB02WPjssBRuLz9NPGu10sMbM="},
		{"x1", "X15f38c1d3658f8ecb0146e2f3f4d3c6bb5d2c31b3", SHA1Checksum(sum[:]), "Q1XzjB02WPjssBRuLz9NPGu10sMbM="},
		// The last base64 character carries two padding bits: N and M decode alike (§1.2).
		{"padding bits", "Q1XzjB02WPjssBRuLz9NPGu10sMbN=", SHA1Checksum(sum[:]), "Q1XzjB02WPjssBRuLz9NPGu10sMbM="},
		{"md5", "0123456789abcdef0123456789abcdef",
			Checksum{Kind: ChecksumMD5, Sum: [20]byte{0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef,
				0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef}},
			"0123456789abcdef0123456789abcdef"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseChecksum(tt.in)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("ParseChecksum(%q) (-want +got):\n%s", tt.in, diff)
			}
			if got.String() != tt.out {
				t.Errorf("String() = %q, want %q", got.String(), tt.out)
			}
		})
	}
}

func TestParseChecksumErrors(t *testing.T) {
	for _, in := range []string{"", "Q1", "Q1!!!!!!!!!!!!!!!!!!!!!!!!!!!=", "X1zz", "Z1XzjB02WPjssBRuLz9NPGu10sMbM=",
		"0123456789abcdef0123456789abcdeg"} {
		if _, err := ParseChecksum(in); err == nil {
			t.Errorf("ParseChecksum(%q) succeeded, want an error", in)
		}
	}
}

func TestChecksumZero(t *testing.T) {
	var c Checksum
	if !c.IsZero() || c.String() != "" || c.Bytes() != nil {
		t.Errorf("zero Checksum: IsZero %v, String %q, Bytes %v", c.IsZero(), c.String(), c.Bytes())
	}
}
