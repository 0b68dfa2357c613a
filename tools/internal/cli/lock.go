package cli

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"

	"github.com/rules-apk/rules_apk/tools/internal/apk"
	"github.com/rules-apk/rules_apk/tools/internal/fsutil"
	"github.com/rules-apk/rules_apk/tools/internal/lock"
	"github.com/rules-apk/rules_apk/tools/internal/repo"
	"github.com/rules-apk/rules_apk/tools/internal/spec"
	"github.com/spf13/cobra"
)

func init() { commandBuilders = append(commandBuilders, newLockCmd) }

type lockOptions struct {
	output      string
	upgrade     bool
	check       bool
	cacheDir    string
	parallelism int
	json        bool
	mirrors     []string
}

func newLockCmd() *cobra.Command {
	o := &lockOptions{}
	cmd := &cobra.Command{
		Use:   "lock SPEC [-o LOCKFILE] [--upgrade [NAME...]] [--check]",
		Short: "Resolve a spec into a lockfile",
		Long: `Resolve the world of a spec (*.apk.yaml) for each of its archs, with
apk-tools 2.14 semantics, and write the closures to a lockfile
(*.apk.lock.json, next to the spec by default).

Every index is verified against the spec's keyring and every package is
downloaded once (through the cache) and checked (index signature → C: →
datahash → per-file SHA-1) before its SHA-256 is pinned.

Without --upgrade, versions already in the lockfile are kept while the spec
still allows them, as apk keeps installed packages. --upgrade takes the
newest versions, of the NAMEs given after the spec or of everything.

--check writes nothing and exits 1 when the lockfile differs from what the
same command would write: stale against the spec or, with --upgrade, when
an upgrade is available. It prints the difference.`,
		Example: `  apkpack lock examples/runtime.apk.yaml
  apkpack lock examples/runtime.apk.yaml --upgrade libcurl-openssl4
  apkpack lock examples/runtime.apk.yaml --check --upgrade`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) > 1 && !o.upgrade {
				return fmt.Errorf("names after the spec (%s) are only allowed with --upgrade",
					strings.Join(args[1:], " "))
			}
			return runLock(cmd, o, args[0], args[1:])
		},
	}
	f := cmd.Flags()
	f.StringVarP(&o.output, "output", "o", "", "lockfile to write (default: SPEC with .apk.lock.json)")
	f.BoolVar(&o.upgrade, "upgrade", false, "take the newest versions (of the NAMEs given, or of everything)")
	f.BoolVar(&o.check, "check", false, "write nothing; exit 1 when the lockfile is not up to date")
	f.BoolVar(&o.json, "json", false, "with --check, print the difference as JSON")
	addClientFlags(f, &o.cacheDir, &o.parallelism)
	addMirrorFlag(f, &o.mirrors, "the lockfile keeps FROM")
	return cmd
}

// defaultLockfile maps x.apk.yaml to x.apk.lock.json.
func defaultLockfile(specPath string) string {
	base := strings.TrimSuffix(strings.TrimSuffix(specPath, ".yaml"), ".yml")
	base = strings.TrimSuffix(base, ".apk")
	return base + ".apk.lock.json"
}

func runLock(cmd *cobra.Command, o *lockOptions, specPath string, names []string) error {
	ctx := cmd.Context()
	s, err := spec.Load(specPath)
	if err != nil {
		return err
	}
	out := o.output
	if out == "" {
		out = defaultLockfile(specPath)
	}
	if fi, err := os.Stat(out); err == nil && fi.IsDir() {
		return fmt.Errorf("-o %s is a directory: -o names the lockfile to write, e.g. %s",
			out, filepath.Join(out, filepath.Base(defaultLockfile(specPath))))
	}
	if !o.check {
		if err := fsutil.CheckParentDir(out); err != nil {
			return err
		}
	}
	previous, err := lock.Load(out)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		previous = nil
	case err != nil:
		return fmt.Errorf("%w (delete it to lock from scratch)", err)
	}
	if o.check && previous == nil {
		create := "apkpack lock " + specPath
		if o.output != "" {
			create += " -o " + out
		}
		return fmt.Errorf("lock --check: %s does not exist yet: create it with %s", out, create)
	}
	if err := checkUpgradeNames(s, previous, out, names); err != nil {
		return err
	}
	mirrors, err := lock.ParseMirrors(o.mirrors)
	if err != nil {
		return err
	}
	client, closeClient, err := newClient(cmd, o.cacheDir)
	if err != nil {
		return err
	}
	defer closeClient()
	specDir, err := filepath.Abs(filepath.Dir(specPath))
	if err != nil {
		return err
	}
	l, err := lock.Generate(ctx, lock.GenerateOptions{
		Spec: s, SpecDir: specDir, Previous: previous, Upgrade: o.upgrade, UpgradeNames: names,
		Client: client, Parallelism: o.parallelism, Mirrors: mirrors, Logger: logger(),
	})
	if err != nil {
		return err
	}
	b, err := l.Marshal()
	if err != nil {
		return err
	}
	if o.check {
		return checkLockfile(cmd.OutOrStdout(), o, out, previous, l, b)
	}
	if err := writeOutput(out, func(w io.Writer) error { _, err := w.Write(b); return err }); err != nil {
		return err
	}
	if previous != nil {
		return lock.WriteText(cmd.OutOrStdout(), lock.Diff(previous, l, nil))
	}
	fmt.Fprintf(cmd.OutOrStdout(), "%s: %d packages for %s\n", out, len(l.Packages), strings.Join(l.Archs, ", "))
	return nil
}

// checkUpgradeNames refuses a name given to --upgrade that neither the
// spec's world (or base) nor the lockfile has: a typo would otherwise
// upgrade nothing and say "No changes".
func checkUpgradeNames(s *spec.Spec, previous *lock.Lockfile, lockPath string, names []string) error {
	known := map[string]bool{}
	var world []string
	world = append(world, s.Packages...)
	if s.Base != nil {
		world = append(world, s.Base.Packages...)
	}
	for _, c := range world {
		if c, err := apk.ParseConstraint(c); err == nil {
			known[c.Name] = true
		}
	}
	if previous != nil {
		for _, p := range previous.Packages {
			known[p.Name] = true
		}
	}
	var unknown []string
	for _, n := range names {
		if !known[n] {
			unknown = append(unknown, n)
		}
	}
	if len(unknown) == 0 {
		return nil
	}
	where := "the spec's packages"
	if previous != nil {
		where += " nor in " + lockPath
	}
	return fmt.Errorf("--upgrade %s: not in %s; name a package of the world or the lockfile",
		strings.Join(unknown, " "), where)
}

// lockCheckJSON is what lock --check --json prints: the constraints added
// to and removed from the world, and the package changes.
type lockCheckJSON struct {
	WorldAdded   []string      `json:"world_added"`
	WorldRemoved []string      `json:"world_removed"`
	Packages     []lock.Change `json:"packages"`
}

func checkLockfile(w io.Writer, o *lockOptions, path string, previous, l *lock.Lockfile, b []byte) error {
	old, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("reading lockfile %s: %w", path, err)
	}
	if bytes.Equal(old, b) {
		fmt.Fprintf(w, "%s is up to date\n", path)
		return nil
	}
	d := lockCheckJSON{Packages: lock.Diff(previous, l, nil)}
	d.WorldAdded, d.WorldRemoved = listDiff(previous.World, l.World)
	if d.Packages == nil {
		d.Packages = []lock.Change{}
	}
	if o.json {
		if err := writeJSON(w, d); err != nil {
			return err
		}
	} else if err := writeLockCheckText(w, d); err != nil {
		return err
	}
	why := "it differs from what apkpack lock would write"
	if previous.SpecDigest != l.SpecDigest {
		why = "the spec changed since it was written"
	}
	return &exitError{code: 1, err: fmt.Errorf("%s is not up to date: %s; run apkpack lock to update it",
		path, why)}
}

// writeLockCheckText prints the world's changes, then the packages'.
func writeLockCheckText(w io.Writer, d lockCheckJSON) error {
	if len(d.WorldAdded)+len(d.WorldRemoved) > 0 {
		var b strings.Builder
		b.WriteString("world:\n")
		for _, c := range d.WorldAdded {
			fmt.Fprintf(&b, "  + %s\n", c)
		}
		for _, c := range d.WorldRemoved {
			fmt.Fprintf(&b, "  - %s\n", c)
		}
		if len(d.Packages) == 0 {
			b.WriteString("no package changes\n")
		}
		if _, err := io.WriteString(w, b.String()); err != nil || len(d.Packages) == 0 {
			return err
		}
	}
	return lock.WriteText(w, d.Packages)
}

// listDiff returns the entries of b not in a, and of a not in b, in order.
func listDiff(a, b []string) (added, removed []string) {
	in := func(list []string) map[string]bool {
		m := map[string]bool{}
		for _, e := range list {
			m[e] = true
		}
		return m
	}
	inA, inB := in(a), in(b)
	added, removed = []string{}, []string{}
	for _, e := range b {
		if !inA[e] {
			added = append(added, e)
		}
	}
	for _, e := range a {
		if !inB[e] {
			removed = append(removed, e)
		}
	}
	return added, removed
}

// addMirrorFlag adds --mirror; note says what happens to the FROM URLs.
func addMirrorFlag(f interface {
	StringArrayVar(*[]string, string, []string, string)
}, mirrors *[]string, note string) {
	f.StringArrayVar(mirrors, "mirror", nil,
		"FROM=TO: fetch URLs under FROM from TO instead; "+note+" (repeatable)")
}

// addClientFlags adds the repository client's flags.
func addClientFlags(f interface {
	StringVar(*string, string, string, string)
	IntVar(*int, string, int, string)
}, cacheDir *string, parallelism *int) {
	f.StringVar(cacheDir, "cache-dir", "", "download cache (default: the user cache dir, rules_apk/repo)")
	f.IntVar(parallelism, "parallel", repo.DefaultParallelism, "parallel downloads")
}

// newClient makes a repository client drawing progress on stderr.
func newClient(cmd *cobra.Command, cacheDir string) (*repo.Client, func(), error) {
	r := repo.NewRenderer(cmd.ErrOrStderr())
	r.Verbose = logger().Enabled(cmd.Context(), slog.LevelInfo) // -v
	c, err := repo.New(repo.Options{CacheDir: cacheDir, Progress: r.Handle, Logger: logger()})
	if err != nil {
		return nil, nil, err
	}
	return c, r.Close, nil
}
