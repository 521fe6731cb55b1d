"""Shards: ``--shard i/n`` takes a stable, even share of the repositories, so n machines crawl a list once.

A repository belongs to shard ``sha256(normalised name) mod n``. The name is normalised the way the
registry addresses it (``library/`` for Docker Hub's official images, lower case), so ``nginx``,
``library/nginx`` and ``docker.io/library/nginx`` land in the same shard on every machine; the
hash (not Python's salted ``hash``) makes the split the same on every run and every host.
"""
from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from typing import Optional


@dataclass(frozen=True)
class Shard:
    """Shard ``index`` of ``count`` (0-based: ``0/3``, ``1/3``, ``2/3``)."""

    index: int
    count: int

    def __post_init__(self) -> None:
        if self.count < 1 or not 0 <= self.index < self.count:
            raise ValueError(f"shard {self.index}/{self.count}: need 0 <= i < n")

    @classmethod
    def parse(cls, text: str) -> "Shard":
        """``"i/n"`` -> ``Shard(i, n)``."""
        index, sep, count = text.partition("/")
        if not sep or not index.strip().isdigit() or not count.strip().isdigit():
            raise ValueError(f"shard {text!r}: expected i/n, e.g. 0/3")
        return cls(int(index), int(count))

    def owns(self, repository: str) -> bool:
        """True when ``repository`` falls in this shard."""
        return shard_of(repository, self.count) == self.index

    def __str__(self) -> str:
        return f"{self.index}/{self.count}"


def normalise_repository(repository: str) -> str:
    """The repository name as the registry addresses it: lower case, ``library/`` for a bare Hub name."""
    name = repository.strip().lower()
    for prefix in ("docker.io/", "index.docker.io/", "registry-1.docker.io/"):
        if name.startswith(prefix):
            name = name[len(prefix):]
            if "/" not in name:
                name = "library/" + name
    return name


def shard_of(repository: str, count: int) -> int:
    """Which of ``count`` shards ``repository`` belongs to (the first 8 bytes of its sha256, mod ``count``)."""
    digest = hashlib.sha256(normalise_repository(repository).encode()).digest()
    return int.from_bytes(digest[:8], "big") % count


def shard_credentials(shard: Optional[Shard], environ=os.environ) -> tuple[Optional[str], Optional[str]]:
    """The account for a shard: ``HUBSCOPE_REGISTRY_USER`` / ``HUBSCOPE_REGISTRY_PASSWORD`` with ``_<i>`` appended, if set.

    One account per shard spreads Docker Hub's per-account pull budget over n accounts; a shard
    without its own variables uses the general credentials.
    """
    if shard is None:
        return None, None
    suffix = f"_{shard.index}"
    return environ.get("HUBSCOPE_REGISTRY_USER" + suffix), environ.get("HUBSCOPE_REGISTRY_PASSWORD" + suffix)
