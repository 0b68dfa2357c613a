package cli

import (
	"fmt"
	"io"
	"log/slog"

	"github.com/rules-apk/rules_apk/tools/internal/apk"
	"github.com/rules-apk/rules_apk/tools/internal/fsutil"
	"github.com/spf13/cobra"
)

func init() { commandBuilders = append(commandBuilders, newIndexCmd) }

type indexOptions struct {
	signingKeys    []string
	alg            string
	description    string
	output         string
	keyring        []string
	allowUnsigned  bool
	allowUntrusted bool
}

func newIndexCmd() *cobra.Command {
	o := &indexOptions{}
	cmd := &cobra.Command{
		Use:   "index --signing-key KEY -o APKINDEX.tar.gz PKG.apk...",
		Short: "Write a signed index of packages",
		Long: `Write a signed APKINDEX.tar.gz listing the given packages.

Each package is read in full: its C: is computed from its control member and
its datahash and file checksums are checked. With --keyring, each package's
own signature must verify too. The index is byte-for-byte deterministic:
records sorted by name and version, signed with each --signing-key (RSA256
by default).`,
		Example: "  apkpack index --signing-key demo.rsa -o x86_64/APKINDEX.tar.gz x86_64/*.apk",
		Args:    cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runIndex(cmd.OutOrStdout(), o, args)
		},
	}
	f := cmd.Flags()
	f.StringArrayVar(&o.signingKeys, "signing-key", nil, "RSA private key (PEM) to sign with (repeatable)")
	f.StringVar(&o.alg, "alg", string(apk.SigRSA256), "signature algorithm: RSA256, RSA or RSA512")
	f.StringVarP(&o.description, "description", "d", "", "the index's DESCRIPTION")
	f.StringVarP(&o.output, "output", "o", "", "output file (required)")
	f.StringArrayVar(&o.keyring, "keyring", nil, "require each package's signature to verify with these keys")
	f.BoolVar(&o.allowUnsigned, "unsigned", false, "write an unsigned index (no --signing-key)")
	_ = cmd.MarkFlagRequired("output")
	cmd.MarkFlagsMutuallyExclusive("signing-key", "unsigned")
	return cmd
}

func runIndex(out io.Writer, o *indexOptions, pkgs []string) error {
	if len(o.signingKeys) == 0 && !o.allowUnsigned {
		return fmt.Errorf("no --signing-key given: sign the index, or pass --unsigned")
	}
	if err := fsutil.CheckOutputFile(o.output); err != nil {
		return err
	}
	var keys []*apk.SigningKey
	for _, path := range o.signingKeys {
		k, err := apk.LoadSigningKey(path)
		if err != nil {
			return err
		}
		keys = append(keys, k)
	}
	kr, err := loadKeyring(o.keyring)
	if err != nil {
		return err
	}
	records := make([]apk.Package, 0, len(pkgs))
	for _, path := range pkgs {
		pf, err := apk.ReadPackageFile(path, apk.ReadOptions{Keyring: kr, AllowUntrusted: kr == nil})
		if err != nil {
			return err
		}
		if err := apk.CheckMetadata(&pf.Info); err != nil {
			return fmt.Errorf("indexing %s: invalid metadata: %w (rebuild the package with valid metadata)",
				path, err)
		}
		slog.Info("indexed", "package", pf.Info.NameVersion(), "checksum", pf.Info.Checksum.String())
		records = append(records, pf.Info)
	}
	err = writeOutput(o.output, func(w io.Writer) error {
		return apk.WriteIndex(w, records, apk.WriteIndexOptions{
			Description: o.description, Keys: keys, Alg: apk.SigAlg(o.alg),
		})
	})
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "%s: %d packages\n", o.output, len(records))
	return nil
}
