package apk

import (
	"archive/tar"
	"bufio"
	"compress/gzip"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/rules-apk/rules_apk/tools/internal/testutil"
)

// versionDataLine is one "a OP b" line of apk-tools' test/version.data.
type versionDataLine struct {
	line int
	a    string
	op   string
	b    string
}

// loadVersionData reads apk-tools 2.14's version.data (§4.4). Any line that
// is not a comment, blank, or "a OP b" with OP one of < = > fails the test,
// so that no vector is skipped unnoticed.
func loadVersionData(t testing.TB) []versionDataLine {
	t.Helper()
	f, err := os.Open(testutil.RealData(t, "apk-tools", "version.data"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []versionDataLine
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		text, _, _ := strings.Cut(sc.Text(), "#")
		fields := strings.Fields(text)
		if len(fields) == 0 {
			continue
		}
		if len(fields) != 3 || !slices.Contains([]string{"<", "=", ">"}, fields[1]) {
			t.Fatalf("version.data line %d: cannot read %q", n, sc.Text())
		}
		out = append(out, versionDataLine{line: n, a: fields[0], op: fields[1], b: fields[2]})
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// loadIndexPackages reads the records of a real APKINDEX.tar.gz with a
// throwaway scanner (P, V, C, D, p, i only), for tests of versions and
// constraints against real data.
func loadIndexPackages(t testing.TB, elem ...string) []Package {
	t.Helper()
	f, err := os.Open(testutil.RealData(t, elem...))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f) // reads the signature and index members as one stream
	if err != nil {
		t.Fatal(err)
	}
	tr := tar.NewReader(zr)
	for {
		h, err := tr.Next()
		if err != nil {
			t.Fatalf("reading %v: no APKINDEX member: %v", elem, err)
		}
		if h.Name == "APKINDEX" {
			return scanIndexRecords(t, tr)
		}
	}
}

func scanIndexRecords(t testing.TB, r io.Reader) []Package {
	t.Helper()
	var out []Package
	var p Package
	sc := bufio.NewScanner(r)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		key, value, _ := strings.Cut(sc.Text(), ":")
		switch key {
		case "":
			if p.Name != "" {
				out = append(out, p)
			}
			p = Package{}
		case "P":
			p.Name = value
		case "V":
			p.Version = value
		case "D":
			p.Depends = value
		case "p":
			p.Provides = value
		case "i":
			p.InstallIf = value
		case "C":
			sum, err := ParseChecksum(value)
			if err != nil {
				t.Fatal(err)
			}
			p.Checksum = sum
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if p.Name != "" {
		out = append(out, p)
	}
	return out
}

var versionDataOps = map[string]int{"<": -1, "=": 0, ">": 1}

// checkCompare checks CompareVersions both ways round.
func checkCompare(t *testing.T, a, b string, want int) {
	t.Helper()
	if got := CompareVersions(a, b); got != want {
		t.Errorf("CompareVersions(%q, %q) = %d, want %d", a, b, got, want)
	}
	if got := CompareVersions(b, a); got != -want {
		t.Errorf("CompareVersions(%q, %q) = %d, want %d", b, a, got, -want)
	}
}

func TestCompareVersionsVersionData(t *testing.T) {
	lines := loadVersionData(t)
	// 2.14-stable:test/version.data has 733 vectors (§4.4).
	if len(lines) != 733 {
		t.Fatalf("read %d vectors from version.data, want 733", len(lines))
	}
	for _, l := range lines {
		t.Run(fmt.Sprintf("%d:%s_%s_%s", l.line, l.a, l.op, l.b), func(t *testing.T) {
			checkCompare(t, l.a, l.b, versionDataOps[l.op])
			if !MatchVersion(l.a, parseVersionOp(l.op), l.b) {
				t.Errorf("MatchVersion(%q, %q, %q) = false, want true", l.a, l.op, l.b)
			}
		})
	}
}

// TestCompareVersionsDisagreements checks the 2.14 column of the table of
// §4.3, where apk-tools v3 and apko answer differently.
func TestCompareVersionsDisagreements(t *testing.T) {
	tests := []struct {
		a, b string
		want int
	}{
		{"8.2.0", "8.2.001", 1},
		{"8.2.0015", "8.2.002", 1},
		{"0.012", "0.04", 1},
		{"0.0.10-r1", "0.004-r1", 1},
		{"4.5.14", "4.09-r1", 1},
		{"1.01", "1.1", -1},
		{"0.04", "0.004", 1},
		{"1.0~1234", "1.0~2345", 0}, // both invalid in 2.14: the walk stops at '~'
		{"0.1.0_alpha_pre2", "0.1.0_alpha", -1},
	}
	for _, tt := range tests {
		t.Run(tt.a+"_vs_"+tt.b, func(t *testing.T) {
			checkCompare(t, tt.a, tt.b, tt.want)
		})
	}
}

// TestCompareVersionsRules has one or more cases per rule of the walk (§4.1).
func TestCompareVersionsRules(t *testing.T) {
	tests := []struct {
		rule string
		a, b string
		want int
	}{
		{"numeric components", "1.10", "1.9", 1},
		{"leading zeros count negatively", "1.001", "1.01", -1},
		{"last leading zero read as a digit token", "1.012", "1.011", 1},
		{"lone zero component", "1.0", "1.00", 1},
		{"letter by character", "1.0b", "1.0a", 1},
		{"letter then digits", "0.1a2", "0.1a10", -1},
		{"end is below revision", "1.0", "1.0-r1", -1},
		{"end is below another component", "1.0", "1.0.1", -1},
		{"pre-release suffix is below end", "1.0_rc1", "1.0", -1},
		{"post-release suffix is above end", "1.0_p1", "1.0", 1},
		{"letter is below another component", "1.0a", "1.0.1", -1},
		{"suffix order", "1.0_alpha", "1.0_beta", -1},
		{"suffix order", "1.0_rc", "1.0_cvs", -1},
		{"suffix order", "1.0_hg", "1.0_p", -1},
		{"pre is matched before p", "1.0_pre", "1.0_p", -1},
		{"suffix number", "1.0_rc2", "1.0_rc10", -1},
		{"unknown suffix compares as pre-release", "1.0_foo", "1.0", -1},
		{"revision", "1.0-r10", "1.0-r9", 1},
		{"repeated revision", "0.1-r2-r3", "0.1-r2", 1},
		{"invalid tail after equal tokens", "1.0-beta", "1.0-gamma", 0},
		{"empty component", ".1", "0.1", 0},
		{"empty versus one", "", "1", -1},
		{"identical", "2.2.39-r1", "2.2.39-r1", 0},
	}
	for _, tt := range tests {
		t.Run(tt.rule+"/"+tt.a+"_vs_"+tt.b, func(t *testing.T) {
			checkCompare(t, tt.a, tt.b, tt.want)
		})
	}
}

func TestValidVersion(t *testing.T) {
	tests := []struct {
		v    string
		want bool
	}{
		{"1.0", true},
		{"2.2.39-r1", true},
		{"0.1.0_alpha_pre2", true},
		{"1.0.0_pre20191002222144-r0", true},
		{"0.99f7-r0", true},
		{"6.8.0p2-r4", true},
		// Valid in 2.14 only (§4.3).
		{"0.1a1", true},
		{"0.1-r", true},
		{"0.1-r2-r3", true},
		{".1", true},
		{"a", true},
		{"0.1_", true},
		{"1.12345678901234567", true}, // 17 digits
		// Invalid in 2.14.
		{"", false},
		{"1.0~1234abcd", false},
		{"0.1_pre2~1234abcd", false},
		{"1.0bc", false},
		{"1.0-1", false},
		{"1.0_foo", false},
		{"1.0_patch1", false},
		{"1.0a.1", false},
		{"1.0-r1.2", false},
		{"1.0-r1_p1", false},
		{"1.0_p1a", false},
		{"1.0A", false},
		{"1.0 ", false},
		{"1.123456789012345678", false}, // 18 digits
	}
	for _, tt := range tests {
		t.Run(tt.v, func(t *testing.T) {
			if got := ValidVersion(tt.v); got != tt.want {
				t.Errorf("ValidVersion(%q) = %t, want %t", tt.v, got, tt.want)
			}
		})
	}
}

func TestMatchVersion(t *testing.T) {
	tests := []struct {
		a    string
		op   string
		b    string
		want bool
	}{
		{"1.0", "", "2.0", true},
		{"1.0", "=", "1.0", true},
		{"1.0", "=", "1.0-r0", false},
		{"1.0", "<", "1.0-r1", true},
		{"1.0", "<=", "1.0", true},
		{"1.1", "<=", "1.0", false},
		{"1.1", ">=", "1.0", true},
		{"1.1", ">", "1.1", false},
		// 2.14 fuzzy: an equal prefix matches in either direction (§4.1).
		{"3.8", "~", "3.8.1", true},
		{"3.8.1", "~", "3.8", true},
		{"3.6.9", "~", "3.6", true},
		{"3.8", "~", "3.6", false},
		{"3.80", "~", "3.8", false},
		{"1.2.3-r4", "~", "1.2", true},
		{"1.2_rc1", "~", "1.2", true},
		{"3.9", ">~", "3.8", true},
		{"3.8.2", ">~", "3.8", true},
		{"3.7", ">~", "3.8", false},
		{"3.8.2", "<~", "3.8", true},
		{"3.9", "<~", "3.8", false},
		{"3.8", "=", "3.8.1", false},
		// A lone fuzzy bit implies equal.
		{"3.8", "fuzzy-only", "3.8.1", true},
	}
	for _, tt := range tests {
		t.Run(tt.a+"_"+tt.op+"_"+tt.b, func(t *testing.T) {
			op := parseVersionOp(tt.op)
			if tt.op == "fuzzy-only" {
				op = VersionFuzzy
			}
			if got := MatchVersion(tt.a, op, tt.b); got != tt.want {
				t.Errorf("MatchVersion(%q, %s, %q) = %t, want %t", tt.a, tt.op, tt.b, got, tt.want)
			}
		})
	}
}

func TestVersionOpString(t *testing.T) {
	tests := []struct {
		run  string
		want string
	}{
		{"", ""},
		{"=", "="},
		{"<", "<"},
		{">", ">"},
		{"<=", "<="},
		{"=<", "<="},
		{">=", ">="},
		{"=>", ">="},
		{"~", "~"},
		{"=~", "~"},
		{">~", ">~"},
		{"~>", ">~"},
		{"<~", "<~"},
		{"><", "><"},
		{"<>", "><"},
		{"<=>", "><="},
		{"<~>", "><~"},
		{"<<", "<"},
	}
	for _, tt := range tests {
		t.Run(tt.run, func(t *testing.T) {
			op := parseVersionOp(tt.run)
			if got := op.String(); got != tt.want {
				t.Errorf("parseVersionOp(%q).String() = %q, want %q", tt.run, got, tt.want)
			}
			if back := parseVersionOp(op.String()); back != op {
				t.Errorf("parseVersionOp(%q) = %04b, want %04b", op.String(), back, op)
			}
		})
	}
}

func TestSplitNameVersion(t *testing.T) {
	type split struct {
		Name, Version string
		OK            bool
	}
	tests := []struct {
		in   string
		want split
	}{
		{"foo-bar-1.2-r0", split{"foo-bar", "1.2-r0", true}},
		{"zlib-1.3.1-r6", split{"zlib", "1.3.1-r6", true}},
		{"py3-foo-2-1.0-r0", split{"py3-foo-2", "1.0-r0", true}},
		{"libstdc++-12.2.1_git20220924-r4", split{"libstdc++", "12.2.1_git20220924-r4", true}},
		{"wolfi-base-1-r1", split{"wolfi-base", "1-r1", true}},
		{"foo", split{}},
		{"foo-bar", split{}},
		{"foo-", split{}},
		{"-1.0", split{}},
		{"", split{}},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			var got split
			got.Name, got.Version, got.OK = SplitNameVersion(tt.in)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("SplitNameVersion(%q) (-want +got):\n%s", tt.in, diff)
			}
		})
	}
}

// TestVersionsRealIndexes checks every version of the real Alpine and Wolfi
// indexes: all are valid for 2.14, SplitNameVersion undoes NameVersion, and
// CompareVersions orders them consistently (sorting, then checking every
// pair, finds no order that contradicts another).
func TestVersionsRealIndexes(t *testing.T) {
	for _, index := range [][]string{
		{"alpine-3.16-x86_64", "APKINDEX.tar.gz"},
		{"wolfi-aarch64-resigned", "APKINDEX.tar.gz"},
	} {
		t.Run(index[0], func(t *testing.T) {
			pkgs := loadIndexPackages(t, index...)
			var versions []string
			for _, p := range pkgs {
				if !ValidVersion(p.Version) {
					t.Errorf("%s: version %q is not valid", p.Name, p.Version)
				}
				name, version, ok := SplitNameVersion(p.NameVersion())
				if !ok || name != p.Name || version != p.Version {
					t.Errorf("SplitNameVersion(%q) = %q, %q, %t",
						p.NameVersion(), name, version, ok)
				}
				versions = append(versions, p.Version)
			}
			slices.Sort(versions)
			versions = slices.Compact(versions)
			checkTotalOrder(t, versions)
		})
	}
}

func checkTotalOrder(t *testing.T, versions []string) {
	t.Helper()
	slices.SortFunc(versions, CompareVersions)
	for i := range versions {
		for j := i + 1; j < len(versions); j++ {
			if CompareVersions(versions[i], versions[j]) > 0 {
				t.Fatalf("after sorting, %q > %q", versions[i], versions[j])
			}
		}
	}
	t.Logf("%d distinct versions, from %s to %s",
		len(versions), versions[0], versions[len(versions)-1])
}

// BenchmarkCompareVersions compares each version of the real Alpine 3.16
// index with the next one, in index order.
func BenchmarkCompareVersions(b *testing.B) {
	pkgs := loadIndexPackages(b, "alpine-3.16-x86_64", "APKINDEX.tar.gz")
	versions := make([]string, len(pkgs))
	for i, p := range pkgs {
		versions[i] = p.Version
	}
	sum := 0
	for b.Loop() {
		for i := 1; i < len(versions); i++ {
			sum += CompareVersions(versions[i-1], versions[i])
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*(len(versions)-1)), "ns/compare")
	_ = sum
}

// FuzzCompareVersions checks that the comparison is antisymmetric and
// reflexive, and that the walk never panics, on any input.
func FuzzCompareVersions(f *testing.F) {
	for _, l := range loadVersionData(f) {
		f.Add(l.a, l.b)
	}
	f.Add("1.0~1234", "1.0~2345")
	f.Add("8.2.0015", "8.2.002")
	f.Add("0.1-r2-r3", ".1")
	f.Fuzz(func(t *testing.T, a, b string) {
		ab, ba := CompareVersions(a, b), CompareVersions(b, a)
		if ab != -ba {
			t.Errorf("CompareVersions(%q, %q) = %d but CompareVersions(%q, %q) = %d",
				a, b, ab, b, a, ba)
		}
		if got := compareVersions(a, a, false); got != 0 {
			t.Errorf("compareVersions(%q, %q) = %d, want 0", a, a, got)
		}
		const fuzzy = VersionFuzzy | VersionEqual
		if MatchVersion(a, fuzzy, b) != MatchVersion(b, fuzzy, a) {
			t.Errorf("fuzzy match of %q and %q depends on the order", a, b)
		}
		ValidVersion(a)
	})
}
