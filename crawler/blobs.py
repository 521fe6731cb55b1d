"""Blob fetching shared by crawl workers: each digest downloaded at most once per run, counted once.

The download is shared, the verdict is not: every descriptor that names a blob has its own size
checked against the stored, verified blob (which is the truth about that digest), whoever fetched it
and whether it was already in the store. Single flights are keyed by (digest, declared size), so a
wrong size in one manifest fails only that manifest's image and never the download another needs.
"""
from __future__ import annotations

import threading
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Callable

from typing import Optional

from common.digest import Digest
from crawler.outcomes import SizeMismatch
from common.storage import BlobStore


@dataclass(frozen=True)
class BlobCounts:
    """Distinct blobs this run downloaded (and their bytes) and found already in the store."""

    downloaded: int
    downloaded_bytes: int
    present: int


class BlobLedger:
    """Single-flight blob fetches: concurrent requests for one digest share one download."""

    def __init__(self, store: BlobStore) -> None:
        self.store = store
        self._lock = threading.Lock()
        self._inflight: dict[tuple[Digest, Optional[int]], Future] = {}
        self._downloaded: dict[Digest, int] = {}
        self._present: set[Digest] = set()
        self._sizes: dict[Digest, int] = {}  # verified blobs known to be in the store: their real size

    def ensure(self, digest: Digest, fetch: Callable[[], int], expected_size: Optional[int] = None) -> None:
        """Make ``digest`` present in the store (``fetch`` returns the bytes it downloaded), then check
        ``expected_size`` (this descriptor's) against the stored blob: ``SizeMismatch`` if they differ."""
        key = (digest, expected_size)
        with self._lock:
            known = self._sizes.get(digest)
            future = self._inflight.get(key) if known is None else None
            owner = known is None and future is None
            if owner:
                future = self._inflight[key] = Future()
        if known is not None:
            return _check_size(digest, expected_size, known)
        if not owner:
            future.result()  # re-raises the owner's failure: same digest, same declared size, same verdict
            return _check_size(digest, expected_size, self._sizes[digest])
        try:
            if self.store.exists(digest):
                size = self.store.size(digest)
                with self._lock:
                    self._present.add(digest)
                    self._sizes[digest] = size
            else:
                received = fetch()
                size = self.store.size(digest)
                if size is None:  # nothing published: the fetch must have raised; never trust a silent one
                    raise RuntimeError(f"blob {digest} is not in the store after its fetch")
                with self._lock:
                    self._downloaded.setdefault(digest, received)
                    self._sizes[digest] = size
            _check_size(digest, expected_size, size)
            future.set_result(None)
        except BaseException as exc:
            future.set_exception(exc)
            raise
        finally:
            with self._lock:
                self._inflight.pop(key, None)

    def note_stored(self, digest: Digest, size: int, existed: bool) -> None:
        """Count a blob written directly (manifests, local sources)."""
        with self._lock:
            self._sizes[digest] = size
            if digest in self._downloaded or digest in self._present:
                return
            if existed:
                self._present.add(digest)
            else:
                self._downloaded[digest] = size

    def put_bytes(self, digest: Digest, data: bytes) -> None:
        """Store small bytes (a manifest) verified, counting them like any blob."""
        existed = self.store.exists(digest)
        if not existed:
            self.store.put_bytes(digest, data)
        self.note_stored(digest, len(data), existed)

    def counts(self) -> BlobCounts:
        """What this run downloaded and found present so far."""
        with self._lock:
            return BlobCounts(len(self._downloaded), sum(self._downloaded.values()), len(self._present))


def _check_size(digest: Digest, expected_size: Optional[int], stored_size: Optional[int]) -> None:
    if expected_size is not None and stored_size is not None and stored_size != expected_size:
        raise SizeMismatch(f"blob {digest}", expected_size, stored_size, "the stored, verified blob")
