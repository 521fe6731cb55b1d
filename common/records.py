"""Crawl records: one JSON line per (repository, tag, platform) attempt, append-only.

Records are the crawler's only output besides blobs; the Spark jobs read them (``spark.read.json``) to
build the ``images`` and ``image_layers`` tables, so the field names here are a contract
(``RECORD_VERSION`` changes when they do). A rerun appends new records; the latest record per
``item_key`` wins *within a snapshot*.

Snapshots: every crawl run belongs to a named snapshot (``--snapshot NAME``, default the UTC date);
records keep it, so a tag's digest in each snapshot is kept rather than overwritten. Records of
version 1 have no snapshot and belong to the UTC date they finished on. ``shard`` says which
``i/n`` share of the repositories the writer took (``None``: all of them).

Changelog
- 1: first version.
- 2: ``snapshot`` and ``shard``.
"""
from __future__ import annotations

import datetime as dt
import json
import logging
import os
import re
import time
import uuid
from dataclasses import asdict, dataclass, field, replace
from typing import Iterator, Optional

log = logging.getLogger(__name__)

RECORD_VERSION = 2
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
    snapshot: Optional[str] = None  # the crawl's snapshot name; None only in version-1 records
    shard: Optional[str] = None  # "i/n" when the crawl took one shard of the repositories
    record_version: int = RECORD_VERSION

    @property
    def item_key(self) -> str:
        return f"{self.registry}/{self.repository}:{self.tag}@{self.platform or ''}"

    @property
    def snapshot_name(self) -> str:
        """The snapshot this record belongs to (a version-1 record: the UTC date it finished on)."""
        return self.snapshot or utc_date(self.finished_at or self.started_at)

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



_SNAPSHOT_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")


def utc_date(timestamp: Optional[float] = None) -> str:
    """``YYYY-MM-DD`` of ``timestamp`` (default: now) in UTC: the default snapshot name."""
    moment = dt.datetime.fromtimestamp(timestamp if timestamp else time.time(), dt.timezone.utc)
    return moment.strftime("%Y-%m-%d")


def check_snapshot_name(name: str) -> str:
    """A snapshot name is a path- and SQL-safe token (letters, digits, ``._-``; at most 64)."""
    if not _SNAPSHOT_NAME.match(name or ""):
        raise ValueError(f"snapshot name {name!r}: use letters, digits, '.', '_' and '-' (at most 64, not starting with . _ -)")
    return name


class RecordLog:
    """Append-only JSON-lines log in ``<root>/records/``; one file per writer so concurrent crawls never interleave.

    Every record appended is stamped with the log's ``snapshot`` and ``shard`` unless it has its own,
    so each source (registry, archives, daemon) lands in the run's snapshot the same way.
    """

    def __init__(self, root: str, run_id: Optional[str] = None, snapshot: Optional[str] = None,
                 shard: Optional[str] = None) -> None:
        self.directory = os.path.join(root, RECORDS_DIR)
        os.makedirs(self.directory, exist_ok=True)
        self.run_id = run_id or f"{time.strftime('%Y%m%dT%H%M%S')}-{uuid.uuid4().hex[:8]}"
        self.path = os.path.join(self.directory, f"crawl-{self.run_id}.jsonl")
        self.snapshot = check_snapshot_name(snapshot) if snapshot else utc_date()
        self.shard = shard

    def append(self, record: CrawlRecord) -> None:
        if record.snapshot is None or (record.shard is None and self.shard is not None):
            record = replace(record, snapshot=record.snapshot or self.snapshot, shard=record.shard or self.shard)
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


def latest_records(root: str) -> dict[tuple[str, str], CrawlRecord]:
    """The latest record per (snapshot, item): what a resumed crawl and the image tables see."""
    latest: dict[tuple[str, str], CrawlRecord] = {}
    for record in read_records(root):
        key = (record.snapshot_name, record.item_key)
        previous = latest.get(key)
        if previous is None or record.finished_at >= previous.finished_at:
            latest[key] = record
    return latest


def snapshot_order(records) -> list[str]:
    """Snapshot names oldest first, by when each snapshot's first record started (then by name)."""
    first: dict[str, float] = {}
    for record in records:
        name = record.snapshot_name
        first[name] = min(first.get(name, float("inf")), record.started_at or record.finished_at)
    return sorted(first, key=lambda n: (first[n], n))
