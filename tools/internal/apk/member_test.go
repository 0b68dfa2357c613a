package apk

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"os"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/rules-apk/rules_apk/tools/internal/testutil"
)

type member struct {
	End     int64  // raw end offset
	Size    int64  // decompressed size
	RawHash string // sha256 of the raw member bytes
}

func readMembers(t *testing.T, r io.Reader, limit int64) ([]member, error) {
	t.Helper()
	m := NewMemberReader(r)
	var got []member
	for {
		h := sha256.New()
		data, err := m.Next(h, limit)
		if errors.Is(err, io.EOF) {
			return got, nil
		}
		if err != nil {
			return got, err
		}
		n, err := io.Copy(io.Discard, data)
		if err != nil {
			return got, err
		}
		got = append(got, member{m.Offset(), n, hex.EncodeToString(h.Sum(nil))})
	}
}

// TestMemberBoundariesRealPackage checks the exact member boundaries of the
// real Alpine package (§7: 666 / 1,563 / 8,783 bytes) and that the data
// member's raw SHA-256 is its datahash.
func TestMemberBoundariesRealPackage(t *testing.T) {
	f, err := os.Open(testutil.RealData(t, "alpine-3.16-aarch64", "alpine-baselayout-3.2.0-r23.apk"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	got, err := readMembers(t, f, 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	want := []member{
		{666, 1024, "94cfbd36245da35a7e1d35538c5784020adbf55baae36313c17ed61ee7e480c7"},
		{666 + 1563, 12288, "7d0d786a01bb7bd169c5ecc867e26e705ec1f61b670bcd87ef86c0b499d6001e"},
		{11012, 153600, "1a3a8e47d2287da6d505d973412cee1ad64bcc17bc5995069e4e932055ecb0c4"},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("members (-want +got):\n%s", diff)
	}
}

func TestMemberReaderLimitsAndDamage(t *testing.T) {
	a, b := gz(t, []byte("hello")), gz(t, []byte("world!"))
	stream := append(append([]byte{}, a...), b...)
	tests := []struct {
		name    string
		in      []byte
		limit   int64
		members int
		wantErr error // nil: success
		errText string
	}{
		{"two members", stream, 6, 2, nil, ""},
		{"limit exactly met", a, 5, 1, nil, ""},
		{"limit exceeded", stream, 5, 1, ErrTooLarge, ""},
		{"truncated member", stream[:len(stream)-3], 100, 1, io.ErrUnexpectedEOF, ""},
		{"garbage after members", append(append([]byte{}, stream...), "junk"...), 100, 2, nil, "gzip"},
		{"empty", nil, 100, 0, nil, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := readMembers(t, bytes.NewReader(tt.in), tt.limit)
			switch {
			case tt.wantErr != nil && !errors.Is(err, tt.wantErr):
				t.Errorf("error = %v, want %v", err, tt.wantErr)
			case tt.errText != "" && (err == nil || !bytes.Contains([]byte(err.Error()), []byte(tt.errText))):
				t.Errorf("error = %v, want one mentioning %q", err, tt.errText)
			case tt.wantErr == nil && tt.errText == "" && err != nil:
				t.Errorf("unexpected error %v", err)
			}
			if len(got) != tt.members {
				t.Errorf("read %d complete members, want %d", len(got), tt.members)
			}
		})
	}
}

// TestMemberReaderSkipsUnread checks that Next drains a member the caller
// did not read, and that its sink still gets every raw byte.
func TestMemberReaderSkipsUnread(t *testing.T) {
	a, b := gz(t, []byte("first")), gz(t, []byte("second"))
	m := NewMemberReader(bytes.NewReader(append(append([]byte{}, a...), b...)))
	var rawA bytes.Buffer
	if _, err := m.Next(&rawA, 100); err != nil {
		t.Fatal(err)
	}
	r, err := m.Next(nil, 100)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(rawA.Bytes(), a) {
		t.Errorf("sink got %d bytes, want the %d raw bytes of the first member", rawA.Len(), len(a))
	}
	got, err := io.ReadAll(r)
	if err != nil || string(got) != "second" {
		t.Errorf("second member = %q, %v", got, err)
	}
}
