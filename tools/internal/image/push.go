package image

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// PushOptions tune Push.
type PushOptions struct {
	// Insecure talks plain http to the registry. ggcr already does so for
	// localhost, 127.0.0.1, ::1, *.local and private (RFC 1918) addresses.
	Insecure bool

	// Keychain finds credentials; nil means authn.DefaultKeychain, which
	// reads the Docker config ($DOCKER_CONFIG or ~/.docker/config.json) and
	// its credential helpers.
	Keychain authn.Keychain

	// Transport carries the requests; nil means remote.DefaultTransport.
	Transport http.RoundTripper

	// Progress, if set, is called from another goroutine as blobs upload,
	// with the bytes written so far and the total; Push returns after the
	// last call.
	Progress func(v1.Update)
}

// PushStep names the part of a push that failed.
type PushStep string

// The steps a PushError names.
const (
	StepConnecting     PushStep = "connecting"
	StepAuthenticating PushStep = "authenticating"
	StepUploading      PushStep = "uploading blobs"
	StepManifest       PushStep = "putting the manifest"
	StepOther          PushStep = "talking to the registry"
)

// PushError reports a failed push: the registry, the repository, the step
// that failed and the registry's or the network's error.
type PushError struct {
	Registry   string // host[:port]
	Repository string // the repository within the registry
	Step       PushStep
	Err        error
}

func (e *PushError) Error() string {
	msg := fmt.Sprintf("pushing to registry %s, repository %s: %s: %v",
		e.Registry, e.Repository, e.Step, e.Err)
	if e.Step == StepAuthenticating {
		msg += " (the registry refused the credentials from the Docker config; " +
			"log in with docker login " + e.Registry + " or set DOCKER_CONFIG)"
	}
	return msg
}

func (e *PushError) Unwrap() error { return e.Err }

// Push uploads the image or index of an OCI image layout written by
// WriteLayout to ref, REPOSITORY[:TAG] or REPOSITORY@DIGEST, and returns
// its digest. Without a tag the manifest is pushed by digest only. A
// digest in ref must be the layout's.
func Push(ctx context.Context, dir, ref string, o PushOptions) (v1.Hash, error) {
	content, desc, err := readLayout(dir)
	if err != nil {
		return v1.Hash{}, err
	}
	target, err := pushReference(ref, desc.Digest, o.Insecure)
	if err != nil {
		return v1.Hash{}, err
	}

	opts := []remote.Option{
		remote.WithContext(ctx),
		remote.WithAuthFromKeychain(keychain(o)),
		remote.WithUserAgent("apkpack"),
	}
	if o.Transport != nil {
		opts = append(opts, remote.WithTransport(o.Transport))
	}
	var wg sync.WaitGroup
	if o.Progress != nil {
		// remote.Push closes the channel when it returns.
		updates := make(chan v1.Update, 16)
		opts = append(opts, remote.WithProgress(updates))
		wg.Add(1)
		go func() {
			defer wg.Done()
			for u := range updates {
				o.Progress(u)
			}
		}()
	}
	err = remote.Push(target, content, opts...)
	wg.Wait()
	if err != nil {
		return v1.Hash{}, pushError(target.Context(), err)
	}
	return desc.Digest, nil
}

func keychain(o PushOptions) authn.Keychain {
	if o.Keychain != nil {
		return o.Keychain
	}
	return authn.DefaultKeychain
}

// readLayout opens the single image or index that index.json of a layout
// written by WriteLayout lists.
func readLayout(dir string) (remote.Taggable, v1.Descriptor, error) {
	idx, err := layout.ImageIndexFromPath(dir)
	if err != nil {
		return nil, v1.Descriptor{}, fmt.Errorf("reading layout %s: %w "+
			"(want a directory written by apkpack image)", dir, err)
	}
	m, err := idx.IndexManifest()
	if err != nil {
		return nil, v1.Descriptor{}, fmt.Errorf("reading layout %s: %w", dir, err)
	}
	if len(m.Manifests) != 1 {
		return nil, v1.Descriptor{}, fmt.Errorf("reading layout %s: index.json lists %d "+
			"manifests; push takes a layout with one image or one index, "+
			"as apkpack image writes", dir, len(m.Manifests))
	}
	desc := m.Manifests[0]
	var content remote.Taggable
	switch desc.MediaType {
	case types.OCIImageIndex, types.DockerManifestList:
		content, err = idx.ImageIndex(desc.Digest)
	case types.OCIManifestSchema1, types.DockerManifestSchema2:
		content, err = idx.Image(desc.Digest)
	default:
		err = fmt.Errorf("index.json lists a %s, not an image or an index", desc.MediaType)
	}
	if err != nil {
		return nil, v1.Descriptor{}, fmt.Errorf("reading layout %s: %w", dir, err)
	}
	return content, desc, nil
}

// pushReference turns REPOSITORY[:TAG] or REPOSITORY@DIGEST into the
// reference to push to: the tag when given, else the layout's digest.
func pushReference(ref string, digest v1.Hash, insecure bool) (name.Reference, error) {
	var opts []name.Option
	if insecure {
		opts = append(opts, name.Insecure)
	}
	strict := append(opts, name.StrictValidation)
	if d, err := name.NewDigest(ref, strict...); err == nil {
		if d.DigestStr() != digest.String() {
			return nil, fmt.Errorf("parsing reference %s: the layout's digest is %s", ref, digest)
		}
		return d, nil
	}
	if t, err := name.NewTag(ref, strict...); err == nil {
		return t, nil
	}
	repo, err := name.NewRepository(ref, opts...)
	if err != nil {
		return nil, fmt.Errorf("parsing reference %q: %w (want REPOSITORY[:TAG], "+
			"e.g. registry.example.com/app:1.0)", ref, err)
	}
	return repo.Digest(digest.String()), nil
}

// pushError names the registry and guesses the failed step from ggcr's
// error: a registry answer carries its status and request, a network
// failure a *url.Error or *net.OpError.
func pushError(repo name.Repository, err error) error {
	return &PushError{
		Registry:   repo.RegistryStr(),
		Repository: repo.RepositoryStr(),
		Step:       pushStep(err),
		Err:        err,
	}
}

func pushStep(err error) PushStep {
	var te *transport.Error
	if errors.As(err, &te) {
		path := ""
		if te.Request != nil {
			path = te.Request.URL.Path
		}
		switch {
		case te.StatusCode == http.StatusUnauthorized || te.StatusCode == http.StatusForbidden:
			return StepAuthenticating
		case strings.Contains(path, "/manifests/"):
			return StepManifest
		case strings.Contains(path, "/blobs/"):
			return StepUploading
		}
		return StepOther
	}
	var ue *url.Error
	var oe *net.OpError
	if errors.As(err, &ue) || errors.As(err, &oe) {
		return StepConnecting
	}
	return StepOther
}
