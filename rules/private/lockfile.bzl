"""Reading rules_apk lockfiles (`*.apk.lock.json`, schema 1) in Starlark.

Only what Bazel needs at fetch time is read: each package's name, version, arch, URL and
sha256. Everything else (checksums, datahash, dependencies) is checked by `apkpack` when a
layer is built.
"""

_VERSION = 1

_REQUIRED = ["name", "version", "arch", "url", "sha256"]

def _parse(*, content, what):
    """Parses and checks a lockfile.

    Args:
      content: the lockfile's text.
      what: how to name the lockfile in errors (its label).

    Returns:
      A struct with `archs` (sorted list) and `packages` (a list of structs with `name`,
      `version`, `arch`, `url`, `sha256` and `provides`, in the lockfile's order).
    """
    data = json.decode(content)
    version = data.get("version")
    if version != _VERSION:
        fail(("lockfile {}: schema version {} is not supported (this rules_apk reads {}); " +
              "regenerate it with the apkpack of this rules_apk: " +
              "bazel run <hub>//:lock.update").format(what, version, _VERSION))
    packages = []
    for i, p in enumerate(data.get("packages", [])):
        for key in _REQUIRED:
            if not p.get(key):
                fail("lockfile {}: package #{} has no {!r}".format(what, i, key))
        packages.append(struct(
            name = p["name"],
            version = p["version"],
            arch = p["arch"],
            url = p["url"],
            sha256 = p["sha256"],
            provides = p.get("provides", []),
        ))
    archs = sorted({p.arch: True for p in packages}.keys())
    return struct(archs = archs, packages = packages)

# _CPUS maps APK arch names to the constraint values of @platforms.
_CPUS = {
    "aarch64": "@platforms//cpu:aarch64",
    "armv7": "@platforms//cpu:armv7",
    "loongarch64": "@platforms//cpu:loongarch64",
    "ppc64le": "@platforms//cpu:ppc64le",
    "riscv64": "@platforms//cpu:riscv64",
    "s390x": "@platforms//cpu:s390x",
    "x86": "@platforms//cpu:x86_32",
    "x86_64": "@platforms//cpu:x86_64",
}

def _cpu(*, arch, what):
    """Returns the @platforms CPU constraint label of an APK arch."""
    if arch not in _CPUS:
        fail("lockfile {}: arch {!r} has no Bazel CPU constraint; known archs: {}".format(
            what,
            arch,
            ", ".join(sorted(_CPUS.keys())),
        ))
    return _CPUS[arch]

lockfile = struct(
    parse = _parse,
    cpu = _cpu,
    cpus = _CPUS,
)
