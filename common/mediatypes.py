"""Manifest, config and layer media types, and the Accept list every manifest request sends.

The distribution registry answers 404 for an OCI manifest when Accept omits OCI, and converts a
schema2 manifest to schema1 (another digest) when Accept omits schema2 (distribution 2.8,
``registry/handlers/manifests.go``), so the Accept list always names all of them.
"""
from __future__ import annotations

OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
OCI_LAYER_TAR = "application/vnd.oci.image.layer.v1.tar"
OCI_LAYER_GZIP = "application/vnd.oci.image.layer.v1.tar+gzip"
OCI_LAYER_ZSTD = "application/vnd.oci.image.layer.v1.tar+zstd"
OCI_LAYER_NONDIST_TAR = "application/vnd.oci.image.layer.nondistributable.v1.tar"
OCI_LAYER_NONDIST_GZIP = "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip"
OCI_LAYER_NONDIST_ZSTD = "application/vnd.oci.image.layer.nondistributable.v1.tar+zstd"

DOCKER_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
DOCKER_CONFIG = "application/vnd.docker.container.image.v1+json"
DOCKER_LAYER_GZIP = "application/vnd.docker.image.rootfs.diff.tar.gzip"
DOCKER_LAYER_TAR = "application/vnd.docker.image.rootfs.diff.tar"
DOCKER_FOREIGN_LAYER = "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip"
DOCKER_SCHEMA1 = "application/vnd.docker.distribution.manifest.v1+json"
DOCKER_SCHEMA1_SIGNED = "application/vnd.docker.distribution.manifest.v1+prettyjws"
SCHEMA1_LAYER = "application/vnd.docker.container.image.rootfs.diff+x-gtar"  # what schema1 layers are

DOCKER_LAYER_ZSTD = "application/vnd.docker.image.rootfs.diff.tar.zstd"  # not in the spec; some tools push it
OCI_EMPTY = "application/vnd.oci.empty.v1+json"  # artifacts' config

INDEX_TYPES = frozenset({OCI_INDEX, DOCKER_LIST})
CONFIG_TYPES = frozenset({OCI_CONFIG, DOCKER_CONFIG})
IMAGE_TYPES = frozenset({OCI_MANIFEST, DOCKER_MANIFEST})
SCHEMA1_TYPES = frozenset({DOCKER_SCHEMA1, DOCKER_SCHEMA1_SIGNED})
FOREIGN_LAYER_TYPES = frozenset(
    {DOCKER_FOREIGN_LAYER, OCI_LAYER_NONDIST_TAR, OCI_LAYER_NONDIST_GZIP, OCI_LAYER_NONDIST_ZSTD}
)
# Layer media types an image may have; anything else (a Helm chart, an in-toto statement, a
# signature) makes the manifest an artifact: the image-spec says to ignore unknown layer types.
LAYER_TYPES = frozenset({OCI_LAYER_TAR, OCI_LAYER_GZIP, OCI_LAYER_ZSTD, DOCKER_LAYER_GZIP, DOCKER_LAYER_TAR,
                         DOCKER_LAYER_ZSTD, SCHEMA1_LAYER}) | FOREIGN_LAYER_TYPES

# Preference order; schema1 last and only as legacy (q-values keep proxies that honour them honest).
MANIFEST_ACCEPT = ", ".join(
    [OCI_INDEX, DOCKER_LIST, OCI_MANIFEST, DOCKER_MANIFEST, f"{DOCKER_SCHEMA1_SIGNED};q=0.5", f"{DOCKER_SCHEMA1};q=0.5"]
)


def is_foreign(media_type: str) -> bool:
    """Foreign / non-distributable layers are recorded but never downloaded."""
    return media_type in FOREIGN_LAYER_TYPES or "nondistributable" in media_type
