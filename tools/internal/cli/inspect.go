package cli

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"text/tabwriter"

	"github.com/rules-apk/rules_apk/tools/internal/apk"
	"github.com/spf13/cobra"
)

func init() { commandBuilders = append(commandBuilders, newInspectCmd) }

type inspectOptions struct {
	json    bool
	keyring []string
}

func newInspectCmd() *cobra.Command {
	o := &inspectOptions{}
	cmd := &cobra.Command{
		Use:   "inspect [--json] FILE|ROOT",
		Short: "Show what a package, an index or an installed database contains",
		Long: `Show what an APK package (.apk), index (APKINDEX.tar.gz) or installed
database (lib/apk/db/installed) contains.

For a package: its metadata, gzip members, signatures, scripts and files.
For an index: its description, signatures and records.
For an installed database: each package's metadata and how many files it
owns. A directory is read as the root of an image or sysroot: its
lib/apk/db/installed, else usr/lib/apk/db/installed.

Checksums are always checked; signatures only with --keyring.`,
		Example: `  apkpack inspect --keyring wolfi-signing.rsa.pub zlib-1.3.1-r5.apk
  apkpack inspect --json x86_64/APKINDEX.tar.gz
  apkpack inspect --json rootfs/    # the packages an unpacked image lists`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runInspect(cmd.OutOrStdout(), o, args[0])
		},
	}
	cmd.Flags().BoolVar(&o.json, "json", false, "print JSON instead of text")
	cmd.Flags().StringArrayVar(&o.keyring, "keyring", nil,
		"verify signatures with this key file or directory (repeatable)")
	return cmd
}

// pkgMeta is the JSON form of package metadata.
type pkgMeta struct {
	Name             string   `json:"name"`
	Version          string   `json:"version"`
	Arch             string   `json:"arch"`
	Size             uint64   `json:"size,omitempty"`
	InstalledSize    uint64   `json:"installed_size,omitempty"`
	Description      string   `json:"description,omitempty"`
	URL              string   `json:"url,omitempty"`
	License          string   `json:"license,omitempty"`
	Origin           string   `json:"origin,omitempty"`
	Maintainer       string   `json:"maintainer,omitempty"`
	BuildTime        int64    `json:"build_time,omitempty"`
	Commit           string   `json:"commit,omitempty"`
	ProviderPriority uint64   `json:"provider_priority,omitempty"`
	Depends          []string `json:"depends,omitempty"`
	Provides         []string `json:"provides,omitempty"`
	InstallIf        []string `json:"install_if,omitempty"`
	Replaces         []string `json:"replaces,omitempty"`
	Triggers         []string `json:"triggers,omitempty"`
	Checksum         string   `json:"checksum,omitempty"`
	DataHash         string   `json:"datahash,omitempty"`
	NotInstallable   bool     `json:"not_installable,omitempty"`
}

func metaOf(p *apk.Package) pkgMeta {
	return pkgMeta{
		Name: p.Name, Version: p.Version, Arch: p.Arch, Size: p.Size, InstalledSize: p.InstalledSize,
		Description: p.Description, URL: p.URL, License: p.License, Origin: p.Origin,
		Maintainer: p.Maintainer, BuildTime: p.BuildTime, Commit: p.Commit,
		ProviderPriority: p.ProviderPriority, Depends: apk.ListFields(p.Depends),
		Provides: apk.ListFields(p.Provides), InstallIf: apk.ListFields(p.InstallIf),
		Replaces: apk.ListFields(p.Replaces), Triggers: apk.ListFields(p.Triggers),
		Checksum: p.Checksum.String(), DataHash: p.DataHash, NotInstallable: p.NotInstallable,
	}
}

type sigView struct {
	Alg string `json:"alg"`
	Key string `json:"key"`
}

func sigViews(sigs []apk.Signature) []sigView {
	out := make([]sigView, len(sigs))
	for i, s := range sigs {
		out[i] = sigView{Alg: string(s.Alg), Key: s.KeyName}
	}
	return out
}

type memberView struct {
	Kind         string `json:"kind"`
	Offset       int64  `json:"offset"`
	Size         int64  `json:"size"`
	Decompressed int64  `json:"decompressed"`
}

type fileView struct {
	Path     string `json:"path"`
	Type     string `json:"type"`
	Mode     string `json:"mode"`
	UID      int    `json:"uid"`
	GID      int    `json:"gid"`
	Size     int64  `json:"size"`
	Linkname string `json:"link,omitempty"`
	Checksum string `json:"checksum,omitempty"`
}

type packageView struct {
	Kind       string            `json:"kind"`
	File       string            `json:"file"`
	SHA256     string            `json:"sha256"`
	Size       int64             `json:"size"`
	Package    pkgMeta           `json:"package"`
	Members    []memberView      `json:"members"`
	Signatures []sigView         `json:"signatures"`
	SignedBy   string            `json:"signed_by,omitempty"`
	Scripts    map[string]string `json:"scripts,omitempty"`
	Files      []fileView        `json:"files"`
}

type indexView struct {
	Kind        string    `json:"kind"`
	File        string    `json:"file"`
	Description string    `json:"description"`
	Signatures  []sigView `json:"signatures"`
	SignedBy    string    `json:"signed_by,omitempty"`
	Packages    []pkgMeta `json:"packages"`
}

func runInspect(out io.Writer, o *inspectOptions, path string) error {
	kr, err := loadKeyring(o.keyring)
	if err != nil {
		return err
	}
	view, err := inspectView(path, kr)
	if err != nil {
		return err
	}
	if o.json {
		enc := json.NewEncoder(out)
		enc.SetIndent("", "  ")
		enc.SetEscapeHTML(false)
		return enc.Encode(view)
	}
	switch v := view.(type) {
	case *indexView:
		return printIndex(out, v)
	case *installedView:
		return printInstalled(out, v)
	}
	return printPackage(out, view.(*packageView))
}

// inspectView reads path as an installed database, an index or a package.
func inspectView(path string, kr *apk.Keyring) (any, error) {
	db, installed, err := installedDBPath(path)
	if err != nil {
		return nil, err
	}
	if installed {
		return inspectInstalled(db)
	}
	kind, err := sniffKind(path)
	if err != nil {
		return nil, err
	}
	if kind == kindIndex {
		return inspectIndex(path, kr)
	}
	return inspectPackage(path, kr)
}

func inspectPackage(path string, kr *apk.Keyring) (*packageView, error) {
	pf, err := apk.ReadPackageFile(path, apk.ReadOptions{Keyring: kr, AllowUntrusted: kr == nil, ListFiles: true})
	if err != nil {
		return nil, err
	}
	v := &packageView{
		Kind: "package", File: path, SHA256: fmt.Sprintf("%x", pf.SHA256), Size: pf.Size,
		Package: metaOf(&pf.Info), Signatures: sigViews(pf.Signatures), SignedBy: pf.SignedBy,
		Files: []fileView{},
	}
	for _, m := range pf.Members {
		v.Members = append(v.Members, memberView{m.Kind.String(), m.Offset, m.Size, m.Decompressed})
	}
	if len(pf.Scripts) > 0 {
		v.Scripts = map[string]string{}
		for name, b := range pf.Scripts {
			v.Scripts[name] = string(b)
		}
	}
	for _, f := range pf.Files {
		v.Files = append(v.Files, fileView{
			Path: f.Path, Type: typeName(f.Type), Mode: fmt.Sprintf("%04o", f.Mode), UID: f.UID, GID: f.GID,
			Size: f.Size, Linkname: f.Linkname, Checksum: f.Checksum.String(),
		})
	}
	return v, nil
}

func typeName(t byte) string {
	switch t {
	case '0', 0:
		return "file"
	case '1':
		return "hardlink"
	case '2':
		return "symlink"
	case '3':
		return "char"
	case '4':
		return "block"
	case '5':
		return "dir"
	case '6':
		return "fifo"
	}
	return fmt.Sprintf("type-%c", t)
}

func inspectIndex(path string, kr *apk.Keyring) (*indexView, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	idx, err := apk.ReadIndex(f, apk.IndexOptions{Keyring: kr, AllowUntrusted: kr == nil})
	if err != nil {
		return nil, err
	}
	v := &indexView{Kind: "index", File: path, Description: idx.Description,
		Signatures: sigViews(idx.Signatures), SignedBy: idx.SignedBy, Packages: []pkgMeta{}}
	for i := range idx.Packages {
		v.Packages = append(v.Packages, metaOf(&idx.Packages[i]))
	}
	return v, nil
}

func signedLine(sigs []sigView, signedBy string) string {
	var parts []string
	for _, s := range sigs {
		parts = append(parts, s.Alg+" "+s.Key)
	}
	if len(parts) == 0 {
		return "none (unsigned)"
	}
	state := "not verified (give --keyring)"
	if signedBy != "" {
		state = "verified by " + signedBy
	}
	return strings.Join(parts, ", ") + "; " + state
}

func printPackage(out io.Writer, v *packageView) error {
	tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	p := v.Package
	row := func(k, val string) {
		if val != "" {
			fmt.Fprintf(tw, "%s\t%s\n", k, val)
		}
	}
	row("package", p.Name+"-"+p.Version)
	row("arch", p.Arch)
	row("description", p.Description)
	row("license", p.License)
	row("origin", p.Origin)
	row("url", p.URL)
	row("file", fmt.Sprintf("%s (%d bytes, sha256 %s)", v.File, v.Size, v.SHA256))
	var members []string
	for _, m := range v.Members {
		members = append(members, fmt.Sprintf("%s %d B", m.Kind, m.Size))
	}
	row("members", strings.Join(members, ", "))
	row("signatures", signedLine(v.Signatures, v.SignedBy))
	row("checksum", p.Checksum)
	row("datahash", p.DataHash)
	row("installed size", fmt.Sprint(p.InstalledSize))
	row("depends", strings.Join(p.Depends, " "))
	row("provides", strings.Join(p.Provides, " "))
	row("install_if", strings.Join(p.InstallIf, " "))
	row("triggers", strings.Join(p.Triggers, " "))
	var scripts []string
	for name, s := range v.Scripts {
		scripts = append(scripts, fmt.Sprintf("%s (%d B)", name, len(s)))
	}
	sort.Strings(scripts)
	row("scripts", strings.Join(scripts, ", "))
	row("files", fmt.Sprint(len(v.Files)))
	if err := tw.Flush(); err != nil {
		return err
	}
	tw = tabwriter.NewWriter(out, 0, 4, 1, ' ', tabwriter.AlignRight)
	for _, f := range v.Files {
		name := f.Path
		if f.Linkname != "" {
			name += " -> " + f.Linkname
		}
		fmt.Fprintf(tw, "  %s\t %s\t %d:%d\t %d\t  %s\n", f.Type, f.Mode, f.UID, f.GID, f.Size, name)
	}
	return tw.Flush()
}

func printIndex(out io.Writer, v *indexView) error {
	fmt.Fprintf(out, "index        %s\n", v.File)
	fmt.Fprintf(out, "description  %s\n", v.Description)
	fmt.Fprintf(out, "signatures   %s\n", signedLine(v.Signatures, v.SignedBy))
	fmt.Fprintf(out, "packages     %d\n", len(v.Packages))
	tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	for _, p := range v.Packages {
		fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\n", p.Name, p.Version, p.Arch, p.Checksum)
	}
	return tw.Flush()
}
