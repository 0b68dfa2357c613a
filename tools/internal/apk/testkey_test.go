package apk

import (
	"path/filepath"
	"testing"
)

// benchKey loads the committed test signing key.
func benchKey(tb testing.TB) (*SigningKey, *Keyring) {
	tb.Helper()
	key, err := LoadSigningKey(filepath.Join("testdata", "index-test.rsa"))
	if err != nil {
		tb.Fatal(err)
	}
	kr, err := LoadKeyring(filepath.Join("testdata", "index-test.rsa.pub"))
	if err != nil {
		tb.Fatal(err)
	}
	return key, kr
}
