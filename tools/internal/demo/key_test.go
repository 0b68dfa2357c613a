package demo

import (
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rules-apk/rules_apk/tools/internal/testutil"
)

// TestCommittedKey loads the committed demo key and publishes it into an
// output directory that holds a key an earlier build made.
func TestCommittedKey(t *testing.T) {
	dir := filepath.Join(testutil.RepoRoot(t), "e2e/demo/keys")
	k, err := LoadKey(dir)
	if err != nil {
		t.Fatal(err)
	}
	pub, err := os.ReadFile(filepath.Join(dir, KeyFile+".pub"))
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(pub)
	if want := hex.EncodeToString(sum[:]); k.Digest != want {
		t.Errorf("Digest = %s, want the public key's sha256 %s", k.Digest, want)
	}

	out := t.TempDir()
	for _, f := range []string{KeyFile, KeyFile + ".pub"} {
		if err := os.WriteFile(filepath.Join(out, f), []byte("an earlier key"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if err := k.Publish(out); err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(filepath.Join(out, KeyFile+".pub"))
	if err != nil || string(got) != string(pub) {
		t.Errorf("published public key = %q, %v; want the committed one", got, err)
	}
	if _, err := os.Stat(filepath.Join(out, KeyFile)); !os.IsNotExist(err) {
		t.Errorf("the earlier private key is still there (stat: %v)", err)
	}

	// Publishing into the key's own directory leaves it alone.
	if err := k.Publish(dir); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(k.Private); err != nil {
		t.Errorf("publishing into the key directory removed the key: %v", err)
	}
}

func TestLoadKeyErrors(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, KeyFile+".pub"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := LoadKey(dir)
	if err == nil || !strings.Contains(err.Error(), "missing") {
		t.Fatalf("LoadKey with only the public half: err = %v, want it to say a half is missing", err)
	}
	other := t.TempDir()
	k, err := EnsureKey(other)
	if err != nil {
		t.Fatal(err)
	}
	committed := filepath.Join(testutil.RepoRoot(t), "e2e/demo/keys", KeyFile+".pub")
	pub, err := os.ReadFile(committed)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(k.Public, pub, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadKey(other); err == nil || !strings.Contains(err.Error(), "not the public half") {
		t.Fatalf("LoadKey of mismatched halves: err = %v, want a mismatch error", err)
	}
}
