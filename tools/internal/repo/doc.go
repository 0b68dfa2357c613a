// Package repo fetches indexes and packages from APK repositories over https,
// http and file, for `apkpack lock` and `apkpack fetch`. It deals in URLs and
// bytes: it never parses what it fetches (package apk does).
//
// # URLs
//
// [IndexURL] and [PackageURL] build the URLs of apk-tools 2.14's repository
// layout (§2.3 of apk-reference.md): an index lives at
// <repository>/<arch>/APKINDEX.tar.gz and a package at
// <repository>/<A:>/<name>-<version>.apk, where <A:> is the package's own
// arch field, so that noarch packages resolve too. A repository is an http or
// https URL, a file:///abs/dir URL or a plain absolute directory.
//
// # Cache
//
// A [Client] keeps what it downloads under one directory (by default
// os.UserCacheDir()/rules_apk/repo):
//
//	sha256/<hex>          file contents, named by their SHA-256 (read-only)
//	urls/<hex>.json       per URL: the content's SHA-256 and size, ETag, Last-Modified
//	tmp/                  downloads in progress, renamed into sha256/ when complete
//	locks/                one lock file per entry being downloaded
//
// Because contents are named by digest, a package fetched with an expected
// SHA-256 hits the cache whatever URL it was first fetched from. A file is
// written to tmp/, synced, verified and only then renamed into place, so a
// name under sha256/ or urls/ never shows half-written data. Processes that
// share a cache directory take a lock file per entry (flock on Unix; the lock
// file is removed on release and re-checked after locking) so that each entry
// is downloaded once; readers never lock. Every cache hit is re-hashed, and a
// file whose digest no longer matches its name is removed and downloaded
// again.
//
// Local files (file:// URLs and absolute paths) are read in place: the
// result's Path is the file itself, and its SHA-256 is still computed and
// checked when one is expected. Nothing is copied into the cache.
//
// # Network
//
// Each request is tried up to [Options].Attempts times with exponential
// backoff and jitter after timeouts, connection resets, truncated bodies and
// HTTP 5xx, 408 and 429 answers (honouring Retry-After); other 4xx answers
// fail at once. An index is fetched with [Request].Revalidate, which sends
// If-None-Match and If-Modified-Since from the cached copy; a 304 answer
// reuses it. [Client.FetchAll] fetches many requests with bounded parallelism.
// Every failure is a [*FetchError] naming the URL, with credentials redacted.
//
// # Credentials
//
// [LoadAuth] reads credentials from two places; the first match wins:
//
//  1. The environment variable APKPACK_AUTH: entries separated by ";" or
//     newlines, each HOST=basic:USER:PASSWORD (HTTP basic auth) or
//     HOST=bearer:TOKEN (an Authorization: Bearer header). HOST is a host name,
//     optionally with :PORT (then only that port matches). USER, PASSWORD and
//     TOKEN are percent-decoded, so %3B writes ";" and %25 writes "%"; USER
//     cannot hold a raw ":". For example:
//
//     APKPACK_AUTH='apk.example.com=basic:ci:s3cret;10.0.0.5:8443=bearer:eyJhbGciOi'
//
//  2. The netrc file named by $NETRC, or ~/.netrc: the login and password of
//     the machine entry for the host, else of the default entry.
//
// Credentials in a URL's userinfo take precedence over both. Credentials are
// chosen per host for each request, so a redirect to another host does not
// carry them. They are sent over http as well as https, as curl and Bazel do.
// Neither errors nor progress events nor logs ever show a secret.
//
// # Progress
//
// A Client is quiet unless [Options].Progress is set; it then receives an
// [Event] per step (started, bytes received, retrying, finished, cached).
// [Renderer] draws those events as a progress line on a terminal and as plain
// lines, one per file, elsewhere.
package repo
