package image

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// ociArchitectures are the architecture values of image-spec config.md
// (Go's GOARCH names) that APK distributions build for.
var ociArchitectures = map[string]bool{
	"amd64": true, "arm64": true, "arm": true, "386": true, "ppc64le": true,
	"s390x": true, "riscv64": true, "loong64": true, "mips64le": true,
}

// apkArchitectures maps APK architecture names (apk-reference.md, the
// arch field of §1.4, and §2.3) to the OCI platform a user most likely meant.
var apkArchitectures = map[string]string{
	"x86_64": "linux/amd64", "aarch64": "linux/arm64", "armv7": "linux/arm/v7",
	"armhf": "linux/arm/v6", "x86": "linux/386", "loongarch64": "linux/loong64",
}

var variantRE = regexp.MustCompile(`^v[0-9]+$`)

// ParsePlatform reads an OCI platform written os/architecture[/variant],
// e.g. linux/amd64 or linux/arm/v7. The os must be linux (APK packages hold
// Linux binaries) and the architecture an OCI name; an APK name such as
// x86_64 gets an error naming the OCI one.
func ParsePlatform(s string) (v1.Platform, error) {
	parts := strings.Split(s, "/")
	if len(parts) < 2 || len(parts) > 3 {
		return v1.Platform{}, fmt.Errorf("parsing platform %q: want os/architecture[/variant], "+
			"e.g. linux/amd64 or linux/arm/v7", s)
	}
	p := v1.Platform{OS: parts[0], Architecture: parts[1]}
	if len(parts) == 3 {
		p.Variant = parts[2]
	}
	if p.OS != "linux" {
		return v1.Platform{}, fmt.Errorf("parsing platform %q: os %q is not linux; "+
			"images of APK packages are linux images", s, p.OS)
	}
	if want, ok := apkArchitectures[p.Architecture]; ok {
		return v1.Platform{}, fmt.Errorf("parsing platform %q: %s is an APK architecture; "+
			"the OCI platform is %s", s, p.Architecture, want)
	}
	if !ociArchitectures[p.Architecture] {
		return v1.Platform{}, fmt.Errorf("parsing platform %q: unknown architecture %q "+
			"(want amd64, arm64, arm, 386, ppc64le, s390x, riscv64, loong64 or mips64le)",
			s, p.Architecture)
	}
	if len(parts) == 3 && !variantRE.MatchString(p.Variant) {
		return v1.Platform{}, fmt.Errorf("parsing platform %q: variant %q is not v<N>, "+
			"e.g. v7 or v8", s, p.Variant)
	}
	return p, nil
}

// FormatPlatform writes a platform as ParsePlatform reads it.
func FormatPlatform(p v1.Platform) string {
	s := p.OS + "/" + p.Architecture
	if p.Variant != "" {
		s += "/" + p.Variant
	}
	return s
}

// ParseCreated reads an image creation time: seconds since the unix epoch
// (as SOURCE_DATE_EPOCH holds them) or an RFC 3339 time. The result is in
// UTC so that the config does not depend on the machine's time zone.
func ParseCreated(s string) (time.Time, error) {
	if secs, err := strconv.ParseInt(s, 10, 64); err == nil {
		return time.Unix(secs, 0).UTC(), nil
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("parsing creation time %q: want seconds since the "+
			"unix epoch or an RFC 3339 time such as 2024-01-02T03:04:05Z", s)
	}
	return t.UTC(), nil
}
