package image

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	v1 "github.com/google/go-containerregistry/pkg/v1"
)

func TestParsePlatform(t *testing.T) {
	tests := []struct {
		in      string
		want    v1.Platform
		wantErr string
	}{
		{in: "linux/amd64", want: v1.Platform{OS: "linux", Architecture: "amd64"}},
		{in: "linux/arm64/v8", want: v1.Platform{OS: "linux", Architecture: "arm64", Variant: "v8"}},
		{in: "linux/arm/v7", want: v1.Platform{OS: "linux", Architecture: "arm", Variant: "v7"}},
		{in: "linux", wantErr: "want os/architecture[/variant]"},
		{in: "linux/amd64/v1/x", wantErr: "want os/architecture[/variant]"},
		{in: "windows/amd64", wantErr: `os "windows" is not linux`},
		{in: "linux/x86_64", wantErr: "x86_64 is an APK architecture; the OCI platform is linux/amd64"},
		{in: "linux/aarch64", wantErr: "the OCI platform is linux/arm64"},
		{in: "linux/sparc", wantErr: `unknown architecture "sparc"`},
		{in: "linux/", wantErr: `unknown architecture ""`},
		{in: "linux/arm/7", wantErr: `variant "7" is not v<N>`},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParsePlatform(tt.in)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("ParsePlatform(%q) = %v, %v; want an error containing %q",
						tt.in, got, err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("ParsePlatform(%q) (-want +got):\n%s", tt.in, diff)
			}
			if s := FormatPlatform(got); s != tt.in {
				t.Errorf("FormatPlatform = %q, want %q", s, tt.in)
			}
		})
	}
}

func TestParseCreated(t *testing.T) {
	tests := []struct {
		in      string
		want    time.Time
		wantErr bool
	}{
		{in: "0", want: time.Unix(0, 0).UTC()},
		{in: "1700000000", want: time.Date(2023, 11, 14, 22, 13, 20, 0, time.UTC)},
		{in: "2024-01-02T03:04:05Z", want: time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC)},
		{in: "2024-01-02T04:04:05+01:00", want: time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC)},
		{in: "2024-01-02", wantErr: true},
		{in: "yesterday", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParseCreated(tt.in)
			if (err != nil) != tt.wantErr {
				t.Fatalf("ParseCreated(%q) error %v, want error %v", tt.in, err, tt.wantErr)
			}
			if !got.Equal(tt.want) || (err == nil && got.Location() != time.UTC) {
				t.Errorf("ParseCreated(%q) = %v, want %v", tt.in, got, tt.want)
			}
		})
	}
}
