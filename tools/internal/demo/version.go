package demo

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/rules-apk/rules_apk/tools/internal/apk"
)

// APKVersion maps a Debian version to the apk version of its repacked
// package (§4 of apk-reference.md). The rule, applied to
// [epoch:]upstream[-revision]:
//
//   - the epoch is dropped;
//   - the upstream part keeps its leading run of dot-separated numbers,
//     plus one lower-case letter right after it when nothing alphanumeric
//     follows that letter (OpenSSL's "1.1.1w"); the rest ("+dfsg2",
//     ".dfsg", "~deb12u2", "+20151223.git…") is dropped;
//   - the apk revision is r(100·B + S), where B is the leading number of
//     the Debian revision (0 for a native package) and S is the last number
//     in what follows it (the stable update of "+deb12u14", the binNMU of
//     "+b2", the ".1" of a non-maintainer upload; for a native package, what
//     follows the kept upstream part), or 0.
//
// Examples: "2.36-9+deb12u14" → "2.36-r914"; "1:1.2.13.dfsg-1+deb12u1" →
// "1.2.13-r101"; "20250419~deb12u2" → "20250419-r2"; "2.40-2" →
// "2.40-r200"; "1.47.0-2+b2" → "1.47.0-r202"; "0.25-1.1" → "0.25-r101".
func APKVersion(debian string) (string, error) {
	v := debian
	if _, rest, ok := strings.Cut(v, ":"); ok {
		v = rest
	}
	upstream, revision, hasRevision := v, "", false
	if i := strings.LastIndexByte(v, '-'); i >= 0 {
		upstream, revision, hasRevision = v[:i], v[i+1:], true
	}
	core := upstreamCore(upstream)
	if core == "" {
		return "", fmt.Errorf("mapping Debian version %q: the upstream part does not start "+
			"with a number", debian)
	}
	base, rest := 0, upstream[len(core):]
	if hasRevision {
		digits := leadingDigits(revision)
		if digits == "" {
			return "", fmt.Errorf("mapping Debian version %q: the revision %q does not start "+
				"with a number", debian, revision)
		}
		b, err := strconv.Atoi(digits)
		if err != nil || b > 1e9 {
			return "", fmt.Errorf("mapping Debian version %q: the revision number %s is too "+
				"large", debian, digits)
		}
		base, rest = b, revision[len(digits):]
	}
	update := lastNumber(rest)
	if update >= 100 {
		return "", fmt.Errorf("mapping Debian version %q: update number %d is 100 or more, "+
			"which the revision rule cannot encode", debian, update)
	}
	v = fmt.Sprintf("%s-r%d", core, 100*base+update)
	if !apk.ValidVersion(v) {
		// apk-tools 2.14 rejects digit runs of 18 or more (§4.1).
		return "", fmt.Errorf("mapping Debian version %q: %q is not a valid apk version",
			debian, v)
	}
	return v, nil
}

// BumpRevision returns version with its -rN revision raised by n, as the v2
// snapshot does for the packages it updates.
func BumpRevision(version string, n int) (string, error) {
	i := strings.LastIndex(version, "-r")
	if i < 0 {
		return "", fmt.Errorf("bumping version %q: it has no -r revision", version)
	}
	r, err := strconv.Atoi(version[i+2:])
	if err != nil {
		return "", fmt.Errorf("bumping version %q: %w", version, err)
	}
	return fmt.Sprintf("%s-r%d", version[:i], r+n), nil
}

// upstreamCore returns the part of a Debian upstream version APKVersion
// keeps.
func upstreamCore(s string) string {
	n := len(leadingDigits(s))
	if n == 0 {
		return ""
	}
	for n+1 < len(s) && s[n] == '.' && isDigit(s[n+1]) {
		n += 1 + len(leadingDigits(s[n+1:]))
	}
	if n < len(s) && s[n] >= 'a' && s[n] <= 'z' && (n+1 == len(s) || !isAlnum(s[n+1])) {
		n++
	}
	return s[:n]
}

// leadingDigits returns the decimal digits s starts with.
func leadingDigits(s string) string {
	n := 0
	for n < len(s) && isDigit(s[n]) {
		n++
	}
	return s[:n]
}

// lastNumber returns the value of the last run of digits in s, or 0.
func lastNumber(s string) int {
	end := len(s)
	for end > 0 && !isDigit(s[end-1]) {
		end--
	}
	start := end
	for start > 0 && isDigit(s[start-1]) {
		start--
	}
	if start == end {
		return 0
	}
	n, _ := strconv.Atoi(s[start:end])
	return n
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

func isAlnum(c byte) bool { return isDigit(c) || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }
