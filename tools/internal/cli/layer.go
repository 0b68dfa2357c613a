package cli

import (
	"bytes"
	"crypto/sha1"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/rules-apk/rules_apk/tools/internal/fsutil"
	"github.com/rules-apk/rules_apk/tools/internal/layer"
	"github.com/rules-apk/rules_apk/tools/internal/lock"
	"github.com/rules-apk/rules_apk/tools/internal/sbom"
	"github.com/spf13/cobra"
)

func init() { commandBuilders = append(commandBuilders, newLayerCmd) }

type layerOptions struct {
	arch          string
	packagesDir   string
	packages      []string
	output        string
	format        string
	gzipLevel     int
	layering      string
	sbomPath      string
	osRelease     string
	strictScripts bool
	epoch         int64
	json          bool
	cacheDir      string
	expandedCache string
	parallelism   int
	mirrors       []string
}

func newLayerCmd() *cobra.Command {
	o := &layerOptions{}
	cmd := &cobra.Command{
		Use:   "layer LOCKFILE --arch ARCH -o OUT",
		Short: "Build reproducible tar layers from the locked packages of an arch",
		Long: `Build the root filesystem of a lockfile's closure as apk add --root would
install it, without running apk or any script, as one or more tar layers
whose bytes depend only on the lockfile and the packages.

The packages come from --package files (as Bazel passes them; matched by
file name <name>-<version>.apk or by SHA-256), from --packages-dir (the
layout apkpack fetch writes), or else from the download cache (fetching
what is missing from the lockfile's URLs, or from the --mirror they
match). Each is verified before a byte reaches a layer: SHA-256 and size
against the lockfile, C:, datahash and every file's SHA-1.
With --expanded-cache DIR, each verified package is also kept unpacked in
DIR under its SHA-256, and a later layer of the same package reads it from
there instead of decompressing and hashing it again: most of the time of a
layer. DIR is trusted as the apkpack binary is, grows by the installed size
of the packages, and may be removed at any time.

The root gets the installed database (lib/apk/db, through lib -> usr/lib
on usr-merged Wolfi), etc/apk/{world,arch,repositories}, etc/os-release
when no package ships one (--os-release, else the os-release key of the
spec, recorded in the lockfile, else a generic one),
busybox's applet symlinks, and ld.so.cache when the closure has glibc.
Package scripts are never run; those not emulated are warned about, or
fail the build with --strict-scripts.

Every mtime is --source-date-epoch, else $SOURCE_DATE_EPOCH, else the
newest build_time of the closure. With --layering single (the default) OUT
is the layer file; otherwise OUT is a directory of 000.tar, 001.tar, ...,
replaced as a whole (it must be new, or hold only what an earlier run
wrote).

--sbom FILE writes the SPDX 2.3 JSON SBOM of the closure (with one layer,
that layer's). With several layers, each layer's SBOM is also written
beside it in OUT (000.spdx.json beside 000.tar), describing the packages
whose files the layer holds; their dependencies on packages of other
layers refer to FILE's document.

The outputs, layers and SBOMs, appear together once everything has
succeeded; a failed run leaves the earlier ones as they were. Each layer's
digest and diffID go to stdout.`,
		Example: `  apkpack layer runtime.apk.lock.json --arch x86_64 --packages-dir packages/ \
      -o runtime.tar.gz --sbom runtime.spdx.json
  apkpack layer runtime.apk.lock.json --arch aarch64 --layering origin:8 -o layers/ --json
  apkpack layer runtime.apk.lock.json --expanded-cache ~/.cache/rules_apk/expanded -o runtime.tar`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runLayer(cmd, o, args[0])
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.arch, "arch", "", "arch of the closure (default: the lockfile's only arch, or the host's)")
	f.StringVar(&o.packagesDir, "packages-dir", "", "directory of <name>-<version>.apk files")
	f.StringArrayVar(&o.packages, "package", nil, "a package file (repeatable)")
	f.StringVarP(&o.output, "output", "o", "", "layer file, or directory with several layers (required)")
	f.StringVar(&o.format, "format", "", "tar, tar.gz or tar.zst (default: from OUT's extension, else tar)")
	f.IntVar(&o.gzipLevel, "gzip-level", layer.DefaultGzipLevel, "gzip level for tar.gz (1-9)")
	f.StringVar(&o.layering, "layering", "single", "single, per-package or origin:N")
	f.StringVar(&o.sbomPath, "sbom", "", "write the closure's SPDX 2.3 JSON SBOM here (with several layers, also each layer's in OUT)")
	f.StringVar(&o.osRelease, "os-release", "", "etc/os-release to write when no package ships one")
	f.BoolVar(&o.strictScripts, "strict-scripts", false, "fail on a package script that would not run")
	f.Int64Var(&o.epoch, "source-date-epoch", -1, "mtime of every entry, in Unix seconds")
	f.BoolVar(&o.json, "json", false, "print the result as JSON")
	f.StringVar(&o.expandedCache, "expanded-cache", "", "keep verified packages unpacked here for later layers")
	addClientFlags(f, &o.cacheDir, &o.parallelism)
	addMirrorFlag(f, &o.mirrors, "for packages not given as files")
	cmd.MarkFlagRequired("output")
	return cmd
}

func runLayer(cmd *cobra.Command, o *layerOptions, lockPath string) error {
	opts, err := layerBuildOptions(o, lockPath)
	if err != nil {
		return err
	}
	closeClient := func() {}
	if opts.Locate == nil {
		mirrors, err := lock.ParseMirrors(o.mirrors)
		if err != nil {
			return err
		}
		client, c, err := newClient(cmd, o.cacheDir)
		if err != nil {
			return err
		}
		opts.Locate, closeClient = layer.RepoLocator(client, mirrors), c
	}
	// The SBOM's temporary file comes first, so that an SBOM that cannot
	// be written fails before any work; the SBOM and the layers are put in
	// place together at the end, or neither is.
	var sbomFile *fsutil.Pending
	if o.sbomPath != "" {
		if sbomFile, err = fsutil.CreatePending(o.sbomPath, 0o644); err != nil {
			closeClient()
			return fmt.Errorf("--sbom: %w (its directory must exist and be writable)", err)
		}
		defer sbomFile.Discard()
	}
	staged, err := layer.Stage(cmd.Context(), opts)
	closeClient()
	if err != nil {
		return err
	}
	defer staged.Discard()
	r := staged.Result
	if sbomFile != nil {
		name := filepath.Base(lockPath) + " " + opts.Arch
		if err := writeSBOMs(sbomFile, staged, opts, name); err != nil {
			return err
		}
		if err := sbomFile.Commit(); err != nil {
			return err
		}
	}
	if err := staged.Commit(); err != nil {
		if sbomFile != nil {
			os.Remove(o.sbomPath) // it describes layers that are not there
		}
		return err
	}
	return printLayers(cmd.OutOrStdout(), o.json, r)
}

// layerBuildOptions turns the flags into layer.Options; Locate stays nil
// when the packages are to come from the download cache.
func layerBuildOptions(o *layerOptions, lockPath string) (layer.Options, error) {
	if o.gzipLevel < 1 || o.gzipLevel > 9 {
		return layer.Options{}, fmt.Errorf("--gzip-level %d: use 1 (fastest) to 9 (smallest)", o.gzipLevel)
	}
	l, err := lock.Load(lockPath)
	if err != nil {
		return layer.Options{}, err
	}
	arch, err := lockArch(l, o.arch)
	if err != nil {
		return layer.Options{}, err
	}
	opts := layer.Options{Lockfile: l, Arch: arch, Output: o.output, GzipLevel: o.gzipLevel,
		StrictScripts: o.strictScripts, ExpandedCache: o.expandedCache, Logger: logger()}
	if opts.Format, err = layerFormat(o.format, o.output); err != nil {
		return opts, err
	}
	if opts.Layering, err = layer.ParseLayering(o.layering); err != nil {
		return opts, err
	}
	// Several layers go to a directory whose parents are created; one
	// layer is a file in a directory that must exist.
	if opts.Layering.Kind == layer.LayeringSingle {
		if err := fsutil.CheckOutputFile(o.output); err != nil {
			return opts, err
		}
	}
	if opts.Epoch, err = sourceDateEpoch(o.epoch); err != nil {
		return opts, err
	}
	if o.osRelease != "" {
		if opts.OSRelease, err = os.ReadFile(o.osRelease); err != nil {
			return opts, fmt.Errorf("reading --os-release: %w", err)
		}
	}
	switch {
	case len(o.packages) > 0 && o.packagesDir != "":
		return opts, errors.New("give --package files or --packages-dir, not both")
	case len(o.packages) > 0:
		opts.Locate, err = layer.FilesLocator(o.packages, l.PackagesFor(arch))
	case o.packagesDir != "":
		opts.Locate = layer.DirLocator(o.packagesDir)
	}
	return opts, err
}

// layerFormat takes --format, else the output's extension.
func layerFormat(flag, output string) (layer.Format, error) {
	if flag != "" {
		return layer.ParseFormat(flag)
	}
	switch {
	case strings.HasSuffix(output, ".tar.gz"), strings.HasSuffix(output, ".tgz"):
		return layer.FormatTarGzip, nil
	case strings.HasSuffix(output, ".tar.zst"):
		return layer.FormatTarZstd, nil
	}
	return layer.FormatTar, nil
}

// sourceDateEpoch reads the epoch from the flag, else SOURCE_DATE_EPOCH;
// zero time means the lockfile decides.
func sourceDateEpoch(flag int64) (time.Time, error) {
	if flag >= 0 {
		return time.Unix(flag, 0), nil
	}
	env := os.Getenv("SOURCE_DATE_EPOCH")
	if env == "" {
		return time.Time{}, nil
	}
	n, err := strconv.ParseInt(env, 10, 64)
	if err != nil || n < 0 {
		return time.Time{}, fmt.Errorf("SOURCE_DATE_EPOCH=%q is not a number of seconds", env)
	}
	return time.Unix(n, 0), nil
}

// writeSBOMs writes the SBOM of the closure to w and, with several layers,
// the SBOM of each layer beside it in the staged directory (000.spdx.json
// beside 000.tar), which refers to the closure's for the dependencies on
// packages of other layers.
func writeSBOMs(w io.Writer, staged *layer.Staged, opts layer.Options, name string) error {
	r := staged.Result
	in := sbom.Input{Name: name, OSID: r.OSRelease.ID, OSVersionID: r.OSRelease.VersionID,
		Created: r.Epoch}
	for _, l := range r.Layers {
		in.DiffIDs = append(in.DiffIDs, l.DiffID)
	}
	for _, p := range r.Packages {
		in.Packages = append(in.Packages, sbom.Package{Name: p.Name, Version: p.Version,
			Arch: p.Arch, Origin: p.Origin, License: p.License, Maintainer: p.Maintainer,
			URL: p.HomePage, Description: p.Description, DownloadURL: p.URL,
			SHA256: p.SHA256, Checksum: p.Checksum, DependsOn: p.DependsOn})
	}
	doc, err := sbom.Document(in)
	if err != nil {
		return err
	}
	var closure bytes.Buffer
	if err := sbom.Write(&closure, doc); err != nil {
		return err
	}
	if _, err := w.Write(closure.Bytes()); err != nil {
		return fmt.Errorf("writing the SBOM: %w", err)
	}
	if opts.Layering.Kind == layer.LayeringSingle {
		return nil
	}
	sum := sha1.Sum(closure.Bytes())
	ref := &sbom.DocumentRef{Namespace: doc.DocumentNamespace, SHA1: hex.EncodeToString(sum[:])}
	for _, l := range r.Layers {
		base := strings.TrimSuffix(filepath.Base(l.Path), opts.Format.Ext())
		li := in
		li.Name = name + " layer " + base
		li.DiffIDs = []string{l.DiffID}
		li.Describe = append([]string{}, l.Packages...)
		li.Closure = ref
		ldoc, err := sbom.Document(li)
		if err != nil {
			return fmt.Errorf("layer %s: %w", l.Path, err)
		}
		err = staged.AddFile(base+".spdx.json", func(w io.Writer) error {
			return sbom.Write(w, ldoc)
		})
		if err != nil {
			return err
		}
	}
	return nil
}

type layerView struct {
	Path      string   `json:"path"`
	MediaType string   `json:"media_type"`
	Digest    string   `json:"digest"`
	DiffID    string   `json:"diff_id"`
	Size      int64    `json:"size"`
	Packages  []string `json:"packages"`
}

type layerResultView struct {
	Layers    []layerView `json:"layers"`
	Epoch     int64       `json:"epoch"`
	OSRelease struct {
		ID        string `json:"id"`
		VersionID string `json:"version_id"`
	} `json:"os_release"`
	ScriptsNotRun []string `json:"scripts_not_run"`
}

func printLayers(w io.Writer, asJSON bool, r *layer.Result) error {
	if !asJSON {
		for _, l := range r.Layers {
			fmt.Fprintf(w, "%s digest %s diffid %s size %d\n", l.Path, l.Digest, l.DiffID, l.Size)
		}
		return nil
	}
	v := layerResultView{Epoch: r.Epoch.Unix(), ScriptsNotRun: r.Scripts}
	if v.ScriptsNotRun == nil {
		v.ScriptsNotRun = []string{}
	}
	v.OSRelease.ID, v.OSRelease.VersionID = r.OSRelease.ID, r.OSRelease.VersionID
	for _, l := range r.Layers {
		v.Layers = append(v.Layers, layerView{Path: l.Path, MediaType: l.MediaType,
			Digest: l.Digest, DiffID: l.DiffID, Size: l.Size, Packages: l.Packages})
	}
	return writeJSON(w, v)
}
