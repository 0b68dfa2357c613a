package sbom

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	spdxjson "github.com/spdx/tools-golang/json"
	"github.com/spdx/tools-golang/spdx/v2/common"

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

// TestPackageIdentity checks that a package's only checksum is of the .apk
// file, and that its C:, arch and origin are in its comment, origin also
// when it is the package's name.
func TestPackageIdentity(t *testing.T) {
	doc, err := Document(sampleInput())
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range doc.Packages {
		if len(p.PackageChecksums) != 1 || p.PackageChecksums[0].Algorithm != common.SHA256 {
			t.Errorf("%s: checksums %v, want only the SHA-256 of the .apk", p.PackageName,
				p.PackageChecksums)
		}
	}
	glibc := doc.Packages[0]
	for _, want := range []string{"apk arch: x86_64", "apk origin: glibc",
		"not of the .apk file): Q1GTjdDWSAN/e8mRmTQLLkcs0qRkA="} {
		if !strings.Contains(glibc.PackageComment, want) {
			t.Errorf("glibc's comment %q does not say %q", glibc.PackageComment, want)
		}
	}
	if glibc.PackageSourceInfo != "built from the glibc source package" {
		t.Errorf("glibc's source info %q", glibc.PackageSourceInfo)
	}
	in := sampleInput()
	in.Packages[1].Checksum = "Q1bad"
	if _, err := Document(in); err == nil || !strings.Contains(err.Error(), "package glibc") {
		t.Errorf("bad C:: error %v", err)
	}
}

// TestLayerDocument makes the document of a layer holding one package of
// the sample closure: it describes that package only, and its dependencies
// point into the closure's document.
func TestLayerDocument(t *testing.T) {
	in := sampleInput()
	in.Describe = []string{"libcurl-openssl4"}
	in.Closure = &DocumentRef{Namespace: "https://example.org/spdx/closure",
		SHA1: strings.Repeat("5a", 20)}
	back, err := spdxjson.Read(strings.NewReader(encode(t, in)))
	if err != nil {
		t.Fatalf("reading the document back: %v", err)
	}
	var names []string
	for _, p := range back.Packages {
		names = append(names, p.PackageName)
	}
	if diff := cmp.Diff([]string{"libcurl-openssl4"}, names); diff != "" {
		t.Errorf("packages (-want +got):\n%s", diff)
	}
	if len(back.ExternalDocumentReferences) != 1 ||
		back.ExternalDocumentReferences[0].URI != in.Closure.Namespace ||
		back.ExternalDocumentReferences[0].Checksum.Value != in.Closure.SHA1 {
		t.Errorf("external document references %+v", back.ExternalDocumentReferences)
	}
	var rels []string
	for _, r := range back.Relationships {
		a, _ := json.Marshal(r.RefA)
		bb, _ := json.Marshal(r.RefB)
		rels = append(rels, fmt.Sprintf("%s %s %s", a, r.Relationship, bb))
	}
	want := []string{
		`"SPDXRef-DOCUMENT" DESCRIBES "SPDXRef-Package-apk-libcurl-openssl4-8.11.1-r0"`,
		`"SPDXRef-Package-apk-libcurl-openssl4-8.11.1-r0" DEPENDS_ON ` +
			`"DocumentRef-closure:SPDXRef-Package-apk-glibc-2.40-r0"`,
		`"SPDXRef-Package-apk-libcurl-openssl4-8.11.1-r0" DEPENDS_ON ` +
			`"DocumentRef-closure:SPDXRef-Package-apk-zlib-1.3.1-r0"`,
	}
	if diff := cmp.Diff(want, rels); diff != "" {
		t.Errorf("relationships (-want +got):\n%s", diff)
	}
	whole, err := Document(sampleInput())
	if err != nil {
		t.Fatal(err)
	}
	if back.DocumentNamespace == whole.DocumentNamespace {
		t.Error("the layer's document has the closure's namespace")
	}

	// Dependencies within the layer stay local; without a closure document,
	// one outside is an error, as is an unknown package.
	in.Describe = []string{"zlib", "glibc"}
	doc, err := Document(in)
	if err != nil {
		t.Fatal(err)
	}
	if got := doc.Relationships[len(doc.Relationships)-1].RefB.DocumentRefID; got != "" {
		t.Errorf("zlib's dependency on glibc points into %q", got)
	}
	in.Describe, in.Closure = []string{"libcurl-openssl4"}, nil
	if _, err := Document(in); err == nil || !strings.Contains(err.Error(), "Input.Closure") {
		t.Errorf("no closure document: error %v", err)
	}
	in.Describe = []string{"musl"}
	if _, err := Document(in); err == nil || !strings.Contains(err.Error(), "musl") {
		t.Errorf("unknown package: error %v", err)
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
