package cli

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"sort"
	"strconv"
	"strings"

	"github.com/rules-apk/rules_apk/tools/internal/apk"
	"github.com/rules-apk/rules_apk/tools/internal/deps"
	"github.com/rules-apk/rules_apk/tools/internal/fsutil"
	"github.com/rules-apk/rules_apk/tools/internal/spec"
	"github.com/spf13/cobra"
)

func init() { commandBuilders = append(commandBuilders, newPackCmd) }

type packOptions struct {
	signingKey string
	alg        string
	unsigned   bool
	metadata   string
	output     string
	scripts    []string
	owners     []string

	// Metadata flags; each overrides the metadata file.
	name, version, arch, description, url, license, origin, maintainer, commit string
	triggers                                                                   string
	builddate                                                                  int64
	providerPriority                                                           uint64
	depends, provides, replaces, installIf                                     []string

	// Detection of provides and depends from the tree.
	detect                    []string
	noDetectProvides          bool
	noDetectDepends           bool
	skipDepends, skipProvides []string
}

func newPackCmd() *cobra.Command {
	o := &packOptions{}
	cmd := &cobra.Command{
		Use:   "pack --signing-key KEY [metadata flags | --metadata FILE] DIR -o PKG.apk",
		Short: "Build a signed package from a directory",
		Long: `Build an APK v2 package from the tree under DIR.

Metadata comes from --metadata FILE (written like .PKGINFO: "key = value"
lines, repeated keys for lists) and from flags, which override the file.
The package is byte-for-byte deterministic: sorted entries, numeric owners
(0:0, or what --owner says), every mtime set to the build date, and signed
with --signing-key (RSA256 by default).

--owner PATH=UID:GID gives the entry PATH of the tree, and everything under
it, that owner; the longest matching PATH wins, and a PATH that is not in
the tree is an error.`,
		Example: `  apkpack pack --signing-key demo.rsa --name hello --version 1.0-r0 --arch x86_64 \
      --depend so:libc.so.6 --script post-install=post.sh ./root -o hello-1.0-r0.apk
  apkpack pack --signing-key demo.rsa --metadata baselayout.pkginfo \
      --owner home/nonroot=65532:65532 ./baselayout -o baselayout-1-r0.apk`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runPack(cmd, o, args[0])
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.signingKey, "signing-key", "", "RSA private key (PEM) to sign with")
	f.StringVar(&o.alg, "alg", string(apk.SigRSA256), "signature algorithm: RSA256, RSA or RSA512")
	f.BoolVar(&o.unsigned, "unsigned", false, "write an unsigned package (no --signing-key)")
	f.StringVar(&o.metadata, "metadata", "", "metadata file in .PKGINFO syntax")
	f.StringVarP(&o.output, "output", "o", "", "output package file (required)")
	f.StringArrayVar(&o.scripts, "script", nil,
		"TYPE=FILE: a script (pre-install, post-install, pre-upgrade, post-upgrade, "+
			"pre-deinstall, post-deinstall, trigger) (repeatable)")
	f.StringArrayVar(&o.owners, "owner", nil,
		"PATH=UID:GID: numeric owner of PATH and everything under it (repeatable)")
	f.StringVar(&o.name, "name", "", "package name (pkgname)")
	f.StringVar(&o.version, "version", "", "package version with revision, e.g. 1.2.3-r0 (pkgver)")
	f.StringVar(&o.arch, "arch", "", "architecture: x86_64, aarch64, noarch, …")
	f.StringVar(&o.description, "description", "", "one-line description (pkgdesc)")
	f.StringVar(&o.url, "url", "", "project URL")
	f.StringVar(&o.license, "license", "", "license, an SPDX expression")
	f.StringVar(&o.origin, "origin", "", "source package name (default: the name)")
	f.StringVar(&o.maintainer, "maintainer", "", "maintainer")
	f.StringVar(&o.commit, "commit", "", "source commit")
	f.StringVar(&o.triggers, "triggers", "", "space-separated directory globs for the .trigger script")
	f.Int64Var(&o.builddate, "builddate", 0, "build date, unix seconds (default: $SOURCE_DATE_EPOCH or 0)")
	f.Uint64Var(&o.providerPriority, "provider-priority", 0, "provider_priority")
	f.StringArrayVar(&o.depends, "depend", nil, "a dependency constraint (repeatable)")
	f.StringArrayVar(&o.provides, "provide", nil, "a provided name[=version] (repeatable)")
	f.StringArrayVar(&o.replaces, "replaces", nil, "a package whose files this one may overwrite (repeatable)")
	f.StringArrayVar(&o.installIf, "install-if", nil, "an install_if constraint (repeatable)")
	f.StringSliceVar(&o.detect, "detect", []string{"so", "pc", "cmd"},
		"detectors of provides and depends to run on the tree: so, pc, cmd (empty: none)")
	f.BoolVar(&o.noDetectProvides, "no-detect-provides", false, "keep detected provides out")
	f.BoolVar(&o.noDetectDepends, "no-detect-depends", false, "keep detected depends out")
	f.StringArrayVar(&o.skipDepends, "skip-depend", nil, "drop a detected dependency by name (repeatable)")
	f.StringArrayVar(&o.skipProvides, "skip-provide", nil, "drop a detected provide by name (repeatable)")
	_ = cmd.MarkFlagRequired("output")
	cmd.MarkFlagsMutuallyExclusive("signing-key", "unsigned")
	return cmd
}

func runPack(cmd *cobra.Command, o *packOptions, dir string) error {
	info, err := packMetadata(cmd, o)
	if err != nil {
		return err
	}
	scripts, err := readScripts(o.scripts)
	if err != nil {
		return err
	}
	owners, err := parseOwners(o.owners)
	if err != nil {
		return err
	}
	var key *apk.SigningKey
	switch {
	case o.signingKey != "":
		if key, err = apk.LoadSigningKey(o.signingKey); err != nil {
			return err
		}
	case !o.unsigned:
		return fmt.Errorf("no --signing-key given: sign the package, or pass --unsigned")
	}
	if fi, err := os.Stat(dir); err != nil || !fi.IsDir() {
		return fmt.Errorf("packing %s: not a directory", dir)
	}
	if err := fsutil.CheckOutputFile(o.output); err != nil {
		return err
	}
	if err := detectDeps(&info, o, dir); err != nil {
		return err
	}
	var p *apk.Package
	err = writeOutput(o.output, func(w io.Writer) error {
		var err error
		p, err = apk.WritePackage(w, apk.WriteOptions{
			Info: info, Dir: dir, Scripts: scripts, SigningKey: key, SigAlg: apk.SigAlg(o.alg),
			Owners: owners,
		})
		return err
	})
	if err != nil {
		return err
	}
	fmt.Fprintf(cmd.OutOrStdout(), "%s: %s C:%s\n", o.output, p.NameVersion(), p.Checksum)
	return nil
}

// parseOwners parses --owner PATH=UID:GID flags; PATH may have a leading
// "/" or "./", as a user would write it.
func parseOwners(flags []string) ([]apk.Owner, error) {
	var owners []apk.Owner
	for _, f := range flags {
		path, ids, ok := strings.Cut(f, "=")
		uid, gid, ok2 := strings.Cut(ids, ":")
		o := apk.Owner{Path: strings.TrimPrefix(strings.TrimPrefix(path, "./"), "/")}
		var err1, err2 error
		o.UID, err1 = strconv.Atoi(uid)
		o.GID, err2 = strconv.Atoi(gid)
		if !ok || !ok2 || err1 != nil || err2 != nil || o.UID < 0 || o.GID < 0 {
			return nil, fmt.Errorf("--owner %q: write PATH=UID:GID with numeric ids, "+
				"e.g. home/nonroot=65532:65532", f)
		}
		owners = append(owners, o)
	}
	return owners, nil
}

// packMetadata merges the metadata file with the flags that were set.
func packMetadata(cmd *cobra.Command, o *packOptions) (apk.Package, error) {
	var info apk.Package
	if o.metadata != "" {
		b, err := os.ReadFile(o.metadata)
		if err != nil {
			return info, fmt.Errorf("reading metadata: %w", err)
		}
		if info, err = apk.ParsePkgInfo(bytes.NewReader(b)); err != nil {
			return info, fmt.Errorf("reading metadata %s: %w", o.metadata, err)
		}
	}
	set := cmd.Flags().Changed
	str := map[string]struct{ dst, src *string }{
		"name": {&info.Name, &o.name}, "version": {&info.Version, &o.version}, "arch": {&info.Arch, &o.arch},
		"description": {&info.Description, &o.description}, "url": {&info.URL, &o.url},
		"license": {&info.License, &o.license}, "origin": {&info.Origin, &o.origin},
		"maintainer": {&info.Maintainer, &o.maintainer}, "commit": {&info.Commit, &o.commit},
		"triggers": {&info.Triggers, &o.triggers},
	}
	for flag, v := range str {
		if set(flag) {
			*v.dst = *v.src
		}
	}
	lists := map[string]struct {
		dst *string
		src []string
	}{
		"depend": {&info.Depends, o.depends}, "provide": {&info.Provides, o.provides},
		"replaces": {&info.Replaces, o.replaces}, "install-if": {&info.InstallIf, o.installIf},
	}
	for flag, v := range lists {
		if !set(flag) {
			continue
		}
		for _, e := range v.src {
			if _, err := apk.ParseConstraint(e); err != nil {
				return info, fmt.Errorf("packing: --%s %q: %w (repeat the flag for each entry)",
					flag, e, err)
			}
		}
		*v.dst = strings.Join(v.src, " ")
	}
	if set("provider-priority") {
		info.ProviderPriority = o.providerPriority
	}
	switch {
	case set("builddate"):
		info.BuildTime = o.builddate
	case info.BuildTime == 0 && os.Getenv("SOURCE_DATE_EPOCH") != "":
		if _, err := fmt.Sscan(os.Getenv("SOURCE_DATE_EPOCH"), &info.BuildTime); err != nil {
			return info, fmt.Errorf("reading SOURCE_DATE_EPOCH: %w", err)
		}
	}
	if info.Origin == "" {
		info.Origin = info.Name
	}
	var missing []string
	for key, v := range map[string]string{"pkgname (--name)": info.Name,
		"pkgver (--version)": info.Version, "arch (--arch)": info.Arch} {
		if v == "" {
			missing = append(missing, key)
		}
	}
	if len(missing) > 0 {
		sort.Strings(missing)
		src := "the flags"
		if o.metadata != "" {
			src = o.metadata + " and the flags"
		}
		return info, fmt.Errorf("packing: %s give no %s", src, strings.Join(missing, ", "))
	}
	return info, checkPackMetadata(cmd, o, &info)
}

// metadataFlags maps .PKGINFO keys to the pack flags that set them.
var metadataFlags = map[string]string{
	"pkgname": "name", "pkgver": "version", "arch": "arch", "depend": "depend",
	"provides": "provide", "replaces": "replaces", "install_if": "install-if",
}

// checkPackMetadata validates the merged metadata, naming the flag that set
// a bad value, or the field of the metadata file.
func checkPackMetadata(cmd *cobra.Command, o *packOptions, info *apk.Package) error {
	err := apk.CheckMetadata(info)
	var me *apk.MetadataError
	if !errors.As(err, &me) {
		return err
	}
	if me.Field == "arch" {
		if norm, nerr := spec.NormalizeArch(me.Value); nerr == nil && norm != me.Value {
			me.Reason = fmt.Sprintf("not an apk architecture; the apk name of %s is %s",
				me.Value, norm)
		}
	}
	if flag := metadataFlags[me.Field]; cmd.Flags().Changed(flag) {
		return fmt.Errorf("packing: --%s %q: %s", flag, me.Value, me.Reason)
	}
	return fmt.Errorf("packing: %s in %s: %w", me.Field, o.metadata, me)
}

func readScripts(specs []string) (map[string][]byte, error) {
	scripts := map[string][]byte{}
	for _, s := range specs {
		typ, file, ok := strings.Cut(s, "=")
		if !ok {
			return nil, fmt.Errorf("--script %q: write TYPE=FILE, e.g. post-install=post.sh", s)
		}
		name := "." + strings.TrimPrefix(typ, ".")
		if !apk.IsScriptName(name) {
			return nil, fmt.Errorf("--script %q: %s is not a script type apk runs", s, typ)
		}
		b, err := os.ReadFile(file)
		if err != nil {
			return nil, fmt.Errorf("reading script %s: %w", typ, err)
		}
		scripts[name] = b
	}
	return scripts, nil
}

// detectDeps adds what the tree provides and needs (so:, pc:, cmd:, as
// melange and abuild derive them) to the hand-written entries.
func detectDeps(info *apk.Package, o *packOptions, dir string) error {
	opts := deps.Options{Version: info.Version, NoSharedObjects: true, NoPkgConfig: true, NoCommands: true,
		NoProvides: o.noDetectProvides, NoDepends: o.noDetectDepends, Logger: logger()}
	for _, d := range o.detect {
		switch d {
		case "so":
			opts.NoSharedObjects = false
		case "pc":
			opts.NoPkgConfig = false
		case "cmd":
			opts.NoCommands = false
		case "":
		default:
			return fmt.Errorf("--detect %q: use so, pc and cmd", d)
		}
	}
	if opts.NoSharedObjects && opts.NoPkgConfig && opts.NoCommands {
		return nil
	}
	res, err := deps.Scan(dir, opts)
	if err != nil {
		return fmt.Errorf("detecting dependencies of %s: %w", dir, err)
	}
	for _, w := range res.Warnings {
		slog.Warn("dependency detection", "package", info.Name, "file", w.Path, "detail", w.Message)
	}
	info.Provides = mergeList(info.Provides, res.Provides, o.skipProvides)
	info.Depends = mergeList(info.Depends, res.Depends, o.skipDepends)
	return nil
}

// mergeList appends detected entries to a hand-written list, leaving out
// names the list already has and names to skip.
func mergeList(list string, detected, skip []string) string {
	have := map[string]bool{}
	for _, e := range apk.ListFields(list) {
		name, _ := apk.ParseProvide(e)
		have[name] = true
	}
	for _, s := range skip {
		have[s] = true
	}
	out := apk.ListFields(list)
	for _, e := range detected {
		if name, _ := apk.ParseProvide(e); !have[name] {
			out = append(out, e)
			have[name] = true
		}
	}
	return strings.Join(out, " ")
}
