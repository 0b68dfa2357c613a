// Package sbom writes SPDX 2.3 JSON software bills of materials: the
// document of a closure (apkpack layer --sbom, which with a single layer is
// also that layer's), and the document of one layer of a closure split into
// several, describing the packages whose files the layer holds.
//
// Every package gets the purl syft derives from an installed database
// (§5.4 of apk-reference.md):
//
//	pkg:apk/<ID>/<name>@<version>?arch=<arch>&distro=<ID>-<VERSION_ID>[&upstream=<origin>]
//
// with ID and VERSION_ID from the root's etc/os-release, upstream only when
// the origin differs from the name; its version and file name; the
// originator from the maintainer when the package names one; the declared
// license as an SPDX expression, or NOASSERTION when the field is not one;
// the SHA-256 of the .apk file, its only checksum; the URL it was fetched
// from; its origin as source information; a comment holding its arch, its
// origin and its apk identity C: (the SHA-1 of its control segment, which
// is not a checksum of the .apk file, hence not among the checksums); and
// DEPENDS_ON relationships to the packages of the closure that satisfy its
// depends. In a layer's document, a dependency on a package of another
// layer points into the closure's document (an external document
// reference, DocumentRef-closure).
//
// A document is deterministic: its creation time is the layer's epoch and
// its namespace is derived from a digest of its content, so the same
// lockfile gives the same bytes.
package sbom

import (
	"cmp"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/package-url/packageurl-go"
	spdxjson "github.com/spdx/tools-golang/json"
	"github.com/spdx/tools-golang/spdx/v2/common"
	"github.com/spdx/tools-golang/spdx/v2/v2_3"

	"github.com/rules-apk/rules_apk/tools/internal/apk"
)

// Input is what a document describes.
type Input struct {
	// Name names the document (the lockfile or the image).
	Name string
	// OSID and OSVersionID are ID and VERSION_ID of etc/os-release.
	OSID, OSVersionID string
	// Created is the document's creation time: the layer's epoch.
	Created time.Time
	// Packages is the closure.
	Packages []Package
	// DiffIDs are the layers' diffIDs, part of the namespace digest.
	DiffIDs []string
	// Describe, when not nil, makes the document of one layer: it describes
	// only the named packages of Packages (still the whole closure), and a
	// dependency on another package of the closure points into Closure.
	Describe []string
	// Closure is the closure's document, which a layer's document refers
	// to; required with Describe when a described package depends on one
	// that is not.
	Closure *DocumentRef
}

// DocumentRef identifies another SPDX document: its namespace and the
// SHA-1 of its bytes, as SPDX external document references require.
type DocumentRef struct {
	Namespace string
	SHA1      string // hex
}

// closureRef is the external document ID of the closure's document in a
// layer's document.
const closureRef = "closure"

// Package is one package of the closure.
type Package struct {
	Name, Version, Arch string
	Origin              string
	License             string // the L: field
	Maintainer          string // "Name <email>", or ""
	URL                 string // the project's home page (U:)
	Description         string
	DownloadURL         string // where the .apk was fetched from
	SHA256              string // hex SHA-256 of the .apk
	Checksum            string // C:, "Q1…"
	DependsOn           []string
}

// Tool is the creator the documents name.
const Tool = "rules_apk-apkpack"

// Document builds the SPDX document of in.
func Document(in Input) (*v2_3.Document, error) {
	pkgs := slices.Clone(in.Packages)
	slices.SortFunc(pkgs, func(a, b Package) int { return cmp.Compare(a.Name, b.Name) })
	ids := map[string]common.ElementID{}
	for _, p := range pkgs {
		if _, dup := ids[p.Name]; dup {
			return nil, fmt.Errorf("making SBOM: package %s appears twice", p.Name)
		}
		ids[p.Name] = elementID(p)
	}
	doc := &v2_3.Document{
		SPDXVersion: v2_3.Version, DataLicense: v2_3.DataLicense,
		SPDXIdentifier: "DOCUMENT", DocumentName: in.Name,
		DocumentNamespace: namespace(in, pkgs),
		CreationInfo: &v2_3.CreationInfo{
			Creators: []common.Creator{{CreatorType: "Tool", Creator: Tool}},
			Created:  in.Created.UTC().Format("2006-01-02T15:04:05Z"),
		},
	}
	described, err := describedPackages(in, pkgs)
	if err != nil {
		return nil, err
	}
	if in.Closure != nil {
		doc.ExternalDocumentReferences = []v2_3.ExternalDocumentRef{{
			DocumentRefID: closureRef, URI: in.Closure.Namespace,
			Checksum: common.Checksum{Algorithm: common.SHA1, Value: in.Closure.SHA1}}}
	}
	for _, p := range described {
		sp, err := spdxPackage(in, p, ids[p.Name])
		if err != nil {
			return nil, err
		}
		doc.Packages = append(doc.Packages, sp)
		doc.Relationships = append(doc.Relationships, &v2_3.Relationship{
			RefA: common.MakeDocElementID("", "DOCUMENT"), RefB: docElement(ids[p.Name]),
			Relationship: common.TypeRelationshipDescribe})
	}
	here := map[string]bool{}
	for _, p := range described {
		here[p.Name] = true
	}
	for _, p := range described {
		deps := slices.Clone(p.DependsOn)
		slices.Sort(deps)
		for _, d := range slices.Compact(deps) {
			id, ok := ids[d]
			if !ok {
				return nil, fmt.Errorf("making SBOM: %s depends on %s, which is not in the "+
					"closure", p.Name, d)
			}
			ref := docElement(id)
			if !here[d] {
				if in.Closure == nil {
					return nil, fmt.Errorf("making SBOM: %s depends on %s, which the "+
						"document does not describe, and no closure document is given to "+
						"refer to (Input.Closure)", p.Name, d)
				}
				ref.DocumentRefID = closureRef
			}
			doc.Relationships = append(doc.Relationships, &v2_3.Relationship{
				RefA: docElement(ids[p.Name]), RefB: ref,
				Relationship: common.TypeRelationshipDependsOn})
		}
	}
	return doc, nil
}

// describedPackages returns the packages the document describes: all, or
// those Input.Describe names.
func describedPackages(in Input, pkgs []Package) ([]Package, error) {
	if in.Describe == nil {
		return pkgs, nil
	}
	var out []Package
	for _, name := range in.Describe {
		i := slices.IndexFunc(pkgs, func(p Package) bool { return p.Name == name })
		if i < 0 {
			return nil, fmt.Errorf("making SBOM: package %s to describe is not in the "+
				"closure", name)
		}
		out = append(out, pkgs[i])
	}
	slices.SortFunc(out, func(a, b Package) int { return cmp.Compare(a.Name, b.Name) })
	return slices.CompactFunc(out, func(a, b Package) bool { return a.Name == b.Name }), nil
}

func docElement(id common.ElementID) common.DocElementID {
	return common.DocElementID{ElementRefID: id}
}

var idUnsafe = regexp.MustCompile(`[^A-Za-z0-9.-]+`)

// elementID is "Package-apk-<name>-<version>" with characters SPDX ids do
// not allow replaced by "-".
func elementID(p Package) common.ElementID {
	return common.ElementID(idUnsafe.ReplaceAllString("Package-apk-"+p.Name+"-"+p.Version, "-"))
}

// namespace derives the document namespace from a digest of what the
// document says, so that the same closure always gets the same one.
func namespace(in Input, pkgs []Package) string {
	h := sha256.New()
	fmt.Fprintf(h, "%s\x00%s\x00%s\x00", in.Name, in.OSID, in.OSVersionID)
	for _, p := range pkgs {
		fmt.Fprintf(h, "%s\x00%s\x00%s\x00%s\x00", p.Name, p.Version, p.Arch, p.SHA256)
	}
	for _, d := range in.DiffIDs {
		fmt.Fprintf(h, "%s\x00", d)
	}
	if in.Describe != nil {
		fmt.Fprintf(h, "describe\x00%s\x00", strings.Join(in.Describe, "\x00"))
	}
	if in.Closure != nil {
		fmt.Fprintf(h, "closure\x00%s\x00%s\x00", in.Closure.Namespace, in.Closure.SHA1)
	}
	name := idUnsafe.ReplaceAllString(in.Name, "-")
	return "https://github.com/rules-apk/rules_apk/spdx/" + name + "-" +
		hex.EncodeToString(h.Sum(nil))
}

func spdxPackage(in Input, p Package, id common.ElementID) (*v2_3.Package, error) {
	sp := &v2_3.Package{
		PackageName: p.Name, PackageSPDXIdentifier: id, PackageVersion: p.Version,
		PackageFileName:         p.Name + "-" + p.Version + ".apk",
		PackageSupplier:         &common.Supplier{Supplier: "NOASSERTION"},
		PackageDownloadLocation: cmp.Or(p.DownloadURL, "NOASSERTION"),
		PackageHomePage:         p.URL,
		PackageLicenseConcluded: "NOASSERTION",
		PackageLicenseDeclared:  LicenseExpression(p.License),
		PackageCopyrightText:    "NOASSERTION",
		PackageSummary:          p.Description,
		PackageExternalReferences: []*v2_3.PackageExternalReference{{
			Category: common.CategoryPackageManager, RefType: common.TypePackageManagerPURL,
			Locator: PURL(in.OSID, in.OSVersionID, p)}},
	}
	if p.Maintainer != "" {
		sp.PackageOriginator = &common.Originator{OriginatorType: "Person",
			Originator: person(p.Maintainer)}
	}
	if p.Origin != "" {
		sp.PackageSourceInfo = "built from the " + p.Origin + " source package"
	}
	if p.SHA256 != "" {
		sp.PackageChecksums = append(sp.PackageChecksums,
			common.Checksum{Algorithm: common.SHA256, Value: p.SHA256})
	}
	comment, err := apkComment(p)
	if err != nil {
		return nil, err
	}
	sp.PackageComment = comment
	return sp, nil
}

// apkComment is the package comment: one "apk <field>: <value>" line for
// the arch, the origin and the identity C:, which is the SHA-1 of the
// control segment and so no checksum of the .apk file.
func apkComment(p Package) (string, error) {
	var lines []string
	if p.Arch != "" {
		lines = append(lines, "apk arch: "+p.Arch)
	}
	if p.Origin != "" {
		lines = append(lines, "apk origin: "+p.Origin)
	}
	if p.Checksum != "" {
		if _, err := apk.ParseChecksum(p.Checksum); err != nil {
			return "", fmt.Errorf("making SBOM: package %s: %w", p.Name, err)
		}
		lines = append(lines, "apk checksum (C:, the package identity in APKINDEX and "+
			"the installed database; the SHA-1 of the control segment, not of the .apk "+
			"file): "+p.Checksum)
	}
	return strings.Join(lines, "\n"), nil
}

// person writes apk's "Name <email>" the way SPDX writes a person,
// "Name (email)".
func person(m string) string {
	if name, email, ok := strings.Cut(m, "<"); ok && strings.HasSuffix(email, ">") {
		return strings.TrimSpace(name) + " (" + strings.TrimSuffix(email, ">") + ")"
	}
	return m
}

// PURL is the package URL syft gives an installed APK package (§5.4).
func PURL(osID, osVersionID string, p Package) string {
	distro := osID
	if osVersionID != "" {
		distro += "-" + osVersionID
	}
	q := packageurl.Qualifiers{{Key: "arch", Value: p.Arch}, {Key: "distro", Value: distro}}
	if p.Origin != "" && p.Origin != p.Name {
		q = append(q, packageurl.Qualifier{Key: "upstream", Value: p.Origin})
	}
	if p.Arch == "" {
		q = q[1:]
	}
	return packageurl.NewPackageURL("apk", osID, p.Name, p.Version, q, "").ToString()
}

// Write writes doc as indented JSON.
func Write(w io.Writer, doc *v2_3.Document) error {
	if err := spdxjson.Write(doc, w, spdxjson.Indent("  "), spdxjson.EscapeHTML(false)); err != nil {
		return fmt.Errorf("writing SBOM: %w", err)
	}
	return nil
}

// LicenseExpression returns license when it is a syntactically valid SPDX
// license expression (identifiers, optionally with "+", LicenseRef- and
// DocumentRef- references, joined by AND, OR and WITH, with parentheses),
// and NOASSERTION otherwise (Alpine's older "GPL2 MIT" style lists). The
// identifiers are not checked against the SPDX license list.
func LicenseExpression(license string) string {
	s := strings.TrimSpace(license)
	if s == "" {
		return "NOASSERTION"
	}
	p := &exprParser{toks: tokenize(s)}
	if p.toks == nil || !p.expr() || p.i != len(p.toks) {
		return "NOASSERTION"
	}
	return s
}

var licenseID = regexp.MustCompile(`^(DocumentRef-[A-Za-z0-9.-]+:)?[A-Za-z0-9][A-Za-z0-9.-]*\+?$`)

// tokenize splits an expression into parentheses and words; nil when a
// character cannot appear in one.
func tokenize(s string) []string {
	var toks []string
	for _, f := range strings.Fields(strings.NewReplacer("(", " ( ", ")", " ) ").Replace(s)) {
		if f != "(" && f != ")" && !isOperator(f) && !licenseID.MatchString(f) {
			return nil
		}
		toks = append(toks, f)
	}
	return toks
}

func isOperator(s string) bool { return s == "AND" || s == "OR" || s == "WITH" }

// exprParser checks the grammar
//
//	expr   = term { "OR" term }
//	term   = factor { "AND" factor }
//	factor = id [ "WITH" id ] | "(" expr ")"
type exprParser struct {
	toks []string
	i    int
}

func (p *exprParser) peek() string {
	if p.i < len(p.toks) {
		return p.toks[p.i]
	}
	return ""
}

func (p *exprParser) expr() bool {
	if !p.term() {
		return false
	}
	for p.peek() == "OR" {
		p.i++
		if !p.term() {
			return false
		}
	}
	return true
}

func (p *exprParser) term() bool {
	if !p.factor() {
		return false
	}
	for p.peek() == "AND" {
		p.i++
		if !p.factor() {
			return false
		}
	}
	return true
}

func (p *exprParser) factor() bool {
	switch t := p.peek(); {
	case t == "(":
		p.i++
		if !p.expr() || p.peek() != ")" {
			return false
		}
		p.i++
		return true
	case t == "" || t == ")" || isOperator(t):
		return false
	}
	p.i++
	if p.peek() == "WITH" {
		p.i++
		if t := p.peek(); t == "" || t == "(" || t == ")" || isOperator(t) {
			return false
		}
		p.i++
	}
	return true
}
