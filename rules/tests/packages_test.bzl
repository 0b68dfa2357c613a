"""Unit tests of rules/private/packages.bzl, pkgconfig.bzl and the happy path of lockfile.parse."""

load("@bazel_skylib//lib:unittest.bzl", "asserts", "unittest")
load("//rules/private:lockfile.bzl", "lockfile")
load("//rules/private:packages.bzl", "packages")
load("//rules/private:pkgconfig.bzl", "pkgconfig")

def _repo_name_test_impl(ctx):
    env = unittest.begin(ctx)
    asserts.equals(
        env,
        "runtime__x86_64__libstdc__",
        packages.repo_name(hub = "runtime", arch = "x86_64", name = "libstdc++"),
    )
    asserts.equals(
        env,
        "build__aarch64__py3.12-pip",
        packages.repo_name(hub = "build", arch = "aarch64", name = "py3.12-pip"),
    )
    asserts.equals(
        env,
        ["libcurl", "libcrypt"],
        packages.pc_names(["pc:libcurl=7.88.1", "so:libcurl.so.4=4", "pc:libcrypt>=4"]),
    )
    asserts.equals(
        env,
        "build__sysroot_x86_64",
        packages.sysroot_repo_name(hub = "build", arch = "x86_64"),
    )
    return unittest.end(env)

_repo_name_test = unittest.make(_repo_name_test_impl)

def _urls_test_impl(ctx):
    env = unittest.begin(ctx)
    url = "https://r.test/os/x86_64/a-1-r0.apk"
    asserts.equals(env, [url], packages.urls(url = url, mirrors = {}))
    asserts.equals(
        env,
        [
            "https://m1.test/os/x86_64/a-1-r0.apk",
            "file:///srv/os/x86_64/a-1-r0.apk",
            url,
        ],
        packages.urls(url = url, mirrors = {
            "https://other.test": ["https://m2.test"],
            "https://r.test/os": ["https://m1.test/os/", "file:///srv/os"],
        }),
    )

    # A repository URL is a whole path prefix: https://r.test/o is not https://r.test/os.
    asserts.equals(env, [url], packages.urls(url = url, mirrors = {
        "https://r.test/o": ["https://m.test"],
    }))
    return unittest.end(env)

_urls_test = unittest.make(_urls_test_impl)

_LOCKFILE = """\
{
  "version": 1,
  "packages": [
    {"name": "zlib", "version": "1.3.1-r0", "arch": "x86_64", "url": "https://r.test/z.apk",
     "sha256": "ab", "size": 1, "checksum": "Q1"},
    {"name": "glibc", "version": "2.36-r0", "arch": "aarch64", "url": "https://r.test/g.apk",
     "sha256": "cd", "size": 2, "checksum": "Q1"}
  ]
}
"""

def _parse_test_impl(ctx):
    env = unittest.begin(ctx)
    got = lockfile.parse(content = _LOCKFILE, what = "test")
    asserts.equals(env, ["aarch64", "x86_64"], got.archs)
    asserts.equals(env, ["zlib", "glibc"], [p.name for p in got.packages])
    asserts.equals(env, "https://r.test/g.apk", got.packages[1].url)
    asserts.equals(env, "@platforms//cpu:x86_32", lockfile.cpu(arch = "x86", what = "test"))
    return unittest.end(env)

_parse_test = unittest.make(_parse_test_impl)

_PC = """\
# a comment
prefix=/usr
libdir=${prefix}/lib/x86_64-linux-gnu
includedir=${prefix}/include/glib-2.0

Name: glib
Libs: -L${libdir} -lglib-2.0
Cflags: -I${includedir} -DG_X=1
Requires: libpcre2-8 >= 10.32, zlib
"""

def _pkgconfig_test_impl(ctx):
    env = unittest.begin(ctx)
    fields = pkgconfig.parse(_PC)
    asserts.equals(env, "-L/usr/lib/x86_64-linux-gnu -lglib-2.0", fields["Libs"])
    asserts.equals(env, "-I/usr/include/glib-2.0 -DG_X=1", fields["Cflags"])
    asserts.equals(env, ["libpcre2-8", "zlib"], pkgconfig.requires(fields["Requires"]))
    return unittest.end(env)

_pkgconfig_test = unittest.make(_pkgconfig_test_impl)

def packages_test_suite(name):
    """Declares the unit tests of this file, under one test_suite.

    Args:
      name: name of the test_suite.
    """
    unittest.suite(name, _repo_name_test, _urls_test, _parse_test, _pkgconfig_test)
