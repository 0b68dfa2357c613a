package layer

import (
	"compress/gzip"
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/rules-apk/rules_apk/tools/internal/apk"
	"github.com/rules-apk/rules_apk/tools/internal/lock"
)

// benchClosure writes (once, then reuses from the temporary directory) a
// synthetic closure of 30 packages holding about totalMB of file content,
// packed with apk.WritePackage, and its lockfile, closure.apk.lock.json.
// The content is cut from the Go toolchain's own executables
// ($GOROOT/pkg/tool), so that it compresses and decompresses like the
// executables and libraries of real packages (about 3:1); the packages use
// gzip level 1 so that making them does not dominate.
func benchClosure(b *testing.B, totalMB int) (string, *lock.Lockfile) {
	b.Helper()
	dir := filepath.Join(os.TempDir(), fmt.Sprintf("rules_apk-layer-bench-%dMB", totalMB))
	lockPath := filepath.Join(dir, "closure.apk.lock.json")
	if l, err := lock.Load(lockPath); err == nil {
		return dir, l
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		b.Fatal(err)
	}
	l := &lock.Lockfile{Version: lock.Version, Archs: []string{"x86_64"},
		Repositories: []lock.Repository{{URL: "file://" + dir}}}
	const npkgs, nfiles = 30, 20
	fileSize := totalMB << 20 / (npkgs * nfiles)
	src := newBinarySource(b)
	for i := range npkgs {
		tree := b.TempDir()
		sub := filepath.Join(tree, "usr", "lib", fmt.Sprintf("pkg%02d", i))
		if err := os.MkdirAll(sub, 0o755); err != nil {
			b.Fatal(err)
		}
		for j := range nfiles {
			if err := os.WriteFile(filepath.Join(sub, fmt.Sprintf("f%02d", j)),
				src.next(fileSize), 0o644); err != nil {
				b.Fatal(err)
			}
		}
		info := apk.Package{Name: fmt.Sprintf("pkg%02d", i), Version: "1.0-r0", Arch: "x86_64",
			Origin: fmt.Sprintf("origin%02d", i%10), License: "MIT", BuildTime: 1700000000}
		path := filepath.Join(dir, info.Filename())
		f, err := os.Create(path)
		if err != nil {
			b.Fatal(err)
		}
		p, err := apk.WritePackage(f, apk.WriteOptions{Info: info, Dir: tree, Level: gzip.BestSpeed})
		f.Close()
		if err != nil {
			b.Fatal(err)
		}
		raw, err := os.ReadFile(path)
		if err != nil {
			b.Fatal(err)
		}
		l.Packages = append(l.Packages, lockEntry(*p, raw, path))
		l.World = append(l.World, info.Name)
		os.RemoveAll(tree)
	}
	if err := l.WriteFile(lockPath); err != nil {
		b.Fatal(err)
	}
	return dir, l
}

// binarySource cycles through real executables.
type binarySource struct {
	data []byte
	off  int
}

func newBinarySource(b *testing.B) *binarySource {
	tools, err := filepath.Glob(filepath.Join(runtime.GOROOT(), "pkg", "tool", "*", "*"))
	if err != nil || len(tools) == 0 {
		b.Skipf("no Go tool executables to cut content from: %v", err)
	}
	src := &binarySource{}
	for _, t := range tools {
		d, err := os.ReadFile(t)
		if err != nil {
			b.Fatal(err)
		}
		src.data = append(src.data, d...)
	}
	return src
}

// next returns the next n bytes, wrapping around at the end.
func (s *binarySource) next(n int) []byte {
	out := make([]byte, 0, n)
	for len(out) < n {
		k := min(n-len(out), len(s.data)-s.off)
		out = append(out, s.data[s.off:s.off+k]...)
		s.off = (s.off + k) % len(s.data)
	}
	return out
}

// BenchmarkBuild measures Build on 40 MB and 500 MB closures, per format:
// both passes, verification included. Bytes/s is file content per second.
func BenchmarkBuild(b *testing.B) {
	for _, size := range []int{40, 500} {
		for _, f := range []Format{FormatTar, FormatTarGzip, FormatTarZstd} {
			b.Run(fmt.Sprintf("%dMB/%s", size, f.Ext()[1:]), func(b *testing.B) {
				dir, l := benchClosure(b, size)
				out := filepath.Join(b.TempDir(), "layer"+f.Ext())
				b.SetBytes(int64(size) << 20)
				b.ResetTimer()
				for b.Loop() {
					_, err := Build(context.Background(), Options{Lockfile: l, Arch: "x86_64",
						Locate: DirLocator(dir), Output: out, Format: f,
						OSRelease: []byte("ID=bench\n"), Logger: benchLogger()})
					if err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}

// benchLogger prints the time of each pass with -v.
func benchLogger() *slog.Logger {
	if !testing.Verbose() {
		return nil
	}
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// BenchmarkCompressor measures the layer compressors alone on 64 MiB of the
// benchmarks' content: the bound of a layer built from the expanded cache,
// where nothing else is left to do. Compare with BenchmarkBuild and
// tools/bench/layer.sh on the same machine.
func BenchmarkCompressor(b *testing.B) {
	data := newBinarySource(b).next(64 << 20)
	for _, f := range []Format{FormatTarGzip, FormatTarZstd} {
		b.Run(f.Ext()[1:], func(b *testing.B) {
			b.SetBytes(int64(len(data)))
			for b.Loop() {
				opts := &Options{Format: f, GzipLevel: DefaultGzipLevel}
				z, err := compressor(opts, io.Discard)
				if err != nil {
					b.Fatal(err)
				}
				if _, err := z.Write(data); err != nil {
					b.Fatal(err)
				}
				if err := z.Close(); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
