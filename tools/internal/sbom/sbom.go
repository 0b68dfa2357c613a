// Package sbom writes the SPDX 2.3 JSON software bill of materials of a
// closure: one document per closure (not per layer), since scanners look at
// the whole image and the installed database lists the whole closure too.
//
// Every package gets the purl syft derives from an installed database
// (§5.4 of apk-reference.md):
//
//	pkg:apk/<ID>/<name>@<version>?arch=<arch>&distro=<ID>-<VERSION_ID>[&upstream=<origin>]
//
// with ID and VERSION_ID from the root's etc/os-release, upstream only when
// the origin differs from the name; its version, arch and file name; the
// originator from the maintainer when the package names one; the declared
// license as an SPDX expression, or NOASSERTION when the field is not one;
// the SHA-256 of the .apk and the SHA-1 of its C: checksum; the URL it was
// fetched from; and DEPENDS_ON relationships to the packages of the closure
// that satisfy its depends.
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
}

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
	for _, p := range pkgs {
		sp, err := spdxPackage(in, p, ids[p.Name])
		if err != nil {
			return nil, err
		}
		doc.Packages = append(doc.Packages, sp)
		doc.Relationships = append(doc.Relationships, &v2_3.Relationship{
			RefA: common.MakeDocElementID("", "DOCUMENT"), RefB: docElement(ids[p.Name]),
			Relationship: common.TypeRelationshipDescribe})
	}
	for _, p := range pkgs {
		deps := slices.Clone(p.DependsOn)
		slices.Sort(deps)
		for _, d := range slices.Compact(deps) {
			id, ok := ids[d]
			if !ok {
				return nil, fmt.Errorf("making SBOM: %s depends on %s, which is not in the "+
					"closure", p.Name, d)
			}
			doc.Relationships = append(doc.Relationships, &v2_3.Relationship{
				RefA: docElement(ids[p.Name]), RefB: docElement(id),
				Relationship: common.TypeRelationshipDependsOn})
		}
	}
	return doc, nil
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
	if p.Origin != "" && p.Origin != p.Name {
		sp.PackageSourceInfo = "built from the " + p.Origin + " source package"
	}
	if p.SHA256 != "" {
		sp.PackageChecksums = append(sp.PackageChecksums,
			common.Checksum{Algorithm: common.SHA256, Value: p.SHA256})
	}
	if p.Checksum != "" {
		c, err := apk.ParseChecksum(p.Checksum)
		if err != nil {
			return nil, fmt.Errorf("making SBOM: package %s: %w", p.Name, err)
		}
		if c.Kind == apk.ChecksumSHA1 {
			sp.PackageChecksums = append(sp.PackageChecksums,
				common.Checksum{Algorithm: common.SHA1, Value: hex.EncodeToString(c.Bytes())})
		}
	}
	return sp, nil
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
