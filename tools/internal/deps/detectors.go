package deps

import (
	"errors"
	"fmt"
	"io"
	"path"
	"strings"
)

// sharedObject is the so: detector for one file. Every ELF file, wherever
// it lies, needs its DT_NEEDED entries and its program interpreter; a
// shared library in a library directory also provides its SONAME. The
// SONAMEs and file names of shared libraries anywhere in the tree (plugins,
// private libraries found through RUNPATH) are remembered as shipped, so
// that the package does not depend on what it carries itself; melange
// likewise drops needs met by its "vendored" objects.
func (s *scanner) sharedObject(name, real string) error {
	info, seen := s.elfs[real]
	if !seen {
		var err error
		if info, err = s.readELF(name, real); err != nil {
			return err
		}
		s.elfs[real] = info
		if info != nil {
			s.needsOf(name, info)
		}
	}
	if info == nil {
		return nil
	}
	base := path.Base(name)
	if !info.isLibrary(base) {
		return nil
	}
	s.shipped[base] = true
	for _, soname := range info.sonames {
		s.shipped[soname] = true
	}
	if len(info.sonames) > 0 && !s.isLibDir(path.Dir(name)) {
		s.log.Debug("shared object outside library directories provides nothing", "path", name)
		return nil
	}
	for _, soname := range info.sonames {
		s.provide("so:"+soname, sonameLibver(soname), name)
	}
	return nil
}

// readELF opens and inspects one file; a file debug/elf cannot read is a
// warning, not a failure, since a package may carry ELF test data.
func (s *scanner) readELF(name, real string) (*elfInfo, error) {
	f, err := s.root.Open(real)
	if err != nil {
		return nil, fmt.Errorf("opening %s: %w", name, err)
	}
	defer f.Close()
	info, err := readELF(f)
	switch {
	case errors.Is(err, errNoDynamicSection):
		s.warn(name, err.Error())
		return info, nil
	case errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF):
		s.warn(name, "has the ELF magic number but is truncated; it is left out")
		return nil, nil
	case err != nil:
		s.warn(name, fmt.Sprintf("has the ELF magic number but is not readable ELF (%v); "+
			"it is left out", err))
		return nil, nil
	}
	return info, nil
}

// needsOf records what one ELF file needs.
func (s *scanner) needsOf(name string, info *elfInfo) {
	for _, lib := range info.needed {
		// The loader opens a DT_NEEDED with a slash as a path
		// ("$ORIGIN/../lib/libpython3.12.so.1.0"), not by name.
		if strings.Contains(lib, "/") {
			s.warn(name, fmt.Sprintf("DT_NEEDED %q is a path, not a library name; "+
				"it is left out", lib))
			continue
		}
		s.need("so:"+lib, "", name)
	}
	if info.interp != "" {
		s.need("so:"+interpName(info.interp), "", name)
	}
}

// isLibDir reports whether shared objects in dir provide their SONAME.
func (s *scanner) isLibDir(dir string) bool {
	return isStdLibDir(dir) || s.confLibDirs[dir]
}

// pkgConfig is the pc: detector for one .pc file in a pkgconfig directory:
// it provides pc:<stem>=<Version> and needs what Requires and
// Requires.private name.
//
// The provided version is the Version field, as abuild writes it;
// current melange writes the package version instead. A Version that is
// not a valid apk version even after sanitisePCVersion is left out with a
// warning rather than guessed at.
func (s *scanner) pkgConfig(name, real string) error {
	data, err := readSmallFile(s.root, real, maxPCSize)
	if errors.Is(err, errTooLarge) {
		s.warn(name, err.Error()+"; it is left out")
		return nil
	} else if err != nil {
		return fmt.Errorf("reading %s: %w", name, err)
	}
	predefined := map[string]string{"pcfiledir": "/" + path.Dir(name), "pc_sysrootdir": "/"}
	pc, err := ParsePC(data, predefined)
	if err != nil {
		s.warn(name, err.Error()+"; it is left out")
		return nil
	}
	for _, w := range pc.Warnings {
		s.warn(name, w)
	}

	module := "pc:" + strings.TrimSuffix(path.Base(name), ".pc")
	if v, ok := sanitisePCVersion(pc.Version); ok {
		s.provide(module, v, name)
	} else if pc.Version == "" {
		s.warn(name, fmt.Sprintf("no Version field; %s is not provided", module))
	} else {
		s.warn(name, fmt.Sprintf("Version %q is not a valid apk version; %s is not provided",
			pc.Version, module))
	}
	for _, req := range append(pc.Requires, pc.RequiresPrivate...) {
		s.needPC(req, name)
	}
	return nil
}

// needPC records one pkg-config requirement as a pc: constraint. apk has
// no "!=" operator, and an invalid version cannot be compared, so both
// leave the module needed at any version.
func (s *scanner) needPC(req PCRequirement, from string) {
	name := "pc:" + req.Module
	switch {
	case req.Op == "":
		s.need(name, "", from)
	case req.Op == "!=":
		s.warn(from, fmt.Sprintf("apk has no != constraint; %s is needed at any version", name))
		s.need(name, "", from)
	default:
		v, ok := sanitisePCVersion(req.Version)
		if !ok {
			s.warn(from, fmt.Sprintf("%s%s%s: %q is not a valid apk version; "+
				"%s is needed at any version", name, req.Op, req.Version, req.Version, name))
			s.need(name, "", from)
			return
		}
		s.need(name, req.Op+v, from)
	}
}
