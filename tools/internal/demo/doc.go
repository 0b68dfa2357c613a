// Package demo builds the demo repository that the end-to-end run uses in
// place of packages.wolfi.dev, which these machines cannot reach: real
// Debian bookworm amd64 binaries (glibc, libcurl and its libraries, gcc,
// binutils, headers, CA certificates), downloaded with `apt-get download`,
// pinned by a committed manifest, and repacked as signed APK packages by
// `apkpack pack` and `apkpack index`.
//
// # Layout
//
// The repository has two snapshots, OUTDIR/v1 and OUTDIR/v2, each an
// apk repository (§2.1 of apk-reference.md) holding x86_64/APKINDEX.tar.gz
// and the packages. v2 is v1 with a few packages repacked at a higher
// revision, and v2/security.json says which vulnerabilities those
// revisions fix, in Wolfi's secdb format. OUTDIR/keys holds the public
// half of the signing key: the committed, public demo key of
// e2e/demo/keys (Options.KeyDir), so that every machine builds the same
// bytes and lockfiles locked against the repository hold everywhere.
//
// # Recipes
//
// [Recipes] lists every package: the Debian packages it is made of, what
// is kept of them, and the constraints detection cannot know. Packages a
// spec names directly carry Wolfi's names (glibc, ld-linux, libgcc,
// ca-certificates-bundle, libcurl-openssl4, curl-dev, gcc, binutils,
// glibc-dev); the other libraries keep their Debian names. Paths are moved
// to the usr-merged layout of Wolfi (§5.1): lib, lib64, bin and sbin are
// links in demo-baselayout, so no other package ships them as directories.
//
// # Caching
//
// Every package and index is cached under a key that digests all of its
// inputs (the .deb files, the recipe, the signing key, the apkpack and
// demorepo binaries), so a second run with the same inputs only links the
// cached files into place. Packing is deterministic either way: the same
// inputs give byte-identical files.
package demo
