package deps

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// zlibPC is laid out like the zlib.pc that zlib's build installs.
const zlibPC = `prefix=/usr
exec_prefix=${prefix}
libdir=${exec_prefix}/lib
sharedlibdir=${libdir}
includedir=${prefix}/include

Name: zlib
Description: zlib compression library
Version: 1.3.1

Requires:
Libs: -L${libdir} -L${sharedlibdir} -lz
Cflags: -I${includedir}
`

// curlPC is laid out like the libcurl.pc that curl's build installs.
const curlPC = `# This is a comment
prefix=/usr
exec_prefix=${prefix}
libdir=${exec_prefix}/lib
includedir=${prefix}/include
supported_protocols="DICT FILE FTP FTPS GOPHER HTTP HTTPS"
supported_features="AsynchDNS HSTS HTTP2 IDN IPv6 Largefile libz NTLM SSL TLS-SRP zstd"

Name: libcurl
URL: https://curl.se/
Description: Library to transfer files with ftp, http, etc.
Version: 8.5.0
Requires: libidn2,zlib,libzstd,openssl,libnghttp2
Requires.private: libidn2,zlib,libzstd,openssl,libnghttp2
Libs: -L${libdir} -lcurl
Libs.private: -lidn2 -lz -lzstd -lssl -lcrypto -lnghttp2
Cflags: -I${includedir}
`

func TestParsePC(t *testing.T) {
	unversioned := func(names ...string) []PCRequirement {
		var reqs []PCRequirement
		for _, n := range names {
			reqs = append(reqs, PCRequirement{Module: n})
		}
		return reqs
	}
	tests := []struct {
		name string
		in   string
		want *PC
	}{{
		name: "zlib",
		in:   zlibPC,
		want: &PC{Name: "zlib", Version: "1.3.1", Variables: map[string]string{
			"prefix": "/usr", "exec_prefix": "/usr", "libdir": "/usr/lib",
			"sharedlibdir": "/usr/lib", "includedir": "/usr/include",
		}},
	}, {
		name: "libcurl",
		in:   curlPC,
		want: &PC{
			Name: "libcurl", Version: "8.5.0",
			Requires:        unversioned("libidn2", "zlib", "libzstd", "openssl", "libnghttp2"),
			RequiresPrivate: unversioned("libidn2", "zlib", "libzstd", "openssl", "libnghttp2"),
			Variables: map[string]string{
				"prefix": "/usr", "exec_prefix": "/usr", "libdir": "/usr/lib",
				"includedir":          "/usr/include",
				"supported_protocols": `"DICT FILE FTP FTPS GOPHER HTTP HTTPS"`,
				"supported_features": `"AsynchDNS HSTS HTTP2 IDN IPv6 Largefile libz NTLM ` +
					`SSL TLS-SRP zstd"`,
			},
		},
	}, {
		name: "operators with and without spaces",
		in:   "Requires: a>=1.0,b <= 2 c=3, d != 4 e>5 f < 6\n",
		want: &PC{Variables: map[string]string{}, Requires: []PCRequirement{
			{"a", ">=", "1.0"}, {"b", "<=", "2"}, {"c", "=", "3"},
			{"d", "!=", "4"}, {"e", ">", "5"}, {"f", "<", "6"},
		}},
	}, {
		name: "comments, escapes, continuations and line ends",
		in: "a=1 # comment\r\nName: x \\# y # z\rVersion: ${a}.\\\n2\n" +
			"# Version: 9\nRequires: p \\\r\n q\n",
		want: &PC{Name: "x # y", Version: "1.2", Requires: unversioned("p", "q"),
			Variables: map[string]string{"a": "1"}},
	}, {
		name: "dollars, predefined and undefined variables",
		in: "cost=$$5 ${pcfiledir}\nopen=${unterminated\nlone=a$b$\n" +
			"Version: ${missing}2\n",
		want: &PC{Version: "2",
			Variables: map[string]string{
				"cost": "$5 /usr/lib/pkgconfig", "open": "${unterminated", "lone": "a$b$",
			},
			Warnings: []string{`variable "missing" is not defined; it expands to nothing`},
		},
	}, {
		name: "variables see earlier definitions only",
		in:   "a=${b}\nb=x\nb=y\nVersion: ${a}${b}\n",
		want: &PC{Version: "y", Variables: map[string]string{"a": "", "b": "y"},
			Warnings: []string{
				`variable "b" is not defined; it expands to nothing`,
				`variable "b" is defined twice; the last definition wins`,
			},
		},
	}, {
		name: "repeated fields and case-insensitive keywords",
		in: "version: 1\nVERSION: 2\nRequires: a\nrequires: b\nREQUIRES.PRIVATE: c\n" +
			"Name: n\nName: m\n",
		want: &PC{Version: "1", Name: "n", Variables: map[string]string{},
			Requires: unversioned("a", "b"), RequiresPrivate: unversioned("c"),
			Warnings: []string{
				"field VERSION occurs twice; the first one is used",
				"field Name occurs twice; the first one is used",
			},
		},
	}, {
		name: "broken constraints",
		in:   "Requires: >= 1, x =< 2, y >=, z >=\t,w ==1\n",
		want: &PC{Variables: map[string]string{}, Requires: unversioned("x", "y", "z", "w"),
			Warnings: []string{
				`constraint ">=1" names no module; it is skipped`,
				`module x: unknown operator "=<"; any version is accepted`,
				`module y: operator ">=" has no version; any version is accepted`,
				`module z: operator ">=" has no version; any version is accepted`,
				`module w: unknown operator "=="; any version is accepted`,
			},
		},
	}, {
		name: "lines that are neither fields nor variables",
		in:   "just words\n: value\n=value\n  Version : 3 \n",
		want: &PC{Version: "3", Variables: map[string]string{}},
	}}
	predefined := map[string]string{"pcfiledir": "/usr/lib/pkgconfig"}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParsePC([]byte(tt.in), predefined)
			if err != nil {
				t.Fatalf("ParsePC: %v", err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("ParsePC (-want +got):\n%s", diff)
			}
		})
	}
}

// TestParsePCExpansionLimit feeds files whose variables grow without
// bound: one value doubling on every line, and many lines each expanding a
// large value.
func TestParsePCExpansionLimit(t *testing.T) {
	var doubling, many strings.Builder
	doubling.WriteString("v0=xxxxxxxx\n")
	for i := 1; i <= 20; i++ {
		fmt.Fprintf(&doubling, "v%d=${v%d}${v%d}\n", i, i-1, i-1)
	}
	many.WriteString("big=" + strings.Repeat("x", 60<<10) + "\n")
	for i := range 20 {
		fmt.Fprintf(&many, "a%d=${big}\n", i)
	}
	tests := []struct{ name, in, wantPrefix string }{
		{"one value", doubling.String(), "parsing .pc line 15: "},
		{"all values", many.String(), "parsing .pc line 18: "},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParsePC([]byte(tt.in), nil)
			if !errors.Is(err, ErrPCValueTooLarge) {
				t.Fatalf("ParsePC error = %v, want ErrPCValueTooLarge", err)
			}
			if !strings.HasPrefix(err.Error(), tt.wantPrefix) {
				t.Errorf("ParsePC error = %q, want it to start with %q", err, tt.wantPrefix)
			}
		})
	}
}

// FuzzParsePC checks that ParsePC never panics, never produces a value
// past its limit, and that every requirement it returns is well formed.
func FuzzParsePC(f *testing.F) {
	for _, seed := range []string{
		zlibPC, curlPC,
		"Requires: a>=1.0,b <= 2 c=3, d != 4\n",
		"a=${b}\nb=$$\\#\\\n${a}\nVersion: ${b}-rc1\r\n",
		"v0=xx\nv1=${v0}${v0}\nv2=${v1}${v1}\n",
		"Requires: >= 1, x =< 2, y >=,\n",
	} {
		f.Add([]byte(seed))
	}
	// Real files from the host, when it has any.
	for _, dir := range []string{hostLibDir + "/pkgconfig", "/usr/share/pkgconfig"} {
		matches, _ := filepath.Glob(dir + "/*.pc")
		for _, m := range matches[:min(len(matches), 20)] {
			if data, err := os.ReadFile(m); err == nil {
				f.Add(data)
			}
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		pc, err := ParsePC(data, map[string]string{"pcfiledir": "/usr/lib/pkgconfig"})
		if err != nil {
			if !errors.Is(err, ErrPCValueTooLarge) {
				t.Fatalf("ParsePC error %v is not ErrPCValueTooLarge", err)
			}
			return
		}
		total := len(pc.Version) + len(pc.Name)
		for _, v := range pc.Variables {
			total += len(v)
		}
		if len(pc.Version) > maxPCValue || len(pc.Name) > maxPCValue || total > maxPCTotal {
			t.Fatalf("%d bytes of values passed the limits", total)
		}
		for _, r := range append(pc.Requires, pc.RequiresPrivate...) {
			checkRequirement(t, r)
		}
	})
}

// checkRequirement fails the test for a requirement ParsePC must not
// return.
func checkRequirement(t *testing.T, r PCRequirement) {
	t.Helper()
	if r.Module == "" || strings.ContainsAny(r.Module, ", \t\v\f\r\n<>=!") {
		t.Fatalf("malformed module name in %+v", r)
	}
	if (r.Op == "") != (r.Version == "") || (r.Op != "" && !pcOps[r.Op]) {
		t.Fatalf("malformed constraint in %+v", r)
	}
	if strings.ContainsAny(r.Version, ", \t\v\f\r\n") {
		t.Fatalf("malformed version in %+v", r)
	}
}
