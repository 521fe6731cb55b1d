"""Crawl records: one JSON line per (repository, tag, platform) attempt, append-only.

Records are the crawler's only output besides blobs; the Spark jobs read them (``spark.read.json``) to
build the ``images`` and ``image_layers`` tables, so the field names here are a contract
(``RECORD_VERSION`` changes when they do). A rerun appends new records; the latest record per
``item_key`` wins.
"""
from __future__ import annotations

import json
import os
import time
import uuid
from dataclasses import asdict, dataclass, field
from typing import Iterator, Optional

RECORD_VERSION = 1
RECORDS_DIR = "records"


@dataclass(frozen=True)
class LayerRef:
    """A layer as the manifest lists it; ``foreign`` layers are recorded but never downloaded."""

    digest: str
    media_type: str
    size_bytes: int
    foreign: bool = False
    urls: tuple[str, ...] = ()


@dataclass(frozen=True)
class CrawlRecord:
    """The outcome of fetching one image (one platform of one tag of one repository)."""

    registry: str
    repository: str
    tag: str
    status: str  # "ok" | "error" | "skipped"
    source: str = "registry"  # registry | docker-archive | oci-layout | docker-daemon
    platform: Optional[str] = None  # "linux/amd64" or "linux/arm64/v8"
    manifest_digest: Optional[str] = None
    manifest_media_type: Optional[str] = None
    index_digest: Optional[str] = None  # the manifest list / OCI index the image was chosen from
    index_media_type: Optional[str] = None
    config_digest: Optional[str] = None
    config_media_type: Optional[str] = None
    layers: tuple[LayerRef, ...] = ()
    compressed_bytes: Optional[int] = None
    error_class: Optional[str] = None
    error_message: Optional[str] = None
    started_at: float = 0.0
    finished_at: float = 0.0
    ratelimit_limit: Optional[str] = None
    ratelimit_remaining: Optional[str] = None
    repo_metadata: dict = field(default_factory=dict)  # pull_count, star_count, last_updated, ...
    record_version: int = RECORD_VERSION

    @property
    def item_key(self) -> str:
        return f"{self.registry}/{self.repository}:{self.tag}@{self.platform or ''}"

    def to_json(self) -> str:
        return json.dumps(asdict(self), sort_keys=True)

    @classmethod
    def from_json(cls, line: str) -> "CrawlRecord":
        raw = json.loads(line)
        raw["layers"] = tuple(
            LayerRef(**{**layer, "urls": tuple(layer.get("urls", ()))}) for layer in raw.get("layers", ())
        )
        known = set(cls.__dataclass_fields__)
        return cls(**{k: v for k, v in raw.items() if k in known})


class RecordLog:
    """Append-only JSON-lines log in ``<root>/records/``; one file per writer so concurrent crawls never interleave."""

    def __init__(self, root: str, run_id: Optional[str] = None) -> None:
        self.directory = os.path.join(root, RECORDS_DIR)
        os.makedirs(self.directory, exist_ok=True)
        self.run_id = run_id or f"{time.strftime('%Y%m%dT%H%M%S')}-{uuid.uuid4().hex[:8]}"
        self.path = os.path.join(self.directory, f"crawl-{self.run_id}.jsonl")

    def append(self, record: CrawlRecord) -> None:
        # One write per line plus fsync keeps the log readable after a SIGKILL: at worst the last
        # line is partial, and readers skip lines that do not parse.
        with open(self.path, "a", encoding="utf-8") as fh:
            fh.write(record.to_json() + "\n")
            fh.flush()
            os.fsync(fh.fileno())


def read_records(root: str) -> Iterator[CrawlRecord]:
    """All records under ``root`` in file then line order; a torn last line is skipped."""
    directory = os.path.join(root, RECORDS_DIR)
    if not os.path.isdir(directory):
        return
    for name in sorted(os.listdir(directory)):
        if not name.endswith(".jsonl"):
            continue
        with open(os.path.join(directory, name), encoding="utf-8") as fh:
            for line in fh:
                line = line.strip()
                if not line:
                    continue
                try:
                    yield CrawlRecord.from_json(line)
                except (ValueError, TypeError):
                    continue


def latest_records(root: str) -> dict[str, CrawlRecord]:
    """The latest record per item: what a resumed crawl and the image tables see."""
    latest: dict[str, CrawlRecord] = {}
    for record in read_records(root):
        previous = latest.get(record.item_key)
        if previous is None or record.finished_at >= previous.finished_at:
            latest[record.item_key] = record
    return latest
