package cli

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/rules-apk/rules_apk/tools/internal/apk"
	"github.com/rules-apk/rules_apk/tools/internal/fsutil"
	"github.com/spf13/cobra"
)

func init() { commandBuilders = append(commandBuilders, newKeygenCmd) }

type keygenOptions struct {
	output string
	bits   int
	force  bool
}

func newKeygenCmd() *cobra.Command {
	o := &keygenOptions{}
	cmd := &cobra.Command{
		Use:   "keygen -o KEY.rsa [--bits N]",
		Short: "Make an RSA key pair to sign packages and indexes",
		Long: `Write a new RSA private key to KEY.rsa (PKCS#8 PEM, mode 0600) and its public
half to KEY.rsa.pub, the file name apk expects in /etc/apk/keys and that
signatures name (.SIGN.RSA256.KEY.rsa.pub). An existing key is never
overwritten unless --force is given.`,
		Example: "  apkpack keygen -o demo.rsa",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runKeygen(cmd.OutOrStdout(), o)
		},
	}
	cmd.Flags().StringVarP(&o.output, "output", "o", "", "private key file to write (required)")
	cmd.Flags().IntVar(&o.bits, "bits", 4096, "key size in bits (2048 or more)")
	cmd.Flags().BoolVar(&o.force, "force", false, "overwrite existing key files")
	_ = cmd.MarkFlagRequired("output")
	return cmd
}

func runKeygen(out io.Writer, o *keygenOptions) error {
	if o.bits < 2048 {
		return fmt.Errorf("--bits %d: use 2048 or more", o.bits)
	}
	pubPath := o.output + ".pub"
	if err := fsutil.CheckOutputFile(o.output); err != nil {
		return err
	}
	if !o.force {
		for _, p := range []string{o.output, pubPath} {
			if _, err := os.Stat(p); err == nil {
				return fmt.Errorf("%s exists: pass --force to replace it", p)
			} else if !errors.Is(err, fs.ErrNotExist) {
				return err
			}
		}
	}
	key, err := apk.GenerateSigningKey(filepath.Base(pubPath), o.bits)
	if err != nil {
		return err
	}
	priv, err := key.PrivateKeyPEM()
	if err != nil {
		return err
	}
	pub, err := key.PublicKeyPEM()
	if err != nil {
		return err
	}
	if err := fsutil.WriteFileAtomic(o.output, priv, 0o600); err != nil {
		return err
	}
	if err := fsutil.WriteFileAtomic(pubPath, pub, 0o644); err != nil {
		return err
	}
	fmt.Fprintf(out, "%s\n%s\n", o.output, pubPath)
	return nil
}
