package cli

import (
	"fmt"
	"os"
	"strings"

	"github.com/rules-apk/rules_apk/tools/internal/lock"
	"github.com/rules-apk/rules_apk/tools/internal/repo"
	"github.com/spf13/cobra"
)

func init() { commandBuilders = append(commandBuilders, newDiffCmd) }

type diffOptions struct {
	secdb    string
	json     bool
	cacheDir string
}

func newDiffCmd() *cobra.Command {
	o := &diffOptions{}
	cmd := &cobra.Command{
		Use:   "diff OLD NEW [--secdb FILE_OR_URL]",
		Short: "Show what changed between two lockfiles",
		Long: `Show the packages added, removed, upgraded, downgraded and rebuilt between
two lockfiles, per arch. With a security database (Wolfi's security.json or
an Alpine secdb file, a path or an URL), each upgrade lists the
vulnerabilities its new version fixes.`,
		Example: `  apkpack diff old.apk.lock.json runtime.apk.lock.json --secdb security.json`,
		Args:    cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runDiff(cmd, o, args[0], args[1])
		},
	}
	cmd.Flags().StringVar(&o.secdb, "secdb", "", "security database: a file, or an http(s) or file URL")
	cmd.Flags().BoolVar(&o.json, "json", false, "print JSON")
	cmd.Flags().StringVar(&o.cacheDir, "cache-dir", "", "download cache for --secdb URLs")
	return cmd
}

func runDiff(cmd *cobra.Command, o *diffOptions, oldPath, newPath string) error {
	old, err := lock.Load(oldPath)
	if err != nil {
		return err
	}
	cur, err := lock.Load(newPath)
	if err != nil {
		return err
	}
	var sec *lock.SecDB
	if o.secdb != "" {
		if sec, err = loadSecDB(cmd, o); err != nil {
			return err
		}
	}
	changes := lock.Diff(old, cur, sec)
	if o.json {
		if changes == nil {
			changes = []lock.Change{}
		}
		return writeJSON(cmd.OutOrStdout(), changes)
	}
	return lock.WriteText(cmd.OutOrStdout(), changes)
}

func loadSecDB(cmd *cobra.Command, o *diffOptions) (*lock.SecDB, error) {
	path := o.secdb
	if strings.Contains(path, "://") {
		client, done, err := newClient(cmd, o.cacheDir)
		if err != nil {
			return nil, err
		}
		defer done()
		res, err := client.Fetch(cmd.Context(), repo.Request{URL: o.secdb, Revalidate: true})
		if err != nil {
			return nil, fmt.Errorf("fetching security database: %w", err)
		}
		path = res.Path
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading security database: %w", err)
	}
	sec, err := lock.ParseSecDB(b)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", o.secdb, err)
	}
	return sec, nil
}
