"""Crawl records + image configs -> the ``images`` and ``image_layers`` tables, and the list of layers to scan.

This runs on the driver: it reads one small config blob per image (not per layer), which is cheap
next to the layer scan. The latest record per (snapshot, repository, tag, platform) wins, as in
``common.records.latest_records``; only ``ok`` records describe images, and each snapshot has its
own ``images`` rows (``image_layers`` has one set of rows per manifest digest, whatever the snapshot).
"""
from __future__ import annotations

import datetime as dt
import json
import logging
import re
from dataclasses import dataclass
from typing import Iterable, Optional

import pyarrow as pa

from common.digest import Digest
from common.records import CrawlRecord
from common.storage import BlobStore
from common import schemas

log = logging.getLogger(__name__)

_COUNT = re.compile(r"^(\d+(?:\.\d+)?)\s*([KMB]?)\+?$", re.IGNORECASE)
_SCALE = {"": 1, "K": 10**3, "M": 10**6, "B": 10**9}
_RFC3339 = re.compile(r"^(\d{4}-\d{2}-\d{2})[T ](\d{2}:\d{2}:\d{2})(\.\d+)?(Z|[+-]\d{2}:?\d{2})?$")


@dataclass(frozen=True)
class LayerTodo:
    """A layer blob to scan, with what the manifests and configs say about it."""

    layer_digest: str
    media_type: Optional[str]
    compressed_bytes: Optional[int]
    diff_id: Optional[str]


def _total_size(layers) -> Optional[int]:
    """The sum of the layers' sizes, or None when any is unknown (a partial sum would read as a real size)."""
    sizes = [layer.size_bytes for layer in layers]
    return None if any(size is None for size in sizes) else sum(sizes)


@dataclass
class Index:
    """The image tables and the unique, non-foreign layers they reference."""

    images: pa.Table
    image_layers: pa.Table
    layers: list[LayerTodo]


def parse_time(text: Optional[str]) -> Optional[dt.datetime]:
    """An image config's ``created`` (RFC 3339, up to nanoseconds) as an aware UTC datetime; None if absent or odd."""
    if not text:
        return None
    m = _RFC3339.match(text.strip())
    if not m:
        return None
    date, clock, frac, zone = m.groups()
    micros = (frac or ".0")[1:7].ljust(6, "0")
    zone = "+00:00" if zone in (None, "Z") else (zone if ":" in zone else zone[:3] + ":" + zone[3:])
    try:
        return dt.datetime.fromisoformat(f"{date}T{clock}.{micros}{zone}").astimezone(dt.timezone.utc)
    except ValueError:
        return None


def parse_pull_count(value) -> tuple[Optional[int], Optional[str]]:
    """A listing's pull count as (number or lower bound, original text when it was not a plain number).

    Docker Hub search v4 answers ``"1M+"``, ``"10K+"``, ``"1B+"`` or ``"0"``; the namespace listing
    answers integers. ``"1M+"`` -> ``(1000000, "1M+")``; anything unreadable keeps only its text.
    """
    if value is None or isinstance(value, bool):
        return None, None
    if isinstance(value, int):
        return value, None
    if isinstance(value, float):
        return int(value), None
    text = str(value).strip()
    m = _COUNT.match(text.replace(",", ""))
    if not m:
        return None, text
    number = int(float(m.group(1)) * _SCALE[m.group(2).upper()])
    return number, (None if text.isdigit() else text)


def _int_or_none(value) -> Optional[int]:
    try:
        return int(value) if value is not None and not isinstance(value, bool) else None
    except (TypeError, ValueError):
        return None


def _config(store: BlobStore, digest: Optional[str]) -> dict:
    if not digest:
        return {}
    try:
        value = json.loads(store.read_bytes(Digest.parse(digest)))
        return value if isinstance(value, dict) else {}
    except Exception as exc:  # a missing or broken config leaves the config-derived columns null
        log.warning("config %s unreadable: %s", digest, exc)
        return {}


def _layer_history(config: dict) -> list[Optional[str]]:
    """``created_by`` of the history entries that produced a layer blob (empty_layer entries skipped)."""
    history = config.get("history") or []
    return [h.get("created_by") for h in history if isinstance(h, dict) and not h.get("empty_layer")]


def build_index(records: Iterable[CrawlRecord], store: BlobStore) -> Index:
    """Images, their layers, and the unique layer blobs to scan, from the latest ``ok`` crawl records."""
    images, image_layers, todo = [], [], {}
    seen_images: set[str] = set()
    configs: dict[str, dict] = {}  # one read per config, however many snapshots name the image
    for rec in sorted(records, key=lambda r: (r.snapshot_name, r.registry, r.repository, r.tag, r.platform or "")):
        if rec.status != "ok" or not rec.manifest_digest:
            continue
        if rec.config_digest not in configs:
            configs[rec.config_digest] = _config(store, rec.config_digest)
        config = configs[rec.config_digest]
        diff_ids = (config.get("rootfs") or {}).get("diff_ids") or []
        history = _layer_history(config)
        os_name = config.get("os") or (rec.platform.split("/")[0] if rec.platform else None)
        arch = config.get("architecture") or (rec.platform.split("/")[1] if rec.platform and "/" in rec.platform else None)
        meta = rec.repo_metadata or {}
        pull_count, pull_count_text = parse_pull_count(meta.get("pull_count"))
        images.append({
            "image_digest": rec.manifest_digest, "registry": rec.registry, "repository": rec.repository, "tag": rec.tag,
            "platform": rec.platform or (f"{os_name}/{arch}" if os_name and arch else None),
            "os": os_name, "architecture": arch, "manifest_media_type": rec.manifest_media_type,
            "index_digest": rec.index_digest, "config_digest": rec.config_digest, "created": parse_time(config.get("created")),
            "layer_count": len(rec.layers),
            "empty_layer_count": sum(1 for h in config.get("history") or [] if isinstance(h, dict) and h.get("empty_layer")),
            "compressed_bytes": rec.compressed_bytes if rec.compressed_bytes is not None else _total_size(rec.layers),
            "source": rec.source,
            "crawled_at": dt.datetime.fromtimestamp(rec.finished_at, dt.timezone.utc) if rec.finished_at else None,
            "pull_count": pull_count, "pull_count_text": pull_count_text, "star_count": _int_or_none(meta.get("star_count")),
            "last_updated": meta.get("last_updated") or meta.get("updated_at"),  # namespace listing / search v4
            "snapshot": rec.snapshot_name,
        })
        if rec.manifest_digest in seen_images:
            continue
        seen_images.add(rec.manifest_digest)
        for i, layer in enumerate(rec.layers):
            diff_id = diff_ids[i] if i < len(diff_ids) else None
            image_layers.append({
                "image_digest": rec.manifest_digest, "layer_index": i, "layer_digest": layer.digest, "diff_id": diff_id,
                "media_type": layer.media_type, "compressed_bytes": layer.size_bytes,
                "created_by": history[i] if len(history) == len(rec.layers) else None, "foreign": layer.foreign,
            })
            if not layer.foreign and layer.digest not in todo:
                todo[layer.digest] = LayerTodo(layer.digest, layer.media_type, layer.size_bytes, diff_id)
    return Index(
        images=pa.Table.from_pylist(images, schema=schemas.IMAGES),
        image_layers=pa.Table.from_pylist(image_layers, schema=schemas.IMAGE_LAYERS),
        layers=sorted(todo.values(), key=lambda t: t.layer_digest),
    )
