package main

import (
	"fmt"
	"strconv"
	"strings"
)

// message is a parsed text-format protocol buffer message: its fields in
// the order they appear. A field holds either a scalar (msg nil) or a
// nested message.
type message struct {
	fields []field
}

type field struct {
	name   string
	scalar string
	msg    *message
}

// str returns the first scalar named name, or "".
func (m *message) str(name string) string {
	for _, f := range m.fields {
		if f.name == name && f.msg == nil {
			return f.scalar
		}
	}
	return ""
}

// all returns every nested message named name.
func (m *message) all(name string) []*message {
	var out []*message
	for _, f := range m.fields {
		if f.name == name && f.msg != nil {
			out = append(out, f.msg)
		}
	}
	return out
}

// parse reads the text format that Bazel writes: `name: value` scalars
// (quoted strings with C escapes, identifiers, numbers) and
// `name { ... }` messages, one token after another.
func parse(s string) (*message, error) {
	p := &parser{s: s}
	m, err := p.message(false)
	if err != nil {
		return nil, fmt.Errorf("at offset %d: %w", p.i, err)
	}
	return m, nil
}

type parser struct {
	s string
	i int
}

func (p *parser) skipSpace() {
	for p.i < len(p.s) {
		switch c := p.s[p.i]; {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			p.i++
		case c == '#':
			for p.i < len(p.s) && p.s[p.i] != '\n' {
				p.i++
			}
		default:
			return
		}
	}
}

func (p *parser) message(nested bool) (*message, error) {
	m := &message{}
	for {
		p.skipSpace()
		if p.i == len(p.s) {
			if nested {
				return nil, fmt.Errorf("unexpected end of input in a message")
			}
			return m, nil
		}
		if p.s[p.i] == '}' {
			if !nested {
				return nil, fmt.Errorf("unexpected '}'")
			}
			p.i++
			return m, nil
		}
		name := p.word()
		if name == "" {
			return nil, fmt.Errorf("expected a field name, found %q", p.s[p.i])
		}
		p.skipSpace()
		if p.i < len(p.s) && p.s[p.i] == ':' {
			p.i++
			p.skipSpace()
		}
		if p.i < len(p.s) && p.s[p.i] == '{' {
			p.i++
			sub, err := p.message(true)
			if err != nil {
				return nil, err
			}
			m.fields = append(m.fields, field{name: name, msg: sub})
			continue
		}
		v, err := p.scalar()
		if err != nil {
			return nil, fmt.Errorf("field %s: %w", name, err)
		}
		m.fields = append(m.fields, field{name: name, scalar: v})
	}
}

// word reads an identifier or a number.
func (p *parser) word() string {
	start := p.i
	for p.i < len(p.s) {
		c := p.s[p.i]
		if c == '_' || c == '.' || c == '-' || c == '+' || 'a' <= c && c <= 'z' ||
			'A' <= c && c <= 'Z' || '0' <= c && c <= '9' {
			p.i++
			continue
		}
		break
	}
	return p.s[start:p.i]
}

// scalar reads a value: one or more adjacent quoted strings (concatenated,
// as the text format allows), or an identifier or number.
func (p *parser) scalar() (string, error) {
	if p.i >= len(p.s) || (p.s[p.i] != '"' && p.s[p.i] != '\'') {
		if w := p.word(); w != "" {
			return w, nil
		}
		return "", fmt.Errorf("expected a value")
	}
	var b strings.Builder
	for p.i < len(p.s) && (p.s[p.i] == '"' || p.s[p.i] == '\'') {
		quote := p.s[p.i]
		start := p.i
		p.i++
		for p.i < len(p.s) && p.s[p.i] != quote {
			if p.s[p.i] == '\\' {
				p.i++
			}
			p.i++
		}
		if p.i >= len(p.s) {
			return "", fmt.Errorf("unterminated string")
		}
		p.i++
		s, err := unquote(p.s[start+1 : p.i-1])
		if err != nil {
			return "", err
		}
		b.WriteString(s)
		p.skipSpace()
	}
	return b.String(), nil
}

// unquote undoes the text format's C escapes: \n, \t, \", \', \\ and
// three-digit octal bytes (how Bazel writes non-ASCII UTF-8).
func unquote(s string) (string, error) {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] != '\\' {
			b.WriteByte(s[i])
			continue
		}
		i++
		if i >= len(s) {
			return "", fmt.Errorf("trailing backslash")
		}
		switch c := s[i]; {
		case c == 'n':
			b.WriteByte('\n')
		case c == 't':
			b.WriteByte('\t')
		case c == 'r':
			b.WriteByte('\r')
		case c == '"' || c == '\'' || c == '\\':
			b.WriteByte(c)
		case '0' <= c && c <= '7' && i+2 < len(s):
			n, err := strconv.ParseUint(s[i:i+3], 8, 8)
			if err != nil {
				return "", fmt.Errorf("bad octal escape \\%s", s[i:i+3])
			}
			b.WriteByte(byte(n))
			i += 2
		default:
			return "", fmt.Errorf("unknown escape \\%c", c)
		}
	}
	return b.String(), nil
}
