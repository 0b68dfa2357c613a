"""A C toolchain whose headers, start files and libraries all come from a lockfile's sysroot.

The compiler and the linker are the machine's (`/usr/bin/gcc`, Debian testing's in the offline
environment: issue #6 leaves the build lockfile's own compiler, run through the sysroot's loader,
to a later issue); nothing else of the machine reaches a compile or a link:

- `--sysroot` is the sysroot repository, so the linker's default library directories and the
  paths in linker scripts (`libc.so`) are the sysroot's;
- `-nostdinc` drops the machine's headers; the sysroot's compiler headers
  (`usr/lib/gcc/<triple>/<version>/include`), multiarch headers and `usr/include` come instead;
- `-B` puts the sysroot's start files (`Scrt1.o`, `crti.o`, `crtbeginS.o`, ...) and libgcc before
  the compiler's own.

So a binary built with it asks for the glibc of the lockfile, not the newer one of the machine,
and runs on a runtime layer made from the same repository.
"""

load(
    "@rules_cc//cc:cc_toolchain_config_lib.bzl",
    "feature",
    "flag_group",
    "flag_set",
    "tool_path",
)
load("@rules_cc//cc:defs.bzl", "CcToolchainConfigInfo")
load("@rules_cc//cc/common:cc_common.bzl", "cc_common")

_DOC = """\
The configuration of a C toolchain on a sysroot repository of the `apk` extension; the
sysroot repository declares it (see `@<hub>//:cc_toolchain_<arch>`).
"""

_COMPILE_ACTIONS = [
    "assemble",
    "preprocess-assemble",
    "c-compile",
    "c++-compile",
    "c++-header-parsing",
    "c++-module-compile",
    "c++-module-codegen",
    "linkstamp-compile",
]

_LINK_ACTIONS = [
    "c++-link-executable",
    "c++-link-dynamic-library",
    "c++-link-nodeps-dynamic-library",
]

_ATTRS = {
    "compiler_include_dir": attr.string(
        doc = "The compiler headers' directory in the sysroot, e.g. " +
              "`usr/lib/gcc/x86_64-linux-gnu/12/include`; empty when the sysroot has none.",
    ),
    "cpu": attr.string(
        doc = "Bazel's name of the CPU, e.g. `k8`.",
        mandatory = True,
    ),
    "include_dirs": attr.string_list(
        doc = "Header directories of the sysroot, relative to it, in search order.",
        mandatory = True,
    ),
    "lib_dirs": attr.string_list(
        doc = "Directories of start files and libraries in the sysroot, relative to it, in " +
              "search order.",
        mandatory = True,
    ),
    "sysroot": attr.string(
        doc = "The sysroot, relative to the execution root: `external/<repository>/sysroot`.",
        mandatory = True,
    ),
    "tools_dir": attr.string(
        doc = "Directory of the machine's gcc, ld, ar and the rest.",
        default = "/usr/bin",
    ),
}

def _flags(flags):
    """Returns a flag_group list holding flags."""
    return [flag_group(flags = flags)]

def _apk_cc_toolchain_config_impl(ctx):
    sysroot = ctx.attr.sysroot
    include_dirs = ([ctx.attr.compiler_include_dir] if ctx.attr.compiler_include_dir else [])
    include_dirs += ctx.attr.include_dirs
    compile_flags = [
        "--sysroot=" + sysroot,
        "-nostdinc",
        # Headers are named as the command line names them, so the .d files that Bazel checks
        # hold execroot-relative paths.
        "-no-canonical-prefixes",
        "-fno-canonical-system-headers",
        "-Wno-builtin-macro-redefined",
        "-D__DATE__=\"redacted\"",
        "-D__TIMESTAMP__=\"redacted\"",
        "-D__TIME__=\"redacted\"",
    ]
    for d in include_dirs:
        compile_flags.extend(["-isystem", sysroot + "/" + d])
    link_flags = ["--sysroot=" + sysroot, "-no-canonical-prefixes"]
    for d in ctx.attr.lib_dirs:
        link_flags.extend(["-B" + sysroot + "/" + d, "-L" + sysroot + "/" + d])

    features = [
        feature(
            name = "apk_sysroot_compile_flags",
            enabled = True,
            flag_sets = [flag_set(actions = _COMPILE_ACTIONS, flag_groups = _flags(compile_flags))],
        ),
        feature(
            name = "apk_sysroot_link_flags",
            enabled = True,
            flag_sets = [flag_set(actions = _LINK_ACTIONS, flag_groups = _flags(link_flags))],
        ),
        feature(
            name = "opt",
            flag_sets = [flag_set(
                actions = _COMPILE_ACTIONS,
                flag_groups = _flags(["-O2", "-DNDEBUG"]),
            )],
        ),
        feature(name = "supports_pic", enabled = True),
        feature(name = "supports_dynamic_linker", enabled = True),
    ]
    tools = ctx.attr.tools_dir + "/"
    return cc_common.create_cc_toolchain_config_info(
        ctx = ctx,
        features = features,
        cxx_builtin_include_directories = ["%sysroot%/" + d for d in include_dirs],
        toolchain_identifier = "apk-sysroot-" + ctx.attr.cpu,
        host_system_name = "local",
        target_system_name = "local",
        target_cpu = ctx.attr.cpu,
        target_libc = "glibc",
        compiler = "gcc",
        abi_version = "local",
        abi_libc_version = "local",
        builtin_sysroot = sysroot,
        tool_paths = [
            tool_path(name = name, path = tools + name)
            for name in ["ar", "cpp", "gcc", "gcov", "ld", "nm", "objdump", "strip"]
        ],
    )

apk_cc_toolchain_config = rule(
    doc = _DOC,
    implementation = _apk_cc_toolchain_config_impl,
    attrs = _ATTRS,
    provides = [CcToolchainConfigInfo],
)
