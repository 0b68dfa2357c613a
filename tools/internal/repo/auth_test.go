package repo

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestParseNetrc(t *testing.T) {
	tests := []struct {
		name    string
		data    string
		want    []NetrcEntry
		wantErr string
	}{
		{name: "empty"},
		{
			name: "one line",
			data: "machine apk.example.com login ci password s3cret\n",
			want: []NetrcEntry{{Machine: "apk.example.com", Login: "ci", Password: "s3cret"}},
		},
		{
			name: "one token per line, account, CRLF",
			data: "machine a.example\r\n  login u\r\n  account acct\r\n  password p\r\n",
			want: []NetrcEntry{{Machine: "a.example", Login: "u", Password: "p", Account: "acct"}},
		},
		{
			name: "several machines and a default",
			data: "machine a.example login ua password pa\nmachine b.example login ub\n" +
				"default login anonymous password me@example.com\n",
			want: []NetrcEntry{
				{Machine: "a.example", Login: "ua", Password: "pa"},
				{Machine: "b.example", Login: "ub"},
				{Login: "anonymous", Password: "me@example.com"},
			},
		},
		{
			name: "comments",
			data: "# work\nmachine a.example # the mirror\n  login u password #notacomment\n",
			want: []NetrcEntry{{Machine: "a.example", Login: "u", Password: "#notacomment"}},
		},
		{
			name: "quoted values",
			data: `machine a.example login "first last" password "say \"hi\" \\ "` + "\n",
			want: []NetrcEntry{{Machine: "a.example", Login: "first last", Password: `say "hi" \ `}},
		},
		{
			name: "macdef skipped to the empty line",
			data: "machine a.example login u password p\nmacdef init\ncd /pub\nlogin x\n\n" +
				"machine b.example login v password q\n",
			want: []NetrcEntry{
				{Machine: "a.example", Login: "u", Password: "p"},
				{Machine: "b.example", Login: "v", Password: "q"},
			},
		},
		{
			name: "macdef to the end",
			data: "machine a.example login u\nmacdef init\ncd /pub\n",
			want: []NetrcEntry{{Machine: "a.example", Login: "u"}},
		},
		{name: "login before machine", data: "login u password p\n",
			wantErr: `netrc line 1: "login" before any machine or default entry`},
		{name: "unknown keyword", data: "machine a\nlogin u\nport 21\n",
			wantErr: "netrc line 3: unknown keyword (want machine, default, login, password, account or macdef)"},
		{name: "missing value", data: "machine a.example\n  password",
			wantErr: `netrc line 2: "password" has no value`},
		{name: "unterminated quote", data: "machine a\n\nlogin \"u\npassword p\n",
			wantErr: "netrc line 3: unterminated quoted value"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseNetrc([]byte(tt.data))
			if diff := cmp.Diff(tt.wantErr, errorText(err)); diff != "" {
				t.Fatalf("error (-want +got):\n%s", diff)
			}
			if err != nil {
				return
			}
			if diff := cmp.Diff(tt.want, got.Entries); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestNetrcLookup(t *testing.T) {
	n, err := ParseNetrc([]byte("machine A.example login first\nmachine a.example login second\n" +
		"default login any\nmachine b.example login b\n"))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		host      string
		wantLogin string
	}{
		{"a.example", "first"}, // first match, case-insensitive
		{"b.example", "b"},     // a machine after the default still matches
		{"c.example", "any"},
	}
	for _, tt := range tests {
		t.Run(tt.host, func(t *testing.T) {
			e, ok := n.Lookup(tt.host)
			if !ok || e.Login != tt.wantLogin {
				t.Errorf("Lookup(%q) = %+v, %v; want login %q", tt.host, e, ok, tt.wantLogin)
			}
		})
	}
	if _, ok := (*Netrc)(nil).Lookup("a.example"); ok {
		t.Error("nil Netrc found an entry")
	}
}

func TestNewAuth(t *testing.T) {
	netrc, err := ParseNetrc([]byte("machine n.example login nu password np\n"))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, spec, url string
		want            *Credential // nil: none
		wantErr         string
	}{
		{name: "basic", spec: "a.example=basic:ci:s3cret", url: "https://a.example/os",
			want: &Credential{Username: "ci", Password: "s3cret"}},
		{name: "bearer, several entries, spaces, newline",
			spec: " a.example=basic:u:p ;\n b.example = bearer:tok\n", url: "https://b.example/os",
			want: &Credential{Token: "tok"}},
		{name: "percent-encoded", spec: "a.example=basic:d%40main:p%3Bw:x%25", url: "https://a.example/",
			want: &Credential{Username: "d@main", Password: "p;w:x%"}},
		{name: "host case", spec: "A.Example=bearer:t", url: "https://a.EXAMPLE/", want: &Credential{Token: "t"}},
		{name: "port-specific entry wins", spec: "a.example=bearer:any;a.example:8443=bearer:port",
			url: "https://a.example:8443/", want: &Credential{Token: "port"}},
		{name: "port mismatch falls back to the host entry",
			spec: "a.example:8443=bearer:port;a.example=bearer:any", url: "https://a.example/",
			want: &Credential{Token: "any"}},
		{name: "port-only entry does not match other ports", spec: "a.example:8443=bearer:port",
			url: "https://a.example:9000/"},
		{name: "IPv6 host", spec: "[::1]:8080=bearer:v6", url: "http://[::1]:8080/",
			want: &Credential{Token: "v6"}},
		{name: "netrc after the environment", spec: "a.example=bearer:t", url: "https://n.example/",
			want: &Credential{Username: "nu", Password: "np"}},
		{name: "no match", spec: "a.example=bearer:t", url: "https://z.example/"},
		{name: "missing =", spec: "a.example:basic:u:p",
			wantErr: `parsing APKPACK_AUTH entry 1: no "="; want HOST=basic:USER:PASSWORD or HOST=bearer:TOKEN`},
		{name: "unknown scheme hides the secret", spec: "ok.example=bearer:t;a.example=s3cret:x",
			wantErr: "parsing APKPACK_AUTH entry 2: host a.example: unknown scheme; " +
				"want HOST=basic:USER:PASSWORD or HOST=bearer:TOKEN"},
		{name: "basic without password", spec: "a.example=basic:s3cret",
			wantErr: "parsing APKPACK_AUTH entry 1: host a.example: basic needs USER:PASSWORD"},
		{name: "bad escape hides the secret", spec: "a.example=basic:u:s3cret%zz",
			wantErr: "parsing APKPACK_AUTH entry 1: host a.example: bad percent-encoding or empty value"},
		{name: "empty token", spec: "a.example=bearer:",
			wantErr: "parsing APKPACK_AUTH entry 1: host a.example: bad percent-encoding or empty value"},
		{name: "bad host", spec: "a.example/path=bearer:s3cret",
			wantErr: "parsing APKPACK_AUTH entry 1: bad host; " +
				"want HOST=basic:USER:PASSWORD or HOST=bearer:TOKEN"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, err := NewAuth(tt.spec, netrc)
			if diff := cmp.Diff(tt.wantErr, errorText(err)); diff != "" {
				t.Fatalf("error (-want +got):\n%s", diff)
			}
			if err != nil {
				return
			}
			u, err := url.Parse(tt.url)
			if err != nil {
				t.Fatal(err)
			}
			var got *Credential
			if c, ok := a.Lookup(u); ok {
				got = &c
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestCredentialString(t *testing.T) {
	for _, c := range []Credential{{Username: "u", Password: "s3cret"}, {Token: "s3cret"}} {
		if s := c.String(); strings.Contains(s, "s3cret") {
			t.Errorf("String() = %q shows the secret", s)
		}
	}
}

func TestLoadAuth(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "netrc")
	if err := os.WriteFile(good, []byte("machine n.example login nu password np\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	bad := filepath.Join(dir, "bad")
	if err := os.WriteFile(bad, []byte("login nu\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, netrc, home, spec string
		want                    *Credential
		wantErr                 string
	}{
		{name: "$NETRC", netrc: good, want: &Credential{Username: "nu", Password: "np"}},
		{name: "~/.netrc", home: dir, want: &Credential{Username: "nu", Password: "np"}},
		{name: "no ~/.netrc", home: filepath.Join(dir, "nohome")},
		{name: "environment first", netrc: good, spec: "n.example=bearer:t", want: &Credential{Token: "t"}},
		{name: "missing $NETRC", netrc: filepath.Join(dir, "missing"),
			wantErr: "reading netrc file: open " + filepath.Join(dir, "missing") + ": no such file or directory"},
		{name: "bad $NETRC", netrc: bad,
			wantErr: "reading netrc file " + bad +
				`: netrc line 1: "login" before any machine or default entry`},
	}
	if err := os.Symlink(good, filepath.Join(dir, ".netrc")); err != nil {
		t.Fatal(err)
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv("NETRC", tt.netrc)
			t.Setenv("HOME", tt.home)
			t.Setenv(AuthEnv, tt.spec)
			a, err := LoadAuth()
			if diff := cmp.Diff(tt.wantErr, errorText(err)); diff != "" {
				t.Fatalf("error (-want +got):\n%s", diff)
			}
			if err != nil {
				return
			}
			var got *Credential
			if c, ok := a.Lookup(&url.URL{Scheme: "https", Host: "n.example"}); ok {
				got = &c
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestAuthenticatedServers(t *testing.T) {
	content := testPayload(5, 3000)
	var mu sync.Mutex
	seen := map[string]string{} // server → Authorization header
	handler := func(name string, ok func(*http.Request) bool) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			mu.Lock()
			seen[name] = r.Header.Get("Authorization")
			mu.Unlock()
			if !ok(r) {
				http.Error(w, "credentials required", http.StatusUnauthorized)
				return
			}
			w.Write(content)
		})
	}
	basic := httptest.NewServer(handler("basic", func(r *http.Request) bool {
		u, p, ok := r.BasicAuth()
		return ok && u == "ci" && p == "pa;ss"
	}))
	defer basic.Close()
	bearer := httptest.NewServer(handler("bearer", func(r *http.Request) bool {
		return r.Header.Get("Authorization") == "Bearer tok"
	}))
	defer bearer.Close()
	// A third server redirects to the bearer one: the redirect must get the
	// bearer server's own credential, not the redirecting server's.
	redirecting := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		seen["redirecting"] = r.Header.Get("Authorization")
		mu.Unlock()
		http.Redirect(w, r, bearer.URL+r.URL.Path, http.StatusFound)
	}))
	defer redirecting.Close()

	host := func(s *httptest.Server) string { return strings.TrimPrefix(s.URL, "http://") }
	netrcPath := filepath.Join(t.TempDir(), "netrc")
	netrcData := []byte("machine 127.0.0.1 login ci password pa;ss\n")
	if err := os.WriteFile(netrcPath, netrcData, 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("NETRC", netrcPath)
	t.Setenv(AuthEnv, host(bearer)+"=bearer:tok;"+host(redirecting)+"=basic:other:secret")
	auth, err := LoadAuth()
	if err != nil {
		t.Fatal(err)
	}
	c, _ := newTestClient(t, Options{Auth: auth})
	for _, u := range []string{basic.URL + "/a.apk", bearer.URL + "/b.apk", redirecting.URL + "/c.apk"} {
		if _, err := c.Fetch(t.Context(), Request{URL: u}); err != nil {
			t.Fatal(err)
		}
	}
	want := map[string]string{
		"basic":       "Basic Y2k6cGE7c3M=", // ci:pa;ss from the netrc
		"bearer":      "Bearer tok",
		"redirecting": "Basic b3RoZXI6c2VjcmV0", // other:secret
	}
	if diff := cmp.Diff(want, seen); diff != "" {
		t.Errorf("Authorization headers (-want +got):\n%s", diff)
	}

	// Credentials in the URL are used as they are.
	c, _ = newTestClient(t, Options{})
	withUser, err := url.Parse(basic.URL + "/a.apk")
	if err != nil {
		t.Fatal(err)
	}
	withUser.User = url.UserPassword("ci", "pa;ss")
	if _, err := c.Fetch(t.Context(), Request{URL: withUser.String()}); err != nil {
		t.Errorf("with credentials in the URL: %v", err)
	}

	// Without credentials the server refuses, and nothing is retried.
	c, _ = newTestClient(t, Options{})
	_, err = c.Fetch(t.Context(), Request{URL: basic.URL + "/a.apk"})
	checkFetchError(t, err, basic.URL+"/a.apk", 1,
		"server answered 401 Unauthorized (set credentials for this host in APKPACK_AUTH or in ~/.netrc)")
}

func FuzzParseNetrc(f *testing.F) {
	for _, s := range []string{
		"machine a.example login u password p\n",
		"default login anonymous password x\nmacdef init\ncd /\n\nmachine b login c\n",
		"# comment\nmachine \"quoted host\" login \"a \\\"b\\\"\" account x\r\n",
		"login before\n",
		"machine a\nlogin \"unterminated\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		n, err := ParseNetrc(data)
		if err != nil {
			if !strings.HasPrefix(err.Error(), "netrc line ") {
				t.Errorf("error %q does not name a line", err)
			}
			return
		}
		for _, e := range n.Entries {
			got, ok := n.Lookup(e.Machine)
			if !ok {
				t.Errorf("Lookup(%q) found nothing", e.Machine)
			}
			if e.Machine != "" && !strings.EqualFold(got.Machine, e.Machine) {
				t.Errorf("Lookup(%q) = %q", e.Machine, got.Machine)
			}
		}
	})
}

func FuzzNewAuth(f *testing.F) {
	for _, s := range []string{
		"a.example=basic:u:p",
		"a.example:8443=bearer:tok;b.example=basic:d%40main:p%3B",
		"[::1]:8080=bearer:x\n\n;",
		"a.example=s3cret",
		"=",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, spec string) {
		a, err := NewAuth(spec, nil)
		if err != nil {
			if !strings.HasPrefix(err.Error(), "parsing APKPACK_AUTH entry ") {
				t.Errorf("error %q does not name the entry", err)
			}
			return
		}
		for _, hc := range a.hosts {
			host := hc.host
			if strings.Contains(host, ":") {
				host = "[" + host + "]"
			}
			if hc.port != "" {
				host += ":" + hc.port
			}
			if _, ok := a.Lookup(&url.URL{Scheme: "https", Host: host}); !ok {
				t.Errorf("no credential for entry host %q", host)
			}
		}
	})
}
