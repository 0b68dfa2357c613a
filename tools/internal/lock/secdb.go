package lock

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"

	"github.com/rules-apk/rules_apk/tools/internal/apk"
)

// SecDB is a security database in the secdb format that Wolfi
// (security.json) and Alpine (secdb/*.json) publish: per source package,
// the versions that fixed which vulnerabilities.
type SecDB struct {
	fixes map[string][]secfix // by package name, sorted by version
}

type secfix struct {
	version string
	ids     []string
}

// secdbJSON is the document; the pointers tell a missing key from an
// empty value, so that another JSON document (a lockfile, say) is refused
// rather than read as a database without fixes.
type secdbJSON struct {
	Packages *[]struct {
		Pkg *struct {
			Name     string               `json:"name"`
			Secfixes *map[string][]string `json:"secfixes"`
		} `json:"pkg"`
	} `json:"packages"`
}

// notSecDB is the reason a document without the secdb shape is refused.
const notSecDB = "not a security database (Wolfi's security.json or an Alpine secdb: " +
	`{"packages": [{"pkg": {"name": …, "secfixes": {…}}}, …]})`

// ParseSecDB decodes a secdb document. A secfixes key "0" lists
// vulnerabilities that never affected the package; they are fixed by no
// upgrade and ignored here.
func ParseSecDB(b []byte) (*SecDB, error) {
	var doc secdbJSON
	if err := json.Unmarshal(b, &doc); err != nil {
		return nil, fmt.Errorf("parsing security database: %w", err)
	}
	if doc.Packages == nil {
		return nil, fmt.Errorf("parsing security database: no \"packages\" array: %s", notSecDB)
	}
	db := &SecDB{fixes: map[string][]secfix{}}
	for i, p := range *doc.Packages {
		if p.Pkg == nil || p.Pkg.Name == "" || p.Pkg.Secfixes == nil {
			return nil, fmt.Errorf("parsing security database: packages[%d] has no \"pkg\" "+
				"with a name and secfixes: %s", i, notSecDB)
		}
		for v, entries := range *p.Pkg.Secfixes {
			if v == "0" {
				continue
			}
			if !apk.ValidVersion(v) {
				return nil, fmt.Errorf("parsing security database: package %s: %q is not a valid version",
					p.Pkg.Name, v)
			}
			var ids []string
			for _, e := range entries {
				// An entry may hold several identifiers ("CVE-1 GHSA-…").
				ids = append(ids, strings.Fields(e)...)
			}
			db.fixes[p.Pkg.Name] = append(db.fixes[p.Pkg.Name], secfix{version: v, ids: ids})
		}
	}
	for _, fs := range db.fixes {
		sort.Slice(fs, func(i, j int) bool { return apk.CompareVersions(fs[i].version, fs[j].version) < 0 })
	}
	return db, nil
}

// FixedBetween lists the vulnerabilities of the source package name fixed
// by versions v with from < v <= to, sorted and without duplicates.
func (db *SecDB) FixedBetween(name, from, to string) []string {
	set := map[string]bool{}
	for _, f := range db.fixes[name] {
		if apk.CompareVersions(f.version, from) > 0 && apk.CompareVersions(f.version, to) <= 0 {
			for _, id := range f.ids {
				set[id] = true
			}
		}
	}
	ids := make([]string, 0, len(set))
	for id := range set {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	return ids
}
