package deps

import (
	"strings"
)

// maxDigitRun is the longest run of digits apk-tools 2.14 accepts in a
// version component: 18 digits or more make the version invalid (§4.1).
const maxDigitRun = 17

// versionSuffixes are the suffixes apk versions may carry after "_" (§4).
var versionSuffixes = []string{"alpha", "beta", "pre", "rc", "cvs", "svn", "git", "hg", "p"}

// validVersion reports whether v is an apk version that both apk-tools 2.14
// and apk-tools v3 accept (§4.1, §4.2):
//
//	number{.number}[letter]{_suffix[number]}[-r number]
//
// It is stricter than 2.14 on purpose: what this package writes into
// .PKGINFO must parse the same everywhere, so "0.1a1", "1.0_" and "~hash"
// forms are refused.
func validVersion(v string) bool {
	rest, ok := cutDigits(v)
	if !ok {
		return false
	}
	for strings.HasPrefix(rest, ".") {
		if rest, ok = cutDigits(rest[1:]); !ok {
			return false
		}
	}
	if rest != "" && rest[0] >= 'a' && rest[0] <= 'z' {
		rest = rest[1:]
	}
	for strings.HasPrefix(rest, "_") {
		if rest, ok = cutSuffix(rest[1:]); !ok {
			return false
		}
	}
	if r, found := strings.CutPrefix(rest, "-r"); found {
		rest, ok = cutDigits(r)
		if !ok {
			return false
		}
	}
	return rest == ""
}

// cutDigits removes a non-empty run of at most maxDigitRun digits from the
// front of s.
func cutDigits(s string) (rest string, ok bool) {
	n := 0
	for n < len(s) && s[n] >= '0' && s[n] <= '9' {
		n++
	}
	return s[n:], n > 0 && n <= maxDigitRun
}

// cutSuffix removes a version suffix and its optional number from the front
// of s. The longest suffix is tried first so that "pre" is not read as "p".
func cutSuffix(s string) (rest string, ok bool) {
	best := ""
	for _, suf := range versionSuffixes {
		if strings.HasPrefix(s, suf) && len(suf) > len(best) {
			best = suf
		}
	}
	if best == "" {
		return s, false
	}
	rest = s[len(best):]
	if rest != "" && rest[0] >= '0' && rest[0] <= '9' {
		return cutDigits(rest)
	}
	return rest, true
}

// sanitisePCVersion turns a pkg-config Version into an apk version, or
// returns ok=false when it cannot do so safely. The only rewrite is the one
// abuild and early melange made: a pre-release written "-alpha", "-beta",
// "-rc" or "-pre" becomes the apk suffix "_alpha"… ("2.0-rc1" → "2.0_rc1").
// Anything else that is not a valid version ("1.0+git", "3.0.0-dev") is
// refused rather than guessed at, because a wrong provided version silently
// breaks versioned constraints (§3.2).
func sanitisePCVersion(v string) (string, bool) {
	v = strings.TrimSpace(v)
	for _, pre := range []string{"alpha", "beta", "rc", "pre"} {
		v = strings.ReplaceAll(v, "-"+pre, "_"+pre)
	}
	return v, validVersion(v)
}

// sonameLibver is the version Wolfi's melange gives a so: provide
// (melange pkg/sca/sca.go sonameLibver, §3.1): the text between the first
// ".so." of the SONAME and the next ".so." if any, when it is a valid
// version made of digits and dots; "0" otherwise.
//
//	libcurl.so.4             → 4
//	libc.so.6                → 6
//	ld-linux-x86-64.so.2     → 2
//	libfoo.so.1.2.3          → 1.2.3
//	libldap-2.5.so.0         → 0
//	libfoo.so, ld-linux      → 0 (nothing after ".so")
//	libweird.so.1a, libx.so. → 0 (not digits and dots, or empty)
//
// melange accepts any run of digits and dots, including "" and "1..2"; those
// would put an invalid version into .PKGINFO, so they give "0" here.
func sonameLibver(soname string) string {
	parts := strings.SplitN(soname, ".so.", 3)
	if len(parts) < 2 {
		return "0"
	}
	ver := parts[1]
	if strings.Trim(ver, "0123456789.") != "" || !validVersion(ver) {
		return "0"
	}
	return ver
}

// validName reports whether s can be written as the name part of a
// provides or depend entry: apk ends a name at the first of "<=>~"
// and splits "@tag" off it (§3.1), and entries are separated by white
// space, so none of those may appear in a name we write.
func validName(s string) bool {
	if s == "" || s[0] == '!' {
		return false
	}
	for _, r := range s {
		if r <= ' ' || r == 0x7f || strings.ContainsRune("<=>~@", r) {
			return false
		}
	}
	return true
}
