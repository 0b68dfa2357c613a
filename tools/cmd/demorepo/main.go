// Command demorepo builds and checks the demo repository of the end-to-end
// run: Debian bookworm binaries repacked as signed APK packages (see
// e2e/demo/README.md). e2e/demo/build_repo.sh builds and runs it.
//
//	demorepo build --cache DIR --manifest FILE --apkpack BIN [--key-dir DIR] [--apt-update] OUTDIR
//	demorepo check --apkpack BIN OUTDIR
package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/rules-apk/rules_apk/tools/internal/demo"
)

const usage = `usage:
  demorepo build --cache DIR --manifest FILE --apkpack BIN [--key-dir DIR] [--apt-update]
                 [--update-manifest] [--jobs N] [-v] OUTDIR
  demorepo check --apkpack BIN OUTDIR`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	if errors.Is(err, flag.ErrHelp) {
		os.Exit(2)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "demorepo:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprintln(stderr, usage)
		return flag.ErrHelp
	}
	switch args[0] {
	case "build":
		return runBuild(ctx, args[1:], stdout, stderr)
	case "check":
		return runCheck(ctx, args[1:], stdout, stderr)
	}
	fmt.Fprintln(stderr, usage)
	return flag.ErrHelp
}

func runBuild(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("demorepo build", flag.ContinueOnError)
	fs.SetOutput(stderr)
	o := demo.Options{}
	fs.StringVar(&o.CacheDir, "cache", os.Getenv("RULES_APK_DEMO_CACHE"),
		"cache directory (.deb files, built packages and indexes)")
	fs.StringVar(&o.ManifestPath, "manifest", "e2e/demo/packages.txt", "manifest of pinned .deb files")
	fs.StringVar(&o.Apkpack, "apkpack", "apkpack", "the apkpack binary")
	fs.BoolVar(&o.UpdateManifest, "update-manifest", os.Getenv("RULES_APK_DEMO_UPDATE") == "1",
		"pin the archive's current versions in the manifest (default $RULES_APK_DEMO_UPDATE=1)")
	fs.IntVar(&o.Jobs, "jobs", 2, "packages packed at once")
	fs.StringVar(&o.KeyDir, "key-dir", "",
		"directory of the signing key demo.rsa(.pub) (default: OUTDIR/keys, made on first use)")
	aptUpdate := fs.Bool("apt-update", false,
		"run apt-get update once when apt cannot download a pinned .deb, then retry (needs root)")
	verbose := fs.Bool("v", false, "log every package packed, and apkpack's warnings")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() != 1 || o.CacheDir == "" {
		fmt.Fprintln(stderr, usage)
		return flag.ErrHelp
	}
	o.OutDir = fs.Arg(0)
	if *aptUpdate {
		o.AptUpdate = demo.AptUpdate
	}
	level := slog.LevelInfo
	if *verbose {
		level = slog.LevelDebug
	}
	o.Logger = slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))
	digest, err := toolDigest(o.Apkpack)
	if err != nil {
		return err
	}
	o.ToolDigest = digest

	start := time.Now()
	res, err := demo.Build(ctx, o)
	if err != nil {
		return err
	}
	printSummary(stdout, res, time.Since(start))
	return nil
}

func runCheck(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("demorepo check", flag.ContinueOnError)
	fs.SetOutput(stderr)
	apkpack := fs.String("apkpack", "apkpack", "the apkpack binary")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		fmt.Fprintln(stderr, usage)
		return flag.ErrHelp
	}
	if err := demo.Check(ctx, fs.Arg(0), *apkpack); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%s: OK (signatures, closure, required names, versions, security database)\n",
		fs.Arg(0))
	return nil
}

// toolDigest identifies this binary and apkpack, whose code decides the
// bytes of every package.
func toolDigest(apkpack string) (string, error) {
	self, err := os.Executable()
	if err != nil {
		return "", fmt.Errorf("finding the demorepo binary: %w", err)
	}
	h := sha256.New()
	for _, p := range []string{self, apkpack} {
		f, err := os.Open(p)
		if err != nil {
			return "", fmt.Errorf("reading %s to key the cache: %w", p, err)
		}
		_, err = io.Copy(h, f)
		f.Close()
		if err != nil {
			return "", fmt.Errorf("reading %s to key the cache: %w", p, err)
		}
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

func printSummary(w io.Writer, res *demo.Result, took time.Duration) {
	for _, s := range res.Snapshots {
		var size int64
		packed := 0
		for _, p := range s.Packages {
			size += p.Size
			if p.Packed {
				packed++
			}
		}
		fmt.Fprintf(w, "%s: %d packages, %.1f MB (%d packed, %d from the cache) in %s\n",
			s.Name, len(s.Packages), float64(size)/1e6, packed, len(s.Packages)-packed, s.Dir)
	}
	fmt.Fprintf(w, "key: %s\ntook %.1fs\n", res.Key.Public, took.Seconds())
}
