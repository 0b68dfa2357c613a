package deps

import (
	"os"
	"slices"
	"testing"
)

func TestInterpName(t *testing.T) {
	tests := []struct{ interp, want string }{
		{"/lib64/ld-linux-x86-64.so.2", "ld-linux-x86-64.so.2"},
		{"/lib/ld-linux-aarch64.so.1", "ld-linux-aarch64.so.1"},
		{"/lib/ld-musl-x86_64.so.1", "libc.musl-x86_64.so.1"},
		{"/lib/ld-musl-aarch64.so.1", "libc.musl-aarch64.so.1"},
		{"ld.so", "ld.so"},
	}
	for _, tt := range tests {
		t.Run(tt.interp, func(t *testing.T) {
			if got := interpName(tt.interp); got != tt.want {
				t.Errorf("interpName(%q) = %q, want %q", tt.interp, got, tt.want)
			}
		})
	}
}

// BenchmarkScanHostUsr scans the host's /usr as if it were one package:
// a large real tree (Debian keeps its libraries in lib/<multiarch>). It
// also checks that glibc's libraries and a core program are found there.
func BenchmarkScanHostUsr(b *testing.B) {
	if testing.Short() {
		b.Skip("scans the whole of /usr")
	}
	if _, err := os.Stat("/usr/lib"); err != nil {
		b.Skipf("this host has no /usr/lib to scan: %v", err)
	}
	var res *Result
	for b.Loop() {
		var err error
		if res, err = Scan("/usr", Options{Version: "1-r0"}); err != nil {
			b.Fatal(err)
		}
	}
	for _, want := range []string{"so:libc.so.6=6", "cmd:true=1-r0"} {
		if !slices.Contains(res.Provides, want) {
			b.Errorf("scanning /usr: %s is not provided", want)
		}
	}
	b.ReportMetric(float64(len(res.Provides)), "provides")
	b.ReportMetric(float64(len(res.Depends)), "depends")
}
