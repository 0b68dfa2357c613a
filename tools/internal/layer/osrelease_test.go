package layer

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/rules-apk/rules_apk/tools/internal/spec"
)

// TestOSReleaseSources: etc/os-release comes from a package when one ships
// it, else from Options.OSRelease (--os-release), else from the lockfile's
// os_release (the spec's os-release key), else GenericOSRelease.
func TestOSReleaseSources(t *testing.T) {
	fromSpec := &spec.OSRelease{ID: "acme", VersionID: "7", Name: "Acme"}
	shipped := "ID=shipped\nVERSION_ID=3\n"
	tests := []struct {
		name     string
		ships    bool
		option   []byte
		lockfile *spec.OSRelease
		want     string
		wantID   OSRelease
	}{
		{"package", true, []byte("ID=option\n"), fromSpec, shipped, OSRelease{"shipped", "3"}},
		{"option", false, []byte("ID=option\n"), fromSpec, "ID=option\n", OSRelease{ID: "option"}},
		{"lockfile", false, nil, fromSpec, "NAME=\"Acme\"\nID=acme\nVERSION_ID=7\n", OSRelease{"acme", "7"}},
		{"generic", false, nil, nil, string(GenericOSRelease), OSRelease{ID: "rules_apk"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			files := []fileSpec{dir("usr"), file("usr/a", "a")}
			if tt.ships {
				files = append(files, dir("etc"), file("etc/os-release", shipped))
			}
			l, d := fixture(t, pkg("a", files...))
			l.OSRelease = tt.lockfile
			r := mustBuild(t, l, d, func(o *Options) { o.OSRelease = tt.option })
			var got string
			for _, e := range readTar(t, r.Layers[0].Path) {
				if e.Name == "etc/os-release" {
					got = e.Data
				}
			}
			if got != tt.want {
				t.Errorf("etc/os-release = %q, want %q", got, tt.want)
			}
			if diff := cmp.Diff(tt.wantID, r.OSRelease); diff != "" {
				t.Errorf("Result.OSRelease (-want +got):\n%s", diff)
			}
		})
	}
}
