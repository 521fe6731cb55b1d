"""Tar entries of one image as plain values, and overlay path helpers shared by the per-image metrics.

The files table may record a whiteout either under its tar name (``/a/.wh.b``) or under the path it
deletes (``/a/b``); ``whiteout_target`` accepts both, so the metrics do not depend on that choice.
"""
from __future__ import annotations

import posixpath
from dataclasses import dataclass
from typing import Optional

WHITEOUT_PREFIX = ".wh."
OPAQUE_MARKER = ".wh..wh..opq"


@dataclass(frozen=True)
class Entry:
    """One tar member of a layer: normalised path (leading ``/``), entry type, header size, content."""

    path: str
    type: str
    size_bytes: int = 0
    content_sha256: Optional[str] = None


def parent(path: str) -> str:
    """``/a/b`` -> ``/a``; the root's parent is the root."""
    return posixpath.dirname(path) or "/"


def ancestors(path: str) -> list[str]:
    """Proper ancestors below the root: ``/a/b/c`` -> ``["/a/b", "/a"]``."""
    out = []
    p = parent(path)
    while p != "/":
        out.append(p)
        p = parent(p)
    return out


def whiteout_target(entry: Entry) -> str:
    """The path a whiteout deletes, or the directory an opaque marker makes opaque."""
    base = posixpath.basename(entry.path)
    if entry.type == "opaque_whiteout":
        return parent(entry.path) if base == OPAQUE_MARKER else entry.path
    if base.startswith(WHITEOUT_PREFIX):
        return posixpath.join(parent(entry.path), base[len(WHITEOUT_PREFIX):])
    return entry.path


def under(path: str, directory: str) -> bool:
    """True if ``path`` is ``directory`` or inside it."""
    return path == directory or path.startswith(directory.rstrip("/") + "/")
