// Package synth generates the synthetic Wolfi-sized repository of the
// benchmarks: a signed index of 200,000 records (20,000 names × 10
// versions, about 94 MB of APKINDEX text) whose records look like Wolfi's
// (descriptions, licenses, origins, commits, melange-style depends and
// provides), with a 30-package closure of so:libcurl.so.4 inside it whose
// newest versions exist as real package files.
//
// The index benchmark (BenchmarkReadIndex, tools/bench/index.sh), the
// resolver benchmarks and tools/bench/lock.sh all read the same repository,
// written once into the user cache directory by CachedRepo (or by
// `go run ./tools/bench/synthrepo`).
package synth

import (
	"fmt"
	"strings"

	"github.com/rules-apk/rules_apk/tools/internal/apk"
)

// Version names the generator's output in the cache; bump it whenever the
// generated records or packages change.
const Version = 2

// Records is the number of records of Packages.
const Records = synthNames * synthVersions

// Curl is the constraint whose closure the benchmarks resolve.
const Curl = "so:libcurl.so.4"

// closureSize is the number of names the closure of Curl pulls in; one
// more name provides Curl with a lower provider_priority.
const closureSize = 30

// WolfiLike returns the Wolfi-like records of names names (10 versions
// each) without the curl closure; their depends name packages that do not
// exist, so they are for reading and writing indexes, not for solving.
func WolfiLike(names int) []apk.Package {
	pkgs, _ := wolfiLike(names)
	return pkgs
}

// Packages returns the 200,000 records of the benchmark index, sorted by
// origin, with the curl closure: see Closure.
func Packages() []apk.Package {
	pkgs, origins := wolfiLike(synthNames)
	overlayClosure(pkgs, closureNames(origins))
	return pkgs
}

// closureNames picks closureSize+1 names spread over the origins: the
// first name of every len/(closureSize+1)-th origin.
func closureNames(origins []*synthOrigin) []string {
	n := closureSize + 1
	step := len(origins) / n
	names := make([]string, n)
	for i := range names {
		names[i] = origins[i*step].names[0]
	}
	return names
}

// Closure returns the names of the closure of Curl in Packages, in
// dependency order (each after what it depends on), and the name of the
// other, lower-priority provider of Curl.
func Closure() (names []string, other string) {
	_, origins := wolfiLike(synthNames)
	all := closureNames(origins)
	return all[:closureSize], all[closureSize]
}

// overlayClosure rewrites the depends and provides of every version of the
// closure names: name i provides so:lib<name>.so.1 and depends on name i-1
// and on up to two more of the eight names before it, so that the closure
// of name closureSize-1 is names 0…closureSize-1. Names closureSize-1 and
// closureSize provide Curl, with provider priorities 10 and 5 (as Wolfi's
// libcurl-openssl4 and libcurl-rustls4); the second depends on name 10
// only.
func overlayClosure(pkgs []apk.Package, names []string) {
	index := map[string]int{}
	for i, n := range names {
		index[n] = i
	}
	for j := range pkgs {
		p := &pkgs[j]
		i, ok := index[p.Name]
		if !ok {
			continue
		}
		var deps []string
		switch {
		case i == closureSize:
			deps = append(deps, soname(names[10]))
		case i > 0:
			deps = append(deps, soname(names[i-1]))
			// A fixed choice per name (not per version) from the names
			// before it, as real packages keep their depends.
			for k := 2; k <= 8 && i-k >= 0; k += 3 + i%3 {
				deps = append(deps, soname(names[i-k]))
			}
		}
		provides := []string{soname(p.Name) + "=1"}
		for _, f := range apk.ListFields(p.Provides) {
			if !strings.HasPrefix(f, "so:") {
				provides = append(provides, f)
			}
		}
		p.ProviderPriority = 0
		if i >= closureSize-1 {
			provides = append(provides, Curl+"=4")
			p.ProviderPriority = uint64(10 - 5*(i-closureSize+1))
		}
		p.Depends = strings.Join(deps, " ")
		p.Provides = strings.Join(provides, " ")
	}
}

func soname(name string) string { return fmt.Sprintf("so:lib%s.so.1", name) }
