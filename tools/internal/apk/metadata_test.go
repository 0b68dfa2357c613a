package apk

import (
	"errors"
	"testing"
)

func TestCheckMetadata(t *testing.T) {
	ok := Package{Name: "py3-foo_bar+x", Version: "1.2.3-r0", Arch: "noarch",
		Depends: "so:libc.so.6 /bin/sh python3>=3.12", Provides: "cmd:foo=1.2.3-r0 py3.12:foo",
		Replaces: "foo-old", InstallIf: "foo docs"}
	if err := CheckMetadata(&ok); err != nil {
		t.Fatalf("valid metadata: %v", err)
	}
	tests := []struct {
		name         string
		edit         func(p *Package)
		field, value string
	}{
		{"space in name", func(p *Package) { p.Name = "my pkg" }, "pkgname", "my pkg"},
		{"name starts with a dash", func(p *Package) { p.Name = "-x" }, "pkgname", "-x"},
		{"empty name", func(p *Package) { p.Name = "" }, "pkgname", ""},
		{"bad version", func(p *Package) { p.Version = "abc" }, "pkgver", "abc"},
		{"OCI arch", func(p *Package) { p.Arch = "amd64" }, "arch", "amd64"},
		{"space in arch", func(p *Package) { p.Arch = "x 86" }, "arch", "x 86"},
		{"empty version after op", func(p *Package) { p.Depends = "a foo>=" }, "depend", "foo>="},
		{"bad provide", func(p *Package) { p.Provides = "foo>1" }, "provides", "foo>1"},
		{"bad replaces", func(p *Package) { p.Replaces = "x@" }, "replaces", "x@"},
		{"bad install_if", func(p *Package) { p.InstallIf = "docs=x~1" }, "install_if", "docs=x~1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := ok
			tt.edit(&p)
			var me *MetadataError
			if err := CheckMetadata(&p); !errors.As(err, &me) || me.Field != tt.field ||
				me.Value != tt.value || me.Reason == "" {
				t.Errorf("CheckMetadata: %v; want a *MetadataError for %s %q", err, tt.field, tt.value)
			}
		})
	}
}
