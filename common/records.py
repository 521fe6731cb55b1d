"""Crawl records: one JSON line per (repository, tag, platform) attempt, append-only.

Records are the crawler's only output besides blobs; the Spark jobs read them (``spark.read.json``) to
build the ``images`` and ``image_layers`` tables, so the field names here are a contract
(``RECORD_VERSION`` changes when they do). A rerun appends new records; the latest record per
``item_key`` wins.
"""
from __future__ import annotations

import json
import logging
import os
import time
import uuid
from dataclasses import asdict, dataclass, field
from typing import Iterator, Optional

log = logging.getLogger(__name__)

RECORD_VERSION = 1
RECORDS_DIR = "records"


@dataclass(frozen=True)
class LayerRef:
    """A layer as the manifest lists it; ``foreign`` layers are recorded but never downloaded.

    ``size_bytes`` is None when unknown (a schema1 manifest lists no sizes and the blob was not fetched).
    """

    digest: str
    media_type: str
    size_bytes: Optional[int]
    foreign: bool = False
    urls: tuple[str, ...] = ()


@dataclass(frozen=True)
class CrawlRecord:
    """The outcome of fetching one image (one platform of one tag of one repository)."""

    registry: str
    repository: str
    tag: str
    status: str  # "ok" | "error" | "not_an_image" (an artifact or attestation: never downloaded or scanned)
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
            LayerRef(**{**layer, "urls": tuple(layer.get("urls", ())), "size_bytes": _known_size(layer.get("size_bytes"))})
            for layer in raw.get("layers", ())
        )
        known = set(cls.__dataclass_fields__)
        return cls(**{k: v for k, v in raw.items() if k in known})


def _known_size(size: Optional[int]) -> Optional[int]:
    """Records written before unknown sizes were ``None`` said ``-1``; both read as None."""
    return None if size is None or size < 0 else size


class RecordLog:
    """Append-only JSON-lines log in ``<root>/records/``; one file per writer so concurrent crawls never interleave."""

    def __init__(self, root: str, run_id: Optional[str] = None) -> None:
        self.directory = os.path.join(root, RECORDS_DIR)
        os.makedirs(self.directory, exist_ok=True)
        self.run_id = run_id or f"{time.strftime('%Y%m%dT%H%M%S')}-{uuid.uuid4().hex[:8]}"
        self.path = os.path.join(self.directory, f"crawl-{self.run_id}.jsonl")

    def append(self, record: CrawlRecord) -> None:
        # One write per line plus fsync keeps the log readable after a SIGKILL: at worst the last
        # line is partial, and readers skip lines that do not parse. A rerun with the same run id
        # starts a new line after such a torn one instead of gluing its first record onto it.
        with open(self.path, "a+b") as fh:
            torn = fh.tell() > 0 and _last_byte(fh) != b"\n"
            fh.write((b"\n" if torn else b"") + (record.to_json() + "\n").encode("utf-8"))
            fh.flush()
            os.fsync(fh.fileno())


def _last_byte(fh) -> bytes:
    fh.seek(-1, os.SEEK_END)
    last = fh.read(1)
    fh.seek(0, os.SEEK_END)
    return last


class UnreadableLines:
    """Counts record lines that did not parse (a torn line after a kill, a hand edit)."""

    def __init__(self) -> None:
        self.count = 0
        self.where: list[str] = []  # "file:line" of the first few

    def add(self, name: str, number: int) -> None:
        self.count += 1
        if len(self.where) < 10:
            self.where.append(f"{name}:{number}")


def read_records(root: str, unreadable: Optional[UnreadableLines] = None) -> Iterator[CrawlRecord]:
    """All records under ``root`` in file then line order; an unreadable line is skipped, counted in
    ``unreadable`` and logged once per file."""
    directory = os.path.join(root, RECORDS_DIR)
    if not os.path.isdir(directory):
        return
    unreadable = unreadable if unreadable is not None else UnreadableLines()
    for name in sorted(os.listdir(directory)):
        if not name.endswith(".jsonl"):
            continue
        before = unreadable.count
        with open(os.path.join(directory, name), encoding="utf-8", errors="replace") as fh:
            for number, line in enumerate(fh, 1):
                line = line.strip()
                if not line:
                    continue
                try:
                    yield CrawlRecord.from_json(line)
                except (ValueError, TypeError, AttributeError, KeyError):
                    unreadable.add(name, number)
        if unreadable.count > before:
            log.warning("%s: skipped %d unreadable record line(s)", name, unreadable.count - before)


def latest_records(root: str) -> dict[str, CrawlRecord]:
    """The latest record per item: what a resumed crawl and the image tables see."""
    latest: dict[str, CrawlRecord] = {}
    for record in read_records(root):
        previous = latest.get(record.item_key)
        if previous is None or record.finished_at >= previous.finished_at:
            latest[record.item_key] = record
    return latest
