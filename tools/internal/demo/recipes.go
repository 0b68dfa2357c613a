package demo

// Source is one Debian package's share of a package.
type Source struct {
	// Deb is the Debian package name, as pinned in the manifest.
	Deb string `json:"deb"`
	// Keep, when not empty, limits the share to the paths matching one of
	// these patterns (path.Match syntax, matched against the usr-merged
	// path and every directory above it).
	Keep []string `json:"keep,omitempty"`
	// Drop leaves out the paths matching one of these patterns, on top of
	// commonDrops.
	Drop []string `json:"drop,omitempty"`
}

// Link is a symbolic link a recipe adds to its package.
type Link struct {
	Path   string `json:"path"`
	Target string `json:"target"`
}

// Recipe says how one package of the demo repository is made.
type Recipe struct {
	// Name is the package name.
	Name string `json:"name"`
	// Sources are the Debian packages merged into the package. The first
	// one gives the version (see APKVersion), the origin (its source
	// package), the description and the URL.
	Sources []Source `json:"sources,omitempty"`
	// Generator names a function of generators that writes files after the
	// sources are placed ("ca-bundle", "baselayout").
	Generator string `json:"generator,omitempty"`
	// Version is the version of a package made without sources.
	Version string `json:"version,omitempty"`
	// Description and URL override what the first source says.
	Description string `json:"description,omitempty"`
	URL         string `json:"url,omitempty"`
	// License is an SPDX expression, taken from the Debian copyright file.
	License string `json:"license"`
	// Depends and Provides are the hand-written constraints and names that
	// detection cannot know; `apkpack pack` adds what it detects.
	Depends  []string `json:"depends,omitempty"`
	Provides []string `json:"provides,omitempty"`
	// SkipDepends drops detected dependencies by name.
	SkipDepends []string `json:"skip_depends,omitempty"`
	// ProviderPriority is the package's provider_priority (k:).
	ProviderPriority uint64 `json:"provider_priority,omitempty"`
	// Links are symbolic links added to the package.
	Links []Link `json:"links,omitempty"`
	// Owners are the entries not owned by root, as `apkpack pack --owner`
	// takes them: PATH=UID:GID.
	Owners []string `json:"owners,omitempty"`
}

// Debs lists the Debian packages the recipe uses, in order.
func (r *Recipe) Debs() []string {
	var names []string
	for _, s := range r.Sources {
		names = append(names, s.Deb)
	}
	return names
}

// Licenses, by the SPDX expressions of the Debian copyright files.
const (
	lgpl21   = "LGPL-2.1-or-later"
	gpl3     = "GPL-3.0-or-later"
	gccRT    = "GPL-3.0-or-later WITH GCC-exception-3.1"
	gnuDual  = "LGPL-3.0-or-later OR GPL-2.0-or-later"
	mitLic   = "MIT"
	bsd3     = "BSD-3-Clause"
	lgpl3    = "LGPL-3.0-or-later"
	gccDir   = "usr/lib/gcc/x86_64-linux-gnu/12/"
	multiLib = "usr/lib/x86_64-linux-gnu/"
	// loader is the dynamic loader of x86_64 glibc, under its usr-merged
	// paths: the file, and the /lib64 name every executable asks for.
	loader     = multiLib + "ld-linux-x86-64.so.2"
	loaderLink = "usr/lib/ld-linux-x86-64.so.2"
)

// Recipes are the packages of the demo repository. The packages a spec
// names carry Wolfi's names and hand-written constraints; the libraries
// they need keep their Debian names and only detected constraints.
var Recipes = []Recipe{
	{
		Name: "demo-baselayout", Generator: "baselayout", Version: baselayoutVersion,
		Description: "Base layout of the rules_apk demo repository: usr-merged links, " +
			"/etc/passwd, /etc/group, /etc/os-release and the nonroot user's home",
		URL: "https://github.com/rules-apk/rules_apk", License: "CC0-1.0",
		// As wolfi-baselayout does; the versioned provide lets Wolfi's
		// dependency on wolfi-baselayout resolve here (§3.2).
		Provides: []string{"wolfi-baselayout=" + baselayoutVersion},
		Depends:  []string{"ca-certificates-bundle"},
		// The home of the user images run as (65532, as in Wolfi's images).
		Owners: []string{"home/nonroot=65532:65532"},
	},
	{
		Name: "ca-certificates-bundle", Generator: "ca-bundle",
		Sources: []Source{
			{Deb: "ca-certificates", Keep: []string{"usr/share/ca-certificates"}},
		},
		Description: "The Mozilla CA certificates as one PEM bundle, /" + bundlePath,
		URL:         "https://salsa.debian.org/debian/ca-certificates",
		License:     "MPL-2.0",
	},
	{
		Name:        "ld-linux",
		Sources:     []Source{{Deb: "libc6", Keep: []string{loader, loaderLink}}},
		Description: "The dynamic loader of the GNU C library",
		License:     lgpl21,
		Depends:     []string{"wolfi-baselayout"},
		// As Wolfi's ld-linux has.
		ProviderPriority: 10,
	},
	{
		Name: "glibc",
		Sources: []Source{
			// The loader is ld-linux, and the character set modules
			// (gconv) are left out, as Wolfi ships them separately.
			{Deb: "libc6", Drop: []string{loader, loaderLink, multiLib + "gconv"}},
			// Debian builds /etc/ld.so.conf into libc-bin; Wolfi's
			// glibc ships it (§6.2).
			{Deb: "libc-bin", Keep: []string{"etc/ld.so.conf"}},
		},
		License: lgpl21,
		Depends: []string{"ld-linux", "libgcc", "wolfi-baselayout"},
	},
	{
		Name: "glibc-dev", Sources: []Source{{Deb: "libc6-dev"}}, License: lgpl21,
		// Its linker scripts and .so links name the libraries of glibc.
		Depends: []string{"glibc", "libcrypt-dev", "linux-libc-dev"},
	},
	{Name: "libgcc", Sources: []Source{{Deb: "libgcc-s1"}}, License: gccRT},
	{
		Name: "libcurl-openssl4", Sources: []Source{{Deb: "libcurl4"}}, License: "curl",
		// As Wolfi's, so that it wins so:libcurl.so.4 over other builds.
		ProviderPriority: 10,
	},
	{
		Name: "curl-dev", Sources: []Source{{Deb: "libcurl4-openssl-dev"}}, License: "curl",
		// libcurl.so links to the library of libcurl-openssl4.
		Depends: []string{"libcurl-openssl4"},
	},
	{
		Name: "gcc",
		Sources: []Source{
			// lto-dump and the GDB plugins are debugging tools.
			{Deb: "gcc-12", Drop: []string{
				"usr/bin/*lto-dump-12", gccDir + "plugin", gccDir + "libcc1.so",
			}},
			{Deb: "cpp-12"},
			// The sanitizer runtimes and the .so links to libraries the
			// repository does not carry are left out.
			{Deb: "libgcc-12-dev", Drop: []string{
				gccDir + "libasan*", gccDir + "libtsan*", gccDir + "liblsan*",
				gccDir + "libubsan*", gccDir + "libhwasan*",
				gccDir + "libgomp.so", gccDir + "libitm.so", gccDir + "libatomic.so",
				gccDir + "libquadmath.so",
			}},
		},
		License: gccRT,
		// The driver runs as and ld, and links with crt1.o, libc and
		// libgcc_s, which detection cannot see.
		Depends: []string{"binutils", "glibc-dev", "libgcc"},
		// The names the gcc package of a distribution adds.
		Links: []Link{
			{"usr/bin/gcc", "gcc-12"}, {"usr/bin/cc", "gcc-12"}, {"usr/bin/cpp", "cpp-12"},
			{"usr/bin/x86_64-linux-gnu-gcc", "x86_64-linux-gnu-gcc-12"},
		},
	},
	{
		Name: "binutils",
		Sources: []Source{
			{Deb: "binutils"}, {Deb: "binutils-x86-64-linux-gnu"}, {Deb: "binutils-common"},
		},
		License: gpl3,
	},
	debianLib("libbinutils", gpl3),
	debianLib("libbrotli1", mitLic),
	debianLib("libcom-err2", mitLic),
	debianLib("libcrypt-dev", lgpl21, "libcrypt1"),
	debianLib("libcrypt1", lgpl21),
	debianLib("libctf-nobfd0", gpl3),
	debianLib("libctf0", gpl3),
	debianLib("libdb5.3", "Sleepycat"),
	debianLib("libffi8", mitLic),
	debianLib("libgmp10", gnuDual),
	debianLib("libgnutls30", lgpl21),
	debianLib("libgprofng0", gpl3),
	debianLib("libgssapi-krb5-2", mitLic),
	debianLib("libhogweed6", gnuDual),
	debianLib("libidn2-0", "GPL-2.0-or-later OR LGPL-3.0-or-later"),
	debianLib("libisl23", mitLic),
	debianLib("libjansson4", mitLic),
	debianLib("libk5crypto3", mitLic),
	debianLib("libkeyutils1", lgpl21),
	debianLib("libkrb5-3", mitLic),
	debianLib("libkrb5support0", mitLic),
	debianLib("libldap-2.5-0", "OLDAP-2.8"),
	debianLib("libmpc3", lgpl3),
	debianLib("libmpfr6", lgpl3),
	debianLib("libnettle8", gnuDual),
	debianLib("libnghttp2-14", mitLic),
	debianLib("libp11-kit0", bsd3),
	debianLib("libpsl5", mitLic),
	debianLib("librtmp1", lgpl21),
	debianLib("libsasl2-2", "BSD-Attribution-HPND-disclaimer"),
	debianLib("libssh2-1", bsd3),
	{
		// ld.gold, dwp and gprofng are C++. The GDB pretty printers are
		// left out.
		Name: "libstdc++6", License: gccRT,
		Sources: []Source{{Deb: "libstdc++6", Drop: []string{"usr/share/gcc", "usr/share/gdb"}}},
	},
	debianLib("libssl3", "Apache-2.0"),
	debianLib("libtasn1-6", lgpl21),
	debianLib("libunistring2", "LGPL-3.0-or-later OR GPL-2.0-or-later"),
	debianLib("libzstd1", "BSD-3-Clause OR GPL-2.0-only"),
	debianLib("linux-libc-dev", "GPL-2.0-only WITH Linux-syscall-note"),
	debianLib("zlib1g", "Zlib"),
}

// debianLib is the recipe of a package that repacks one Debian package
// under its own name.
func debianLib(name, license string, depends ...string) Recipe {
	return Recipe{Name: name, Sources: []Source{{Deb: name}}, License: license, Depends: depends}
}

// Update is a source package whose packages v2 repacks at a higher
// revision, and the .deb whose changelog says which vulnerabilities the
// revision fixes.
type Update struct {
	Origin    string
	Changelog string
}

// Updates are the source packages v2 updates.
var Updates = []Update{
	{Origin: "curl", Changelog: "libcurl4"},
	{Origin: "openssl", Changelog: "libssl3"},
	{Origin: "zlib", Changelog: "zlib1g"},
}
