"""Tar member names made comparable across writers, and what makes one hostile (rules: ``jobs.layer_scanner``)."""
from __future__ import annotations

from typing import NamedTuple, Optional

MAX_PATH_BYTES = 4096  # PATH_MAX on Linux
MAX_NAME_BYTES = 255  # NAME_MAX
MAX_EXTENSION_CHARS = 16


class NormalPath(NamedTuple):
    """A member name made comparable across writers, with what made it suspicious (a tuple: made per entry)."""

    path: str
    raw: Optional[bytes]
    hostile: bool
    components: tuple[str, ...]


def normalize_path(raw: bytes) -> NormalPath:
    """Normalise a tar member name (see the module docstring for the rules)."""
    try:
        text, keep = raw.decode("utf-8"), None
    except UnicodeDecodeError:
        text, keep = raw.decode("utf-8", "backslashreplace"), raw
    components = tuple(c for c in text.split("/") if c and c != ".")
    hostile = (
        (raw.startswith(b"/") and bool(components))  # "/" or "./" alone is the root itself (kaniko writes it)
        or ".." in components
        or (len(raw) > MAX_NAME_BYTES and (len(raw) > MAX_PATH_BYTES or any(len(c) > MAX_NAME_BYTES for c in raw.split(b"/"))))
    )
    return NormalPath("/" + "/".join(components), keep, hostile, components)


def symlink_escapes(components: tuple[str, ...], target: str) -> bool:
    """True if a relative symlink target, resolved lexically from the link's directory, leaves the root."""
    if target.startswith("/"):
        return False
    stack = list(components[:-1])
    for part in target.split("/"):
        if part in ("", "."):
            continue
        if part == "..":
            if not stack:
                return True
            stack.pop()
        else:
            stack.append(part)
    return False


def extension_of(name: str) -> Optional[str]:
    """Lower-cased suffix after the last dot of a base name (``None`` for dotfiles and long tails)."""
    dot = name.rfind(".")
    if dot <= 0 or dot == len(name) - 1 or len(name) - dot - 1 > MAX_EXTENSION_CHARS:
        return None
    return name[dot + 1 :].lower()
