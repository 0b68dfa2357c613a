package apk

import "strings"

// This file implements apk-tools 2.14 version comparison (§4.1 of
// apk-reference.md; upstream alpinelinux/apk-tools:src/version.c on the
// 2.14-stable branch), which is what Wolfi ships. apk-tools v3 and apko
// answer differently for leading zeros, "~hash" and fuzzy matching (§4.3);
// rules_apk follows 2.14 on purpose.
//
// A version is read as a walk over tokens. Every token is read in a state,
// gives an integer value and moves the walk to its next state. Two versions
// are compared by walking both in lockstep while their states and values
// agree; where they part, the values, then the next states decide.
//
// Worked example, "1.02_rc1" against "1.02" (states in brackets):
//
//	"1.02_rc1": [digit] 1, [digit-or-zero] 0, [digit] 2, [suffix] -1 (rc), [suffix-no] 1, [end]
//	"1.02":     [digit] 1, [digit-or-zero] 0, [digit] 2, [end]
//
// "02" after a dot is a digit-or-zero token. It starts with a zero, so its
// value is minus the number of leading zeros before the last one (here 0),
// and the rest, "2", is read as a separate digit token; ".002" gives -1 then
// 2, which sorts below ".02". The walks agree on 1, 0 and 2; then the first
// goes on to a suffix state and the second ends. The values are equal, the
// next states differ, and the suffix ahead of the first is a pre-release one
// (rc < 0), so "1.02_rc1" < "1.02". Without a pre-release suffix, the side
// whose next state is higher is the smaller one: "1.0" (next: end) is below
// "1.0-r1" (next: revision), and "1.0_p1" (next: suffix p ≥ 0) is above "1.0".

// tokenState is a state of the version walk. The order matters: a walk may
// only move to a state of the same or a higher order, except for the three
// moves allowed by [versionWalker.advance], and the comparison ranks the next
// states by this order.
type tokenState int8

const (
	stateInvalid     tokenState = iota - 1
	stateDigitOrZero            // a component after '.', with leading-zero handling
	stateDigit                  // a run of decimal digits
	stateLetter                 // one lowercase letter, valued by its character code
	stateSuffix                 // "_" + a suffix name, matched by prefix
	stateSuffixNo               // the digits after a suffix name
	stateRevisionNo             // the digits after "-r"
	stateEnd
)

// maxDigits is the length from which 2.14 rejects a digit run; it also keeps
// every value inside an int64.
const maxDigits = 18

// Suffix names, matched as prefixes in this order (§4.1): pre-release ones
// sort below "no suffix" (values -4..-1), the others above it (values 0..4).
var (
	preSuffixes  = [...]string{"alpha", "beta", "pre", "rc"}
	postSuffixes = [...]string{"cvs", "svn", "git", "hg", "p"}
)

// versionWalker holds the unread rest of a version and the state in which
// its next token is read.
type versionWalker struct {
	rest  string
	state tokenState
}

func newVersionWalker(v string) versionWalker {
	return versionWalker{rest: v, state: stateDigit}
}

// token reads the token of the current state, returns its value and moves to
// the next state. An invalid token has the value -1 and the state
// stateInvalid, as in 2.14.
func (w *versionWalker) token() int64 {
	if w.rest == "" {
		w.state = stateEnd
		return 0
	}
	v, n, forced := w.read()
	if n < 0 {
		w.state = stateInvalid
		return -1
	}
	w.rest = w.rest[n:]
	switch {
	case w.rest == "":
		w.state = stateEnd
	case forced != stateInvalid:
		w.state = forced
	default:
		w.advance()
	}
	return v
}

// read returns the value of the token at the start of w.rest, its length
// (negative when invalid) and, for leading zeros, the state forced next.
func (w *versionWalker) read() (v int64, n int, forced tokenState) {
	s := w.rest
	switch w.state {
	case stateDigitOrZero:
		if s[0] == '0' {
			// All leading zeros but the last count, negatively; the rest,
			// including that last zero, is read as a digit token:
			// ".001" gives -1 then 1, ".012" gives 0 then 12.
			z := 0
			for z+1 < len(s) && s[z+1] == '0' {
				z++
			}
			return -int64(z), z, stateDigit
		}
		v, n = readDigits(s)
	case stateDigit, stateSuffixNo, stateRevisionNo:
		v, n = readDigits(s)
	case stateLetter:
		v, n = int64(s[0]), 1
	case stateSuffix:
		v, n = readSuffix(s)
	default:
		n = -1
	}
	return v, n, stateInvalid
}

// readDigits reads a run of decimal digits, possibly empty: 2.14 accepts
// ".1" and "a", whose first digit run is empty.
func readDigits(s string) (v int64, n int) {
	for n < len(s) && isDigit(s[n]) {
		v = v*10 + int64(s[n]-'0')
		n++
	}
	if n >= maxDigits {
		return 0, -1
	}
	return v, n
}

// readSuffix matches a suffix name as a prefix of s: "_pre2" and "_p2" are
// read as pre and p, and "_patch1" as p followed by an invalid "atch1".
func readSuffix(s string) (v int64, n int) {
	for i, name := range preSuffixes {
		if strings.HasPrefix(s, name) {
			return int64(i - len(preSuffixes)), len(name)
		}
	}
	for i, name := range postSuffixes {
		if strings.HasPrefix(s, name) {
			return int64(i), len(name)
		}
	}
	return 0, -1
}

// advance picks the next state from the next character, consuming it when it
// is a separator.
func (w *versionWalker) advance() {
	c := w.rest[0]
	var next tokenState
	switch {
	case (w.state == stateDigit || w.state == stateDigitOrZero) && isLower(c):
		next = stateLetter
	case w.state == stateLetter && isDigit(c):
		next = stateDigit // so "0.1a1" is valid in 2.14
	case w.state == stateSuffix && isDigit(c):
		next = stateSuffixNo
	default:
		next = w.separator()
	}
	// Moving back is invalid except to start a new component ("1.2",
	// "_alpha1_pre2", "a1"). Equal states are fine: "_alpha_pre" and even
	// "-r2-r3" are valid in 2.14.
	if next < w.state && !(w.state == stateDigit && next == stateDigitOrZero ||
		w.state == stateSuffixNo && next == stateSuffix ||
		w.state == stateLetter && next == stateDigit) {
		next = stateInvalid
	}
	w.state = next
}

// separator consumes '.', '_' or "-r" and returns the state it leads to.
func (w *versionWalker) separator() tokenState {
	c := w.rest[0]
	w.rest = w.rest[1:]
	switch {
	case c == '.':
		return stateDigitOrZero
	case c == '_':
		return stateSuffix
	case c == '-' && strings.HasPrefix(w.rest, "r"):
		w.rest = w.rest[1:]
		return stateRevisionNo
	}
	return stateInvalid
}

// preRelease reports whether the walk is about to read a suffix whose value
// is negative: a pre-release suffix, or an unknown (invalid) one.
func (w versionWalker) preRelease() bool {
	return w.state == stateSuffix && w.token() < 0
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }
func isLower(c byte) bool { return 'a' <= c && c <= 'z' }

// ValidVersion reports whether v is a valid version for apk-tools 2.14
// (§4.1). 2.14 is permissive: "0.1a1", "0.1-r", "0.1-r2-r3", ".1", "a" and
// "0.1_" are valid; "1.0~1234abcd" (v3's commit-hash syntax) is not.
//
// One deliberate difference: 2.14's validator accepts the empty string, and
// so would accept "foo>=" as a constraint; ValidVersion rejects it because an
// empty version is always a mistake.
func ValidVersion(v string) bool {
	if v == "" {
		return false
	}
	w := newVersionWalker(v)
	for w.state != stateEnd && w.state != stateInvalid {
		w.token()
	}
	return w.state == stateEnd
}

// CompareVersions compares two versions with apk-tools 2.14 semantics (§4.1)
// and returns -1 when a < b, 0 when they are equal and +1 when a > b.
//
// Invalid versions are compared the way 2.14 compares them: the walk stops
// at the first invalid token, so "1.0~1234" and "1.0~2345" are equal, and
// "1.0" < "1.0bc". See the comment at the top of this file for a worked
// example of the walk.
func CompareVersions(a, b string) int {
	if a == b {
		return 0
	}
	return compareVersions(a, b, false)
}

// compareVersions walks a and b in lockstep. With fuzzy, versions whose
// walks agree up to where one of them stops or diverges in kind are equal:
// "3.8" and "3.8.1" (the 2.14 meaning of "~", §4.1).
func compareVersions(a, b string, fuzzy bool) int {
	wa, wb := newVersionWalker(a), newVersionWalker(b)
	var va, vb int64
	for wa.state == wb.state && wa.state != stateEnd && wa.state != stateInvalid && va == vb {
		va, vb = wa.token(), wb.token()
	}
	switch {
	case va < vb:
		return -1
	case va > vb:
		return 1
	case wa.state == wb.state || fuzzy:
		return 0
	case wa.preRelease():
		return -1
	case wb.preRelease():
		return 1
	case wa.state > wb.state:
		return -1
	}
	return 1
}

// VersionOp is the operator of a constraint as a set of the comparison
// results it accepts (§3.1). The bit values are apk-tools'.
type VersionOp uint8

// Operator bits. VersionFuzzy always comes with VersionEqual ("~" sets both);
// VersionChecksum, the pair "><", marks a constraint whose version is a
// package checksum rather than a version.
const (
	VersionAny     VersionOp = 0 // no operator: any version
	VersionEqual   VersionOp = 1 << 0
	VersionLess    VersionOp = 1 << 1
	VersionGreater VersionOp = 1 << 2
	VersionFuzzy   VersionOp = 1 << 3

	VersionChecksum = VersionLess | VersionGreater
)

// String writes op the way apk writes it: "=", "<", ">", "<=", ">=", "~",
// "<~", ">~", "><", and "" for VersionAny. Other sets, which only come from
// unusual operator runs such as "<=>", are written as ">" "<" "=" "~" in that
// order of whichever bits are set, which parses back to the same set.
func (op VersionOp) String() string {
	var b [3]byte
	s := b[:0]
	if op&VersionGreater != 0 {
		s = append(s, '>')
	}
	if op&VersionLess != 0 {
		s = append(s, '<')
	}
	switch {
	case op&VersionFuzzy != 0:
		s = append(s, '~')
	case op&VersionEqual != 0:
		s = append(s, '=')
	}
	return string(s)
}

// parseVersionOp turns a run of '<', '=', '>' and '~' into its bits.
func parseVersionOp(run string) VersionOp {
	var op VersionOp
	for i := 0; i < len(run); i++ {
		switch run[i] {
		case '<':
			op |= VersionLess
		case '>':
			op |= VersionGreater
		case '=':
			op |= VersionEqual
		case '~':
			op |= VersionFuzzy | VersionEqual
		}
	}
	return op
}

// MatchVersion reports whether version a satisfies "op b", with 2.14
// semantics (§4.1): VersionAny matches everything, and a fuzzy operator
// treats an equal prefix as equal in either direction, so "3.8" satisfies
// "~3.8.1" as well as "3.8.1" satisfies "~3.8".
//
// The checksum operator compares versions like any other set of bits (it
// matches a different version); checksum constraints are matched by
// [Constraint.SatisfiedBy] against the package checksum instead.
func MatchVersion(a string, op VersionOp, b string) bool {
	if op == VersionAny {
		return true
	}
	fuzzy := op&VersionFuzzy != 0
	if fuzzy {
		op |= VersionEqual
	}
	switch compareVersions(a, b, fuzzy) {
	case -1:
		return op&VersionLess != 0
	case 1:
		return op&VersionGreater != 0
	}
	return op&VersionEqual != 0
}

// SplitNameVersion splits "name-version" (a package file name without
// ".apk", or apk's printed form) at the last '-' followed by a digit:
// "foo-bar-1.2-r0" gives "foo-bar" and "1.2-r0". ok is false when there is
// no such '-' or the name would be empty. The version is not validated.
func SplitNameVersion(s string) (name, version string, ok bool) {
	for i := len(s) - 2; i > 0; i-- {
		if s[i] == '-' && isDigit(s[i+1]) {
			return s[:i], s[i+1:], true
		}
	}
	return "", "", false
}
