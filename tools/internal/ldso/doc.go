// Package ldso reads, writes and generates glibc's dynamic linker cache,
// /etc/ld.so.cache, so that a layer can carry the cache ldconfig would have
// written without running any binary of the image (apk-reference.md §6.2,
// §6.3).
//
// # Format
//
// [Parse] and [Encode] handle glibc's "new format" cache (magic
// "glibc-ld.so.cache1.1"), the only format ldconfig writes by default. The
// old libc5 format ("ld.so-1.7.0") and the compat format that nests the new
// format inside it are rejected: ld.so has read the new format alone since
// glibc 2.32 and no distribution rules_apk targets writes the others.
//
// [Encode] lays the file out exactly as glibc 2.36's ldconfig does
// (glibc elf/cache.c:save_cache, elf/stringtable.c): entries sorted for
// ld.so's binary search, a suffix-sharing string table, and the extension
// directory at the next 4-byte boundary. A cache written by glibc's ldconfig
// therefore survives Parse then Encode byte for byte.
//
// # Generation
//
// [Build] reproduces ldconfig's scan (glibc elf/ldconfig.c, elf/readlib.c,
// elf/readelflib.c) on an [io/fs.FS] view of a root: etc/ld.so.conf and its
// include globs, the built-in system directories, glibc-hwcaps
// subdirectories, ELF classification and SONAME selection, and the SONAME
// symlinks ldconfig would create. Every symlink is resolved inside the given
// root, never on the host, the way ldconfig -r does (glibc
// elf/chroot_canon.c).
//
// Known differences from glibc's ldconfig are listed on [Build].
package ldso
