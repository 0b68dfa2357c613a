package apk

import (
	"errors"
	"fmt"
	"sort"
	"strings"
)

// MetadataError reports a field of a package's metadata that apk-tools
// would reject or misread. Field is the .PKGINFO key ("pkgname", "depend",
// …) and Value the bad value, or the bad entry of a list.
type MetadataError struct {
	Field  string
	Value  string
	Reason string
}

// Error names the field, the value and what is wrong with it.
func (e *MetadataError) Error() string {
	return fmt.Sprintf("%s %q: %s", e.Field, e.Value, e.Reason)
}

// knownArchs are the architectures apk-tools 2.14 knows (apk_defines.h),
// and noarch.
var knownArchs = map[string]bool{
	"aarch64": true, "armhf": true, "armv7": true, "loongarch64": true, "mips": true,
	"mips64": true, "mips64el": true, "mipsel": true, "noarch": true, "ppc": true,
	"ppc64": true, "ppc64le": true, "riscv32": true, "riscv64": true, "s390x": true,
	"x86": true, "x86_64": true,
}

// KnownArch reports whether arch is an architecture apk-tools knows, or
// noarch.
func KnownArch(arch string) bool { return knownArchs[arch] }

// KnownArchs lists the names KnownArch accepts, sorted.
func KnownArchs() []string {
	out := make([]string, 0, len(knownArchs))
	for a := range knownArchs {
		out = append(out, a)
	}
	sort.Strings(out)
	return out
}

// ValidName reports whether name is a valid package name: letters, digits
// and "._+-", starting with a letter or a digit (§1.4).
func ValidName(name string) bool {
	if name == "" || !isAlnum(name[0]) {
		return false
	}
	for i := 0; i < len(name); i++ {
		if c := name[i]; !isAlnum(c) && !strings.ContainsRune("._+-", rune(c)) {
			return false
		}
	}
	return true
}

func isAlnum(c byte) bool { return isDigit(c) || isLower(c) || 'A' <= c && c <= 'Z' }

// CheckMetadata checks what apk-tools relies on in a package's metadata:
// the name, the version, the arch, and every entry of depend, provides,
// replaces and install_if. The error is a *MetadataError for the first bad
// field.
func CheckMetadata(p *Package) error {
	switch {
	case !ValidName(p.Name):
		return &MetadataError{"pkgname", p.Name, "a package name holds letters, digits and " +
			`"._+-" and starts with a letter or a digit`}
	case !ValidVersion(p.Version):
		return &MetadataError{"pkgver", p.Version, "not a valid apk version; write digits " +
			"and dots, an optional letter, _suffixes and a revision, e.g. 1.2.3-r0"}
	case !KnownArch(p.Arch):
		return &MetadataError{"arch", p.Arch, "not an apk architecture; use one of " +
			strings.Join(KnownArchs(), ", ")}
	}
	for _, list := range []struct{ field, value string }{
		{"depend", p.Depends}, {"provides", p.Provides},
		{"replaces", p.Replaces}, {"install_if", p.InstallIf},
	} {
		for _, e := range ListFields(list.value) {
			c, err := ParseConstraint(e)
			var ce *ConstraintError
			if errors.As(err, &ce) {
				reason := ce.Reason
				if ce.Err != nil {
					reason += ": " + ce.Err.Error()
				}
				return &MetadataError{list.field, e, reason}
			}
			if list.field == "provides" && (c.Conflict || c.Tag != "" ||
				c.Op != VersionAny && c.Op != VersionEqual) {
				return &MetadataError{list.field, e, "a provide is a name or name=version"}
			}
		}
	}
	return nil
}
