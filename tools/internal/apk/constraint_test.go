package apk

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// Checksums of two real Alpine 3.16 packages (alpine-baselayout 3.2.0-r23 and
// busybox 1.35.0-r17, x86_64), written as apk writes them.
const (
	testSumA = "Q19UI7UxyiUywG6aew9c3lCBPshsE="
	testSumB = "Q1iZ+C2JJdBlm2KKtAOkSkM7zZegY="
)

func TestParseConstraint(t *testing.T) {
	sumA := mustChecksum(t, testSumA)
	const (
		ge = VersionGreater | VersionEqual
		le = VersionLess | VersionEqual
		fz = VersionFuzzy | VersionEqual
	)
	tests := []struct {
		in   string
		want Constraint
		// out is what String writes; "" means the input itself (canonical
		// input round-trips byte for byte).
		out string
	}{
		{in: "zlib", want: Constraint{Name: "zlib"}},
		{in: "zlib>=1.3.1-r6",
			want: Constraint{Name: "zlib", Op: ge, Version: "1.3.1-r6"}},
		{in: "so:libc.so.6", want: Constraint{Name: "so:libc.so.6"}},
		{in: "so:libc.musl-x86_64.so.1", want: Constraint{Name: "so:libc.musl-x86_64.so.1"}},
		{in: "/bin/sh", want: Constraint{Name: "/bin/sh"}},
		{in: "pc:libcurl>=8",
			want: Constraint{Name: "pc:libcurl", Op: ge, Version: "8"}},
		{in: "cmd:sh=2.0", want: Constraint{Name: "cmd:sh", Op: VersionEqual, Version: "2.0"}},
		{in: "py3.10:foo[bar],baz", want: Constraint{Name: "py3.10:foo[bar],baz"}},
		{in: "so-ver:libz.so.1>=1.3.1-r6",
			want: Constraint{Name: "so-ver:libz.so.1", Op: ge, Version: "1.3.1-r6"}},
		{in: "!busybox", want: Constraint{Name: "busybox", Conflict: true}},
		{in: "!foo<2", want: Constraint{Name: "foo", Op: VersionLess, Version: "2", Conflict: true}},
		{in: "curl@edge", want: Constraint{Name: "curl", Tag: "edge"}},
		{in: "curl@edge>=8.0",
			want: Constraint{Name: "curl", Tag: "edge", Op: ge, Version: "8.0"}},
		{in: "!foo@testing~1.2", want: Constraint{Name: "foo", Tag: "testing",
			Op: fz, Version: "1.2", Conflict: true}},
		{in: "foo@a@b", want: Constraint{Name: "foo", Tag: "a@b"}},
		{in: "lib~3.6", want: Constraint{Name: "lib", Op: fz, Version: "3.6"}},
		{in: "lib>~3.6", want: Constraint{Name: "lib",
			Op: VersionGreater | VersionFuzzy | VersionEqual, Version: "3.6"}},
		{in: "lib<~3.6", want: Constraint{Name: "lib",
			Op: VersionLess | VersionFuzzy | VersionEqual, Version: "3.6"}},
		{in: "foo<1", want: Constraint{Name: "foo", Op: VersionLess, Version: "1"}},
		{in: "foo>1", want: Constraint{Name: "foo", Op: VersionGreater, Version: "1"}},
		{in: "foo<=1", want: Constraint{Name: "foo", Op: le, Version: "1"}},
		{in: "foo=0.1a1", want: Constraint{Name: "foo", Op: VersionEqual, Version: "0.1a1"}},
		{in: "foo=0.1-r2-r3", want: Constraint{Name: "foo", Op: VersionEqual, Version: "0.1-r2-r3"}},
		{in: "foo><" + testSumA, want: Constraint{Name: "foo", Op: VersionChecksum,
			Version: testSumA, Checksum: sumA}},
		// Non-canonical operator runs keep their meaning, in apk's spelling.
		{in: "foo=>1", want: Constraint{Name: "foo", Op: ge, Version: "1"},
			out: "foo>=1"},
		{in: "foo=<1", want: Constraint{Name: "foo", Op: le, Version: "1"},
			out: "foo<=1"},
		{in: "foo=~1", want: Constraint{Name: "foo", Op: fz, Version: "1"},
			out: "foo~1"},
		{in: "foo~>1", want: Constraint{Name: "foo",
			Op: VersionGreater | VersionFuzzy | VersionEqual, Version: "1"}, out: "foo>~1"},
		{in: "foo<<1", want: Constraint{Name: "foo", Op: VersionLess, Version: "1"}, out: "foo<1"},
		{in: "foo<=>1", want: Constraint{Name: "foo",
			Op: VersionLess | ge, Version: "1"}, out: "foo><=1"},
		{in: "foo<>" + testSumA, want: Constraint{Name: "foo", Op: VersionChecksum,
			Version: testSumA, Checksum: sumA}, out: "foo><" + testSumA},
		// Other checksum encodings are written back as Q1.
		{in: "foo><X1f5423b531ca2532c06e9a7b0f5cde50813ec86c1", want: Constraint{Name: "foo",
			Op: VersionChecksum, Version: testSumA, Checksum: sumA}, out: "foo><" + testSumA},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParseConstraint(tt.in)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("ParseConstraint(%q) (-want +got):\n%s", tt.in, diff)
			}
			out := tt.out
			if out == "" {
				out = tt.in
			}
			if s := got.String(); s != out {
				t.Errorf("String() = %q, want %q", s, out)
			}
			back, err := ParseConstraint(got.String())
			if err != nil {
				t.Fatalf("re-parsing %q: %v", got.String(), err)
			}
			if diff := cmp.Diff(got, back); diff != "" {
				t.Errorf("%q does not round-trip (-want +got):\n%s", got.String(), diff)
			}
		})
	}
}

func TestParseConstraintErrors(t *testing.T) {
	tests := []struct {
		in     string
		reason string // a part of the message that says what is wrong
	}{
		{"", "empty constraint"},
		{"=1.0", "missing name"},
		{"!", "missing name"},
		{"!>=1", "missing name"},
		{"@edge", "missing name"},
		{"foo@", "empty repository tag"},
		{"foo@>=1", "empty repository tag"},
		{"foo>=", `missing version after operator ">="`},
		{"foo~", `missing version after operator "~"`},
		{"foo=1.0~1234abcd", `version "1.0~1234abcd" is not valid for apk-tools 2.14`},
		{"foo=1.0-beta", `version "1.0-beta" is not valid`},
		{"foo=1.0@edge", `version "1.0@edge" is not valid`},
		{"foo<=>x.y", `version "x.y" is not valid`},
		{"foo><1.0", `the "><" operator takes a package checksum`},
		{"foo><Q1notachecksum", `the "><" operator takes a package checksum`},
		{"foo bar", `byte " " at offset 3 is not printable ASCII`},
		{"foo\tbar", `byte "\t" at offset 3`},
		{"foo\n", `byte "\n" at offset 3`},
		{"f\xc3\xb6o", `byte "\xc3" at offset 1`},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			c, err := ParseConstraint(tt.in)
			if err == nil {
				t.Fatalf("ParseConstraint(%q) = %+v, want an error", tt.in, c)
			}
			var ce *ConstraintError
			if !errors.As(err, &ce) || ce.Constraint != tt.in {
				t.Errorf("error %v is not a *ConstraintError for %q", err, tt.in)
			}
			msg := err.Error()
			if !strings.HasPrefix(msg, "parsing constraint ") || !strings.Contains(msg, tt.reason) {
				t.Errorf("error %q does not say %q", msg, tt.reason)
			}
		})
	}
}

func TestConstraintErrorUnwrap(t *testing.T) {
	_, err := ParseConstraint("foo><Q1notachecksum")
	_, sumErr := ParseChecksum("Q1notachecksum")
	var ce *ConstraintError
	if !errors.As(err, &ce) || ce.Err == nil || ce.Err.Error() != sumErr.Error() {
		t.Fatalf("error %v does not wrap the checksum error %v", err, sumErr)
	}
	if !strings.HasSuffix(err.Error(), ": "+sumErr.Error()) {
		t.Errorf("error %q does not end with the checksum error", err)
	}
}

func TestParseConstraints(t *testing.T) {
	got, err := ParseConstraints("so:libc.so.6 zlib>=1.3\n!busybox  cmd:sh=1\n")
	if err != nil {
		t.Fatal(err)
	}
	want := []Constraint{
		{Name: "so:libc.so.6"},
		{Name: "zlib", Op: VersionGreater | VersionEqual, Version: "1.3"},
		{Name: "busybox", Conflict: true},
		{Name: "cmd:sh", Op: VersionEqual, Version: "1"},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("ParseConstraints (-want +got):\n%s", diff)
	}

	for _, empty := range []string{"", " ", "\n \n"} {
		got, err := ParseConstraints(empty)
		if err != nil || got != nil {
			t.Errorf("ParseConstraints(%q) = %v, %v; want nil, nil", empty, got, err)
		}
	}

	_, err = ParseConstraints("zlib foo=1.0~abc bar")
	var ce *ConstraintError
	if !errors.As(err, &ce) || ce.Constraint != "foo=1.0~abc" {
		t.Errorf("ParseConstraints error %v does not name the entry foo=1.0~abc", err)
	}
}

func TestParseProvide(t *testing.T) {
	type provide struct{ Name, Version string }
	tests := []struct {
		in   string
		want provide
	}{
		{"so:libc.so.6=6", provide{"so:libc.so.6", "6"}},
		{"so:libcurl.so.4=4.8.0", provide{"so:libcurl.so.4", "4.8.0"}},
		{"cmd:foo", provide{"cmd:foo", ""}},
		{"/bin/sh", provide{"/bin/sh", ""}},
		{"cmd:busybox=1.35.0-r17", provide{"cmd:busybox", "1.35.0-r17"}},
		{"foo>=1.0", provide{"foo", "1.0"}},
		{"foo@edge=1", provide{"foo", "1"}},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			var got provide
			got.Name, got.Version = ParseProvide(tt.in)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("ParseProvide(%q) (-want +got):\n%s", tt.in, diff)
			}
		})
	}
}

func TestSatisfiedBy(t *testing.T) {
	zlib := &Package{Name: "zlib", Version: "1.3.1-r5",
		Provides: "so:libz.so.1=1 so-ver:libz.so.1=1.3.1-r5", Checksum: mustChecksum(t, testSumA)}
	busybox := &Package{Name: "busybox", Version: "1.35.0-r17",
		Provides: "/bin/sh cmd:sh=1.35.0-r17 cmd:busybox=1.35.0-r17",
		Checksum: mustChecksum(t, testSumB)}
	lib := &Package{Name: "lib", Version: "3.8.1-r0", Provides: "lib-compat=3.6.9"}
	twice := &Package{Name: "twice", Version: "1", Provides: "virt=1.0 virt=2.0"}
	noSum := &Package{Name: "nosum", Version: "1", Provides: "virt"}
	tests := []struct {
		name       string
		constraint string
		pkg        *Package
		want       bool
	}{
		{"own name, any version", "zlib", zlib, true},
		{"own name, version matches", "zlib>=1.3.1", zlib, true},
		{"own name, version too low", "zlib>=1.3.1-r6", zlib, false},
		{"own name, fuzzy", "zlib~1.3", zlib, true},
		{"own name, fuzzy in either direction", "lib~3.8.1.4", lib, true},
		{"other name", "busybox", zlib, false},
		{"name is a prefix of a provide", "so:libz.so", zlib, false},
		{"name is a provide's version", "1.3.1-r5", zlib, false},
		{"versioned provide, unversioned constraint", "so:libz.so.1", zlib, true},
		{"provided version compared, not package version", "so:libz.so.1>=1.3.1-r5", zlib, false},
		{"provided version satisfies", "so:libz.so.1>=1", zlib, true},
		{"so-ver provide carries the package version", "so-ver:libz.so.1>=1.3.1-r5", zlib, true},
		{"provided version below package version", "lib-compat<3.7", lib, true},
		{"unversioned provide, unversioned constraint", "/bin/sh", busybox, true},
		{"unversioned provide never meets a versioned constraint", "/bin/sh>=0", busybox, false},
		{"unversioned provide never satisfies even <", "virt<9", noSum, false},
		{"any provide of the name may match", "virt>=2", twice, true},
		{"no provide of the name matches", "virt>2.0", twice, false},
		{"conflict is not inverted", "!busybox", busybox, true},
		{"conflict on a provide is not inverted", "!cmd:sh", busybox, true},
		{"tag is not checked", "busybox@edge", busybox, true},
		{"checksum on own name", "zlib><" + testSumA, zlib, true},
		{"checksum of another package", "zlib><" + testSumB, zlib, false},
		{"checksum on a provided name", "cmd:sh><" + testSumB, busybox, true},
		{"checksum on an unversioned provide", "/bin/sh><" + testSumB, busybox, true},
		{"checksum on a name the package lacks", "zlib><" + testSumB, busybox, false},
		{"checksum against a package without one", "nosum><" + testSumA, noSum, false},
		{"nil package", "zlib", nil, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := ParseConstraint(tt.constraint)
			if err != nil {
				t.Fatal(err)
			}
			if got := c.SatisfiedBy(tt.pkg); got != tt.want {
				t.Errorf("%s.SatisfiedBy(%s) = %t, want %t",
					c, describePackage(tt.pkg), got, tt.want)
			}
		})
	}
}

func describePackage(p *Package) string {
	if p == nil {
		return "nil"
	}
	return fmt.Sprintf("%s (provides %q, checksum %s)", p.NameVersion(), p.Provides, p.Checksum)
}

// TestConstraintsRealIndexes parses every D:, p: and i: entry of the real
// Alpine and Wolfi indexes: each must parse and String must give back the
// entry byte for byte, since apk writes constraints canonically.
func TestConstraintsRealIndexes(t *testing.T) {
	for _, index := range [][]string{
		{"alpine-3.16-x86_64", "APKINDEX.tar.gz"},
		{"wolfi-aarch64-resigned", "APKINDEX.tar.gz"},
	} {
		t.Run(index[0], func(t *testing.T) {
			n := 0
			for _, p := range loadIndexPackages(t, index...) {
				for _, list := range []string{p.Depends, p.Provides, p.InstallIf} {
					for _, entry := range ListFields(list) {
						c, err := ParseConstraint(entry)
						if err != nil {
							t.Errorf("%s: %v", p.Name, err)
							continue
						}
						if c.String() != entry {
							t.Errorf("%s: %q comes back as %q", p.Name, entry, c.String())
						}
						n++
					}
				}
			}
			t.Logf("%d constraints", n)
		})
	}
}

// TestSatisfiedByRealIndex checks SatisfiedBy on the real Alpine 3.16 main
// index: every dependency that is not a conflict is met by some package of
// the index, except the one whose package lives in community, and every
// package's checksum constraint is met by that package alone.
func TestSatisfiedByRealIndex(t *testing.T) {
	pkgs := loadIndexPackages(t, "alpine-3.16-x86_64", "APKINDEX.tar.gz")
	// Index the candidates by every name they are known by.
	byName := map[string][]*Package{}
	for i := range pkgs {
		p := &pkgs[i]
		byName[p.Name] = append(byName[p.Name], p)
		for _, entry := range ListFields(p.Provides) {
			name, _ := ParseProvide(entry)
			byName[name] = append(byName[name], p)
		}
	}
	var unmet []string
	versioned := 0
	for i := range pkgs {
		p := &pkgs[i]
		deps, err := ParseConstraints(p.Depends)
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range deps {
			if c.Conflict {
				continue
			}
			if c.Op != VersionAny {
				versioned++
			}
			if !satisfiedByAny(c, byName[c.Name]) {
				unmet = append(unmet, p.NameVersion()+": "+c.String())
			}
		}
		self := Constraint{Name: p.Name, Op: VersionChecksum, Checksum: p.Checksum}
		for _, q := range byName[p.Name] {
			if got := self.SatisfiedBy(q); got != (q == p) {
				t.Errorf("%s.SatisfiedBy(%s) = %t", self, q.NameVersion(), got)
			}
		}
	}
	want := []string{"tiny-cloud-aws-2.0.0-r0: nvme-cli"} // nvme-cli is in community
	if diff := cmp.Diff(want, unmet); diff != "" {
		t.Errorf("unmet dependencies (-want +got):\n%s", diff)
	}
	t.Logf("%d packages, %d versioned dependencies", len(pkgs), versioned)
}

func satisfiedByAny(c Constraint, pkgs []*Package) bool {
	for _, p := range pkgs {
		if c.SatisfiedBy(p) {
			return true
		}
	}
	return false
}

// FuzzParseConstraint checks that parsing never panics and that whatever
// parses is written back by String in a form that parses to the same
// constraint.
func FuzzParseConstraint(f *testing.F) {
	for _, l := range loadVersionData(f) {
		f.Add("foo" + l.op + l.a)
	}
	for _, s := range []string{
		"so:libc.so.6", "!busybox", "curl@edge>=8.0", "lib>~3.6", "foo=>1", "foo<=>1",
		"foo><" + testSumA, "foo<>X1f5423b531ca2532c06e9a7b0f5cde50813ec86c1", "foo@a@b~1",
		"foo>=", "=1", "foo@", "!!foo", "py3.10:foo[bar]",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		c, err := ParseConstraint(s)
		if err != nil {
			return
		}
		out := c.String()
		back, err := ParseConstraint(out)
		if err != nil {
			t.Fatalf("ParseConstraint(%q) = %+v; its String %q does not parse: %v",
				s, c, out, err)
		}
		if diff := cmp.Diff(c, back); diff != "" {
			t.Fatalf("%q → %q does not round-trip (-want +got):\n%s", s, out, diff)
		}
		if back.String() != out {
			t.Fatalf("String is not stable: %q then %q", out, back.String())
		}
	})
}
