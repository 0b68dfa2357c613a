"""Public API of rules_apk: build minimal, distroless OCI image layers from APK packages.

```starlark
load("@rules_apk//rules:defs.bzl", "apk_layer", "apk_lock")
```

Most builds need neither rule directly: the `apk` module extension
(`@rules_apk//rules:extensions.bzl`) makes a hub repository per lockfile whose `:layer` is an
`apk_layer` and whose `:lock.update` is an `apk_lock`.
"""

load("//rules/private:apk_layer.bzl", _ApkLayerInfo = "ApkLayerInfo", _apk_layer = "apk_layer")
load("//rules/private:apk_lock.bzl", _apk_lock = "apk_lock")

ApkLayerInfo = _ApkLayerInfo
apk_layer = _apk_layer
apk_lock = _apk_lock
