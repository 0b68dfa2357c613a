package lock

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestGenerateArchs locks two archs into one lockfile, each from its own
// index, and warns that they get different versions of zlib.
func TestGenerateArchs(t *testing.T) {
	pkgs := fixture("1.3.1-r5")
	for _, p := range fixture("1.3.1-r4") {
		p.Arch = "aarch64"
		pkgs = append(pkgs, p)
	}
	e := newEnv(t, pkgs)
	s, _ := e.spec(t, "  packages: [so:libcurl.so.4]\narchs: [x86_64, aarch64]\n")
	var logs bytes.Buffer
	l, err := Generate(context.Background(), GenerateOptions{Spec: s, SpecDir: e.dir, Client: e.client,
		Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"aarch64 baselayout-1-r0", "aarch64 glibc-2.40-r0", "aarch64 libcurl-openssl4-8.11.1-r0",
		"aarch64 zlib-1.3.1-r4",
		"x86_64 baselayout-1-r0", "x86_64 glibc-2.40-r0", "x86_64 libcurl-openssl4-8.11.1-r0",
		"x86_64 zlib-1.3.1-r5",
	}
	if diff := cmp.Diff(want, names(l)); diff != "" {
		t.Errorf("closure (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"aarch64", "x86_64"}, l.Archs); diff != "" {
		t.Errorf("archs (-want +got):\n%s", diff)
	}
	for _, p := range l.PackagesFor("aarch64") {
		if !strings.Contains(p.URL, "/aarch64/") {
			t.Errorf("%s for aarch64 is fetched from %s", p.Name, p.URL)
		}
	}
	if got := logs.String(); !strings.Contains(got, "archs get different versions of a package") ||
		!strings.Contains(got, "package=zlib") || strings.Contains(got, "package=glibc") {
		t.Errorf("want one warning, about zlib; logs:\n%s", got)
	}
}
