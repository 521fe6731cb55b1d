"""Listing checkpoints, part of the crawl records: the pages a listing fetched, where the next one starts.

``<records>/records/listings/<key>.jsonl`` holds one JSON line per fetched page of one listing
(a Hub search, a Hub namespace, a ``_catalog``) in one snapshot: its repositories (name, tag,
listing metadata), the position of the next page (``null`` when the listing is done) and the total
the listing announced. The crawler (``crawler.listings``) resumes from it; the stats read the
totals as the repository-count-over-time curve.
"""
from __future__ import annotations

import hashlib
import json
import os
import time
from typing import Any, Optional

from common.records import RECORDS_DIR

LISTINGS_DIR = "listings"


class ListingCheckpoint:
    """The stored pages of one listing (``key``, e.g. ``hub-search:nginx``) in one snapshot."""

    def __init__(self, records_root: str, key: str, snapshot: str) -> None:
        self.key, self.snapshot = key, snapshot
        directory = os.path.join(records_root, RECORDS_DIR, LISTINGS_DIR)
        os.makedirs(directory, exist_ok=True)
        name = hashlib.sha256(f"{snapshot}\n{key}".encode()).hexdigest()[:20]
        self.path = os.path.join(directory, f"{name}.jsonl")

    def pages(self) -> list[dict]:
        """The stored pages in order."""
        return read_pages(self.path)

    def add(self, number: int, targets: list, next_position: Any, total: Optional[int]) -> None:
        entry = {"key": self.key, "snapshot": self.snapshot, "page": number, "at": time.time(), "total": total,
                 "next": next_position, "done": next_position is None,
                 "repositories": [[t.repository, t.tag, t.metadata] for t in targets]}
        with open(self.path, "a", encoding="utf-8") as fh:
            fh.write(json.dumps(entry, sort_keys=True) + "\n")
            fh.flush()
            os.fsync(fh.fileno())


def read_pages(path: str) -> list[dict]:
    """A checkpoint file's pages; a torn last line (a kill mid-write) is dropped."""
    if not os.path.exists(path):
        return []
    pages = []
    with open(path, encoding="utf-8") as fh:
        for line in fh:
            try:
                page = json.loads(line)
            except ValueError:
                continue
            if isinstance(page, dict) and "repositories" in page:
                pages.append(page)
    return pages


def listing_totals(records_root: str) -> list[dict]:
    """``snapshot, key, at, total``: what each listing announced, page by page (the repository-count curve)."""
    directory = os.path.join(records_root, RECORDS_DIR, LISTINGS_DIR)
    rows = []
    for name in sorted(os.listdir(directory)) if os.path.isdir(directory) else []:
        for page in read_pages(os.path.join(directory, name)):
            if page.get("total") is not None:
                rows.append({k: page.get(k) for k in ("snapshot", "key", "at", "total")})
    return sorted(rows, key=lambda r: (r["at"], r["key"]))
