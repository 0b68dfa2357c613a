package repo

import (
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
)

// AuthEnv names the environment variable LoadAuth reads credentials from;
// its syntax is in the package doc.
const AuthEnv = "APKPACK_AUTH"

// Credential is what a Client sends to one host: HTTP basic auth (Username
// and Password) or, when Token is set, a bearer token.
type Credential struct {
	Username string
	Password string
	Token    string
}

// String describes c without its secret, so that printing it is safe.
func (c Credential) String() string {
	if c.Token != "" {
		return "bearer xxxxx"
	}
	return "basic " + c.Username + ":xxxxx"
}

// Auth finds the credential for a host: from APKPACK_AUTH entries first,
// then from a netrc file.
type Auth struct {
	hosts []hostCredential
	netrc *Netrc
}

// hostCredential is one APKPACK_AUTH entry.
type hostCredential struct {
	host, port string // port "" matches any port
	cred       Credential
}

// LoadAuth reads APKPACK_AUTH and the netrc file named by $NETRC, or
// ~/.netrc when it exists.
func LoadAuth() (*Auth, error) {
	n, err := loadNetrc()
	if err != nil {
		return nil, err
	}
	return NewAuth(os.Getenv(AuthEnv), n)
}

// loadNetrc reads $NETRC, which must exist when set, or ~/.netrc, which may
// be missing.
func loadNetrc() (*Netrc, error) {
	path, named := os.LookupEnv("NETRC")
	if !named || path == "" {
		home, err := os.UserHomeDir()
		if err != nil {
			return nil, nil // no home, no netrc
		}
		path, named = filepath.Join(home, ".netrc"), false
	}
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) && !named {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading netrc file: %w", err)
	}
	n, err := ParseNetrc(data)
	if err != nil {
		return nil, fmt.Errorf("reading netrc file %s: %w", path, err)
	}
	return n, nil
}

// NewAuth builds an Auth from an APKPACK_AUTH value (syntax in the package
// doc; "" for none) and a netrc (nil for none). An error names the entry by
// position and host, never its secret.
func NewAuth(spec string, netrc *Netrc) (*Auth, error) {
	a := &Auth{netrc: netrc}
	fields := strings.FieldsFunc(spec, func(r rune) bool { return r == ';' || r == '\n' })
	i := 0
	for _, f := range fields {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		i++
		hc, err := parseAuthEntry(f)
		if err != nil {
			return nil, fmt.Errorf("parsing %s entry %d: %w", AuthEnv, i, err)
		}
		a.hosts = append(a.hosts, hc)
	}
	return a, nil
}

// parseAuthEntry parses HOST=basic:USER:PASSWORD or HOST=bearer:TOKEN.
func parseAuthEntry(entry string) (hostCredential, error) {
	const want = "want HOST=basic:USER:PASSWORD or HOST=bearer:TOKEN"
	hostport, rest, ok := strings.Cut(entry, "=")
	if !ok {
		return hostCredential{}, errors.New("no \"=\"; " + want)
	}
	u, err := url.Parse("//" + strings.TrimSpace(hostport))
	if err != nil || u.Hostname() == "" || u.User != nil || u.Path != "" {
		return hostCredential{}, errors.New("bad host; " + want)
	}
	hc := hostCredential{host: strings.ToLower(u.Hostname()), port: u.Port()}
	scheme, secret, _ := strings.Cut(strings.TrimSpace(rest), ":")
	switch strings.ToLower(scheme) {
	case "basic":
		user, pass, ok := strings.Cut(secret, ":")
		if !ok {
			return hc, fmt.Errorf("host %s: basic needs USER:PASSWORD", hc.host)
		}
		hc.cred.Username, err = url.PathUnescape(user)
		if err == nil {
			hc.cred.Password, err = url.PathUnescape(pass)
		}
	case "bearer":
		hc.cred.Token, err = url.PathUnescape(secret)
		if err == nil && hc.cred.Token == "" {
			err = errors.New("empty token")
		}
	default:
		return hc, fmt.Errorf("host %s: unknown scheme; %s", hc.host, want)
	}
	if err != nil {
		// The unescape error quotes the secret: say only what is wrong.
		return hc, fmt.Errorf("host %s: bad percent-encoding or empty value", hc.host)
	}
	return hc, nil
}

// Lookup returns the credential for u's host: an APKPACK_AUTH entry for its
// host and port, else one for its host, else its netrc machine entry, else
// the netrc default entry.
func (a *Auth) Lookup(u *url.URL) (Credential, bool) {
	if a == nil {
		return Credential{}, false
	}
	host, port := strings.ToLower(u.Hostname()), u.Port()
	for _, anyPort := range []bool{false, true} {
		for _, hc := range a.hosts {
			if hc.host == host && (hc.port == port || anyPort && hc.port == "") {
				return hc.cred, true
			}
		}
	}
	e, ok := a.netrc.Lookup(host)
	if !ok || e.Login == "" && e.Password == "" {
		return Credential{}, false
	}
	return Credential{Username: e.Login, Password: e.Password}, true
}

// authTransport adds credentials per request, so that each hop of a
// redirect gets its own host's credential and none leaks to another host.
type authTransport struct {
	base http.RoundTripper
	auth *Auth
}

// RoundTrip implements http.RoundTripper.
func (t *authTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.Header.Get("Authorization") != "" {
		return t.base.RoundTrip(req) // from the URL's userinfo
	}
	cred, ok := t.auth.Lookup(req.URL)
	if !ok {
		return t.base.RoundTrip(req)
	}
	req = req.Clone(req.Context())
	if cred.Token != "" {
		req.Header.Set("Authorization", "Bearer "+cred.Token)
	} else {
		req.SetBasicAuth(cred.Username, cred.Password)
	}
	return t.base.RoundTrip(req)
}
