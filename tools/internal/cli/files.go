package cli

import (
	"archive/tar"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/rules-apk/rules_apk/tools/internal/apk"
	"github.com/rules-apk/rules_apk/tools/internal/fsutil"
)

// fileKind is what an APK file holds.
type fileKind int

const (
	kindPackage fileKind = iota + 1
	kindIndex
)

// sniffKind tells a package from an index by the first entry after the
// signature member: .PKGINFO (or another dot file) starts a package's control
// member, APKINDEX or DESCRIPTION an index.
func sniffKind(path string) (fileKind, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	m := apk.NewMemberReader(f)
	for i := 0; i < 2; i++ {
		r, err := m.Next(nil, 1<<30)
		if err != nil {
			return 0, fmt.Errorf("reading %s: not an APK package or index: %w", path, err)
		}
		hdr, err := tar.NewReader(r).Next()
		if err != nil {
			return 0, fmt.Errorf("reading %s: not an APK package or index: %w", path, err)
		}
		switch {
		case strings.HasPrefix(hdr.Name, ".SIGN."):
			continue
		case hdr.Name == "APKINDEX" || hdr.Name == "DESCRIPTION":
			return kindIndex, nil
		default:
			return kindPackage, nil
		}
	}
	return 0, errors.New("reading " + path + ": a signature member follows a signature member")
}

// loadKeyring reads --keyring files and directories; nil when none.
func loadKeyring(paths []string) (*apk.Keyring, error) {
	if len(paths) == 0 {
		return nil, nil
	}
	return apk.LoadKeyring(paths...)
}

// writeOutput writes a file atomically: a failure leaves nothing behind.
func writeOutput(path string, write func(io.Writer) error) error {
	return fsutil.WriteAtomic(path, 0o644, write)
}
