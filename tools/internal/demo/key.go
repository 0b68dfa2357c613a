package demo

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/rules-apk/rules_apk/tools/internal/apk"
	"github.com/rules-apk/rules_apk/tools/internal/fsutil"
)

const (
	// KeyFile is the demo private key's file name (in e2e/demo/keys, or
	// under OUTDIR/keys when a build makes its own key); the signatures
	// name its public half, KeyFile + ".pub".
	KeyFile = "demo.rsa"
	// keyBits is the demo key's size, the size Wolfi's key has.
	keyBits = 4096
)

// Key is the demo signing key on disk.
type Key struct {
	// Private and Public are the PEM files.
	Private, Public string
	// Digest is the hex SHA-256 of the public PEM, which identifies the
	// key in cache keys.
	Digest string
}

// EnsureKey returns the demo key in dir, generating it on first use.
func EnsureKey(dir string) (*Key, error) {
	k := &Key{Private: filepath.Join(dir, KeyFile), Public: filepath.Join(dir, KeyFile+".pub")}
	_, privErr := os.Stat(k.Private)
	_, pubErr := os.Stat(k.Public)
	if errors.Is(privErr, fs.ErrNotExist) && errors.Is(pubErr, fs.ErrNotExist) {
		if err := k.generate(); err != nil {
			return nil, err
		}
	}
	return LoadKey(dir)
}

// LoadKey returns the demo key in dir, which must hold both halves: the
// committed key of e2e/demo/keys, or one EnsureKey made.
func LoadKey(dir string) (*Key, error) {
	k := &Key{Private: filepath.Join(dir, KeyFile), Public: filepath.Join(dir, KeyFile+".pub")}
	_, privErr := os.Stat(k.Private)
	_, pubErr := os.Stat(k.Public)
	if privErr != nil || pubErr != nil {
		return nil, fmt.Errorf("reading the demo key in %s: one of %s and %s.pub is missing "+
			"or unreadable (%v, %v)", dir, KeyFile, KeyFile, privErr, pubErr)
	}
	return k, k.check()
}

// Publish writes the public half into dir (OUTDIR/keys), where it is the
// repository's keyring. A private key an earlier build made there is
// removed: it signs nothing any more, and a later build without a key
// directory would find the two halves mismatched.
func (k *Key) Publish(dir string) error {
	pub := filepath.Join(dir, KeyFile+".pub")
	if same, err := sameFile(pub, k.Public); err != nil || same {
		return err
	}
	b, err := os.ReadFile(k.Public)
	if err != nil {
		return fmt.Errorf("publishing the demo key: %w", err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("publishing the demo key: %w", err)
	}
	if err := fsutil.WriteFileAtomic(pub, b, 0o644); err != nil {
		return fmt.Errorf("publishing the demo key: %w", err)
	}
	err = os.Remove(filepath.Join(dir, KeyFile))
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("removing an earlier demo key: %w", err)
	}
	return nil
}

// sameFile reports whether a and b are one file; a missing a is not b.
func sameFile(a, b string) (bool, error) {
	ia, err := os.Stat(a)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	ib, err := os.Stat(b)
	if err != nil {
		return false, err
	}
	return os.SameFile(ia, ib), nil
}

// generate writes a new key pair.
func (k *Key) generate() error {
	sk, err := apk.GenerateSigningKey(KeyFile+".pub", keyBits)
	if err != nil {
		return err
	}
	priv, err := sk.PrivateKeyPEM()
	if err != nil {
		return err
	}
	pub, err := sk.PublicKeyPEM()
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(k.Private), 0o755); err != nil {
		return fmt.Errorf("writing the demo key: %w", err)
	}
	if err := os.WriteFile(k.Private, priv, 0o600); err != nil {
		return fmt.Errorf("writing the demo key: %w", err)
	}
	return os.WriteFile(k.Public, pub, 0o644)
}

// check makes sure the two files are halves of one key, and sets Digest.
func (k *Key) check() error {
	sk, err := apk.LoadSigningKey(k.Private)
	if err != nil {
		return err
	}
	want, err := sk.PublicKeyPEM()
	if err != nil {
		return err
	}
	got, err := os.ReadFile(k.Public)
	if err != nil {
		return fmt.Errorf("reading the demo key: %w", err)
	}
	if !bytes.Equal(bytes.TrimSpace(want), bytes.TrimSpace(got)) {
		return fmt.Errorf("the demo key %s is not the public half of %s; remove both to make "+
			"a new key", k.Public, k.Private)
	}
	sum := sha256.Sum256(got)
	k.Digest = hex.EncodeToString(sum[:])
	return nil
}
