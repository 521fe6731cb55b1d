"""The image model: manifests parsed from their raw bytes, which are kept; digests come from those bytes.

Handles Docker schema2, OCI manifests, Docker manifest lists and OCI indexes, and schema1 as legacy
(layers in ``fsLayers[].blobSum``, newest first; no config blob).
"""
from __future__ import annotations

import base64
import json
from dataclasses import dataclass, field
from typing import Iterable, Optional, Union

from common.errors import CrawlError
from common import mediatypes as mt
from common.digest import Digest


class ManifestError(CrawlError, ValueError):
    """Bytes that are not a manifest we understand (bad JSON, wrong field types, unknown manifest type)."""

    error_class = "manifest_error"


@dataclass(frozen=True, order=True)
class Platform:
    """``os/architecture[/variant]``, e.g. ``linux/arm64/v8``."""

    os: str
    architecture: str
    variant: Optional[str] = None

    @classmethod
    def parse(cls, text: str) -> "Platform":
        """``linux/arm64/v8`` -> Platform; raises ValueError on anything else."""
        parts = text.strip().split("/")
        if len(parts) not in (2, 3) or not all(parts):
            raise ValueError(f"platform must be os/arch[/variant], got {text!r}")
        return cls(*parts)

    @classmethod
    def from_json(cls, raw: Optional[dict]) -> Optional["Platform"]:
        """The ``platform`` object of an index entry, or None when absent."""
        if not raw:
            return None
        return cls(raw.get("os", ""), raw.get("architecture", ""), raw.get("variant") or None)

    def matches(self, wanted: "Platform") -> bool:
        """Same os and arch; a wanted variant must match, an unspecified one matches any."""
        return (self.os, self.architecture) == (wanted.os, wanted.architecture) and (
            wanted.variant is None or wanted.variant == self.variant
        )

    def __str__(self) -> str:
        return "/".join(p for p in (self.os, self.architecture, self.variant) if p)


@dataclass(frozen=True)
class Descriptor:
    """A pointer to a blob: media type, digest, size, plus optional urls/platform/annotations."""

    media_type: str
    digest: Digest
    size_bytes: Optional[int]
    urls: tuple[str, ...] = ()
    platform: Optional[Platform] = None
    annotations: tuple[tuple[str, str], ...] = ()

    @property
    def foreign(self) -> bool:
        """A foreign / non-distributable layer: recorded, never downloaded."""
        return mt.is_foreign(self.media_type)

    def annotation(self, key: str) -> Optional[str]:
        """One annotation value, or None."""
        return dict(self.annotations).get(key)

    @classmethod
    def from_json(cls, raw: object, default_media_type: str = "") -> "Descriptor":
        """A descriptor from manifest JSON, every field checked by type; ``ManifestError`` when malformed.

        ``size`` must be a non-negative integer (not a string, a fraction, -1 or a bool): it is what
        the blob is checked against and what ``compressed_bytes`` sums.
        """
        if not isinstance(raw, dict):
            raise ManifestError(f"descriptor is not an object: {_short(raw)}")
        media_type = raw.get("mediaType", default_media_type) or default_media_type
        size = raw.get("size")
        urls = raw.get("urls") or []
        annotations = raw.get("annotations") or {}
        platform = raw.get("platform")
        if not isinstance(media_type, str):
            raise ManifestError(f"descriptor mediaType is not a string: {_short(raw)}")
        if size is not None and (isinstance(size, bool) or not isinstance(size, int) or size < 0):
            raise ManifestError(f"descriptor size must be a non-negative integer, got {size!r}")
        if not isinstance(urls, list) or not all(isinstance(u, str) for u in urls):
            raise ManifestError(f"descriptor urls must be a list of strings: {_short(raw)}")
        if not isinstance(annotations, dict) or not all(isinstance(v, str) for v in annotations.values()):
            raise ManifestError(f"descriptor annotations must map strings to strings: {_short(raw)}")
        if platform is not None and not (isinstance(platform, dict)
                                         and all(isinstance(platform.get(k, ""), str)
                                                 for k in ("os", "architecture", "variant"))):
            raise ManifestError(f"descriptor platform is not an os/architecture object: {_short(raw)}")
        try:
            return cls(media_type=media_type, digest=Digest.parse(raw.get("digest")), size_bytes=size,
                       urls=tuple(urls), platform=Platform.from_json(platform),
                       annotations=tuple(sorted(annotations.items())))
        except ValueError as exc:
            raise ManifestError(f"bad descriptor {_short(raw)}: {exc}") from exc


def _short(value: object, limit: int = 200) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[:limit] + "..."


def _list_field(doc: dict, key: str) -> list:
    value = doc.get(key)
    if value is None:
        return []
    if not isinstance(value, list):
        raise ManifestError(f"manifest {key!r} is a {type(value).__name__}, not a list")
    return value


@dataclass(frozen=True)
class ImageManifest:
    """One image: config (None for schema1) and layers base first, with the raw bytes it came from."""

    raw: bytes = field(repr=False)
    digest: Digest
    media_type: str
    config: Optional[Descriptor]
    layers: tuple[Descriptor, ...]
    artifact_type: Optional[str] = None  # OCI 1.1 ``artifactType``: set only on artifacts

    def not_an_image(self) -> Optional[str]:
        """Why this manifest is an artifact or attestation rather than an image (None for an image).

        The image-spec: a config that is not an image config, or layers of unknown media types, are
        not an image (Helm charts, in-toto attestations, signatures). Such a manifest is recorded with
        its media types and never downloaded or scanned.
        """
        if self.artifact_type:
            return f"artifactType {self.artifact_type}"
        if self.config is not None and self.config.media_type not in mt.CONFIG_TYPES:
            return f"config media type {self.config.media_type or '(none)'}"
        unknown = sorted({d.media_type for d in self.layers if d.media_type not in mt.LAYER_TYPES})
        return f"layer media types {', '.join(unknown)}" if unknown else None

    def blobs(self) -> tuple[Descriptor, ...]:
        """Config then layers: every blob the image needs (foreign layers included; callers skip them)."""
        return ((self.config,) if self.config else ()) + self.layers


@dataclass(frozen=True)
class ImageIndex:
    """A Docker manifest list or OCI index, with the raw bytes it came from."""

    raw: bytes = field(repr=False)
    digest: Digest
    media_type: str
    manifests: tuple[Descriptor, ...]


Manifest = Union[ImageManifest, ImageIndex]


def schema1_payload(raw: bytes) -> bytes:
    """The signed part of a schema1 manifest (signatures removed, as libtrust defines it); other bytes unchanged."""
    try:
        doc = json.loads(raw)
    except ValueError:
        return raw
    signatures = doc.get("signatures") if isinstance(doc, dict) else None
    if not signatures:
        return raw
    protected = signatures[0]["protected"]
    header = json.loads(base64.urlsafe_b64decode(protected + "=" * (-len(protected) % 4)))
    tail = header["formatTail"]
    return raw[: header["formatLength"]] + base64.urlsafe_b64decode(tail + "=" * (-len(tail) % 4))


def schema1_digest(raw: bytes) -> Digest:
    """Digest of a schema1 manifest: of its JWS payload, which is what registries address it by."""
    return Digest.of_bytes(schema1_payload(raw))


def schema1_platform(raw: bytes) -> Optional[str]:
    """``os/architecture`` of a schema1 manifest (``architecture`` field, ``os`` from the newest v1Compatibility)."""
    try:
        doc = json.loads(raw)
        history = doc.get("history") or [{}]
        os_name = json.loads(history[0].get("v1Compatibility") or "{}").get("os") or "linux"
        return f"{os_name}/{doc['architecture']}" if doc.get("architecture") else None
    except (ValueError, KeyError, TypeError, AttributeError):
        return None


def _media_type_of(doc: dict, content_type: Optional[str]) -> str:
    declared = doc.get("mediaType")
    if declared:
        return declared
    content_type = (content_type or "").split(";")[0].strip()
    if doc.get("schemaVersion") == 1:
        return mt.DOCKER_SCHEMA1_SIGNED if doc.get("signatures") else mt.DOCKER_SCHEMA1
    if "manifests" in doc:  # OCI allows mediaType to be absent
        return content_type if content_type in mt.INDEX_TYPES else mt.OCI_INDEX
    if "layers" in doc:
        return content_type if content_type in mt.IMAGE_TYPES else mt.OCI_MANIFEST
    raise ManifestError("neither an image manifest nor an index")


def parse_manifest(raw: bytes, content_type: Optional[str] = None) -> Manifest:
    """Parse raw manifest bytes; ``content_type`` (the response header) helps only when the JSON has no mediaType."""
    try:
        doc = json.loads(raw)
    except ValueError as exc:
        raise ManifestError(f"manifest is not JSON: {exc}") from exc
    if not isinstance(doc, dict):
        raise ManifestError("manifest is not a JSON object")
    media_type = _media_type_of(doc, content_type)
    if not isinstance(media_type, str):
        raise ManifestError(f"manifest mediaType is not a string: {_short(media_type)}")
    if media_type in mt.SCHEMA1_TYPES:
        try:
            layers = tuple(Descriptor(mt.SCHEMA1_LAYER, Digest.parse(entry["blobSum"]), None)
                           for entry in reversed(_list_field(doc, "fsLayers")))
            return ImageManifest(raw, schema1_digest(raw), media_type, None, layers)
        except (KeyError, TypeError, ValueError, IndexError) as exc:
            raise ManifestError(f"bad schema1 manifest: {type(exc).__name__}: {exc}") from exc
    digest = Digest.of_bytes(raw)
    if media_type in mt.INDEX_TYPES:
        manifests = tuple(Descriptor.from_json(m) for m in _list_field(doc, "manifests"))
        return ImageIndex(raw, digest, media_type, manifests)
    if media_type in mt.IMAGE_TYPES or "layers" in doc:
        if "config" not in doc:
            raise ManifestError(f"{media_type} without config")
        config = Descriptor.from_json(doc["config"])
        layers = tuple(Descriptor.from_json(layer) for layer in _list_field(doc, "layers"))
        artifact_type = doc.get("artifactType")
        return ImageManifest(raw, digest, media_type, config, layers,
                             artifact_type if isinstance(artifact_type, str) else None)
    raise ManifestError(f"unsupported manifest media type {media_type!r}")


ATTESTATION_REFERENCE_TYPE = "vnd.docker.reference.type"


def is_attestation(desc: Descriptor) -> bool:
    """BuildKit attestation manifests sit in indexes as ``unknown/unknown`` with a reference-type annotation."""
    if desc.annotation(ATTESTATION_REFERENCE_TYPE) == "attestation-manifest":
        return True
    return desc.platform is not None and "unknown" in (desc.platform.os, desc.platform.architecture)


def select_platforms(index: ImageIndex, wanted: Optional[Iterable[Platform]]) -> list[Descriptor]:
    """Index entries to fetch: all real platforms when ``wanted`` is None, else the first match per wanted one.

    Attestation and ``unknown`` platform entries are always skipped; entries without a platform are
    kept only when everything is wanted.
    """
    candidates = [d for d in index.manifests if not is_attestation(d)]
    if wanted is None:
        return candidates
    chosen: list[Descriptor] = []
    for platform in wanted:
        for desc in candidates:
            if desc.platform is not None and desc.platform.matches(platform) and desc not in chosen:
                chosen.append(desc)
                break
    return chosen
