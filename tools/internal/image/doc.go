// Package image assembles OCI images from layer tars without a container
// engine or a base image, writes them as an OCI image layout or a tarball
// that docker load accepts, and pushes a layout to a registry. It is the
// library behind apkpack image and apkpack push, built on
// github.com/google/go-containerregistry (ggcr).
//
// # Images
//
// [Build] starts from scratch: an image is its layers, in order, and a config
// whose os, architecture and variant come from the platform, whose
// rootfs.diff_ids list the layers' uncompressed digests and whose history
// holds one entry per layer. Every manifest, config and index uses the OCI
// media types (image-spec v1.1). Several platforms give an image index over
// one image per platform, in the order given.
//
// # Layers
//
// A layer file is a tar, a gzip-compressed tar or a zstd-compressed tar,
// told apart by its first bytes, never by its name. Compressed files are
// used byte for byte, so their digest is the sha256 of the file. Plain tars
// are gzip-compressed once (compress/gzip at the default level, with an
// empty gzip header: no name, no mtime), because every registry and runtime
// accepts gzip layers while some refuse uncompressed ones. Every layer is
// read through to its end as a tar, so a file that is not one fails here
// rather than when a runtime extracts it.
//
// # Reproducibility
//
// The same layer files, platforms, config, annotations and creation time
// give byte-identical manifests, configs and indexes, so the same digests:
// the creation time is an input (the unix epoch unless given), history
// entries carry only the creation time and each layer's file name, and map
// fields are serialized with sorted keys. The gzip output of a plain tar
// depends on Go's compress/flate; testdata/digests.golden pins the result.
//
// # Layouts
//
// [WriteLayout] writes an OCI image layout whose index.json holds exactly
// one descriptor: the image manifest (single platform, with its platform
// recorded in the descriptor) or the image index (several platforms). That
// one descriptor is what [Push] uploads. Layouts and tarballs are written
// next to their destination and renamed into place, so a failure leaves
// nothing behind.
package image
