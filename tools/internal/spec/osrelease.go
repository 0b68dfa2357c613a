package spec

import (
	"errors"
	"fmt"
	"strings"
)

// OSRelease is the os-release key of a spec, with apko's field names: what
// a layer writes as etc/os-release (os-release(5)) when no package of the
// closure ships that file. Scanners such as syft and grype identify the
// distribution by ID and VERSION_ID.
type OSRelease struct {
	ID           string `json:"id"`
	VersionID    string `json:"version_id,omitempty"`
	Name         string `json:"name,omitempty"`
	PrettyName   string `json:"pretty_name,omitempty"`
	HomeURL      string `json:"home_url,omitempty"`
	BugReportURL string `json:"bug_report_url,omitempty"`
}

// Validate checks the fields as os-release(5) defines them: ID and
// VERSION_ID are lower-case words of a-z, 0-9, '.', '_' and '-'; the
// others are free text on one line.
func (o *OSRelease) Validate() error {
	if o.ID == "" {
		return errors.New("id is required (for example `id: wolfi`): scanners match the distribution by it")
	}
	if err := checkWord("id", o.ID); err != nil {
		return err
	}
	if o.VersionID != "" {
		if err := checkWord("version-id", o.VersionID); err != nil {
			return err
		}
	}
	for _, f := range []struct{ key, value string }{
		{"name", o.Name}, {"pretty-name", o.PrettyName},
		{"home-url", o.HomeURL}, {"bug-report-url", o.BugReportURL},
	} {
		if strings.ContainsAny(f.value, "\n\r\x00") {
			return fmt.Errorf("%s %q: a value is one line of text", f.key, f.value)
		}
	}
	return nil
}

func checkWord(key, v string) error {
	for _, r := range v {
		if (r < 'a' || r > 'z') && (r < '0' || r > '9') && r != '.' && r != '_' && r != '-' {
			return fmt.Errorf("%s %q: only lower-case letters, digits, '.', '_' and '-' are "+
				"allowed (os-release(5))", key, v)
		}
	}
	return nil
}

// File renders o as an os-release file: ID and VERSION_ID bare, the other
// fields double-quoted with shell escapes, in the order os-release(5) lists
// them; empty fields are left out.
func (o *OSRelease) File() []byte {
	var b strings.Builder
	for _, f := range []struct {
		key, value string
		quote      bool
	}{
		{"NAME", o.Name, true},
		{"ID", o.ID, false},
		{"VERSION_ID", o.VersionID, false},
		{"PRETTY_NAME", o.PrettyName, true},
		{"HOME_URL", o.HomeURL, true},
		{"BUG_REPORT_URL", o.BugReportURL, true},
	} {
		if f.value == "" {
			continue
		}
		v := f.value
		if f.quote {
			v = quote(v)
		}
		fmt.Fprintf(&b, "%s=%s\n", f.key, v)
	}
	return []byte(b.String())
}

// quote double-quotes v, escaping what a shell would expand inside double
// quotes (os-release(5) asks for shell-compatible quoting).
func quote(v string) string {
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range v {
		if strings.ContainsRune("\"\\$`", r) {
			b.WriteByte('\\')
		}
		b.WriteRune(r)
	}
	b.WriteByte('"')
	return b.String()
}
