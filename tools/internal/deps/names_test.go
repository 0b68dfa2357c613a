package deps

import (
	"bufio"
	"maps"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/rules-apk/rules_apk/tools/internal/testutil"
)

func TestSonameLibver(t *testing.T) {
	tests := []struct{ soname, want string }{
		{"libcurl.so.4", "4"},
		{"libc.so.6", "6"},
		{"ld-linux-x86-64.so.2", "2"},
		{"ld-linux-aarch64.so.1", "1"},
		{"libssl.so.3", "3"},
		{"libfoo.so.1.2.3", "1.2.3"},
		{"libinner.so.7.1", "7.1"},
		{"libfoo.so.1.so.2", "1"},
		{"libldap-2.5.so.0", "0"},
		{"libfoo.so", "0"},
		{"ld-linux", "0"},
		{"libplain", "0"},
		{"libweird.so.1a", "0"},
		{"libx.so.", "0"},
		{"libx.so.1..2", "0"},
		{"libx.so.1.", "0"},
		{"libx.so.123456789012345678", "0"},
	}
	for _, tt := range tests {
		t.Run(tt.soname, func(t *testing.T) {
			if got := sonameLibver(tt.soname); got != tt.want {
				t.Errorf("sonameLibver(%q) = %q, want %q", tt.soname, got, tt.want)
			}
		})
	}
}

func TestValidVersion(t *testing.T) {
	tests := []struct {
		v    string
		want bool
	}{
		{"1", true},
		{"1.2.3", true},
		{"1.2.3-r0", true},
		{"8.5.0-r12", true},
		{"1.0a", true},
		{"6.8.0p2", false}, // 2.14 accepts it, v3 does not
		{"1.0_rc1", true},
		{"1.0_alpha_pre2", true},
		{"1.0_p", true},
		{"1.0_pre1-r3", true},
		{"0.04", true},
		{"", false},
		{".1", false},
		{"1.", false},
		{"1..2", false},
		{"a", false},
		{"0.1a1", false},
		{"1.0_", false},
		{"1.0_foo", false},
		{"1.0-r", false},
		{"1.0-beta", false},
		{"1.0~abc", false},
		{"1.0+git", false},
		{"1.0 ", false},
		{"123456789012345678", false},
		{"12345678901234567", true},
	}
	for _, tt := range tests {
		t.Run(tt.v, func(t *testing.T) {
			if got := validVersion(tt.v); got != tt.want {
				t.Errorf("validVersion(%q) = %v, want %v", tt.v, got, tt.want)
			}
		})
	}
}

// TestValidVersionRealData runs validVersion over every version of
// apk-tools 2.14's own comparison vectors. The versions it refuses are
// pinned in testdata/version_refused.txt; they must be forms apk-tools
// itself finds invalid ("1.0bc": two letters, "23_foo": an unknown
// suffix), never an ordinary version.
func TestValidVersionRealData(t *testing.T) {
	f, err := os.Open(testutil.RealData(t, "apk-tools", "version.data"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	refused := map[string]bool{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line, _, _ := strings.Cut(sc.Text(), "#")
		fields := strings.Fields(line)
		if len(fields) != 3 {
			continue
		}
		for _, v := range []string{fields[0], fields[2]} {
			if !validVersion(v) {
				refused[v] = true
			}
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	for _, v := range slices.Sorted(maps.Keys(refused)) {
		b.WriteString(v + "\n")
	}
	testutil.Golden(t, "version_refused.txt", []byte(b.String()))
}

func TestSanitisePCVersion(t *testing.T) {
	tests := []struct {
		in, want string
		ok       bool
	}{
		{"1.2.13", "1.2.13", true},
		{" 3.0.2 ", "3.0.2", true},
		{"2.0-rc1", "2.0_rc1", true},
		{"1.5.0-alpha", "1.5.0_alpha", true},
		{"1.5.0-beta2", "1.5.0_beta2", true},
		{"4.0-pre", "4.0_pre", true},
		{"1.0+git20230101", "1.0+git20230101", false},
		{"3.0.0-dev", "3.0.0-dev", false},
		{"2.0~beta", "2.0~beta", false},
		{"", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, ok := sanitisePCVersion(tt.in)
			if got != tt.want || ok != tt.ok {
				t.Errorf("sanitisePCVersion(%q) = %q, %v; want %q, %v",
					tt.in, got, ok, tt.want, tt.ok)
			}
		})
	}
}

func TestValidName(t *testing.T) {
	tests := []struct {
		name string
		want bool
	}{
		{"so:libc.so.6", true},
		{"pc:gtk+-3.0", true},
		{"cmd:[", true},
		{"so:lib,x.so.1", true},
		{"", false},
		{"!conflict", false},
		{"cmd:bad name", false},
		{"cmd:a=b", false},
		{"cmd:a<b", false},
		{"cmd:a~b", false},
		{"cmd:a@tag", false},
		{"cmd:tab\t", false},
		{"cmd:del\x7f", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := validName(tt.name); got != tt.want {
				t.Errorf("validName(%q) = %v, want %v", tt.name, got, tt.want)
			}
		})
	}
}
