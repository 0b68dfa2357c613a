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
)

const (
	// KeyFile is the demo private key's file name under OUTDIR/keys; the
	// signatures name its public half, KeyFile + ".pub".
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

// EnsureKey returns the demo key in dir, generating it on first use. apkpack
// has no key generator, so the key is made with the apk package's.
func EnsureKey(dir string) (*Key, error) {
	k := &Key{Private: filepath.Join(dir, KeyFile), Public: filepath.Join(dir, KeyFile+".pub")}
	_, privErr := os.Stat(k.Private)
	_, pubErr := os.Stat(k.Public)
	switch {
	case errors.Is(privErr, fs.ErrNotExist) && errors.Is(pubErr, fs.ErrNotExist):
		if err := k.generate(); err != nil {
			return nil, err
		}
	case privErr != nil || pubErr != nil:
		return nil, fmt.Errorf("reading the demo key in %s: one of %s and %s.pub is missing "+
			"or unreadable (%v, %v); remove both to make a new key", dir, KeyFile, KeyFile,
			privErr, pubErr)
	}
	return k, k.check()
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
