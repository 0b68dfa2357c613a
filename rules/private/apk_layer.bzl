"""The apk_layer rule: reproducible tar layers from the locked packages of one arch."""

load(":lockfile.bzl", "lockfile")

ApkLayerInfo = provider(
    doc = "The layers of an `apk_layer` target.",
    fields = {
        "arch": "The APK arch the layers were built for, e.g. `x86_64`.",
        "layers": "A list of layer files (one with `layering = \"single\"`), or a one-item " +
                  "list holding the directory of `000.tar...`, `001.tar...` (and each layer's " +
                  "SBOM, `000.spdx.json`, ...) otherwise.",
        "sbom": "The SPDX 2.3 JSON SBOM of the closure.",
    },
)

_DOC = """\
Builds the root filesystem of a lockfile's closure for one arch, as `apk add --root` would
install it but without running apk or any package script, as reproducible tar layers: the
packages' files, the installed database, `etc/apk/{world,arch,repositories}`,
`etc/os-release` when no package ships one, and `ld.so.cache` when the closure has glibc.
Every package is checked (sha256 and size against the lockfile, `C:`, `datahash`, every file's
SHA-1) before a byte of it reaches a layer. The bytes depend only on the lockfile, the packages
and the attributes, so the action is cacheable and runs remotely.

Output: `<name>.tar.gz` (or `.tar`, `.tar.zst`) with `layering = "single"`, else a directory
`<name>_layers/` of `000.tar...`, `001.tar...`, each beside its layer's SBOM
(`000.spdx.json`, ...). Output group `sbom`: `<name>.spdx.json`, the SBOM of the closure.

```starlark
load("@rules_apk//rules:defs.bzl", "apk_layer")

apk_layer(
    name = "runtime_layers",
    lock = "@runtime//:lockfile",
    packages = ["@runtime//:packages"],
    layering = "origin:8",
)
```

Every hub repository of the `apk` extension already has a `:layer` target of this rule, with
the defaults below.
"""

_FORMATS = {
    "gzip": "tar.gz",
    "none": "tar",
    "zstd": "tar.zst",
}

_ATTRS = dict({
    "arch": attr.string(
        doc = "APK arch to build for, e.g. `x86_64`. Empty (the default): the arch of the " +
              "target platform's CPU.",
    ),
    "compression": attr.string(
        doc = "Compression of the layers: `gzip`, `zstd` or `none`.",
        default = "gzip",
        values = sorted(_FORMATS.keys()),
    ),
    "gzip_level": attr.int(
        doc = "gzip level, 1 (fastest) to 9 (smallest), with `compression = \"gzip\"`.",
        default = 6,
        values = [1, 2, 3, 4, 5, 6, 7, 8, 9],
    ),
    "layering": attr.string(
        doc = "How to split the closure: `single` (one layer), `per-package` (one layer per " +
              "package), or `origin:N` (at most N layers, grouping packages by origin).",
        default = "single",
    ),
    "lock": attr.label(
        doc = "The lockfile (`*.apk.lock.json`).",
        mandatory = True,
        allow_single_file = [".json"],
    ),
    "os_release": attr.label(
        doc = "A file to write as `etc/os-release` when no package ships one. Without it, the " +
              "spec's `os-release` key (recorded in the lockfile) is written, else a generic one.",
        allow_single_file = True,
    ),
    "packages": attr.label_list(
        doc = "The `.apk` files of the closure for `arch`, as fetched by the `apk` extension " +
              "(e.g. `@runtime//:packages`). Matched to the lockfile by file name " +
              "(`<name>-<version>.apk`) or by SHA-256; a locked package that is missing fails " +
              "the build.",
        allow_files = [".apk"],
    ),
    "source_date_epoch": attr.int(
        doc = "The mtime of every entry, in Unix seconds. -1 (the default): the newest " +
              "`build_time` of the closure, so the layer changes only with the lockfile.",
        default = -1,
    ),
    "strict_scripts": attr.bool(
        doc = "Fail when a package has a script that `apkpack` does not emulate, instead of " +
              "warning.",
    ),
    "_apkpack": attr.label(
        default = Label("//tools/cmd/apkpack"),
        executable = True,
        cfg = "exec",
    ),
}, **{
    "_cpu_" + arch: attr.label(default = Label(cpu))
    for arch, cpu in lockfile.cpus.items()
})

def _arch(ctx):
    """Returns the APK arch to build for: the attribute, else the target platform's CPU."""
    if ctx.attr.arch:
        return ctx.attr.arch
    for arch in sorted(lockfile.cpus.keys()):
        cpu = getattr(ctx.attr, "_cpu_" + arch)[platform_common.ConstraintValueInfo]
        if ctx.target_platform_has_constraint(cpu):
            return arch
    fail("apk_layer {}: the target platform's CPU is none of {}; set arch".format(
        ctx.label,
        ", ".join(sorted(lockfile.cpus.keys())),
    ))

def _apk_layer_impl(ctx):
    arch = _arch(ctx)
    ext = _FORMATS[ctx.attr.compression]
    if ctx.attr.layering == "single":
        out = ctx.actions.declare_file("{}.{}".format(ctx.label.name, ext))
    else:
        out = ctx.actions.declare_directory(ctx.label.name + "_layers")
    sbom = ctx.actions.declare_file(ctx.label.name + ".spdx.json")
    packages = ctx.files.packages

    args = ctx.actions.args()
    args.add("layer")
    args.add(ctx.file.lock)
    args.add("--arch", arch)
    args.add("--output", out.path)
    args.add("--format", ext)
    args.add("--gzip-level", ctx.attr.gzip_level)
    args.add("--layering", ctx.attr.layering)
    args.add("--sbom", sbom)
    args.add("--source-date-epoch", ctx.attr.source_date_epoch)
    if ctx.file.os_release:
        args.add("--os-release", ctx.file.os_release)
    if ctx.attr.strict_scripts:
        args.add("--strict-scripts")
    args.add_all(packages, before_each = "--package")

    ctx.actions.run(
        executable = ctx.executable._apkpack,
        arguments = [args],
        inputs = [ctx.file.lock] + ctx.files.os_release + packages,
        outputs = [out, sbom],
        mnemonic = "ApkLayer",
        progress_message = "Building layer %{{label}} ({} packages for {})".format(
            len(packages),
            arch,
        ),
        toolchain = None,
    )
    return [
        DefaultInfo(files = depset([out])),
        OutputGroupInfo(sbom = depset([sbom])),
        ApkLayerInfo(arch = arch, layers = [out], sbom = sbom),
    ]

apk_layer = rule(
    doc = _DOC,
    implementation = _apk_layer_impl,
    attrs = _ATTRS,
)
