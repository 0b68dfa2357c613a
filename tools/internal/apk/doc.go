// Package apk reads and writes the APK v2 formats: packages (.apk), indexes
// (APKINDEX.tar.gz), the installed database, signatures, versions and
// constraints, with apk-tools 2.14 semantics.
//
// The specification it implements is docs/apk-reference.md of the shared
// design documents; section numbers in comments (§1.2, §4.1, …) refer to it.
//
// Readers stream: a package or index is never held in memory whole, and every
// reader enforces size limits so that hostile input cannot exhaust memory or
// disk. Writers are deterministic: the same input gives the same bytes.
package apk
