package cli

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"sync"

	"github.com/rules-apk/rules_apk/tools/internal/fsutil"
	"github.com/rules-apk/rules_apk/tools/internal/layer"
	"github.com/rules-apk/rules_apk/tools/internal/lock"
	"github.com/rules-apk/rules_apk/tools/internal/repo"
	"github.com/rules-apk/rules_apk/tools/internal/spec"
	"github.com/spf13/cobra"
)

func init() { commandBuilders = append(commandBuilders, newFetchCmd) }

type fetchOptions struct {
	arch        string
	output      string
	cacheDir    string
	parallelism int
	mirrors     []string
}

func newFetchCmd() *cobra.Command {
	o := &fetchOptions{}
	cmd := &cobra.Command{
		Use:   "fetch LOCKFILE --arch ARCH -o DIR",
		Short: "Download and verify the locked packages of an arch into a directory",
		Long: `Download the packages a lockfile pins for one arch, in parallel and through
the download cache, verify each (its SHA-256 against the lockfile, then C:,
datahash and every file's SHA-1), and place it as DIR/<name>-<version>.apk.

A file appears in DIR only once it has verified; a package already there
with the locked SHA-256 is kept. Progress goes to stderr; the paths of the
packages go to stdout, one per line.`,
		Example: `  apkpack fetch runtime.apk.lock.json --arch x86_64 -o packages/
  apkpack fetch runtime.apk.lock.json -o packages/ \
      --mirror https://packages.wolfi.dev/os=https://mirror.example.com/wolfi
  apkpack layer runtime.apk.lock.json --arch x86_64 --packages-dir packages/ -o layer.tar.gz`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runFetch(cmd, o, args[0])
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.arch, "arch", "", "arch to fetch (default: the lockfile's only arch, or the host's)")
	f.StringVarP(&o.output, "output", "o", "", "directory to place the packages in (required)")
	addClientFlags(f, &o.cacheDir, &o.parallelism)
	addMirrorFlag(f, &o.mirrors, "the lockfile's URLs are only read")
	cmd.MarkFlagRequired("output")
	return cmd
}

func runFetch(cmd *cobra.Command, o *fetchOptions, lockPath string) (err error) {
	l, err := lock.Load(lockPath)
	if err != nil {
		return err
	}
	arch, err := lockArch(l, o.arch)
	if err != nil {
		return err
	}
	mirrors, err := lock.ParseMirrors(o.mirrors)
	if err != nil {
		return err
	}
	pkgs := l.PackagesFor(arch)
	created, err := mkdirAllNew(o.output)
	if err != nil {
		return fmt.Errorf("creating %s: %w", o.output, err)
	}
	if created != "" {
		// A failed run leaves no directory it made, nor what it put there.
		defer func() {
			if err != nil {
				os.RemoveAll(created)
			}
		}()
	}
	client, closeClient, err := newClient(cmd, o.cacheDir)
	if err != nil {
		return err
	}
	reqs := make([]repo.Request, len(pkgs))
	for i, p := range pkgs {
		reqs[i] = repo.Request{URL: mirrors.Rewrite(p.URL), SHA256: p.SHA256, Size: int64(p.Size)}
	}
	results, err := client.FetchAll(cmd.Context(), reqs, o.parallelism)
	closeClient()
	if err != nil {
		return err
	}
	paths, err := placeAll(cmd.Context(), pkgs, results, o.output)
	if err != nil {
		return err
	}
	for _, p := range paths {
		fmt.Fprintln(cmd.OutOrStdout(), p)
	}
	return nil
}

// mkdirAllNew is os.MkdirAll that also returns the topmost directory it
// created, or "" when dir existed.
func mkdirAllNew(dir string) (string, error) {
	top := ""
	for d := filepath.Clean(dir); ; d = filepath.Dir(d) {
		if _, err := os.Lstat(d); err == nil || filepath.Dir(d) == d {
			break
		}
		top = d
	}
	return top, os.MkdirAll(dir, 0o755)
}

// lockArch picks the arch: the flag, else the lockfile's only arch, else
// the host's when the lockfile has it.
func lockArch(l *lock.Lockfile, flag string) (string, error) {
	switch {
	case flag != "":
		arch, err := spec.NormalizeArch(flag)
		if err != nil {
			return "", fmt.Errorf("--arch: %w", err)
		}
		if !slices.Contains(l.Archs, arch) {
			return "", fmt.Errorf("the lockfile has no arch %s (it locks %v)", arch, l.Archs)
		}
		return arch, nil
	case len(l.Archs) == 1:
		return l.Archs[0], nil
	case slices.Contains(l.Archs, hostArch()):
		return hostArch(), nil
	}
	return "", fmt.Errorf("the lockfile locks %v: choose one with --arch", l.Archs)
}

// placeAll verifies the fetched packages on every core and copies each into
// dir atomically.
func placeAll(ctx context.Context, pkgs []lock.Package, results []repo.Result,
	dir string) ([]string, error) {
	paths := make([]string, len(pkgs))
	errs := make([]error, len(pkgs))
	next := make(chan int)
	var wg sync.WaitGroup
	for range runtime.GOMAXPROCS(0) {
		wg.Go(func() {
			for i := range next {
				paths[i], errs[i] = place(pkgs[i], results[i].Path, dir)
			}
		})
	}
	for i := range pkgs {
		if ctx.Err() != nil {
			break
		}
		next <- i
	}
	close(next)
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return nil, err
		}
	}
	return paths, ctx.Err()
}

// place verifies one package and copies it to dir/<name>-<version>.apk,
// checking the SHA-256 of the bytes it copies.
func place(p lock.Package, src, dir string) (string, error) {
	dst := filepath.Join(dir, p.Name+"-"+p.Version+".apk")
	if sum, err := sha256File(dst); err == nil && sum == p.SHA256 {
		return dst, nil
	}
	if _, err := layer.Verify(src, p); err != nil {
		return "", err
	}
	err := fsutil.WriteAtomic(dst, 0o644, func(w io.Writer) error {
		f, err := os.Open(src)
		if err != nil {
			return err
		}
		defer f.Close()
		h := sha256.New()
		if _, err := io.Copy(io.MultiWriter(w, h), f); err != nil {
			return err
		}
		if got := hex.EncodeToString(h.Sum(nil)); got != p.SHA256 {
			return fmt.Errorf("%s changed while it was copied (sha256 %s, locked %s)", src, got,
				p.SHA256)
		}
		return nil
	})
	if err != nil {
		return "", fmt.Errorf("placing %s-%s: %w", p.Name, p.Version, err)
	}
	return dst, nil
}

func sha256File(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}
