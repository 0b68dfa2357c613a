package repo

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// recordVersion is the schema of urls/<hex>.json; a record of another
// version is ignored (a cache miss), never misread.
const recordVersion = 1

// staleTemp is the age past which a tmp/ file is taken to be left over by a
// process that died, and removed.
const staleTemp = 24 * time.Hour

// cache is the on-disk layout described in the package doc.
type cache struct {
	dir string
}

// record is what the cache knows about one URL.
type record struct {
	Version      int    `json:"version"`
	URL          string `json:"url"` // redacted; for people reading the cache
	SHA256       string `json:"sha256"`
	Size         int64  `json:"size"`
	ETag         string `json:"etag,omitempty"`
	LastModified string `json:"last_modified,omitempty"`
}

// openCache creates the layout under dir and removes stale temporary files.
func openCache(dir string) (*cache, error) {
	c := &cache{dir: dir}
	for _, sub := range []string{"sha256", "urls", "tmp", "locks"} {
		if err := os.MkdirAll(filepath.Join(dir, sub), 0o755); err != nil {
			return nil, fmt.Errorf("creating cache directory: %w", err)
		}
	}
	c.removeStale(time.Now())
	return c, nil
}

// removeStale deletes tmp/ files older than staleTemp. It is best effort: a
// file it cannot remove is only wasted space.
func (c *cache) removeStale(now time.Time) {
	entries, _ := os.ReadDir(filepath.Join(c.dir, "tmp"))
	for _, e := range entries {
		info, err := e.Info()
		if err == nil && now.Sub(info.ModTime()) > staleTemp {
			os.Remove(filepath.Join(c.dir, "tmp", e.Name()))
		}
	}
}

func (c *cache) blobPath(sum string) string { return filepath.Join(c.dir, "sha256", sum) }

func (c *cache) recordPath(key string) string {
	return filepath.Join(c.dir, "urls", hashString(key)+".json")
}

func (c *cache) lockPath(name string) string { return filepath.Join(c.dir, "locks", name+".lock") }

// blob returns the path and size of the cached content with digest sum after
// re-hashing it. A file whose digest is not its name (damaged on disk) is
// removed and reported missing, so that it is downloaded again.
func (c *cache) blob(sum string) (string, int64, bool) {
	path := c.blobPath(sum)
	got, size, err := hashFile(path)
	if err != nil {
		return "", 0, false
	}
	if got != sum {
		os.Remove(path)
		return "", 0, false
	}
	return path, size, true
}

// readRecord returns the record of key, or nil when there is none usable.
func (c *cache) readRecord(key string) *record {
	data, err := os.ReadFile(c.recordPath(key))
	if err != nil {
		return nil
	}
	var r record
	if json.Unmarshal(data, &r) != nil || r.Version != recordVersion || !isDigest(r.SHA256) {
		return nil
	}
	return &r
}

// writeRecord replaces the record of key atomically.
func (c *cache) writeRecord(key string, r *record) error {
	r.Version = recordVersion
	data, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return fmt.Errorf("encoding cache record: %w", err)
	}
	f, err := c.tempFile()
	if err != nil {
		return err
	}
	if _, err := f.Write(append(data, '\n')); err != nil {
		c.discard(f)
		return fmt.Errorf("writing cache record: %w", err)
	}
	return c.commit(f, c.recordPath(key))
}

// tempFile creates a file in tmp/, on the same file system as its final
// name so that renaming it there is atomic.
func (c *cache) tempFile() (*os.File, error) {
	f, err := os.CreateTemp(filepath.Join(c.dir, "tmp"), "*.part")
	if err != nil {
		return nil, fmt.Errorf("creating file in cache: %w", err)
	}
	return f, nil
}

// commit syncs f, makes it read-only and renames it to dst. The sync comes
// first so that a crash cannot leave dst naming a file whose data never
// reached the disk.
func (c *cache) commit(f *os.File, dst string) error {
	err := f.Sync()
	if err == nil {
		err = f.Chmod(0o444)
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(f.Name(), dst)
	}
	if err != nil {
		os.Remove(f.Name())
		return fmt.Errorf("storing %s in cache: %w", filepath.Base(dst), err)
	}
	return nil
}

// discard closes and removes an unfinished temporary file.
func (c *cache) discard(f *os.File) {
	f.Close()
	os.Remove(f.Name())
}

// errNotRegular refuses directories, devices and pipes as content.
var errNotRegular = errors.New("not a regular file")

// hashFile returns the hex SHA-256 and size of the file at path.
func hashFile(path string) (string, int64, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", 0, err
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return "", 0, err
	}
	if !info.Mode().IsRegular() {
		return "", 0, &fs.PathError{Op: "reading", Path: path, Err: errNotRegular}
	}
	h := sha256.New()
	n, err := io.Copy(h, f)
	if err != nil {
		return "", 0, err
	}
	return hex.EncodeToString(h.Sum(nil)), n, nil
}

// hashString returns the hex SHA-256 of s.
func hashString(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}

// isDigest says whether s is a lowercase hex SHA-256.
func isDigest(s string) bool {
	if len(s) != 2*sha256.Size {
		return false
	}
	return strings.Trim(s, "0123456789abcdef") == ""
}

// normalizeDigest accepts an expected SHA-256 as hex in either case, with an
// optional "sha256:" prefix, and returns it in lowercase; "" stays "".
func normalizeDigest(s string) (string, error) {
	if s == "" {
		return "", nil
	}
	d := strings.ToLower(strings.TrimPrefix(s, "sha256:"))
	if !isDigest(d) {
		return "", fmt.Errorf("expected sha256 %q is not 64 hex digits", s)
	}
	return d, nil
}
