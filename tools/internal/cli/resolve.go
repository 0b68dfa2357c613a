package cli

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"

	"github.com/rules-apk/rules_apk/tools/internal/apk"
	"github.com/rules-apk/rules_apk/tools/internal/repo"
	"github.com/rules-apk/rules_apk/tools/internal/resolve"
	"github.com/rules-apk/rules_apk/tools/internal/spec"
	"github.com/spf13/cobra"
)

func init() { commandBuilders = append(commandBuilders, newResolveCmd) }

type resolveOptions struct {
	repositories   []string
	indexes        []string
	keyring        []string
	installed      string
	arch           string
	upgrade        bool
	json           bool
	allowUntrusted bool
	cacheDir       string
}

func newResolveCmd() *cobra.Command {
	o := &resolveOptions{}
	cmd := &cobra.Command{
		Use:   "resolve [--repository URL]... [--index FILE]... [--keyring KEY]... CONSTRAINT...",
		Short: "Print the closure of constraints, in install order",
		Long: `Resolve constraints against repositories and indexes with apk-tools 2.14
semantics and print the closure, one name-version per line in install order
(what apk add would install). For debugging and for comparing with apk.

Repositories (--repository, an http(s) or file URL or a directory, with an
optional "@tag " prefix) and local indexes (--index, an APKINDEX.tar.gz or a
plain APKINDEX text file) are used in the order given. With --installed,
the packages of that installed database are preferred, as apk prefers
installed packages, unless --upgrade.`,
		Example: `  apkpack resolve --repository https://packages.wolfi.dev/os \
      --keyring wolfi-signing.rsa.pub --arch x86_64 so:libcurl.so.4`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runResolve(cmd, o, args)
		},
	}
	f := cmd.Flags()
	f.StringArrayVar(&o.repositories, "repository", nil, "repository URL or directory, optionally \"@tag URL\" (repeatable)")
	f.StringArrayVar(&o.indexes, "index", nil, "local index file (repeatable)")
	f.StringArrayVar(&o.keyring, "keyring", nil, "trusted key file or directory (repeatable)")
	f.StringVar(&o.installed, "installed", "", "installed database (lib/apk/db/installed) to start from")
	f.StringVar(&o.arch, "arch", hostArch(), "architecture: an apk name (x86_64, aarch64, …) or an OCI one (amd64, arm64)")
	f.BoolVar(&o.upgrade, "upgrade", false, "prefer the newest versions over installed packages")
	f.BoolVar(&o.json, "json", false, "print JSON")
	f.BoolVar(&o.allowUntrusted, "allow-untrusted", false, "accept indexes without a trusted signature")
	f.StringVar(&o.cacheDir, "cache-dir", "", "download cache (default: the user cache dir, rules_apk/repo)")
	return cmd
}

// hostArch is the apk name of the host's architecture.
func hostArch() string {
	if arch, err := spec.NormalizeArch(runtime.GOARCH); err == nil {
		return arch
	}
	return runtime.GOARCH
}

type resolvedView struct {
	Packages []pkgMeta `json:"packages"`
	Removed  []pkgMeta `json:"removed"`
}

func runResolve(cmd *cobra.Command, o *resolveOptions, args []string) error {
	arch, err := spec.NormalizeArch(o.arch)
	if err != nil {
		return fmt.Errorf("--arch: %w", err)
	}
	o.arch = arch
	var world []apk.Constraint
	for _, a := range args {
		c, err := apk.ParseConstraint(a)
		if err != nil {
			return err
		}
		world = append(world, c)
	}
	kr, err := loadKeyring(o.keyring)
	if err != nil {
		return err
	}
	if kr == nil && !o.allowUntrusted {
		kr = apk.NewKeyring() // every signed index will be UNTRUSTED: say which key is missing
	}
	repos, err := resolveRepositories(cmd, o, kr)
	if err != nil {
		return err
	}
	req := resolve.Request{World: world, Upgrade: o.upgrade}
	if o.installed != "" {
		if req.Installed, err = readInstalledPackages(o.installed); err != nil {
			return err
		}
	}
	// Index only what the world can reach: the full index is dropped here.
	if repos, err = resolve.Prune(repos, req); err != nil {
		return err
	}
	sol, err := resolve.Solve(repos, req)
	if err != nil {
		return err
	}
	if o.json {
		v := resolvedView{Packages: []pkgMeta{}, Removed: []pkgMeta{}}
		for _, p := range sol.Packages {
			v.Packages = append(v.Packages, metaOf(p))
		}
		for _, p := range sol.Removed {
			v.Removed = append(v.Removed, metaOf(p))
		}
		return writeJSON(cmd.OutOrStdout(), v)
	}
	w := bufio.NewWriter(cmd.OutOrStdout())
	for _, p := range sol.Packages {
		fmt.Fprintln(w, p.NameVersion())
	}
	return w.Flush()
}

func resolveRepositories(cmd *cobra.Command, o *resolveOptions, kr *apk.Keyring) ([]resolve.Repository, error) {
	var repos []resolve.Repository
	opts := apk.IndexOptions{Keyring: kr, AllowUntrusted: o.allowUntrusted}
	if len(o.repositories) > 0 {
		client, done, err := newClient(cmd, o.cacheDir)
		if err != nil {
			return nil, err
		}
		defer done()
		for _, line := range o.repositories {
			r, err := parseRepositoryFlag(line)
			if err != nil {
				return nil, err
			}
			u := repo.IndexURL(r.URL, o.arch)
			res, err := client.Fetch(cmd.Context(), repo.Request{URL: u, Revalidate: true})
			if err != nil {
				return nil, fmt.Errorf("fetching index: %w", err)
			}
			pkgs, err := readIndexPackages(res.Path, opts)
			if err != nil {
				return nil, fmt.Errorf("reading index %s: %w", u, err)
			}
			repos = append(repos, resolve.Repository{Tag: r.Tag, Packages: pkgs})
		}
	}
	for _, path := range o.indexes {
		pkgs, err := readIndexPackages(path, opts)
		if err != nil {
			return nil, fmt.Errorf("reading index %s: %w", path, err)
		}
		repos = append(repos, resolve.Repository{Packages: pkgs})
	}
	if len(repos) == 0 {
		return nil, fmt.Errorf("no --repository or --index given: name where packages come from")
	}
	return repos, nil
}

// readIndexPackages reads an APKINDEX.tar.gz, or plain APKINDEX text (as
// apk's solver test fixtures are written).
func readIndexPackages(path string, opts apk.IndexOptions) ([]*apk.Package, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	// Streamed, not read whole: the compressed index would stay in memory
	// while the records are parsed.
	br := bufio.NewReaderSize(f, 64<<10)
	var records []apk.Package
	if magic, _ := br.Peek(2); bytes.Equal(magic, []byte{0x1f, 0x8b}) {
		idx, err := apk.ReadIndex(br, opts)
		if err != nil {
			return nil, err
		}
		records = idx.Packages
	} else if records, err = apk.ParseIndexText(br); err != nil {
		return nil, err
	}
	out := make([]*apk.Package, len(records))
	for i := range records {
		out[i] = &records[i]
	}
	return out, nil
}

func readInstalledPackages(path string) ([]*apk.Package, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("reading installed database: %w", err)
	}
	defer f.Close()
	db, err := apk.ReadInstalled(io.Reader(f))
	if err != nil {
		return nil, fmt.Errorf("reading installed database %s: %w", path, err)
	}
	out := make([]*apk.Package, len(db.Packages))
	for i := range db.Packages {
		out[i] = &db.Packages[i].Package
	}
	return out, nil
}

// parseRepositoryFlag accepts what a spec accepts plus a plain directory.
func parseRepositoryFlag(line string) (spec.Repository, error) {
	f := strings.Fields(line)
	if n := len(f); n > 0 && !strings.Contains(f[n-1], "://") {
		abs, err := filepath.Abs(f[n-1])
		if err != nil {
			return spec.Repository{}, err
		}
		f[n-1] = "file://" + abs
	}
	return spec.ParseRepository(strings.Join(f, " "))
}
