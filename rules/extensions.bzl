"""The `apk` module extension: one repository per locked package and one hub per lockfile.

```starlark
apk = use_extension("@rules_apk//rules:extensions.bzl", "apk")
apk.lock(name = "runtime", lock = "//examples:runtime.apk.lock.json")
apk.mirror(repository = "https://packages.wolfi.dev/os", urls = ["https://mirror.example.com/wolfi/os"])
use_repo(apk, "runtime")
```

Lock time is the only time an index is read: at fetch time the extension reads the lockfile
and nothing else, and each package is downloaded by URL and checked against its sha256.
"""

load("//rules/private:lockfile.bzl", "lockfile")
load("//rules/private:packages.bzl", "packages")
load("//rules/private:repositories.bzl", "apk_hub", "apk_package", "apk_sysroot")

_LOCK_DOC = """\
Makes a hub repository, `@<name>`, from a lockfile. See the hub's targets in the `apk` extension
documentation. Write the lockfile with `apkpack lock SPEC`, or with an `apk_lock` target.
"""

_lock = tag_class(
    doc = _LOCK_DOC,
    attrs = {
        "lock": attr.label(
            doc = "The lockfile, `*.apk.lock.json`.",
            mandatory = True,
            allow_single_file = [".json"],
        ),
        "name": attr.string(
            doc = "Name of the hub repository (`@<name>//:layer`); unique among all modules.",
            mandatory = True,
        ),
        "secdb": attr.string(
            doc = "A security database (Wolfi's `security.json` or an Alpine secdb; a URL, or " +
                  "a path relative to the workspace) for the diff that `:lock.update` prints: " +
                  "each upgrade then lists the vulnerabilities it fixes.",
        ),
        "spec": attr.label(
            doc = "The spec the lockfile comes from, for the hub's `:lock.update`. Defaults " +
                  "to the lockfile's name with `.apk.yaml` for `.apk.lock.json`, when that " +
                  "file exists; it must be in the lockfile's package.",
        ),
    },
)

_MIRROR_DOC = """\
Downloads the packages of a repository from mirrors first, for corporate mirrors and for the
demo repository. The lockfile keeps the repository's own URLs, so it does not depend on the
mirror. Only the root module's mirrors count. Bazel's own `--experimental_downloader_config`
rewrites URLs too, for every download.
"""

_mirror = tag_class(
    doc = _MIRROR_DOC,
    attrs = {
        "repository": attr.string(
            doc = "A repository URL as the lockfile records it, e.g. " +
                  "`https://packages.wolfi.dev/os`; it applies to the package URLs under it.",
            mandatory = True,
        ),
        "dir": attr.string(
            doc = "A directory standing for `repository`, relative to the root module's " +
                  "directory (e.g. a repository built by a script into a gitignored folder); " +
                  "it is tried as a `file://` URL after `urls`.",
        ),
        "urls": attr.string_list(
            doc = "Mirror URLs standing for `repository`, tried in order before it. The first " +
                  "(or `dir`) is also what `:lock.update` fetches indexes from.",
        ),
    },
)

_DOC = """\
Reads lockfiles (`*.apk.lock.json`) and creates, for each `lock` tag, a hub repository `@<name>`
with these targets:

- `:layer`: `apk_layer` of the whole closure for the target platform's arch; `:sbom`, its SPDX
  2.3 JSON SBOM.
- `:packages`: the `.apk` files of the target platform's arch; `:packages_<arch>`, those of one
  arch; `:<package>.apk`, one package.
- `:lockfile`: the lockfile.
- `:lock.update`: `bazel run` it to re-resolve the spec with the newest versions, write the
  lockfile into the workspace and print what changed (an `apk_lock`).
- `:sysroot`: the packages of the target platform's arch, unpacked.
- `:cc_toolchain_<arch>`: a C toolchain on that sysroot: the machine's gcc, with every header,
  start file and library from the sysroot. Register it with
  `register_toolchains("@<name>//:cc_toolchain_x86_64")`.
- `:<module>` for each `pc:<module>` that a package provides (`:libcurl`): a `cc_library` made
  from the sysroot's `<module>.pc` (its `-l` flags, defines, extra include directories and
  `Requires`), for use with that toolchain.

Each package is its own repository, downloaded by URL and sha256 with Bazel's downloader; each
sysroot too, fetched only when used.
"""

def _spec_label(*, mctx, tag):
    """Returns the spec label of a lock tag, or None when it has none."""
    if tag.spec:
        if tag.spec.package != tag.lock.package or tag.spec.repo_name != tag.lock.repo_name:
            fail("apk.lock(name = {!r}): spec {} must be in the package of lock {}".format(
                tag.name,
                tag.spec,
                tag.lock,
            ))
        return tag.spec
    if not tag.lock.name.endswith(".apk.lock.json"):
        return None
    spec = tag.lock.same_package_label(tag.lock.name[:-len(".apk.lock.json")] + ".apk.yaml")
    path = mctx.path(spec)

    # Watched, so that a spec created or deleted later adds or drops :lock.update.
    mctx.watch(path)
    if not path.exists:
        return None
    return spec

def _mirror_urls(*, mctx, tag):
    """Returns the mirror URLs of a mirror tag: its urls, then its dir as a file:// URL."""
    urls = list(tag.urls)
    if tag.dir:
        if tag.dir.startswith("/"):
            fail(("apk.mirror(repository = {!r}): dir {!r} must be relative to the root " +
                  "module's directory; for an absolute path, use urls = [\"file:///...\"]").format(
                tag.repository,
                tag.dir,
            ))
        root = mctx.path(Label("@@//:MODULE.bazel")).dirname
        urls.append("file://{}/{}".format(root, tag.dir.rstrip("/")))
    if not urls:
        fail("apk.mirror(repository = {!r}): set urls or dir".format(tag.repository))
    return urls

def _apk_impl(mctx):
    mirrors = {}
    for mod in mctx.modules:
        if mod.is_root:
            for m in mod.tags.mirror:
                urls = _mirror_urls(mctx = mctx, tag = m)
                mirrors.setdefault(m.repository.rstrip("/"), []).extend(urls)

    tags = {}
    direct = []
    direct_dev = []
    for mod in mctx.modules:
        for tag in mod.tags.lock:
            if tag.name in tags:
                fail("apk.lock(name = {!r}): the name is taken (by lock {}); pick another".format(
                    tag.name,
                    tags[tag.name].lock,
                ))
            tags[tag.name] = tag
            if mod.is_root:
                (direct_dev if mctx.is_dev_dependency(tag) else direct).append(tag.name)

    for hub, tag in sorted(tags.items()):
        mctx.report_progress("Reading lockfile {}".format(tag.lock))
        what = str(tag.lock)
        locked = lockfile.parse(content = mctx.read(tag.lock), what = what)
        hub_packages = []
        pc_modules = {}
        by_arch = {}
        seen = {}
        for p in locked.packages:
            repo = packages.repo_name(hub = hub, arch = p.arch, name = p.name)
            if repo in seen:
                fail("lockfile {}: packages {} and {} ({}) get the same repository name".format(
                    what,
                    seen[repo],
                    p.name,
                    p.arch,
                ))
            seen[repo] = p.name
            file = "{}-{}.apk".format(p.name, p.version)
            urls = packages.urls(url = p.url, mirrors = mirrors)
            apk_package(name = repo, file = file, sha256 = p.sha256, urls = urls)
            hub_packages.append([p.name, p.arch, repo])
            for pc in packages.pc_names(p.provides):
                pc_modules.setdefault(pc, []).append(p.arch)
            by_arch.setdefault(p.arch, []).append([file, p.sha256, urls])
        for arch, sysroot_packages in sorted(by_arch.items()):
            apk_sysroot(
                name = packages.sysroot_repo_name(hub = hub, arch = arch),
                arch = arch,
                packages = json.encode(sysroot_packages),
            )
        apk_hub(
            name = hub,
            hub = hub,
            lock = tag.lock,
            mirrors = {r: urls[0] for r, urls in mirrors.items()},
            packages = json.encode(hub_packages),
            pc_modules = pc_modules,
            secdb = tag.secdb,
            spec = _spec_label(mctx = mctx, tag = tag),
        )

    return mctx.extension_metadata(
        root_module_direct_deps = direct,
        root_module_direct_dev_deps = direct_dev,
        reproducible = True,
    )

apk = module_extension(
    doc = _DOC,
    implementation = _apk_impl,
    tag_classes = {
        "lock": _lock,
        "mirror": _mirror,
    },
)
