package cli

import (
	"fmt"
	"io"
	"os"

	"github.com/rules-apk/rules_apk/tools/internal/apk"
	"github.com/spf13/cobra"
)

func init() { commandBuilders = append(commandBuilders, newVerifyCmd) }

type verifyOptions struct {
	keyring        []string
	allowUntrusted bool
}

func newVerifyCmd() *cobra.Command {
	o := &verifyOptions{}
	cmd := &cobra.Command{
		Use:   "verify [--keyring KEY]... FILE...",
		Short: "Verify APK packages and indexes",
		Long: `Verify APK packages (.apk) and indexes (APKINDEX.tar.gz).

For a package: its signature against the keyring, its control checksum C:,
the datahash of its data member and the SHA-1 of every file. For an index:
its signature against the keyring and every record.

Prints one line per file, "OK" with what was checked or "FAIL" with what
failed. Exits 0 when every file verifies and 1 otherwise.`,
		Example: `  apkpack verify --keyring /etc/apk/keys x86_64/APKINDEX.tar.gz x86_64/*.apk
  apkpack verify --keyring wolfi-signing.rsa.pub libcap-2.69-r0.apk`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runVerify(cmd.OutOrStdout(), o, args)
		},
	}
	cmd.Flags().StringArrayVar(&o.keyring, "keyring", nil,
		"trusted public key file, or a directory of *.pub keys (repeatable)")
	cmd.Flags().BoolVar(&o.allowUntrusted, "allow-untrusted", false,
		"check checksums only when no --keyring is given")
	return cmd
}

func runVerify(out io.Writer, o *verifyOptions, files []string) error {
	kr, err := loadKeyring(o.keyring)
	if err != nil {
		return err
	}
	if kr == nil && !o.allowUntrusted {
		return fmt.Errorf("no --keyring given: name the trusted keys, or pass --allow-untrusted " +
			"to check checksums only")
	}
	failed := 0
	for _, f := range files {
		msg, err := verifyFile(f, kr)
		if err != nil {
			failed++
			fmt.Fprintf(out, "FAIL %s: %v\n", f, err)
			continue
		}
		fmt.Fprintf(out, "OK   %s: %s\n", f, msg)
	}
	if failed > 0 {
		return &exitError{code: 1, err: fmt.Errorf("%d of %d files did not verify", failed, len(files))}
	}
	return nil
}

func verifyFile(path string, kr *apk.Keyring) (string, error) {
	kind, err := sniffKind(path)
	if err != nil {
		return "", err
	}
	if kind == kindIndex {
		return verifyIndex(path, kr)
	}
	pf, err := apk.ReadPackageFile(path, apk.ReadOptions{Keyring: kr, AllowUntrusted: kr == nil})
	if err != nil {
		return "", err
	}
	sig := "signature not checked (no keyring)"
	if pf.SignedBy != "" {
		sig = "signature by " + pf.SignedBy
	}
	return fmt.Sprintf("package %s (%s): %s, C:%s, datahash %s, %d entries checked",
		pf.Info.NameVersion(), pf.Info.Arch, sig, pf.Info.Checksum, short(pf.DataHash), pf.Entries), nil
}

func verifyIndex(path string, kr *apk.Keyring) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	idx, err := apk.ReadIndex(f, apk.IndexOptions{Keyring: kr, AllowUntrusted: kr == nil})
	if err != nil {
		return "", err
	}
	sig := "signature not checked (no keyring)"
	if idx.SignedBy != "" {
		sig = "signature by " + idx.SignedBy
	}
	return fmt.Sprintf("index of %d %s: %s", len(idx.Packages), plural(len(idx.Packages), "package"), sig), nil
}

func short(hexDigest string) string {
	if len(hexDigest) > 12 {
		return hexDigest[:12] + "…"
	}
	return hexDigest
}

func plural(n int, word string) string {
	if n == 1 {
		return word
	}
	return word + "s"
}
