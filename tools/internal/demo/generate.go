package demo

import (
	"bytes"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

const (
	// baselayoutVersion is demo-baselayout's version; raise it when its
	// files change.
	baselayoutVersion = "1-r1"
	// baselayoutBuildDate is demo-baselayout's builddate (2025-01-01), a
	// constant since no .deb dates it.
	baselayoutBuildDate = 1735689600
	// bundlePath is where the CA bundle goes, as in Debian and Wolfi.
	bundlePath = "etc/ssl/certs/ca-certificates.crt"
)

// generators write the files of a package that no .deb ships as such.
var generators = map[string]func(dir string) error{
	"baselayout": writeBaselayout,
	"ca-bundle":  writeCABundle,
}

// baseDirs are demo-baselayout's directories and their modes.
var baseDirs = []struct {
	path string
	mode fs.FileMode
}{
	{"dev", 0o755}, {"etc", 0o755}, {"home", 0o755}, {"home/nonroot", 0o755},
	{"proc", 0o755}, {"root", 0o700},
	{"run", 0o755}, {"sys", 0o755}, {"tmp", 0o777 | fs.ModeSticky},
	{"usr", 0o755}, {"usr/bin", 0o755}, {"usr/lib", 0o755},
	{"var", 0o755}, {"var/tmp", 0o777 | fs.ModeSticky},
}

// baseLinks are the usr-merge links (see usrMerge) plus /var/run, as
// wolfi-baselayout has them (§5.1).
var baseLinks = []Link{
	{"bin", "usr/bin"}, {"lib", "usr/lib"}, {"lib64", "usr/lib"}, {"sbin", "usr/bin"},
	{"usr/sbin", "bin"}, {"var/run", "../run"},
}

// baseFiles are demo-baselayout's files. os-release names the demo, not
// Wolfi or Debian, so that scanners do not match it against either
// distribution's vulnerability data.
var baseFiles = []struct{ path, content string }{
	{"etc/passwd", "root:x:0:0:root:/root:/sbin/nologin\n" +
		"nonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin\n"},
	{"etc/group", "root:x:0:\nnonroot:x:65532:\n"},
	{"etc/os-release", `ID=rules-apk-demo
NAME="rules_apk demo"
PRETTY_NAME="rules_apk demo (Debian bookworm binaries repacked as APK packages)"
VERSION_ID=1
HOME_URL="https://github.com/rules-apk/rules_apk"
`},
}

// writeBaselayout writes demo-baselayout's tree into dir.
func writeBaselayout(dir string) error {
	for _, d := range baseDirs {
		p := filepath.Join(dir, d.path)
		if err := os.MkdirAll(p, 0o755); err != nil {
			return err
		}
		// Chmod, since MkdirAll is subject to the umask and drops the
		// sticky bit.
		if err := os.Chmod(p, d.mode); err != nil {
			return err
		}
	}
	for _, l := range baseLinks {
		if err := os.Symlink(l.Target, filepath.Join(dir, l.Path)); err != nil {
			return err
		}
	}
	for _, f := range baseFiles {
		if err := os.WriteFile(filepath.Join(dir, f.path), []byte(f.content), 0o644); err != nil {
			return err
		}
	}
	return nil
}

// writeCABundle builds /etc/ssl/certs/ca-certificates.crt from the
// certificates of Debian's ca-certificates placed under
// usr/share/ca-certificates, then removes them. Debian writes the bundle at
// install time (update-ca-certificates); here it is every *.crt in byte
// order of its path, each ending in a newline, which is deterministic.
func writeCABundle(dir string) error {
	src := filepath.Join(dir, "usr/share/ca-certificates")
	var certs []string
	err := filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() && strings.HasSuffix(p, ".crt") {
			certs = append(certs, p)
		}
		return err
	})
	if err != nil {
		return fmt.Errorf("listing CA certificates: %w", err)
	}
	if len(certs) == 0 {
		return fmt.Errorf("building the CA bundle: no *.crt under usr/share/ca-certificates")
	}
	slices.Sort(certs)
	var bundle bytes.Buffer
	for _, c := range certs {
		b, err := os.ReadFile(c)
		if err != nil {
			return err
		}
		if !bytes.Contains(b, []byte("-----BEGIN CERTIFICATE-----")) {
			return fmt.Errorf("building the CA bundle: %s is not a PEM certificate", c)
		}
		bundle.Write(b)
		if !bytes.HasSuffix(b, []byte("\n")) {
			bundle.WriteByte('\n')
		}
	}
	out := filepath.Join(dir, bundlePath)
	if err := os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
		return err
	}
	if err := os.WriteFile(out, bundle.Bytes(), 0o644); err != nil {
		return err
	}
	return os.RemoveAll(filepath.Join(dir, "usr"))
}
