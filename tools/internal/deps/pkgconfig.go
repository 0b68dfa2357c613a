package deps

import (
	"errors"
	"fmt"
	"strings"
)

const (
	// maxPCValue bounds the length of one expanded pkg-config value.
	// Variables expand into each other, so "a=${b}${b}" chains grow
	// exponentially; real files stay far below this.
	maxPCValue = 64 << 10
	// maxPCTotal bounds all expanded values of one file together, so that
	// many short lines each expanding a large variable cannot use
	// gigabytes.
	maxPCTotal = 1 << 20
)

// ErrPCValueTooLarge reports a pkg-config file whose variables expand past
// 64 KiB in one value or 1 MiB in all, which only a crafted file does.
var ErrPCValueTooLarge = errors.New("pkg-config variables expand past 64 KiB in one value " +
	"or 1 MiB in all")

// PC is what this package reads from a pkg-config (.pc) file: the fields
// that define the module's identity and its requirements, with variables
// expanded.
//
// The syntax is pkg-config's (freedesktop pkg-config parse.c, also accepted
// by pkgconf): "name=value" defines a variable, "Keyword: value" a field,
// "#" starts a comment unless written "\#", and a backslash at the end of a
// line continues it. ${var} is replaced by the variable's value as defined
// so far and "$$" by "$".
type PC struct {
	// Name is the Name: field (free text, not the module name: the module
	// name is the file's stem).
	Name string
	// Version is the Version: field as written, after expansion.
	Version string
	// Requires lists the modules of the Requires: field.
	Requires []PCRequirement
	// RequiresPrivate lists the modules of the Requires.private: field.
	RequiresPrivate []PCRequirement
	// Variables holds the variables the file defines, expanded.
	Variables map[string]string
	// Warnings lists what was tolerated: undefined variables (expanded to
	// nothing, as pkg-config does), repeated fields and variables,
	// unknown comparison operators and constraints without a version.
	Warnings []string
}

// PCRequirement is one module of a Requires or Requires.private list, such
// as "libssl >= 3.0".
type PCRequirement struct {
	// Module is the required module's name ("libssl").
	Module string
	// Op is one of "=", "!=", "<", "<=", ">", ">=", or "" for any version.
	Op string
	// Version is the pkg-config version after Op, empty when Op is.
	Version string
}

// pcOps are the comparison operators pkg-config knows.
var pcOps = map[string]bool{"=": true, "!=": true, "<": true, "<=": true, ">": true, ">=": true}

// ParsePC parses the text of a .pc file. predefined holds the variables
// pkg-config defines before reading a file (pcfiledir, pc_sysrootdir); the
// file's own definitions take precedence. Only runaway variable expansion
// makes it fail ([ErrPCValueTooLarge]); everything else that pkg-config
// would tolerate is tolerated and noted in PC.Warnings.
func ParsePC(data []byte, predefined map[string]string) (*PC, error) {
	p := &pcParser{
		pc:         &PC{Variables: map[string]string{}},
		predefined: predefined,
		budget:     maxPCTotal,
	}
	for i, line := range pcLines(data) {
		if err := p.line(line); err != nil {
			return nil, fmt.Errorf("parsing .pc line %d: %w", i+1, err)
		}
	}
	return p.pc, nil
}

// pcParser holds the state of one ParsePC call.
type pcParser struct {
	pc         *PC
	predefined map[string]string
	seen       map[string]bool // fields already read, lower-case
	budget     int             // bytes of expanded values still allowed
}

// line handles one logical line: a variable definition, a field, or
// anything else, which pkg-config ignores.
func (p *pcParser) line(line string) error {
	line = strings.TrimLeft(line, " \t\v\f")
	n := 0
	for n < len(line) && isPCTagByte(line[n]) {
		n++
	}
	tag := line[:n]
	rest := strings.TrimLeft(line[n:], " \t\v\f")
	if tag == "" || rest == "" || (rest[0] != ':' && rest[0] != '=') {
		return nil
	}

	// Values are expanded when they are read, as pkg-config does, so a
	// variable refers to the definitions above it only.
	value, err := p.expand(strings.TrimSpace(rest[1:]))
	if err != nil {
		return err
	}
	if rest[0] == '=' {
		if _, dup := p.pc.Variables[tag]; dup {
			p.warnf("variable %q is defined twice; the last definition wins", tag)
		}
		p.pc.Variables[tag] = value
		return nil
	}
	p.field(tag, value)
	return nil
}

// field records a keyword line. Keywords match case-insensitively, as in
// pkgconf; fields this package does not use are ignored.
func (p *pcParser) field(tag, value string) {
	key := strings.ToLower(tag)
	if p.seen == nil {
		p.seen = map[string]bool{}
	}
	dup := p.seen[key]
	p.seen[key] = true
	switch key {
	case "name", "version":
		if dup {
			p.warnf("field %s occurs twice; the first one is used", tag)
			return
		}
		if key == "name" {
			p.pc.Name = value
		} else {
			p.pc.Version = value
		}
	case "requires":
		p.pc.Requires = append(p.pc.Requires, p.requirements(value)...)
	case "requires.private":
		p.pc.RequiresPrivate = append(p.pc.RequiresPrivate, p.requirements(value)...)
	}
}

// expand replaces ${var} and $$ in s. An undefined variable becomes empty
// and is noted; an unterminated "${" is kept as written.
func (p *pcParser) expand(s string) (string, error) {
	var b strings.Builder
	for {
		i := strings.IndexByte(s, '$')
		if i < 0 || i == len(s)-1 {
			b.WriteString(s)
			break
		}
		b.WriteString(s[:i])
		switch s[i+1] {
		case '$':
			b.WriteByte('$')
			s = s[i+2:]
		case '{':
			name, after, ok := strings.Cut(s[i+2:], "}")
			if !ok {
				b.WriteString(s[i:])
				s = ""
				break
			}
			b.WriteString(p.lookup(name))
			s = after
		default:
			b.WriteByte('$')
			s = s[i+1:]
		}
		if b.Len() > maxPCValue {
			return "", ErrPCValueTooLarge
		}
	}
	if p.budget -= b.Len(); b.Len() > maxPCValue || p.budget < 0 {
		return "", ErrPCValueTooLarge
	}
	return b.String(), nil
}

// lookup returns the value of a variable, the file's definitions first.
func (p *pcParser) lookup(name string) string {
	if v, ok := p.pc.Variables[name]; ok {
		return v
	}
	if v, ok := p.predefined[name]; ok {
		return v
	}
	p.warnf("variable %q is not defined; it expands to nothing", name)
	return ""
}

// requirements splits a Requires list into modules. Modules are separated
// by commas or white space; each may be followed by an operator and a
// version, with or without spaces around the operator ("a>=1", "a >= 1").
func (p *pcParser) requirements(s string) []PCRequirement {
	var reqs []PCRequirement
	for {
		s = strings.TrimLeft(s, ", \t\v\f\r\n")
		if s == "" {
			return reqs
		}
		var r PCRequirement
		r.Module, s = cutUntil(s, isPCSeparator, isPCOpByte)
		s = strings.TrimLeft(s, " \t\v\f")
		if s != "" && isPCOpByte(s[0]) {
			r.Op, s = cutUntil(s, func(c byte) bool { return !isPCOpByte(c) })
			s = strings.TrimLeft(s, " \t\v\f")
			r.Version, s = cutUntil(s, isPCSeparator)
		}
		if r, ok := p.checkRequirement(r); ok {
			reqs = append(reqs, r)
		}
	}
}

// checkRequirement drops what pkg-config would reject: a constraint without
// a module name is skipped; an unknown operator or a missing version leaves
// the module unconstrained.
func (p *pcParser) checkRequirement(r PCRequirement) (PCRequirement, bool) {
	switch {
	case r.Module == "":
		p.warnf("constraint %q names no module; it is skipped", r.Op+r.Version)
		return r, false
	case r.Op == "":
		return r, true
	case !pcOps[r.Op]:
		p.warnf("module %s: unknown operator %q; any version is accepted", r.Module, r.Op)
	case r.Version == "":
		p.warnf("module %s: operator %q has no version; any version is accepted",
			r.Module, r.Op)
	default:
		return r, true
	}
	return PCRequirement{Module: r.Module}, true
}

// warnf notes something ParsePC tolerated.
func (p *pcParser) warnf(format string, args ...any) {
	p.pc.Warnings = append(p.pc.Warnings, fmt.Sprintf(format, args...))
}

// cutUntil splits s before the first byte for which any stop function
// returns true.
func cutUntil(s string, stops ...func(byte) bool) (head, tail string) {
	for i := 0; i < len(s); i++ {
		for _, stop := range stops {
			if stop(s[i]) {
				return s[:i], s[i:]
			}
		}
	}
	return s, ""
}

// isPCTagByte reports whether c may appear in a variable or field name.
func isPCTagByte(c byte) bool {
	return c == '_' || c == '.' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		(c >= '0' && c <= '9')
}

// isPCSeparator reports whether c separates modules in a Requires list.
func isPCSeparator(c byte) bool {
	return c == ',' || c == ' ' || c == '\t' || c == '\v' || c == '\f' || c == '\r' || c == '\n'
}

// isPCOpByte reports whether c belongs to a comparison operator.
func isPCOpByte(c byte) bool { return c == '<' || c == '>' || c == '=' || c == '!' }

// pcLines splits a .pc file into logical lines: comments removed, "\#"
// read as "#", and a backslash before a line end joining the next line.
// "\n", "\r\n" and "\r" all end a line.
func pcLines(data []byte) []string {
	var lines []string
	var b strings.Builder
	comment := false
	for i := 0; i < len(data); i++ {
		c := data[i]
		switch {
		case c == '\\' && i+1 < len(data) && data[i+1] == '#':
			if !comment {
				b.WriteByte('#')
			}
			i++
		case c == '\\' && i+1 < len(data) && (data[i+1] == '\n' || data[i+1] == '\r'):
			i += lineEndLen(data[i+1:])
		case c == '\n' || c == '\r':
			i += lineEndLen(data[i:]) - 1
			lines = append(lines, b.String())
			b.Reset()
			comment = false
		case c == '#':
			comment = true
		case !comment:
			b.WriteByte(c)
		}
	}
	if b.Len() > 0 {
		lines = append(lines, b.String())
	}
	return lines
}

// lineEndLen is the length of the line end at the start of b: 2 for
// "\r\n", 1 otherwise.
func lineEndLen(b []byte) int {
	if len(b) > 1 && b[0] == '\r' && b[1] == '\n' {
		return 2
	}
	return 1
}
