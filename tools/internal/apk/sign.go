package apk

import (
	"archive/tar"
	"bytes"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"hash"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/klauspost/compress/gzip"
)

// SigAlg is the algorithm named in a signature entry .SIGN.<ALG>.<key> (§1.3).
type SigAlg string

// Signature algorithms apk-tools 2.14 recognises. DSA is recognised but not
// verified (apk-tools has no DSA keys in use; apko skips it too).
const (
	SigRSA    SigAlg = "RSA"    // PKCS#1 v1.5 over SHA-1
	SigRSA256 SigAlg = "RSA256" // PKCS#1 v1.5 over SHA-256
	SigRSA512 SigAlg = "RSA512" // PKCS#1 v1.5 over SHA-512
	SigDSA    SigAlg = "DSA"
)

const signPrefix = ".SIGN."

func (a SigAlg) hash() (crypto.Hash, bool) {
	switch a {
	case SigRSA:
		return crypto.SHA1, true
	case SigRSA256:
		return crypto.SHA256, true
	case SigRSA512:
		return crypto.SHA512, true
	}
	return 0, false
}

// Signature is one .SIGN.* entry of a signature member.
type Signature struct {
	Alg     SigAlg
	KeyName string // file name of the public key, e.g. wolfi-signing.rsa.pub
	Data    []byte // raw PKCS#1 v1.5 signature
}

// EntryName is the tar entry name of s: .SIGN.<ALG>.<key>.
func (s Signature) EntryName() string { return signPrefix + string(s.Alg) + "." + s.KeyName }

// ParseSignatureName splits a tar entry name .SIGN.<ALG>.<key>. The
// algorithm is matched as apk-tools 2.14 matches it: a known prefix followed
// by a dot, longest first so that RSA256 is not read as RSA.
func ParseSignatureName(name string) (SigAlg, string, bool) {
	rest, ok := strings.CutPrefix(name, signPrefix)
	if !ok {
		return "", "", false
	}
	for _, a := range []SigAlg{SigRSA512, SigRSA256, SigRSA, SigDSA} {
		if key, ok := strings.CutPrefix(rest, string(a)+"."); ok && key != "" {
			return a, key, true
		}
	}
	return "", "", false
}

// Keyring is a set of trusted RSA public keys, each known by its file name,
// as apk knows the files of /etc/apk/keys.
type Keyring struct {
	keys map[string]*rsa.PublicKey
}

// NewKeyring returns an empty keyring.
func NewKeyring() *Keyring { return &Keyring{keys: map[string]*rsa.PublicKey{}} }

// LoadKeyring reads public keys from files and directories; a directory
// contributes every *.pub file in it. Each key is named by its base name.
func LoadKeyring(paths ...string) (*Keyring, error) {
	k := NewKeyring()
	for _, p := range paths {
		if err := k.addPath(p); err != nil {
			return nil, err
		}
	}
	return k, nil
}

func (k *Keyring) addPath(p string) error {
	fi, err := os.Stat(p)
	if err != nil {
		return fmt.Errorf("reading keyring: %w", err)
	}
	if !fi.IsDir() {
		return k.addFile(p)
	}
	matches, err := filepath.Glob(filepath.Join(p, "*.pub"))
	if err != nil {
		return fmt.Errorf("reading keyring directory %s: %w", p, err)
	}
	for _, m := range matches {
		if err := k.addFile(m); err != nil {
			return err
		}
	}
	return nil
}

func (k *Keyring) addFile(p string) error {
	b, err := os.ReadFile(p)
	if err != nil {
		return fmt.Errorf("reading key: %w", err)
	}
	return k.Add(filepath.Base(p), b)
}

// Add adds a PEM-encoded RSA public key (PKIX "PUBLIC KEY" or PKCS#1
// "RSA PUBLIC KEY") under name.
func (k *Keyring) Add(name string, pemBytes []byte) error {
	pub, err := ParsePublicKey(pemBytes)
	if err != nil {
		return fmt.Errorf("reading key %s: %w", name, err)
	}
	k.keys[name] = pub
	return nil
}

// Names returns the names of the keys in k, sorted.
func (k *Keyring) Names() []string {
	names := make([]string, 0, len(k.keys))
	for n := range k.keys {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// Len is the number of keys in k.
func (k *Keyring) Len() int { return len(k.keys) }

// ParsePublicKey decodes a PEM RSA public key.
func ParsePublicKey(pemBytes []byte) (*rsa.PublicKey, error) {
	block, _ := pem.Decode(pemBytes)
	if block == nil {
		return nil, errors.New("no PEM block")
	}
	switch block.Type {
	case "PUBLIC KEY":
		pub, err := x509.ParsePKIXPublicKey(block.Bytes)
		if err != nil {
			return nil, err
		}
		rsaPub, ok := pub.(*rsa.PublicKey)
		if !ok {
			return nil, fmt.Errorf("not an RSA key but %T", pub)
		}
		return rsaPub, nil
	case "RSA PUBLIC KEY":
		return x509.ParsePKCS1PublicKey(block.Bytes)
	}
	return nil, fmt.Errorf("unexpected PEM block %q", block.Type)
}

// SignatureError says why none of the signatures of a file verified.
type SignatureError struct {
	// Reasons holds one line per signature that was tried.
	Reasons []string
}

func (e *SignatureError) Error() string {
	if len(e.Reasons) == 0 {
		return "signature: file is not signed"
	}
	return "signature: no valid signature from a trusted key (" + strings.Join(e.Reasons, "; ") + ")"
}

// Digester hashes signed bytes with every algorithm a set of signatures needs.
type Digester struct {
	hashes map[SigAlg]hash.Hash
	w      []hash.Hash
}

// NewDigester returns a writer that computes the digests the given
// signatures are checked against.
func NewDigester(sigs []Signature) *Digester {
	d := &Digester{hashes: map[SigAlg]hash.Hash{}}
	for _, s := range sigs {
		h, ok := s.Alg.hash()
		if !ok || d.hashes[s.Alg] != nil {
			continue
		}
		hh := newHash(h)
		d.hashes[s.Alg] = hh
		d.w = append(d.w, hh)
	}
	return d
}

func newHash(h crypto.Hash) hash.Hash {
	switch h {
	case crypto.SHA1:
		return sha1.New()
	case crypto.SHA256:
		return sha256.New()
	}
	return sha512.New()
}

// Write feeds signed bytes to every digest.
func (d *Digester) Write(p []byte) (int, error) {
	for _, h := range d.w {
		h.Write(p)
	}
	return len(p), nil
}

// Verify checks sigs against the digests in d. It succeeds when one
// signature from a key in k verifies (§1.3: one trusted, valid signature
// suffices) and returns that key's name; otherwise it returns a
// *SignatureError that says, per signature, what went wrong.
func (k *Keyring) Verify(sigs []Signature, d *Digester) (string, error) {
	var reasons []string
	for _, s := range sigs {
		h, ok := s.Alg.hash()
		if !ok {
			reasons = append(reasons, fmt.Sprintf("%s: algorithm %s not supported", s.EntryName(), s.Alg))
			continue
		}
		pub := k.keys[s.KeyName]
		if pub == nil {
			reasons = append(reasons, fmt.Sprintf("%s: key %s not in keyring (UNTRUSTED)", s.Alg, s.KeyName))
			continue
		}
		sum := d.hashes[s.Alg].Sum(nil)
		if err := rsa.VerifyPKCS1v15(pub, h, sum, s.Data); err != nil {
			reasons = append(reasons, fmt.Sprintf("%s by %s: does not verify", s.Alg, s.KeyName))
			continue
		}
		return s.KeyName, nil
	}
	return "", &SignatureError{Reasons: reasons}
}

// SigningKey is an RSA private key and the name of its public key file,
// which signature entries carry (.SIGN.RSA256.<Name>).
type SigningKey struct {
	Name string
	Key  *rsa.PrivateKey
}

// LoadSigningKey reads a PEM private key (PKCS#1 or PKCS#8). Its Name is the
// file's base name plus ".pub" (demo.rsa → demo.rsa.pub), as abuild and
// melange name the public half.
func LoadSigningKey(path string) (*SigningKey, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading signing key: %w", err)
	}
	key, err := ParsePrivateKey(b)
	if err != nil {
		return nil, fmt.Errorf("reading signing key %s: %w", path, err)
	}
	return &SigningKey{Name: filepath.Base(path) + ".pub", Key: key}, nil
}

// ParsePrivateKey decodes a PEM RSA private key.
func ParsePrivateKey(pemBytes []byte) (*rsa.PrivateKey, error) {
	block, _ := pem.Decode(pemBytes)
	if block == nil {
		return nil, errors.New("no PEM block")
	}
	switch block.Type {
	case "RSA PRIVATE KEY":
		return x509.ParsePKCS1PrivateKey(block.Bytes)
	case "PRIVATE KEY":
		k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
		if err != nil {
			return nil, err
		}
		rk, ok := k.(*rsa.PrivateKey)
		if !ok {
			return nil, fmt.Errorf("not an RSA key but %T", k)
		}
		return rk, nil
	}
	return nil, fmt.Errorf("unexpected PEM block %q", block.Type)
}

// GenerateSigningKey makes a new RSA key pair of the given size.
func GenerateSigningKey(name string, bits int) (*SigningKey, error) {
	k, err := rsa.GenerateKey(rand.Reader, bits)
	if err != nil {
		return nil, fmt.Errorf("generating RSA key: %w", err)
	}
	return &SigningKey{Name: name, Key: k}, nil
}

// PrivateKeyPEM encodes the private key as PKCS#8 PEM.
func (s *SigningKey) PrivateKeyPEM() ([]byte, error) {
	der, err := x509.MarshalPKCS8PrivateKey(s.Key)
	if err != nil {
		return nil, fmt.Errorf("encoding private key: %w", err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), nil
}

// PublicKeyPEM encodes the public key as PKIX PEM, the form apk reads
// from /etc/apk/keys.
func (s *SigningKey) PublicKeyPEM() ([]byte, error) {
	der, err := x509.MarshalPKIXPublicKey(&s.Key.PublicKey)
	if err != nil {
		return nil, fmt.Errorf("encoding public key: %w", err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}), nil
}

// Sign signs data with alg. PKCS#1 v1.5 signatures are deterministic, so the
// same key and data give the same bytes.
func (s *SigningKey) Sign(alg SigAlg, data []byte) (Signature, error) {
	h, ok := alg.hash()
	if !ok {
		return Signature{}, fmt.Errorf("signing: algorithm %s not supported", alg)
	}
	hh := newHash(h)
	hh.Write(data)
	sig, err := rsa.SignPKCS1v15(nil, s.Key, h, hh.Sum(nil))
	if err != nil {
		return Signature{}, fmt.Errorf("signing with %s: %w", s.Name, err)
	}
	return Signature{Alg: alg, KeyName: s.Name, Data: sig}, nil
}

// SignatureMember encodes signatures as apk's signature member: one gzip
// member holding a tar of the .SIGN.* entries without the end-of-archive
// blocks (abuild-tar --cut). The bytes are deterministic.
func SignatureMember(sigs ...Signature) ([]byte, error) {
	var tarBuf bytes.Buffer
	tw := tar.NewWriter(&tarBuf)
	for _, s := range sigs {
		hdr := &tar.Header{
			Typeflag: tar.TypeReg,
			Name:     s.EntryName(),
			Mode:     0o644,
			Size:     int64(len(s.Data)),
			ModTime:  time.Unix(0, 0),
			Format:   tar.FormatUSTAR,
		}
		if err := tw.WriteHeader(hdr); err != nil {
			return nil, fmt.Errorf("writing signature entry %s: %w", s.EntryName(), err)
		}
		if _, err := tw.Write(s.Data); err != nil {
			return nil, fmt.Errorf("writing signature entry %s: %w", s.EntryName(), err)
		}
	}
	// Flush pads the last entry; Close would add the end-of-archive blocks
	// that apk's signature member must not have.
	if err := tw.Flush(); err != nil {
		return nil, fmt.Errorf("writing signature member: %w", err)
	}
	return GzipMember(tarBuf.Bytes())
}

// GzipMember compresses b as one deterministic gzip member (no name, zero
// mtime, best compression, as abuild's gzip -n -9).
func GzipMember(b []byte) ([]byte, error) {
	var out bytes.Buffer
	zw, err := gzip.NewWriterLevel(&out, gzip.BestCompression)
	if err != nil {
		return nil, err
	}
	if _, err := zw.Write(b); err != nil {
		return nil, fmt.Errorf("compressing: %w", err)
	}
	if err := zw.Close(); err != nil {
		return nil, fmt.Errorf("compressing: %w", err)
	}
	return out.Bytes(), nil
}
