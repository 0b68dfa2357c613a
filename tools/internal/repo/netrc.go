package repo

import (
	"bytes"
	"fmt"
	"strings"
)

// NetrcEntry is one machine entry of a netrc file, or its default entry.
type NetrcEntry struct {
	// Machine is the host name; "" marks the default entry.
	Machine  string
	Login    string
	Password string
	Account  string
}

// Netrc is a parsed netrc file (the format of ftp(1) that curl, Bazel and
// git read too): tokens separated by white space, "machine NAME" or
// "default" opening an entry, then "login", "password" and "account" with a
// value each. "macdef NAME" skips a macro up to the next empty line, and a
// keyword starting with "#" comments out the rest of its line. A value may
// be double-quoted, with \" and \\ escapes, to hold spaces.
type Netrc struct {
	Entries []NetrcEntry
}

// ParseNetrc parses a netrc file. An error names the line and the problem,
// never a value (values are secrets).
func ParseNetrc(data []byte) (*Netrc, error) {
	s := &netrcScanner{data: bytes.ReplaceAll(data, []byte("\r\n"), []byte("\n")), line: 1}
	n := &Netrc{}
	for {
		tok, quoted, ok, err := s.next()
		if err != nil {
			return nil, err
		}
		if !ok {
			return n, nil
		}
		if err := n.apply(s, tok, quoted); err != nil {
			return nil, err
		}
	}
}

// apply handles keyword tok and the values that follow it.
func (n *Netrc) apply(s *netrcScanner, tok string, quoted bool) error {
	switch {
	case tok == "default":
		n.Entries = append(n.Entries, NetrcEntry{})
		return nil
	case tok == "machine":
		name, err := s.value(tok)
		if err != nil {
			return err
		}
		n.Entries = append(n.Entries, NetrcEntry{Machine: name})
		return nil
	case tok == "macdef":
		if _, err := s.value(tok); err != nil {
			return err
		}
		s.skipMacro()
		return nil
	case strings.HasPrefix(tok, "#") && !quoted:
		s.skipLine()
		return nil
	}
	field := n.field(tok)
	if field == nil {
		if tok == "login" || tok == "password" || tok == "account" {
			return fmt.Errorf("netrc line %d: %q before any machine or default entry", s.line, tok)
		}
		return fmt.Errorf("netrc line %d: unknown keyword (want machine, default, login, "+
			"password, account or macdef)", s.line)
	}
	v, err := s.value(tok)
	*field = v
	return err
}

// field returns where the value of keyword tok goes in the current entry.
func (n *Netrc) field(tok string) *string {
	if len(n.Entries) == 0 {
		return nil
	}
	e := &n.Entries[len(n.Entries)-1]
	switch tok {
	case "login":
		return &e.Login
	case "password":
		return &e.Password
	case "account":
		return &e.Account
	}
	return nil
}

// Lookup returns the entry for host (compared without case): the first
// machine entry naming it, else the default entry.
func (n *Netrc) Lookup(host string) (NetrcEntry, bool) {
	if n == nil {
		return NetrcEntry{}, false
	}
	for _, e := range n.Entries {
		if e.Machine != "" && strings.EqualFold(e.Machine, host) {
			return e, true
		}
	}
	for _, e := range n.Entries {
		if e.Machine == "" {
			return e, true
		}
	}
	return NetrcEntry{}, false
}

// netrcScanner splits a netrc file into tokens, counting lines.
type netrcScanner struct {
	data []byte
	pos  int
	line int
}

// next returns the next token and whether it was quoted; ok is false at the
// end of the data.
func (s *netrcScanner) next() (tok string, quoted, ok bool, err error) {
	for s.pos < len(s.data) && isSpace(s.data[s.pos]) {
		if s.data[s.pos] == '\n' {
			s.line++
		}
		s.pos++
	}
	if s.pos == len(s.data) {
		return "", false, false, nil
	}
	if s.data[s.pos] == '"' {
		tok, err := s.quoted()
		return tok, true, err == nil, err
	}
	start := s.pos
	for s.pos < len(s.data) && !isSpace(s.data[s.pos]) {
		s.pos++
	}
	return string(s.data[start:s.pos]), false, true, nil
}

// quoted reads a double-quoted token starting at s.pos.
func (s *netrcScanner) quoted() (string, error) {
	line := s.line
	var b strings.Builder
	for s.pos++; s.pos < len(s.data); s.pos++ {
		c := s.data[s.pos]
		switch {
		case c == '"':
			s.pos++
			return b.String(), nil
		case c == '\\' && s.pos+1 < len(s.data):
			s.pos++
			c = s.data[s.pos]
		case c == '\n':
			s.line++
		}
		b.WriteByte(c)
	}
	return "", fmt.Errorf("netrc line %d: unterminated quoted value", line)
}

// value returns the token that must follow keyword.
func (s *netrcScanner) value(keyword string) (string, error) {
	line := s.line
	tok, _, ok, err := s.next()
	if err != nil {
		return "", err
	}
	if !ok {
		return "", fmt.Errorf("netrc line %d: %q has no value", line, keyword)
	}
	return tok, nil
}

// skipLine skips to the end of the current line.
func (s *netrcScanner) skipLine() {
	if i := bytes.IndexByte(s.data[s.pos:], '\n'); i >= 0 {
		s.pos += i
		return
	}
	s.pos = len(s.data)
}

// skipMacro skips a macdef body: the rest of its line and every line up to
// the next empty one.
func (s *netrcScanner) skipMacro() {
	i := bytes.Index(s.data[s.pos:], []byte("\n\n"))
	if i < 0 {
		s.pos = len(s.data)
		return
	}
	s.line += bytes.Count(s.data[s.pos:s.pos+i], []byte("\n"))
	s.pos += i
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' }
