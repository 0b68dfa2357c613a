package layer

import (
	"bytes"
	"crypto/sha1"
	"encoding/binary"
	"path"
	"slices"
	"strings"
	"time"

	"github.com/rules-apk/rules_apk/tools/internal/apk"
)

// xattrDigest is the digest apk-tools records for a file's extended
// attributes (io.c:apk_fileinfo_hash_xattr_array): SHA-1 over the
// attributes sorted by name, each as a big-endian 32-bit length and the
// name, then a length and the value. No attributes give a zero Checksum.
func xattrDigest(xs []xattr) apk.Checksum {
	if len(xs) == 0 {
		return apk.Checksum{}
	}
	h := sha1.New()
	var n [4]byte
	for _, x := range xs { // already sorted by name
		binary.BigEndian.PutUint32(n[:], uint32(len(x.name)))
		h.Write(n[:])
		h.Write([]byte(x.name))
		binary.BigEndian.PutUint32(n[:], uint32(len(x.value)))
		h.Write(n[:])
		h.Write([]byte(x.value))
	}
	return apk.SHA1Checksum(h.Sum(nil))
}

// installedDB builds the installed database (§5.2) from the merged
// packages: one record per package, sorted by name as apk-tools 2.14 writes
// it, listing the package's own directories in archive order and, in each,
// the files it still owns after the merge (a file another package
// overwrote moves to that package's record, as in apk).
func installedDB(pkgs []*installed, tags map[string]string) *apk.InstalledDB {
	db := &apk.InstalledDB{}
	for _, ip := range pkgs {
		rec := apk.InstalledPackage{Package: *ip.info, Tag: tags[ip.data.lock.Repository]}
		rec.Triggers, rec.DataHash = "", ""
		rec.Dirs = installedDirs(ip)
		db.Packages = append(db.Packages, rec)
	}
	db.SortByName()
	return db
}

// installedDirs groups the files a package still owns under its
// directories. A top-level file sits in the root directory, F: with an
// empty path, which apk creates for it.
func installedDirs(ip *installed) []apk.InstalledDir {
	var dirs []apk.InstalledDir
	index := map[string]int{}
	addDir := func(p string, acl apk.ACL) int {
		if i, ok := index[p]; ok {
			return i
		}
		index[p] = len(dirs)
		dirs = append(dirs, apk.InstalledDir{Path: p, ACL: acl})
		return len(dirs) - 1
	}
	for _, d := range ip.dirs {
		addDir(d.path, d.acl)
	}
	for _, f := range ip.files {
		if f.node.owner != ip.pos || !f.node.attached() {
			continue
		}
		dir, base := path.Split(f.path)
		i := addDir(strings.TrimSuffix(dir, "/"), apk.ACL{Mode: 0o755})
		dirs[i].Files = append(dirs[i].Files, apk.InstalledFile{Name: base, ACL: f.acl,
			Checksum: f.sum})
	}
	return dirs
}

// installedScripts collects every package's control scripts for
// lib/apk/db/scripts.tar (§5.3), in apk-tools' order.
func installedScripts(pkgs []*installed, epoch time.Time) []apk.InstalledScript {
	var out []apk.InstalledScript
	for _, ip := range pkgs {
		names := make([]string, 0, len(ip.data.file.Scripts))
		for name := range ip.data.file.Scripts {
			names = append(names, name)
		}
		slices.Sort(names)
		for _, name := range names {
			out = append(out, apk.InstalledScript{Name: ip.info.Name, Version: ip.info.Version,
				Checksum: ip.info.Checksum, Type: strings.TrimPrefix(name, "."),
				Data: ip.data.file.Scripts[name], ModTime: epoch})
		}
	}
	apk.SortInstalledScripts(out)
	return out
}

// installedTriggers collects the trigger globs (§5.3, §6.1) in the order of
// the installed database.
func installedTriggers(db *apk.InstalledDB, pkgs []*installed) []apk.InstalledTrigger {
	byName := map[string]*installed{}
	for _, ip := range pkgs {
		byName[ip.info.Name] = ip
	}
	var out []apk.InstalledTrigger
	for _, rec := range db.Packages {
		ip := byName[rec.Name]
		if globs := apk.ListFields(ip.info.Triggers); len(globs) > 0 {
			out = append(out, apk.InstalledTrigger{Checksum: ip.info.Checksum, Globs: globs})
		}
	}
	return out
}

// encode runs a writer function into bytes.
func encode(write func(*bytes.Buffer) error) ([]byte, error) {
	var b bytes.Buffer
	if err := write(&b); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}
