"""What a crawl is asked to fetch: a repository, maybe one tag, with metadata from its listing source.

Apart from ``crawler.crawl`` so the listing sources (``crawler.repo_listing``) can build targets
without importing the crawl that consumes them.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional


@dataclass(frozen=True)
class RepoTarget:
    """A repository to crawl, optionally pinned to one tag, with metadata from its listing source."""

    repository: str
    tag: Optional[str] = None
    metadata: dict = field(default_factory=dict, hash=False, compare=False)


def parse_target(text: str, registry: str, metadata: Optional[dict] = None) -> RepoTarget:
    """``[host/]name[:tag|@digest]`` -> RepoTarget for ``registry``, Docker Hub names normalised (``library/``).

    A host prefix must name ``registry`` itself (``docker.io/nginx`` is fine for Docker Hub).
    """
    from crawler.reference import normalize_registry, parse_reference

    ref = parse_reference(text, default_registry=registry)
    if ref.registry != normalize_registry(registry):
        raise ValueError(f"{text!r} names registry {ref.registry}, but this crawl is of {normalize_registry(registry)}")
    return RepoTarget(ref.repository, ref.digest or ref.tag, dict(metadata or {}))
