package layer

import (
	"cmp"
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// LayeringKind says how packages are split into layers.
type LayeringKind int

// Layering kinds.
const (
	// LayeringSingle writes one layer.
	LayeringSingle LayeringKind = iota
	// LayeringPerPackage writes one layer per package, in install order.
	LayeringPerPackage
	// LayeringOrigin groups packages by origin into at most Max layers.
	LayeringOrigin
)

// Layering is a layering strategy. In every strategy the generated files
// (installed database, etc/apk, os-release, ld.so.cache, busybox links)
// go into the last layer, and each layer also holds the parent directories
// of its entries, with their final attributes, so that it extracts alone.
type Layering struct {
	Kind LayeringKind
	Max  int // for LayeringOrigin
}

// ParseLayering reads "single", "per-package" or "origin:N".
func ParseLayering(s string) (Layering, error) {
	switch {
	case s == "" || s == "single":
		return Layering{Kind: LayeringSingle}, nil
	case s == "per-package":
		return Layering{Kind: LayeringPerPackage}, nil
	case strings.HasPrefix(s, "origin:"):
		n, err := strconv.Atoi(strings.TrimPrefix(s, "origin:"))
		if err != nil || n < 1 {
			return Layering{}, fmt.Errorf("layering %q: N in origin:N must be a positive integer", s)
		}
		return Layering{Kind: LayeringOrigin, Max: n}, nil
	}
	return Layering{}, fmt.Errorf("layering %q: use single, per-package or origin:N", s)
}

// String formats l as ParseLayering reads it.
func (l Layering) String() string {
	switch l.Kind {
	case LayeringPerPackage:
		return "per-package"
	case LayeringOrigin:
		return "origin:" + strconv.Itoa(l.Max)
	}
	return "single"
}

func (l Layering) check() error {
	if l.Kind == LayeringOrigin && l.Max < 1 {
		return fmt.Errorf("layering origin:%d: N must be at least 1", l.Max)
	}
	return nil
}

// assignLayers returns the layer of each package (by install position) and
// the number of layers.
//
// origin:N groups packages by origin (a package without origin is its own
// group) and packs the groups into N bins deterministically: groups by
// decreasing installed size (then name) each go to the bin with the
// smallest total so far (then the lowest index). Bins are then ordered by
// the install position of their first package; empty bins are dropped.
func assignLayers(l Layering, pkgs []*installed) ([]int, int, error) {
	out := make([]int, len(pkgs))
	switch l.Kind {
	case LayeringSingle:
		return out, 1, nil
	case LayeringPerPackage:
		for i := range out {
			out[i] = i
		}
		return out, len(pkgs), nil
	}
	type group struct {
		name  string
		size  int64
		first int
		pkgs  []int
	}
	byOrigin := map[string]*group{}
	var groups []*group
	for i, ip := range pkgs {
		o := ip.info.Origin
		if o == "" {
			o = ip.info.Name
		}
		g := byOrigin[o]
		if g == nil {
			g = &group{name: o, first: i}
			byOrigin[o] = g
			groups = append(groups, g)
		}
		g.size += ip.data.file.FilesSize
		g.pkgs = append(g.pkgs, i)
	}
	slices.SortFunc(groups, func(a, b *group) int {
		if c := cmp.Compare(b.size, a.size); c != 0 {
			return c
		}
		return strings.Compare(a.name, b.name)
	})
	bins := make([][]int, min(l.Max, len(groups)))
	totals := make([]int64, len(bins))
	for _, g := range groups {
		best := 0
		for b := range bins {
			if totals[b] < totals[best] {
				best = b
			}
		}
		totals[best] += g.size
		bins[best] = append(bins[best], g.pkgs...)
	}
	for _, b := range bins {
		slices.Sort(b)
	}
	slices.SortFunc(bins, func(a, b []int) int { return cmp.Compare(a[0], b[0]) })
	for li, b := range bins {
		for _, i := range b {
			out[i] = li
		}
	}
	return out, len(bins), nil
}
