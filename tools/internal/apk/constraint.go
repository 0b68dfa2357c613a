package apk

import (
	"fmt"
	"strings"
)

// Constraint is one dependency expression (§3.1), as found in D:, p: and i:
// lists, in the world and in a spec's package list:
//
//	[!]name[@tag][op version]
//
// for example "zlib>=1.3.1-r6", "so:libc.so.6", "!busybox", "curl@edge" or
// "foo><Q1…" (a checksum constraint, used for local packages).
type Constraint struct {
	// Name is the package or provided name: "zlib", "so:libc.so.6",
	// "cmd:sh", "/bin/sh", "pc:libcurl".
	Name string
	// Tag is the repository tag written after '@' ("edge" in
	// "curl@edge"), or "".
	Tag string
	// Op is the operator; VersionAny when the constraint has none.
	Op VersionOp
	// Version is the text after the operator, "" for VersionAny. For a
	// checksum constraint it is the canonical text of Checksum.
	Version string
	// Conflict is set by a leading '!': no provider of Name (matching the
	// version, if given) may be installed.
	Conflict bool
	// Checksum is the package checksum of a checksum constraint
	// (Op == VersionChecksum), and zero otherwise.
	Checksum Checksum
}

// ConstraintError reports text that is not a valid constraint. It names the
// input and what is wrong with it.
type ConstraintError struct {
	Constraint string // the input, as given
	Reason     string // what is wrong, and how to write it instead
	Err        error  // the underlying error, if any
}

// Error formats the input, the reason and the underlying error.
func (e *ConstraintError) Error() string {
	msg := fmt.Sprintf("parsing constraint %q: %s", e.Constraint, e.Reason)
	if e.Err != nil {
		msg += ": " + e.Err.Error()
	}
	return msg
}

// Unwrap returns the underlying error.
func (e *ConstraintError) Unwrap() error { return e.Err }

// opChars are the characters of an operator run; the first of them ends the
// name (§3.1).
const opChars = "<=>~"

// constraintParts is a constraint cut into its pieces, before any check.
type constraintParts struct {
	conflict bool
	name     string
	hasTag   bool
	tag      string
	op       string
	version  string
}

// splitConstraint cuts s the way apk-tools 2.14 does
// (package.c:apk_blob_pull_dep): an optional '!', the name up to the first
// operator character, '@' + tag split off the name part, then the whole run
// of operator characters, then the version.
func splitConstraint(s string) constraintParts {
	var p constraintParts
	if rest, ok := strings.CutPrefix(s, "!"); ok {
		p.conflict, s = true, rest
	}
	head := s
	if i := strings.IndexAny(s, opChars); i >= 0 {
		head = s[:i]
		tail := s[i:]
		version := strings.TrimLeft(tail, opChars)
		p.op, p.version = tail[:len(tail)-len(version)], version
	}
	p.name, p.tag, p.hasTag = strings.Cut(head, "@")
	return p
}

// ParseConstraint parses one constraint with the grammar of §3.1.
//
// The name may hold any printable ASCII but the operator characters "<=>~":
// "so:libc.so.6", "/bin/sh", "pc:libcurl", "py3.10:foo[bar]". Any non-empty
// run of '<', '=', '>' and '~' is an operator ("=>" means the same as ">=").
// The version must be valid for apk-tools 2.14 (§4.1), except after "><",
// where it must be a package checksum ("Q1…").
//
// Like apk-tools, it rejects bytes outside printable ASCII. Unlike apk-tools
// it also rejects an empty version after an operator ("foo>="), an empty tag
// ("foo@"), and an invalid version after a run that holds both '<' and '>'
// with '=' or '~' ("foo<=>x"), which apk-tools would accept as "any version".
func ParseConstraint(s string) (Constraint, error) {
	if reason := checkConstraintBytes(s); reason != "" {
		return Constraint{}, &ConstraintError{Constraint: s, Reason: reason}
	}
	p := splitConstraint(s)
	c := Constraint{Name: p.name, Tag: p.tag, Conflict: p.conflict}
	switch {
	case p.name == "":
		return Constraint{}, &ConstraintError{Constraint: s,
			Reason: "missing name; a constraint starts with a package or provided name, " +
				"as in zlib>=1.3 or so:libc.so.6"}
	case p.hasTag && p.tag == "":
		return Constraint{}, &ConstraintError{Constraint: s,
			Reason: "empty repository tag after '@'; write name@tag or drop the '@'"}
	case p.op == "":
		return c, nil
	case p.version == "":
		return Constraint{}, &ConstraintError{Constraint: s,
			Reason: fmt.Sprintf("missing version after operator %q", p.op)}
	}
	c.Op = parseVersionOp(p.op)
	if c.Op == VersionChecksum {
		sum, err := ParseChecksum(p.version)
		if err != nil {
			return Constraint{}, &ConstraintError{Constraint: s,
				Reason: "the \"><\" operator takes a package checksum (Q1 + base64 SHA-1)",
				Err:    err}
		}
		c.Checksum, c.Version = sum, sum.String()
		return c, nil
	}
	if !ValidVersion(p.version) {
		return Constraint{}, &ConstraintError{Constraint: s,
			Reason: fmt.Sprintf("version %q is not valid for apk-tools 2.14 (§4.1); "+
				"write it as digits, dots, an optional letter, _suffixes and -rN", p.version)}
	}
	c.Version = p.version
	return c, nil
}

// checkConstraintBytes returns why s cannot be a constraint because of its
// bytes, or "". apk-tools 2.14 rejects non-ASCII bytes too (its character
// classes stop a name there); spaces and newlines separate constraints.
func checkConstraintBytes(s string) string {
	if s == "" {
		return "empty constraint"
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; c <= ' ' || c >= 0x7f {
			return fmt.Sprintf("byte %q at offset %d is not printable ASCII; "+
				"separate constraints with spaces and write names in ASCII", s[i:i+1], i)
		}
	}
	return ""
}

// ParseConstraints parses a space- or newline-separated list of constraints
// (a D:, p: or i: value, or a world file). An empty list gives no
// constraints and no error. Where apk-tools 2.14 silently drops a malformed
// entry and everything after it, ParseConstraints returns an error naming
// the entry.
func ParseConstraints(list string) ([]Constraint, error) {
	fields := ListFields(list)
	if len(fields) == 0 {
		return nil, nil
	}
	out := make([]Constraint, 0, len(fields))
	for _, f := range fields {
		c, err := ParseConstraint(f)
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, nil
}

// ParseProvide splits one provides entry into the provided name and version:
// "so:libc.so.6=6" gives "so:libc.so.6" and "6"; an unversioned provide such
// as "cmd:foo" gives an empty version. It cuts the entry the way apk-tools
// does for any constraint (an operator other than '=' is accepted, a tag is
// dropped) and does not validate: provides come from indexes and packages,
// which are read leniently.
func ParseProvide(s string) (name, version string) {
	p := splitConstraint(s)
	return p.name, p.version
}

// String formats c so that ParseConstraint(c.String()) returns c. For input
// written the way apk writes constraints it returns that input; an unusual
// operator run comes back in apk's spelling with the same meaning ("=>"
// becomes ">=", "=~" becomes "~"; see [VersionOp.String]).
func (c Constraint) String() string {
	var b strings.Builder
	if c.Conflict {
		b.WriteByte('!')
	}
	b.WriteString(c.Name)
	if c.Tag != "" {
		b.WriteByte('@')
		b.WriteString(c.Tag)
	}
	if c.Op != VersionAny {
		version := c.Version
		if version == "" && c.IsChecksum() {
			version = c.Checksum.String()
		}
		b.WriteString(c.Op.String())
		b.WriteString(version)
	}
	return b.String()
}

// IsChecksum reports whether c is a checksum constraint ("name><Q1…"), which
// names one exact package by its checksum.
func (c Constraint) IsChecksum() bool { return c.Op == VersionChecksum }

// SatisfiedBy reports whether package p provides what c asks for, with
// apk-tools 2.14 semantics (§3.2, package.c:apk_dep_analyze and
// apk_dep_is_provided):
//
//   - when c names p itself, p's own version is compared;
//   - otherwise a provides entry of p with c's name must match, and a
//     versioned constraint is compared against the provided version, not the
//     package version ("so:libz.so.1>=1.3" is not met by "so:libz.so.1=1");
//   - an unversioned provide never satisfies a versioned constraint;
//   - a checksum constraint is met when p's checksum has the same decoded
//     bytes, whichever of p's names it uses.
//
// Conflict is not applied: SatisfiedBy answers whether p matches the
// expression after the '!', and the caller decides what a match of a
// conflict means. Tag is not checked either: whether a package from a
// tagged repository may be chosen is the resolver's pinning rule (§3.3).
func (c Constraint) SatisfiedBy(p *Package) bool {
	if p == nil {
		return false
	}
	if p.Name == c.Name {
		return c.matches(p, p.Version)
	}
	// Most packages provide nothing by c's name; skip splitting the list.
	if !strings.Contains(p.Provides, c.Name) {
		return false
	}
	for _, entry := range ListFields(p.Provides) {
		name, version := ParseProvide(entry)
		if name != c.Name {
			continue
		}
		if version == "" && c.Op != VersionAny && !c.IsChecksum() {
			continue
		}
		if c.matches(p, version) {
			return true
		}
	}
	return false
}

// matches applies c's operator to version, a version of p or one p provides.
func (c Constraint) matches(p *Package, version string) bool {
	switch {
	case c.Op == VersionAny:
		return true
	case c.IsChecksum():
		return !p.Checksum.IsZero() && p.Checksum == c.Checksum
	}
	return MatchVersion(version, c.Op, c.Version)
}
