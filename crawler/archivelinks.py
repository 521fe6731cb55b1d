"""Links inside a ``docker save`` archive, followed with a bounded depth and never out of the archive.

``docker save`` writes a layer shared by several images once and links the other images'
``<id>/layer.tar`` to it; hand-made archives link ``manifest.json`` and configs too.
"""
from __future__ import annotations

import os
import tarfile

from crawler.outcomes import ImageError

MAX_LINK_DEPTH = 8  # links followed in a row before it counts as a cycle


class MissingMember(ImageError):
    """The archive has no member of that name."""


def member_path(name: str) -> str:
    """An archive member's name without ``./`` or leading ``/``, normalised (``a/./b`` -> ``a/b``)."""
    return os.path.normpath("/" + name).lstrip("/")


def resolve_member(members: dict, inner: str, archive: str) -> tarfile.TarInfo:
    """The regular-file member ``inner`` names, following symlinks and hard links inside the archive.

    ``docker save`` writes a shared layer once and links the other images' ``<id>/layer.tar`` to it.
    A link out of the archive (absolute, or ``..`` past its root) or more than ``MAX_LINK_DEPTH``
    links in a row (a cycle) is an ``ImageError``.
    """
    name = member_path(inner)
    for _ in range(MAX_LINK_DEPTH + 1):
        member = members.get(name)
        if member is None:
            raise MissingMember(f"{archive}: no {inner} in the archive")
        if member.isfile():
            return member
        if not (member.issym() or member.islnk()):
            raise ImageError(f"{archive}: {inner} is not a file")
        target = member.linkname
        if target.startswith("/"):
            raise ImageError(f"{archive}: {name} links outside the archive ({target})")
        joined = os.path.join(os.path.dirname(name), target) if member.issym() else target
        normal = os.path.normpath(joined)
        if normal == ".." or normal.startswith("../"):
            raise ImageError(f"{archive}: {name} links outside the archive ({target})")
        name = member_path(normal)
    raise ImageError(f"{archive}: {inner}: more than {MAX_LINK_DEPTH} links in a row (a link cycle)")
