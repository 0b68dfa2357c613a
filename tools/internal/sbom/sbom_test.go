package sbom

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	spdxjson "github.com/spdx/tools-golang/json"

	"github.com/rules-apk/rules_apk/tools/internal/testutil"
)

func sampleInput() Input {
	return Input{
		Name: "runtime.apk.lock.json x86_64", OSID: "wolfi", OSVersionID: "20230201",
		Created: time.Unix(1700000000, 0),
		DiffIDs: []string{"sha256:" + strings.Repeat("ab", 32)},
		Packages: []Package{
			{Name: "libcurl-openssl4", Version: "8.11.1-r0", Arch: "x86_64", Origin: "curl",
				License: "curl", URL: "https://curl.se", Description: "curl library",
				DownloadURL: "https://packages.wolfi.dev/os/x86_64/libcurl-openssl4-8.11.1-r0.apk",
				SHA256:      strings.Repeat("01", 32), Checksum: "Q1LLq2qDNrS/qRnhxQ3hsY/sHbQnc=",
				DependsOn: []string{"glibc", "zlib", "glibc"}},
			{Name: "glibc", Version: "2.40-r0", Arch: "x86_64", Origin: "glibc",
				License: "GPL-2.0-or-later AND LGPL-2.1-or-later", Maintainer: "Jane Doe <jane@example.org>",
				SHA256: strings.Repeat("02", 32), Checksum: "Q1GTjdDWSAN/e8mRmTQLLkcs0qRkA="},
			{Name: "zlib", Version: "1.3.1-r0", Arch: "x86_64", License: "GPL2 MIT",
				SHA256: strings.Repeat("03", 32), DependsOn: []string{"glibc"}},
		},
	}
}

func TestDocumentGolden(t *testing.T) {
	doc, err := Document(sampleInput())
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if err := Write(&b, doc); err != nil {
		t.Fatal(err)
	}
	testutil.Golden(t, "sample.spdx.json", b.Bytes())

	// The document reads back with tools-golang and says the same.
	back, err := spdxjson.Read(bytes.NewReader(b.Bytes()))
	if err != nil {
		t.Fatalf("reading the document back: %v", err)
	}
	var again bytes.Buffer
	if err := Write(&again, back); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(b.String(), again.String()); diff != "" {
		t.Errorf("document after a read and a write (-want +got):\n%s", diff)
	}
}

func TestDocumentDeterministic(t *testing.T) {
	in := sampleInput()
	a := encode(t, in)
	in.Packages[0], in.Packages[2] = in.Packages[2], in.Packages[0]
	if diff := cmp.Diff(a, encode(t, in)); diff != "" {
		t.Errorf("package order changed the document (-a +b):\n%s", diff)
	}
	in.Packages[0].SHA256 = strings.Repeat("ff", 32)
	doc, err := Document(in)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(a, doc.DocumentNamespace) {
		t.Error("another package kept the namespace")
	}
}

func encode(t *testing.T, in Input) string {
	t.Helper()
	doc, err := Document(in)
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if err := Write(&b, doc); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

func TestDocumentErrors(t *testing.T) {
	in := sampleInput()
	in.Packages[2].DependsOn = []string{"musl"}
	if _, err := Document(in); err == nil || !strings.Contains(err.Error(), "zlib depends on musl") {
		t.Errorf("unknown dependency: got %v", err)
	}
	in = sampleInput()
	in.Packages = append(in.Packages, in.Packages[0])
	if _, err := Document(in); err == nil || !strings.Contains(err.Error(), "appears twice") {
		t.Errorf("duplicate package: got %v", err)
	}
}

func TestPURL(t *testing.T) {
	tests := []struct {
		id, version string
		p           Package
		want        string
	}{
		{"wolfi", "20230201", Package{Name: "glibc", Version: "2.40-r0", Arch: "x86_64", Origin: "glibc"},
			"pkg:apk/wolfi/glibc@2.40-r0?arch=x86_64&distro=wolfi-20230201"},
		{"wolfi", "20230201", Package{Name: "libcurl-openssl4", Version: "8.11.1-r0", Arch: "aarch64",
			Origin: "curl"},
			"pkg:apk/wolfi/libcurl-openssl4@8.11.1-r0?arch=aarch64&distro=wolfi-20230201&upstream=curl"},
		{"alpine", "", Package{Name: "c++", Version: "1_p2-r0", Arch: "x86_64"},
			"pkg:apk/alpine/c%2B%2B@1_p2-r0?arch=x86_64&distro=alpine"},
	}
	for _, tt := range tests {
		t.Run(tt.want, func(t *testing.T) {
			if got := PURL(tt.id, tt.version, tt.p); got != tt.want {
				t.Errorf("PURL = %s, want %s", got, tt.want)
			}
		})
	}
}

func TestLicenseExpression(t *testing.T) {
	tests := []struct{ in, want string }{
		{"MIT", "MIT"},
		{"BSD-3-Clause OR GPL-2.0-only", "BSD-3-Clause OR GPL-2.0-only"},
		{"(MIT OR Apache-2.0) AND BSD-2-Clause", "(MIT OR Apache-2.0) AND BSD-2-Clause"},
		{"GPL-2.0-or-later WITH Classpath-exception-2.0", "GPL-2.0-or-later WITH Classpath-exception-2.0"},
		{"GPL-2.0+", "GPL-2.0+"},
		{"LicenseRef-wolfi-custom", "LicenseRef-wolfi-custom"},
		{"", "NOASSERTION"},
		{"GPL2 MIT", "NOASSERTION"},
		{"MIT AND", "NOASSERTION"},
		{"(MIT", "NOASSERTION"},
		{"MIT)", "NOASSERTION"},
		{"custom license, see COPYING", "NOASSERTION"},
		{"MIT WITH", "NOASSERTION"},
		{"AND", "NOASSERTION"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			if got := LicenseExpression(tt.in); got != tt.want {
				t.Errorf("LicenseExpression(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}
