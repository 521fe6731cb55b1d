"""Turn fetched images (and failures) into ``CrawlRecord`` values, the same way for every source."""
from __future__ import annotations

import json
import time
from typing import Optional

from crawler.outcomes import NotAnImage, error_class_of
from crawler.manifest import ImageIndex, ImageManifest, Platform
from common.records import CrawlRecord, LayerRef
from crawler.redact import redact

MAX_ERROR_MESSAGE_CHARS = 2000  # a registry's error text is data; a record line stays small


def platform_of_config(raw_config: bytes) -> Optional[str]:
    """``os/arch[/variant]`` from an image config, or None if it does not say."""
    try:
        config = json.loads(raw_config)
    except ValueError:
        return None
    if not isinstance(config, dict) or not config.get("os") or not config.get("architecture"):
        return None
    return str(Platform(config["os"], config["architecture"], config.get("variant") or None))


def layer_refs(image: ImageManifest) -> tuple[LayerRef, ...]:
    """The manifest's layers in order (base first) as record values."""
    return tuple(
        LayerRef(str(d.digest), d.media_type, d.size_bytes, d.foreign, d.urls)
        for d in image.layers
    )


def image_record(*, registry: str, repository: str, tag: str, source: str, image: Optional[ImageManifest],
                 started_at: float, platform: Optional[str] = None, index: Optional[ImageIndex] = None,
                 error: Optional[BaseException] = None, ratelimit=None,
                 metadata: Optional[dict] = None) -> CrawlRecord:
    """A record for one image: ``ok`` without ``error``; ``not_an_image`` for an artifact or attestation
    (its media types in the record); else ``error`` with its class and (redacted, capped) message."""
    sizes = [d.size_bytes for d in image.layers] if image else []
    status = "ok" if error is None else "not_an_image" if isinstance(error, NotAnImage) else "error"
    return CrawlRecord(
        registry=redact(registry),
        repository=repository,
        tag=tag,
        status=status,
        source=source,
        platform=platform,
        manifest_digest=str(image.digest) if image else None,
        manifest_media_type=image.media_type if image else None,
        index_digest=str(index.digest) if index else None,
        index_media_type=index.media_type if index else None,
        config_digest=str(image.config.digest) if image and image.config else None,
        config_media_type=image.config.media_type if image and image.config else None,
        layers=layer_refs(image) if image else (),
        compressed_bytes=sum(sizes) if image and all(s is not None for s in sizes) else None,
        error_class=error_class_of(error) if error is not None else None,
        error_message=redact(str(error) or repr(error))[:MAX_ERROR_MESSAGE_CHARS] if error is not None else None,
        started_at=started_at,
        finished_at=time.time(),
        ratelimit_limit=getattr(ratelimit, "limit", None),
        ratelimit_remaining=getattr(ratelimit, "remaining", None),
        repo_metadata=dict(metadata or {}),
    )


def record_blob_digests(record: CrawlRecord) -> list[str]:
    """Every blob an ok record says is in the store (foreign layers excluded)."""
    digests = [d for d in (record.index_digest, record.manifest_digest, record.config_digest) if d]
    digests += [layer.digest for layer in record.layers if not layer.foreign]
    return digests
