"""Names and URLs of the package repositories that the `apk` extension makes."""

def _repo_name(*, hub, arch, name):
    """Returns the repository name of a package.

    Repository names take letters, digits, `_`, `-` and `.`; anything else in the package name
    (`+` in `libstdc++`) becomes `_`.

    Args:
      hub: the hub repository's name.
      arch: the package's arch.
      name: the package's name.

    Returns:
      `<hub>__<arch>__<name>`, e.g. `runtime__x86_64__libstdc__`.
    """
    safe = "".join([c if c.isalnum() or c in "-._" else "_" for c in name.elems()])
    return "{}__{}__{}".format(hub, arch, safe)

def _urls(*, url, mirrors):
    """Returns the URLs to download a package from: its mirrors in order, then its own URL.

    Args:
      url: the package's URL in the lockfile.
      mirrors: a dict from a repository URL (no trailing `/`) to its mirror URLs.

    Returns:
      A list of URLs, e.g. for `https://r.test/os/x86_64/a-1-r0.apk` and mirrors
      `{"https://r.test/os": ["https://m.test/os"]}`:
      `["https://m.test/os/x86_64/a-1-r0.apk", "https://r.test/os/x86_64/a-1-r0.apk"]`.
    """
    urls = []
    for repository, targets in mirrors.items():
        prefix = repository + "/"
        if url.startswith(prefix):
            urls.extend([t.rstrip("/") + "/" + url[len(prefix):] for t in targets])
    return urls + [url]

def _sysroot_repo_name(*, hub, arch):
    """Returns the name of the sysroot repository of a hub's arch: `<hub>__sysroot_<arch>`.

    It cannot clash with a package repository, whose names have three `__`-separated parts.
    """
    return "{}__sysroot_{}".format(hub, arch)

def _pc_names(provides):
    """Returns the pkg-config module names of a package's provides.

    Args:
      provides: the package's provides, e.g. `["pc:libcurl=7.88.1", "so:libcurl.so.4=4"]`.

    Returns:
      The module names, e.g. `["libcurl"]`.
    """
    names = []
    for p in provides:
        if p.startswith("pc:"):
            names.append(p[len("pc:"):].split("=")[0].split("<")[0].split(">")[0].split("~")[0])
    return names

packages = struct(
    pc_names = _pc_names,
    repo_name = _repo_name,
    sysroot_repo_name = _sysroot_repo_name,
    urls = _urls,
)
