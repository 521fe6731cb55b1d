"""An image's final filesystem (OCI overlay semantics) and what can be read from its paths alone.

Unlike dive's path-based view, this applies the OCI image spec exactly: in each layer, whiteouts
delete the path (and its subtree) from the layers below, an opaque marker empties its directory of
lower-layer content, and the layer's own entries are then written over. On the result:
content-based duplicates (regular files whose sha256 another file in the same image already has),
and package ecosystems that their paths reveal without reading contents (Python ``*.dist-info`` /
``*.egg-info`` metadata, ``node_modules`` package.json, dpkg's per-package ``info/*.list``).
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Sequence

from analyze.entries import Entry, ancestors, whiteout_target

_PY_META = re.compile(r"/[^/]+\.(dist-info/METADATA|egg-info/PKG-INFO)$")
_PY_ROOT = re.compile(r"/(site|dist)-packages/")
_NODE_PKG = re.compile(r"/node_modules/(@[^/]+/)?[^/@][^/]*/package\.json$")
_DPKG_LIST = re.compile(r"^/var/lib/dpkg/info/[^/]+\.list$")
OS_RELEASE_PATHS = ("/etc/os-release", "/usr/lib/os-release")


@dataclass(frozen=True)
class FinalFs:
    """Counts over the regular files of an image's final filesystem."""

    files: int
    bytes: int
    unique_files: int
    unique_bytes: int
    python_packages: int
    python_bytes: int
    node_packages: int
    node_bytes: int
    dpkg_packages: int
    has_os_release: bool

    @property
    def duplicate_files(self) -> int:
        return self.files - self.unique_files

    @property
    def duplicate_bytes(self) -> int:
        return self.bytes - self.unique_bytes


def final_tree(layers: Sequence[Sequence[Entry]]) -> dict[str, Entry]:
    """``path -> entry`` after applying every layer, base first (whiteout entries never survive)."""
    tree: dict[str, Entry] = {}
    for layer in layers:
        deleted = {whiteout_target(e) for e in layer if e.type == "whiteout"}
        opaque = {whiteout_target(e) for e in layer if e.type == "opaque_whiteout"}
        if deleted or opaque:
            for path in list(tree):
                above = ancestors(path)
                if path in deleted or any(a in deleted or a in opaque for a in above):
                    del tree[path]
        for e in layer:
            if e.type not in ("whiteout", "opaque_whiteout"):
                tree[e.path] = e
    return tree


def final_fs(layers: Sequence[Sequence[Entry]]) -> FinalFs:
    """Content duplicates and path-visible packages of the image's final filesystem."""
    regular = [e for e in final_tree(layers).values() if e.type == "reg" and e.content_sha256]
    sizes = {e.content_sha256: e.size_bytes or 0 for e in regular}
    python = [e for e in regular if _PY_ROOT.search(e.path)]
    node = [e for e in regular if "/node_modules/" in e.path]
    paths = {e.path for e in regular}
    return FinalFs(
        files=len(regular),
        bytes=sum(e.size_bytes or 0 for e in regular),
        unique_files=len(sizes),
        unique_bytes=sum(sizes.values()),
        python_packages=sum(1 for e in python if _PY_META.search(e.path)),
        python_bytes=sum(e.size_bytes or 0 for e in python),
        node_packages=sum(1 for e in node if _NODE_PKG.search(e.path)),
        node_bytes=sum(e.size_bytes or 0 for e in node),
        dpkg_packages=sum(1 for p in paths if _DPKG_LIST.match(p)),
        has_os_release=any(p in paths for p in OS_RELEASE_PATHS),
    )
