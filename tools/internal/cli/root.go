// Package cli implements the apkpack commands, one per file: a cobra
// builder newXCmd and a testable runX.
package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"syscall"

	"github.com/spf13/cobra"
)

// exitError carries a process exit code other than 1 (or a silent 1).
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string {
	if e.err == nil {
		return fmt.Sprintf("exit status %d", e.code)
	}
	return e.err.Error()
}

func (e *exitError) Unwrap() error { return e.err }

type globalOptions struct {
	verbose int
}

// newRootCmd builds the apkpack command tree writing results to stdout and
// logs and errors to stderr.
func newRootCmd(stdout, stderr io.Writer) *cobra.Command {
	g := &globalOptions{}
	root := &cobra.Command{
		Use:   "apkpack",
		Short: "Resolve, verify, pack and layer APK packages for rules_apk",
		Long: `apkpack works with APK v2 packages, indexes and installed databases
(Wolfi and Alpine), with apk-tools 2.14 semantics.

Results go to stdout; logs go to stderr (warnings only unless -v or -vv).`,
		Version:       selfVersion(),
		SilenceUsage:  true,
		SilenceErrors: true,
		PersistentPreRun: func(cmd *cobra.Command, args []string) {
			level := slog.LevelWarn
			switch {
			case g.verbose >= 2:
				level = slog.LevelDebug
			case g.verbose == 1:
				level = slog.LevelInfo
			}
			slog.SetDefault(slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level})))
		},
	}
	root.SetOut(stdout)
	root.SetErr(stderr)
	root.PersistentFlags().CountVarP(&g.verbose, "verbose", "v", "log more (-v info, -vv debug)")
	root.AddCommand(commands()...)
	return root
}

// commands lists the subcommands; each file adds its own in init.
var commandBuilders []func() *cobra.Command

func commands() []*cobra.Command {
	var cmds []*cobra.Command
	for _, b := range commandBuilders {
		cmds = append(cmds, b())
	}
	return cmds
}

// Execute runs apkpack with args and returns the process exit code.
func Execute(ctx context.Context, args []string) int {
	return run(ctx, args, os.Stdout, os.Stderr)
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	root := newRootCmd(stdout, stderr)
	root.SetArgs(args)
	err := root.ExecuteContext(ctx)
	if err == nil {
		return 0
	}
	var ee *exitError
	if errors.As(err, &ee) {
		if ee.err != nil {
			fmt.Fprintln(stderr, "apkpack:", ee.err)
		}
		return ee.code
	}
	fmt.Fprintln(stderr, "apkpack:", err)
	if h := hint(err); h != "" {
		fmt.Fprintln(stderr, h)
	}
	return 1
}

// hint says what to do about an error whose cause is the network: a host
// that does not resolve or does not answer is not fixed by retrying.
func hint(err error) string {
	var dns *net.DNSError
	switch {
	case errors.As(err, &dns) && dns.IsNotFound:
		return fmt.Sprintf("hint: the host %s cannot be resolved from here; check the "+
			"repository URL, or use a reachable copy of the repository (lock, fetch and layer "+
			"take --mirror REPOSITORY=URL)", dns.Name)
	case errors.Is(err, syscall.ECONNREFUSED):
		return "hint: nothing accepts connections at that address; check the repository URL " +
			"and port, or use a reachable copy of the repository (lock, fetch and layer take " +
			"--mirror REPOSITORY=URL)"
	}
	return ""
}

// logger returns the process logger set up by the root command.
func logger() *slog.Logger { return slog.Default() }

// writeJSON prints v as indented JSON.
func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(v)
}
