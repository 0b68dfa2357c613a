package ldso

import (
	"os"
	"testing"
)

func BenchmarkParse(b *testing.B) {
	data := readRealCache(b)
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		if _, err := Parse(data); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkEncode(b *testing.B) {
	c, err := Parse(readRealCache(b))
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if _, err := Encode(c); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkBuildHost builds the cache of the host's own root, the size of
// a full distribution's, when the host has an ld.so.conf.
func BenchmarkBuildHost(b *testing.B) {
	if _, err := os.Stat("/etc/ld.so.conf"); err != nil {
		b.Skipf("no /etc/ld.so.conf on this host: %v", err)
	}
	root := os.DirFS("/")
	for b.Loop() {
		c, _, err := Build(root, Options{Arch: "x86_64", SystemDirs: []string{
			"/lib/x86_64-linux-gnu", "/usr/lib/x86_64-linux-gnu", "/lib", "/usr/lib"}})
		if err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(float64(len(c.Entries)), "entries")
	}
}
