package lock

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/rules-apk/rules_apk/tools/internal/testrepo"
)

// dockerfileBase is the runtime base of the Dockerfile pattern (design.md):
// Wolfi's glibc-dynamic, 7 packages.
var dockerfileBase = []string{"ca-certificates-bundle", "glibc", "glibc-locale-posix", "ld-linux",
	"libgcc", "libxcrypt", "wolfi-baselayout"}

// dockerfileDelta is what `apk add --root BASE so:libcurl.so.4` adds to it:
// 26 packages, each with the names of the delta packages it depends on.
// Every one also needs the base's libc, and a few the base's libgcc or
// libcrypt.
var dockerfileDelta = [][]string{
	{"zlib"}, {"libzstd1"}, {"libbrotlicommon1"}, {"libbrotlidec1", "libbrotlicommon1"},
	{"libunistring"}, {"libidn2", "libunistring"}, {"libpsl", "libidn2", "libunistring"},
	{"libnghttp2-14"}, {"libnghttp3"}, {"openssl-config"}, {"libcrypto3", "openssl-config"},
	{"libssl3", "libcrypto3"}, {"libngtcp2", "libcrypto3", "libssl3"}, {"libverto"},
	{"keyutils-libs"}, {"krb5-conf"}, {"libcom_err"},
	{"krb5-libs", "krb5-conf", "libcom_err", "keyutils-libs", "libverto", "libcrypto3"},
	{"libsasl", "libcrypto3"}, {"libldap", "libsasl", "libssl3", "libcrypto3"},
	{"libssh2", "libcrypto3", "zlib"}, {"libev"}, {"c-ares"}, {"libtasn1"},
	{"libgnutls30", "libtasn1", "libidn2", "libunistring"},
	{"libcurl-openssl4", "zlib", "libzstd1", "libbrotlidec1", "libpsl", "libidn2", "libnghttp2-14",
		"libnghttp3", "libngtcp2", "libssl3", "libcrypto3", "krb5-libs", "libldap", "libssh2",
		"libev", "c-ares", "libgnutls30"},
}

func soname(name string) string { return "so:lib" + strings.TrimPrefix(name, "lib") + ".so.1" }

// dockerfileRepo is the repository of the pattern: the base, the delta,
// the other provider of so:libcurl.so.4, and packages nothing pulls in.
func dockerfileRepo() []testrepo.Pkg {
	file := func(name string) map[string]string {
		return map[string]string{"usr/lib/" + name + ".so": name}
	}
	pkgs := []testrepo.Pkg{
		{Name: "wolfi-baselayout", Version: "20230201-r15", BuildTime: 100,
			Files: map[string]string{"etc/os-release": "ID=wolfi\n"}},
		{Name: "ca-certificates-bundle", Version: "20241121-r1", BuildTime: 100,
			Files: map[string]string{"etc/ssl/certs/ca-certificates.crt": "certs"}},
		{Name: "ld-linux", Version: "2.40-r4", BuildTime: 200, Depends: []string{"wolfi-baselayout"},
			Provides: []string{"so:ld-linux-x86-64.so.2=2"}, Files: file("ld-linux")},
		{Name: "glibc", Version: "2.40-r4", BuildTime: 200, Depends: []string{"so:ld-linux-x86-64.so.2"},
			Provides: []string{"so:libc.so.6=6", "so:libm.so.6=6"}, Files: file("glibc")},
		{Name: "glibc-locale-posix", Version: "2.40-r4", BuildTime: 200, Depends: []string{"glibc"},
			Files: file("glibc-locale-posix")},
		{Name: "libgcc", Version: "14.2.0-r8", BuildTime: 200, Depends: []string{"so:libc.so.6"},
			Provides: []string{"so:libgcc_s.so.1=1"}, Files: file("libgcc")},
		{Name: "libxcrypt", Version: "4.4.36-r8", BuildTime: 200, Depends: []string{"so:libc.so.6"},
			Provides: []string{"so:libcrypt.so.1=1"}, Files: file("libxcrypt")},
		{Name: "libcurl-rustls4", Version: "8.11.1-r0", Origin: "curl", ProviderPriority: 5, BuildTime: 400,
			Depends: []string{"so:libc.so.6"}, Provides: []string{"so:libcurl.so.4=4"}, Files: file("rustls")},
		{Name: "curl", Version: "8.11.1-r0", BuildTime: 400, Depends: []string{"so:libcurl.so.4"},
			Files: file("curl")},
		{Name: "busybox", Version: "1.37.0-r0", BuildTime: 100, Depends: []string{"so:libc.so.6"},
			Files: file("busybox")},
	}
	for i, d := range dockerfileDelta {
		p := testrepo.Pkg{Name: d[0], Version: fmt.Sprintf("1.%d-r0", i), BuildTime: 300,
			Depends: []string{"so:libc.so.6"}, Files: file(d[0])}
		for _, dep := range d[1:] {
			p.Depends = append(p.Depends, soname(dep))
		}
		switch d[0] {
		case "libcurl-openssl4":
			p.Origin, p.ProviderPriority = "curl", 10
			p.Provides = []string{"so:libcurl.so.4=4"}
		case "libngtcp2":
			p.Depends = append(p.Depends, "so:libgcc_s.so.1")
			fallthrough
		default:
			p.Provides = []string{soname(d[0]) + "=1"}
		}
		if d[0] == "libsasl" {
			p.Depends = append(p.Depends, "so:libcrypt.so.1")
		}
		pkgs = append(pkgs, p)
	}
	return pkgs
}

// TestGenerateDockerfileDelta locks the runtime stage of the Dockerfile
// pattern: a spec whose base.packages is the 7-package glibc-dynamic base
// and whose packages are so:libcurl.so.4. The lockfile pins the delta that
// `apk add --root BASE so:libcurl.so.4` installs, 26 packages, as its
// non-base entries; the base packages are there once each, marked base
// (the layer and the installed database hold all 33, as the image of the
// Dockerfile does), and none of them is repeated in the delta, though the
// delta depends on three of them.
func TestGenerateDockerfileDelta(t *testing.T) {
	e := newEnv(t, dockerfileRepo())
	s, _ := e.spec(t, "  packages: [so:libcurl.so.4]\narchs: [x86_64]\nbase:\n  packages: ["+
		strings.Join(dockerfileBase, ", ")+"]\n")
	l, err := e.generate(t, s, nil, false)
	if err != nil {
		t.Fatal(err)
	}
	var base, delta []string
	seen := map[string]bool{}
	for _, p := range l.Packages {
		if seen[p.Arch+"/"+p.Name] {
			t.Errorf("%s is locked twice", p.Name)
		}
		seen[p.Arch+"/"+p.Name] = true
		if p.Base {
			base = append(base, p.Name)
		} else {
			delta = append(delta, p.Name)
		}
		if p.SHA256 == "" || p.DataHash == "" || p.URL == "" {
			t.Errorf("%s is not pinned: %+v", p.Name, p)
		}
	}
	if diff := cmp.Diff(dockerfileBase, base); diff != "" {
		t.Errorf("base packages (-want +got):\n%s", diff)
	}
	var want []string
	for _, d := range dockerfileDelta {
		want = append(want, d[0])
	}
	slices.Sort(want)
	if diff := cmp.Diff(want, delta); diff != "" {
		t.Errorf("delta (-want +got):\n%s", diff)
	}
	if len(delta) != 26 {
		t.Errorf("the delta has %d packages, want 26", len(delta))
	}
	wantWorld := append(slices.Clone(dockerfileBase), "so:libcurl.so.4")
	slices.Sort(wantWorld)
	if diff := cmp.Diff(wantWorld, l.World); diff != "" {
		t.Errorf("world (-want +got):\n%s", diff)
	}

	// Locking again with the lockfile as the previous one keeps every
	// entry, base marks included.
	again, err := e.generate(t, s, l, false)
	if err != nil {
		t.Fatal(err)
	}
	checkSameBytes(t, l, again, "locking again with the previous lockfile changed it")
}
