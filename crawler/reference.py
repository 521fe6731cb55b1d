"""Image references and registry names, normalised the way the Docker CLI does.

``docker.io`` (and ``index.docker.io``) is served by ``registry-1.docker.io``, and a one-component
repository name on Docker Hub lives under ``library/``. Other registries keep names as given.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Optional

from common.errors import CrawlError

DOCKER_HUB_HOSTS = frozenset({"docker.io", "index.docker.io", "registry-1.docker.io", "registry.hub.docker.com"})
DOCKER_HUB_REGISTRY = "registry-1.docker.io"
DEFAULT_TAG = "latest"

# distribution/reference grammar, simplified: lowercase path components separated by '/'.
_COMPONENT = re.compile(r"^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$")
_TAG = re.compile(r"^[\w][\w.-]{0,127}$")


class InvalidReference(CrawlError, ValueError):
    """A repository name or image reference that the registry grammar rejects."""


def normalize_registry(host: str) -> str:
    """The host to talk to: Docker Hub aliases become ``registry-1.docker.io``; others are unchanged."""
    host = host.strip().rstrip("/")
    for prefix in ("https://", "http://"):
        if host.startswith(prefix):
            host = host[len(prefix):]
    return DOCKER_HUB_REGISTRY if host.lower() in DOCKER_HUB_HOSTS else host


def is_docker_hub(host: str) -> bool:
    """True when ``host`` names Docker Hub under any of its aliases."""
    return normalize_registry(host) == DOCKER_HUB_REGISTRY


def normalize_repository(registry: str, name: str) -> str:
    """Validate ``name`` and add the implicit ``library/`` for one-component Docker Hub names."""
    name = name.strip().strip("/")
    if not name or not all(_COMPONENT.match(part) for part in name.split("/")):
        raise InvalidReference(f"invalid repository name: {name!r}")
    if is_docker_hub(registry) and "/" not in name:
        name = f"library/{name}"
    return name


def _looks_like_host(component: str) -> bool:
    return "." in component or ":" in component or component == "localhost"


@dataclass(frozen=True)
class Reference:
    """``registry/repository[:tag][@digest]`` with the registry and repository normalised."""

    registry: str
    repository: str
    tag: Optional[str] = None
    digest: Optional[str] = None

    @property
    def reference(self) -> str:
        """What goes after ``/manifests/``: the digest if pinned, else the tag (default ``latest``)."""
        return self.digest or self.tag or DEFAULT_TAG

    def __str__(self) -> str:
        text = f"{self.registry}/{self.repository}"
        if self.tag:
            text += f":{self.tag}"
        if self.digest:
            text += f"@{self.digest}"
        return text


def parse_reference(text: str, default_registry: str = DOCKER_HUB_REGISTRY) -> Reference:
    """Parse ``[host[:port]/]name[:tag][@sha256:...]``; a first component with '.' or ':' is a host."""
    rest = text.strip()
    digest = None
    if "@" in rest:
        rest, digest = rest.split("@", 1)
        if not digest.startswith("sha256:"):
            raise InvalidReference(f"unsupported digest in {text!r}")
    first, sep, remainder = rest.partition("/")
    if sep and _looks_like_host(first):
        registry, rest = first, remainder
    else:
        registry = default_registry
    tag = None
    name, colon, maybe_tag = rest.rpartition(":")
    if colon and "/" not in maybe_tag:
        rest, tag = name, maybe_tag
        if not _TAG.match(tag):
            raise InvalidReference(f"invalid tag {tag!r} in {text!r}")
    registry = normalize_registry(registry)
    return Reference(registry, normalize_repository(registry, rest), tag, digest)
