package apk

import (
	"archive/tar"
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/rules-apk/rules_apk/tools/internal/testutil"
)

func TestParseSignatureName(t *testing.T) {
	tests := []struct {
		in      string
		alg     SigAlg
		key     string
		wantOK  bool
		comment string
	}{
		{".SIGN.RSA.alpine-devel@lists.alpinelinux.org-616ae350.rsa.pub", SigRSA,
			"alpine-devel@lists.alpinelinux.org-616ae350.rsa.pub", true, "SHA-1"},
		{".SIGN.RSA256.wolfi-signing.rsa.pub", SigRSA256, "wolfi-signing.rsa.pub", true, "not read as RSA"},
		{".SIGN.RSA512.k.rsa.pub", SigRSA512, "k.rsa.pub", true, ""},
		{".SIGN.DSA.k.pub", SigDSA, "k.pub", true, "recognised, not verified"},
		{".SIGN.RSA.", "", "", false, "no key name"},
		{".SIGN.ECDSA.k.pub", "", "", false, "unknown algorithm"},
		{".PKGINFO", "", "", false, ""},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			alg, key, ok := ParseSignatureName(tt.in)
			if alg != tt.alg || key != tt.key || ok != tt.wantOK {
				t.Errorf("ParseSignatureName(%q) = %q, %q, %v; want %q, %q, %v",
					tt.in, alg, key, ok, tt.alg, tt.key, tt.wantOK)
			}
		})
	}
}

// readSigEntries reads the .SIGN.* entries of a signature member (no
// end-of-archive blocks).
func readSigEntries(t *testing.T, r io.Reader) []Signature {
	t.Helper()
	var sigs []Signature
	tr := tar.NewReader(r)
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return sigs
		}
		if err != nil {
			t.Fatal(err)
		}
		alg, key, ok := ParseSignatureName(hdr.Name)
		if !ok {
			t.Fatalf("entry %q is not a signature", hdr.Name)
		}
		data, err := io.ReadAll(tr)
		if err != nil {
			t.Fatal(err)
		}
		sigs = append(sigs, Signature{Alg: alg, KeyName: key, Data: data})
	}
}

// TestVerifyRealPackageSignature checks the keyring against the real
// Alpine package: its RSA/SHA-1 signature covers the raw control member.
func TestVerifyRealPackageSignature(t *testing.T) {
	dir := testutil.RealData(t, "alpine-3.16-aarch64")
	f, err := os.Open(filepath.Join(dir, "alpine-baselayout-3.2.0-r23.apk"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	m := NewMemberReader(f)
	sigMember, err := m.Next(nil, 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	sigs := readSigEntries(t, sigMember)
	d := NewDigester(sigs)
	control, err := m.Next(d, 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(io.Discard, control); err != nil {
		t.Fatal(err)
	}

	kr, err := LoadKeyring(dir) // the directory holds the one .pub key
	if err != nil {
		t.Fatal(err)
	}
	name, err := kr.Verify(sigs, d)
	if err != nil {
		t.Fatalf("Verify: %v", err)
	}
	if want := "alpine-devel@lists.alpinelinux.org-616ae350.rsa.pub"; name != want {
		t.Errorf("signed by %q, want %q", name, want)
	}

	// The x86_64 key is a different key: the same signature is untrusted.
	other, err := LoadKeyring(testutil.RealData(t, "alpine-3.16-x86_64",
		"alpine-devel@lists.alpinelinux.org-6165ee59.rsa.pub"))
	if err != nil {
		t.Fatal(err)
	}
	_, err = other.Verify(sigs, d)
	var se *SignatureError
	if !errors.As(err, &se) || !strings.Contains(err.Error(), "UNTRUSTED") {
		t.Errorf("Verify with another key: %v, want an UNTRUSTED SignatureError", err)
	}
}

func TestSignAndVerify(t *testing.T) {
	key, err := GenerateSigningKey("test.rsa.pub", 2048)
	if err != nil {
		t.Fatal(err)
	}
	pub, err := key.PublicKeyPEM()
	if err != nil {
		t.Fatal(err)
	}
	kr := NewKeyring()
	if err := kr.Add("test.rsa.pub", pub); err != nil {
		t.Fatal(err)
	}
	data := []byte("signed bytes")
	for _, alg := range []SigAlg{SigRSA, SigRSA256, SigRSA512} {
		t.Run(string(alg), func(t *testing.T) {
			sig, err := key.Sign(alg, data)
			if err != nil {
				t.Fatal(err)
			}
			again, err := key.Sign(alg, data)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(sig.Data, again.Data) {
				t.Error("PKCS#1 v1.5 signatures differ between two runs")
			}

			d := NewDigester([]Signature{sig})
			d.Write(data)
			if name, err := kr.Verify([]Signature{sig}, d); err != nil || name != "test.rsa.pub" {
				t.Errorf("Verify = %q, %v", name, err)
			}

			tampered := NewDigester([]Signature{sig})
			tampered.Write([]byte("signed bytez"))
			if _, err := kr.Verify([]Signature{sig}, tampered); err == nil ||
				!strings.Contains(err.Error(), "does not verify") {
				t.Errorf("Verify of other bytes = %v, want 'does not verify'", err)
			}
		})
	}
}

func TestSignatureMember(t *testing.T) {
	key, err := GenerateSigningKey("demo.rsa.pub", 2048)
	if err != nil {
		t.Fatal(err)
	}
	s1, err := key.Sign(SigRSA256, []byte("x"))
	if err != nil {
		t.Fatal(err)
	}
	s2, err := key.Sign(SigRSA, []byte("x"))
	if err != nil {
		t.Fatal(err)
	}
	member, err := SignatureMember(s1, s2)
	if err != nil {
		t.Fatal(err)
	}
	again, err := SignatureMember(s1, s2)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(member, again) {
		t.Error("SignatureMember is not deterministic")
	}

	m := NewMemberReader(bytes.NewReader(member))
	r, err := m.Next(nil, 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := io.ReadAll(r)
	if err != nil {
		t.Fatal(err)
	}
	// Two 512-byte headers and two 256-byte signatures padded to 512: no
	// end-of-archive blocks.
	if len(raw) != 4*512 {
		t.Errorf("signature tar is %d bytes, want %d (no end-of-archive blocks)", len(raw), 4*512)
	}
	got := readSigEntries(t, bytes.NewReader(raw))
	if diff := cmp.Diff([]Signature{s1, s2}, got); diff != "" {
		t.Errorf("signatures read back (-want +got):\n%s", diff)
	}
}

func TestSigningKeyFiles(t *testing.T) {
	dir := t.TempDir()
	key, err := GenerateSigningKey("", 2048)
	if err != nil {
		t.Fatal(err)
	}
	priv, err := key.PrivateKeyPEM()
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "demo.rsa")
	if err := os.WriteFile(path, priv, 0o600); err != nil {
		t.Fatal(err)
	}
	loaded, err := LoadSigningKey(path)
	if err != nil {
		t.Fatal(err)
	}
	if loaded.Name != "demo.rsa.pub" || !loaded.Key.Equal(key.Key) {
		t.Errorf("LoadSigningKey: name %q, same key %v", loaded.Name, loaded.Key.Equal(key.Key))
	}

	for name, content := range map[string]string{
		"garbage.rsa": "not pem",
		"cert.rsa":    "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
	} {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		if _, err := LoadSigningKey(p); err == nil || !strings.Contains(err.Error(), p) {
			t.Errorf("LoadSigningKey(%s) = %v, want an error naming the file", name, err)
		}
	}
	if _, err := LoadKeyring(filepath.Join(dir, "missing.pub")); err == nil {
		t.Error("LoadKeyring of a missing file succeeded")
	}
}
