"""Image references and registry names, normalised the way the Docker CLI does.

``docker.io`` (and ``index.docker.io``) is served by ``registry-1.docker.io``, and a one-component
repository name on Docker Hub lives under ``library/``. Other registries keep names as given.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Optional

from common.digest import Digest, DigestError
from crawler.outcomes import InvalidName

DOCKER_HUB_HOSTS = frozenset({"docker.io", "index.docker.io", "registry-1.docker.io", "registry.hub.docker.com"})
DOCKER_HUB_REGISTRY = "registry-1.docker.io"
DEFAULT_TAG = "latest"

# distribution-spec grammar: lowercase path components separated by '/', tags [\w][\w.-]{0,127}.
# ASCII only and matched with fullmatch ("$" would let a trailing newline into a URL).
_COMPONENT = re.compile(r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*", re.ASCII)
_TAG = re.compile(r"[\w][\w.-]{0,127}", re.ASCII)
MAX_REPOSITORY_CHARS = 255  # distribution/reference's NameTotalLengthMax


class InvalidReference(InvalidName):
    """A repository name or image reference that the registry grammar rejects."""


def check_repository(name: object) -> str:
    """``name`` if it is a valid repository path (every component per the grammar), else ``InvalidReference``."""
    if not isinstance(name, str) or not name or len(name) > MAX_REPOSITORY_CHARS \
            or not all(_COMPONENT.fullmatch(part) for part in name.split("/")):
        raise InvalidReference(f"invalid repository name: {name!r}")
    return name


def check_tag(tag: object) -> str:
    """``tag`` if it matches ``[\\w][\\w.-]{0,127}``, else ``InvalidReference``."""
    if not isinstance(tag, str) or not _TAG.fullmatch(tag):
        raise InvalidReference(f"invalid tag: {tag!r}")
    return tag


def check_manifest_reference(reference: object) -> str:
    """A tag or a ``sha256:<64 hex>`` digest: what may follow ``/manifests/`` in a URL."""
    if isinstance(reference, str) and ":" in reference:
        try:
            return str(Digest.parse(reference))
        except DigestError as exc:
            raise InvalidReference(f"invalid digest: {reference!r}") from exc
    return check_tag(reference)


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
    name = check_repository(name.strip().strip("/"))
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
        try:
            digest = str(Digest.parse(digest))
        except DigestError as exc:
            raise InvalidReference(f"invalid digest in {text!r}: {exc}") from exc
    first, sep, remainder = rest.partition("/")
    if sep and _looks_like_host(first):
        registry, rest = first, remainder
    else:
        registry = default_registry
    tag = None
    name, colon, maybe_tag = rest.rpartition(":")
    if colon and "/" not in maybe_tag:
        rest, tag = name, maybe_tag
        if not _TAG.fullmatch(tag):
            raise InvalidReference(f"invalid tag {tag!r} in {text!r}")
    registry = normalize_registry(registry)
    return Reference(registry, normalize_repository(registry, rest), tag, digest)
