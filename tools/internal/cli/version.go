package cli

import (
	"fmt"
	"runtime/debug"

	"github.com/rules-apk/rules_apk/tools/internal/apk"
	"github.com/spf13/cobra"
)

func init() { commandBuilders = append(commandBuilders, newVersionCmd) }

func newVersionCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "version",
		Short: "Print apkpack's version; compare and check APK versions (apk-tools 2.14 semantics)",
		Args:  cobra.NoArgs,
		Run: func(cmd *cobra.Command, args []string) {
			fmt.Fprintf(cmd.OutOrStdout(), "apkpack version %s\n", selfVersion())
		},
	}
	cmd.AddCommand(&cobra.Command{
		Use:   "compare A B",
		Short: "Print <, = or > as apk version -t does",
		Long: `Compare two APK versions with apk-tools 2.14 semantics and print the
relation of A to B: "<", "=" or ">", as apk version -t does.`,
		Example: "  apkpack version compare 1.0_rc1 1.0   # prints <",
		Args:    cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			for _, v := range args {
				if !apk.ValidVersion(v) {
					return fmt.Errorf("comparing versions: %q is not a valid apk version "+
						"(apkpack version check tells which are)", v)
				}
			}
			rel := map[int]string{-1: "<", 0: "=", 1: ">"}[apk.CompareVersions(args[0], args[1])]
			fmt.Fprintln(cmd.OutOrStdout(), rel)
			return nil
		},
	})
	cmd.AddCommand(&cobra.Command{
		Use:   "check V",
		Short: "Exit 0 when V is a valid APK version, 1 otherwise",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if !apk.ValidVersion(args[0]) {
				return &exitError{code: 1, err: fmt.Errorf("%q is not a valid apk version", args[0])}
			}
			return nil
		},
	})
	return cmd
}

// selfVersion is apkpack's own version: the main module's version when the
// binary was built from a module version, else "(devel)".
func selfVersion() string {
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" {
		return bi.Main.Version
	}
	return "(devel)"
}
