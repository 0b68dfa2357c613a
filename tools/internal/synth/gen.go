package synth

import (
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"

	"github.com/rules-apk/rules_apk/tools/internal/apk"
)

// Shape of the synthetic index: about the size of Wolfi's live index.
const (
	synthNames    = 20000
	synthVersions = 10
)

// wolfiLike makes a Wolfi-like package set from a fixed seed:
// names grouped by origin (foo, foo-dev, libfoo, py3-foo…), ten versions
// each, melange-style depends (so:, name>=ver, plain names) and provides
// (so:lib.so.N=N, cmd:name=ver, pc:name=ver).
func wolfiLike(names int) ([]apk.Package, []*synthOrigin) {
	g := &synthGen{rng: rand.New(rand.NewPCG(20240601, 1))}
	g.makeNames(names)
	pkgs := make([]apk.Package, 0, names*synthVersions)
	for _, o := range g.origins {
		for v := range synthVersions {
			ver := o.versions[v]
			build := synthBuild{
				time:   1700000000 + int64(g.rng.IntN(60000000)),
				commit: g.hex(20),
			}
			for _, name := range o.names {
				pkgs = append(pkgs, g.pkg(o, name, ver, build))
			}
		}
	}
	return pkgs, g.origins
}

type synthOrigin struct {
	base     string
	names    []string
	versions []string
	desc     string
	license  string
	deps     map[string]string // per name: the depends most versions share
	priority uint64
}

type synthBuild struct {
	time   int64
	commit string
}

type synthGen struct {
	rng     *rand.Rand
	origins []*synthOrigin
	libs    []string // sonames other packages can depend on
	names   []string
}

var synthSyllables = strings.Fields("ka lo mi ra ne to zu xi qua bel cor dan fen gir hol " +
	"jin kel lum mor nix pol qin rus sen tal urm vex wol yor zed ar el in on ux")

var synthWords = strings.Fields("library tool for the and with support of a fast small " +
	"portable implementation utilities runtime development files documentation plugin " +
	"bindings client server daemon protocol format parser compression cryptographic " +
	"network graphics audio video image data stream language interpreter compiler " +
	"modules extensions headers static shared command line interface secure simple")

var synthLicenses = strings.Fields("MIT Apache-2.0 GPL-2.0-only GPL-2.0-or-later " +
	"GPL-3.0-or-later LGPL-2.1-or-later LGPL-2.0-only BSD-3-Clause BSD-2-Clause ISC " +
	"MPL-2.0 Zlib OpenSSL PSF-2.0 Artistic-1.0-Perl Unlicense CC0-1.0 BSL-1.0 " +
	"Apache-2.0-WITH-LLVM-exception GPL-2.0-or-later-WITH-Linux-syscall-note")

var synthBase = strings.Fields("wolfi-baselayout busybox ca-certificates-bundle glibc " +
	"libgcc libstdc++ bash coreutils python-3.12 openssl")

func (g *synthGen) word() string { return synthWords[g.rng.IntN(len(synthWords))] }

func (g *synthGen) hex(n int) string {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(g.rng.Uint32())
	}
	return fmt.Sprintf("%x", b)
}

// makeNames draws origins until there are n package names.
func (g *synthGen) makeNames(n int) {
	seen := map[string]bool{}
	suffixes := []string{"", "-dev", "-doc", "lib", "py3-", "-compat", "-utils"}
	for len(g.names) < n {
		var base string
		for n := 2 + g.rng.IntN(3); n > 0; n-- {
			base += synthSyllables[g.rng.IntN(len(synthSyllables))]
		}
		if seen[base] {
			continue
		}
		o := &synthOrigin{base: base, deps: map[string]string{}}
		for i, s := range suffixes[:1+g.rng.IntN(4)] {
			name := base + s
			switch s {
			case "lib":
				name = "lib" + base
			case "py3-":
				name = "py3-" + base
			}
			if i > 0 && (seen[name] || len(g.names) >= n) {
				continue
			}
			seen[name] = true
			o.names = append(o.names, name)
			g.names = append(g.names, name)
			if s == "" || s == "lib" {
				g.libs = append(g.libs, "lib"+base+".so."+strconv.Itoa(g.rng.IntN(4)))
			}
		}
		g.fillOrigin(o)
		g.origins = append(g.origins, o)
	}
}

func (g *synthGen) fillOrigin(o *synthOrigin) {
	var desc []string
	for n := 11 + g.rng.IntN(13); n > 0; n-- {
		desc = append(desc, g.word())
	}
	o.desc = strings.Join(desc, " ")
	o.license = synthLicenses[g.rng.IntN(len(synthLicenses))]
	if g.rng.IntN(12) == 0 {
		o.license += " AND " + synthLicenses[g.rng.IntN(len(synthLicenses))]
	}
	major, minor, patch := g.rng.IntN(30), g.rng.IntN(20), g.rng.IntN(10)
	for v := range synthVersions {
		switch g.rng.IntN(4) {
		case 0:
			minor, patch = minor+1, 0
		default:
			patch++
		}
		o.versions = append(o.versions,
			fmt.Sprintf("%d.%d.%d-r%d", major, minor, patch, v%3))
	}
	if g.rng.IntN(30) == 0 {
		o.priority = uint64(1 + g.rng.IntN(100))
	}
}

// depends draws 2–6 constraints.
func (g *synthGen) depends() string {
	var d []string
	for n := 2 + g.rng.IntN(5); n > 0; n-- {
		switch r := g.rng.IntN(20); {
		case r < 12 && len(g.libs) > 0:
			d = append(d, "so:"+g.libs[g.rng.IntN(len(g.libs))])
		case r < 16:
			d = append(d, synthBase[g.rng.IntN(len(synthBase))])
		default:
			d = append(d, g.names[g.rng.IntN(len(g.names))]+">="+
				strconv.Itoa(g.rng.IntN(10))+"."+strconv.Itoa(g.rng.IntN(30)))
		}
	}
	return strings.Join(d, " ")
}

// provides draws 1–5 melange-style provides for one version.
func (g *synthGen) provides(name, ver string) string {
	p := []string{"cmd:" + name + "=" + ver}
	for n := g.rng.IntN(5); n > 0; n-- {
		switch g.rng.IntN(3) {
		case 0:
			so := g.rng.IntN(5)
			p = append(p, fmt.Sprintf("so:lib%s.so.%d=%d", name, so, so))
		case 1:
			p = append(p, "cmd:"+name+"-"+g.word()+"="+ver)
		default:
			p = append(p, "pc:"+name+"-"+g.word()+"="+strings.SplitN(ver, "-", 2)[0])
		}
	}
	return strings.Join(p, " ")
}

func (g *synthGen) pkg(o *synthOrigin, name, ver string, b synthBuild) apk.Package {
	var sum [20]byte
	for i := range sum {
		sum[i] = byte(g.rng.Uint32())
	}
	deps, ok := o.deps[name]
	if !ok || g.rng.IntN(2) == 0 {
		deps = g.depends()
		o.deps[name] = deps
	}
	size := uint64(2000 + g.rng.ExpFloat64()*400000)
	return apk.Package{
		Name:             name,
		Version:          ver,
		Arch:             "x86_64",
		Size:             size,
		InstalledSize:    size * uint64(2+g.rng.IntN(3)),
		Description:      o.desc,
		License:          o.license,
		Origin:           o.base,
		BuildTime:        b.time,
		Commit:           b.commit,
		ProviderPriority: o.priority,
		Depends:          deps,
		Provides:         g.provides(name, ver),
		Checksum:         apk.SHA1Checksum(sum[:]),
	}
}
