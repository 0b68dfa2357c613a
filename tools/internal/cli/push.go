package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/rules-apk/rules_apk/tools/internal/fsutil"
	"github.com/rules-apk/rules_apk/tools/internal/image"
	"github.com/spf13/cobra"
)

func init() { commandBuilders = append(commandBuilders, newPushCmd) }

// progressThreshold is the upload size from which push reports progress:
// smaller pushes finish before a line would help.
const progressThreshold = 16 << 20

type pushOptions struct {
	insecure   bool
	digestFile string

	// progressMin overrides progressThreshold in tests.
	progressMin int64
}

func newPushCmd() *cobra.Command {
	o := &pushOptions{progressMin: progressThreshold}
	cmd := &cobra.Command{
		Use:   "push DIR REPOSITORY[:TAG]",
		Short: "Push an OCI image layout written by apkpack image to a registry",
		Long: `Push the image, or the index of several platforms, of an OCI image layout
written by apkpack image to a registry, and print its digest on stdout.

Without :TAG the manifest is pushed by digest only. Credentials come from the
Docker config ($DOCKER_CONFIG or ~/.docker/config.json, with its credential
helpers), as docker push finds them. Registries on localhost, 127.0.0.1 and
private addresses are spoken to over plain http; --insecure allows it for
any registry. Pushes of 16 MiB or more report progress on stderr.`,
		Example: `  apkpack push image/ registry.example.com/app:1.0
  apkpack push --digest-file app.digest image/ 127.0.0.1:5000/app`,
		Args: cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runPush(cmd.Context(), cmd.OutOrStdout(), cmd.ErrOrStderr(), o, args[0], args[1])
		},
	}
	f := cmd.Flags()
	f.BoolVar(&o.insecure, "insecure", false, "allow plain http to the registry")
	f.StringVar(&o.digestFile, "digest-file", "",
		"also write the pushed digest (sha256:…, no newline) to this file")
	return cmd
}

func runPush(ctx context.Context, stdout, stderr io.Writer, o *pushOptions, dir, ref string) error {
	if o.digestFile != "" {
		if err := fsutil.CheckOutputFile(o.digestFile); err != nil {
			return fmt.Errorf("--digest-file: %w (nothing was pushed)", err)
		}
	}
	p := &progressPrinter{w: stderr, min: o.progressMin, last: -1}
	digest, err := image.Push(ctx, dir, ref, image.PushOptions{
		Insecure: o.insecure,
		Progress: p.update,
	})
	if err != nil {
		return withPushHint(err)
	}
	if o.digestFile != "" {
		if err := fsutil.WriteFileAtomic(o.digestFile, []byte(digest.String()), 0o644); err != nil {
			return err
		}
	}
	_, err = fmt.Fprintln(stdout, digest)
	return err
}

// withPushHint adds the flag to use when a registry answered https
// requests with plain http.
func withPushHint(err error) error {
	var pe *image.PushError
	if errors.As(err, &pe) && pe.Step == image.StepConnecting &&
		strings.Contains(err.Error(), "HTTP response to HTTPS client") {
		return fmt.Errorf("%w (the registry speaks plain http: pass --insecure)", err)
	}
	return err
}

// progressPrinter writes a line at every tenth of a large upload. It counts
// bytes, not time, so its output depends only on the push.
type progressPrinter struct {
	w    io.Writer
	min  int64
	last int64
}

func (p *progressPrinter) update(u v1.Update) {
	if u.Error != nil || u.Total < p.min || u.Total == 0 {
		return
	}
	tenth := u.Complete * 10 / u.Total
	if tenth <= p.last {
		return
	}
	p.last = tenth
	fmt.Fprintf(p.w, "pushing: %3d%% (%s of %s)\n", tenth*10, mib(u.Complete), mib(u.Total))
}

func mib(n int64) string { return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20)) }
