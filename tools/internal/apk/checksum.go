package apk

import (
	"crypto/sha1"
	"encoding/base64"
	"encoding/hex"
	"fmt"
)

// ChecksumKind says which digest a Checksum holds.
type ChecksumKind uint8

// Checksum kinds (§1.2). The zero value means "no checksum".
const (
	ChecksumNone ChecksumKind = iota
	ChecksumSHA1
	ChecksumMD5
)

// Checksum is a package identity checksum (the C: field of an index or the
// installed database) or a file checksum (Z:), held as decoded bytes so that
// two encodings of the same digest compare equal (§1.2: "Q1…ysE=" and
// "Q1…ysF=" decode identically).
type Checksum struct {
	Kind ChecksumKind
	Sum  [sha1.Size]byte // MD5 uses the first 16 bytes
}

// ParseChecksum decodes a checksum in any of apk's text encodings:
// "Q1" + base64(SHA-1), "X1" + hex(SHA-1), or 32 hex characters (legacy MD5),
// as apk-tools' apk_blob_pull_csum does.
func ParseChecksum(s string) (Checksum, error) {
	var c Checksum
	switch {
	case len(s) == 30 && s[:2] == "Q1":
		// StdEncoding (not Strict) ignores the two padding bits, as apk does.
		// 28 characters without "=" decode to 21 bytes, and Decode panics
		// when dst is too short, so decode into a buffer of that size.
		var buf [21]byte
		n, err := base64.StdEncoding.Decode(buf[:], []byte(s[2:]))
		if err != nil || n != sha1.Size {
			return Checksum{}, fmt.Errorf("parsing checksum %q: bad base64", s)
		}
		copy(c.Sum[:], buf[:n])
		c.Kind = ChecksumSHA1
	case len(s) == 42 && s[:2] == "X1":
		if _, err := hex.Decode(c.Sum[:], []byte(s[2:])); err != nil {
			return Checksum{}, fmt.Errorf("parsing checksum %q: bad hex", s)
		}
		c.Kind = ChecksumSHA1
	case len(s) == 32:
		if _, err := hex.Decode(c.Sum[:16], []byte(s)); err != nil {
			return Checksum{}, fmt.Errorf("parsing checksum %q: bad hex", s)
		}
		c.Kind = ChecksumMD5
	default:
		return Checksum{}, fmt.Errorf("parsing checksum %q: not Q1…, X1… or an MD5 hex string", s)
	}
	return c, nil
}

// SHA1Checksum wraps a raw SHA-1 digest.
func SHA1Checksum(sum []byte) Checksum {
	c := Checksum{Kind: ChecksumSHA1}
	copy(c.Sum[:], sum)
	return c
}

// IsZero reports whether c holds no checksum.
func (c Checksum) IsZero() bool { return c.Kind == ChecksumNone }

// Bytes returns the digest bytes (20 for SHA-1, 16 for MD5, none when unset).
func (c Checksum) Bytes() []byte {
	switch c.Kind {
	case ChecksumSHA1:
		return c.Sum[:]
	case ChecksumMD5:
		return c.Sum[:16]
	}
	return nil
}

// String formats c as apk writes it: "Q1" + base64 for SHA-1, hex for MD5,
// and "" when unset.
func (c Checksum) String() string {
	switch c.Kind {
	case ChecksumSHA1:
		return "Q1" + base64.StdEncoding.EncodeToString(c.Sum[:])
	case ChecksumMD5:
		return hex.EncodeToString(c.Sum[:16])
	}
	return ""
}
