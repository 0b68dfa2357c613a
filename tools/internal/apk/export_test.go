package apk

// Internals and test helpers for the external tests (package apk_test),
// which may import packages that import apk (package synth).
var (
	BenchKey       = benchKey
	TarEntry       = tarEntry
	SortedPackages = sortedPackages
)

// AsyncMinBytes is the size of index text from which ReadIndex decompresses
// and parses on two goroutines.
const AsyncMinBytes = asyncMinChunks * indexChunkSize
