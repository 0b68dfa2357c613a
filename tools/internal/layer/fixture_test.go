package layer

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	kgzip "github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
	"github.com/rules-apk/rules_apk/tools/internal/apk"
	"github.com/rules-apk/rules_apk/tools/internal/lock"
)

// fileSpec is one data entry of a fixture package.
type fileSpec struct {
	path     string
	typ      byte // tar typeflag; 0 means a regular file
	mode     int64
	uid, gid int
	data     string
	link     string
	xattrs   map[string]string
}

func dir(p string) fileSpec        { return fileSpec{path: p, typ: tar.TypeDir, mode: 0o755} }
func file(p, data string) fileSpec { return fileSpec{path: p, mode: 0o644, data: data} }
func symlink(p, target string) fileSpec {
	return fileSpec{path: p, typ: tar.TypeSymlink, mode: 0o777, link: target}
}

// pkgSpec is a fixture package: metadata, entries (written in this order)
// and control scripts.
type pkgSpec struct {
	info    apk.Package
	files   []fileSpec
	scripts map[string]string
}

func pkg(name string, files ...fileSpec) pkgSpec {
	return pkgSpec{info: apk.Package{Name: name, Version: "1.0-r0", Arch: "x86_64",
		Origin: name, License: "MIT", BuildTime: 1700000000}, files: files}
}

var (
	keyOnce sync.Once
	testKey *apk.SigningKey
)

// signingKey is the key every fixture package is signed with: generated
// once with `openssl genrsa 2048` and kept in testdata, so that fixture
// packages (whose sizes the installed database records) are the same on
// every run.
func signingKey(t testing.TB) *apk.SigningKey {
	keyOnce.Do(func() {
		k, err := apk.LoadSigningKey(filepath.Join("testdata", "layer-test.rsa"))
		if err != nil {
			t.Fatal(err)
		}
		testKey = k
	})
	return testKey
}

// writeRaw writes a package entry by entry, so that tests can make what
// apk.WritePackage refuses (devices, traversal, owners, xattrs). Entries
// carry APK-TOOLS.checksum.SHA1 records as abuild writes them.
func writeRaw(t testing.TB, dirPath string, spec pkgSpec) (string, lock.Package) {
	t.Helper()
	var data bytes.Buffer
	zw, _ := kgzip.NewWriterLevel(&data, kgzip.BestSpeed)
	tw := tar.NewWriter(zw)
	var size uint64
	for _, f := range spec.files {
		hdr := &tar.Header{Name: f.path, Typeflag: f.typ, Mode: f.mode, Uid: f.uid, Gid: f.gid,
			Linkname: f.link, ModTime: time.Unix(spec.info.BuildTime, 0), Format: tar.FormatPAX,
			PAXRecords: map[string]string{}}
		switch f.typ {
		case 0, tar.TypeReg:
			hdr.Typeflag, hdr.Size = tar.TypeReg, int64(len(f.data))
			sum := sha1.Sum([]byte(f.data))
			hdr.PAXRecords["APK-TOOLS.checksum.SHA1"] = hex.EncodeToString(sum[:])
			size += uint64(len(f.data))
		case tar.TypeSymlink:
			sum := sha1.Sum([]byte(f.link))
			hdr.PAXRecords["APK-TOOLS.checksum.SHA1"] = hex.EncodeToString(sum[:])
		case tar.TypeDir:
			hdr.Name += "/"
		}
		for k, v := range f.xattrs {
			hdr.PAXRecords["SCHILY.xattr."+k] = v
		}
		if err := tw.WriteHeader(hdr); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write([]byte(f.data)); err != nil && hdr.Typeflag == tar.TypeReg {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	zw.Close()
	info := spec.info
	dh := sha256.Sum256(data.Bytes())
	info.DataHash, info.InstalledSize = hex.EncodeToString(dh[:]), size
	ctl := controlTar(t, &info, spec.scripts)
	cs := sha1.Sum(ctl)
	info.Checksum = apk.SHA1Checksum(cs[:])
	s, err := signingKey(t).Sign(apk.SigRSA256, ctl)
	if err != nil {
		t.Fatal(err)
	}
	sig, err := apk.SignatureMember(s)
	if err != nil {
		t.Fatal(err)
	}
	raw := slices.Concat(sig, ctl, data.Bytes())
	path := filepath.Join(dirPath, info.Filename())
	if err := os.WriteFile(path, raw, 0o644); err != nil {
		t.Fatal(err)
	}
	info.Size = uint64(len(raw))
	return path, lockEntry(info, raw, path)
}

func controlTar(t testing.TB, info *apk.Package, scripts map[string]string) []byte {
	t.Helper()
	var b bytes.Buffer
	tw := tar.NewWriter(&b)
	add := func(name string, mode int64, data []byte) {
		hdr := &tar.Header{Name: name, Mode: mode, Size: int64(len(data)), Typeflag: tar.TypeReg,
			ModTime: time.Unix(info.BuildTime, 0), Format: tar.FormatPAX}
		if err := tw.WriteHeader(hdr); err != nil {
			t.Fatal(err)
		}
		tw.Write(data)
	}
	add(".PKGINFO", 0o644, apk.FormatPkgInfo(info))
	for _, name := range sortedKeys(scripts) {
		add(name, 0o755, []byte(scripts[name]))
	}
	tw.Flush()
	gz, err := apk.GzipMember(b.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	return gz
}

// lockEntry makes the lockfile entry of a written package.
func lockEntry(info apk.Package, raw []byte, path string) lock.Package {
	sum := sha256.Sum256(raw)
	var provides []string
	if info.Provides != "" {
		provides = strings.Fields(info.Provides)
	}
	var depends []string
	if info.Depends != "" {
		depends = strings.Fields(info.Depends)
	}
	return lock.Package{Name: info.Name, Version: info.Version, Arch: info.Arch,
		Repository: "file:///fixture", URL: "file://" + path, SHA256: hex.EncodeToString(sum[:]),
		Size: uint64(len(raw)), Checksum: info.Checksum.String(), DataHash: info.DataHash,
		Origin: info.Origin, License: info.License, BuildTime: info.BuildTime,
		Depends: depends, Provides: provides}
}

// fixture writes packages into a temporary directory and returns a
// lockfile for them.
func fixture(t testing.TB, specs ...pkgSpec) (*lock.Lockfile, string) {
	t.Helper()
	d := t.TempDir()
	l := &lock.Lockfile{Version: lock.Version, World: []string{}, Archs: []string{"x86_64"},
		Repositories: []lock.Repository{{URL: "file:///fixture"}}}
	for _, s := range specs {
		_, lp := writeRaw(t, d, s)
		l.Packages = append(l.Packages, lp)
		l.World = append(l.World, s.info.Name)
	}
	l.Sort()
	return l, d
}

// build runs Build on a fixture into a temporary directory.
func build(t testing.TB, l *lock.Lockfile, pkgDir string, mod func(*Options)) (*Result, error) {
	t.Helper()
	opts := Options{Lockfile: l, Arch: "x86_64", Locate: DirLocator(pkgDir),
		Output: filepath.Join(t.TempDir(), "layer.tar"), OSRelease: []byte("ID=test\nVERSION_ID=1\n")}
	if mod != nil {
		mod(&opts)
	}
	return Build(context.Background(), opts)
}

func mustBuild(t testing.TB, l *lock.Lockfile, pkgDir string, mod func(*Options)) *Result {
	t.Helper()
	r, err := build(t, l, pkgDir, mod)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// tarEntry is a layer entry as a listing shows it.
type tarEntry struct {
	Name, Link string
	Type       byte
	Mode       int64
	UID, GID   int
	Size       int64
	Data       string
	PAX        map[string]string
}

// readTar lists a layer file (plain, gzip or zstd is detected by name).
func readTar(t testing.TB, path string) []tarEntry {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r, err := decompress(path, f)
	if err != nil {
		t.Fatal(err)
	}
	tr := tar.NewReader(r)
	var out []tarEntry
	for {
		hdr, err := tr.Next()
		if err != nil {
			break
		}
		var b bytes.Buffer
		b.ReadFrom(tr)
		e := tarEntry{Name: hdr.Name, Link: hdr.Linkname, Type: hdr.Typeflag, Mode: hdr.Mode,
			UID: hdr.Uid, GID: hdr.Gid, Size: hdr.Size, Data: b.String()}
		for k, v := range hdr.PAXRecords {
			if e.PAX == nil {
				e.PAX = map[string]string{}
			}
			e.PAX[k] = v
		}
		out = append(out, e)
	}
	return out
}

func entryMap(es []tarEntry) map[string]tarEntry {
	m := map[string]tarEntry{}
	for _, e := range es {
		m[strings.TrimSuffix(e.Name, "/")] = e
	}
	return m
}

func decompress(path string, r io.Reader) (io.Reader, error) {
	switch {
	case strings.HasSuffix(path, ".gz"):
		return kgzip.NewReader(r)
	case strings.HasSuffix(path, ".zst"):
		d, err := zstd.NewReader(r)
		if err != nil {
			return nil, err
		}
		return d.IOReadCloser(), nil
	}
	return r, nil
}

// mtimes returns the distinct modification times of a plain tar, sorted.
func mtimes(r io.Reader) ([]int64, error) {
	tr := tar.NewReader(r)
	seen := map[int64]bool{}
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, err
		}
		if !hdr.AccessTime.IsZero() || !hdr.ChangeTime.IsZero() || hdr.Uname != "" || hdr.Gname != "" {
			return nil, fmt.Errorf("entry %s carries atime, ctime or owner names", hdr.Name)
		}
		seen[hdr.ModTime.Unix()] = true
	}
	out := slices.Collect(maps.Keys(seen))
	slices.Sort(out)
	return out, nil
}

func stringsReader(s string) io.Reader { return strings.NewReader(s) }
