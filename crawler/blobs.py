"""Blob fetching shared by crawl workers: each digest downloaded at most once per run, counted once."""
from __future__ import annotations

import threading
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Callable

from common.digest import Digest
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
        self._inflight: dict[Digest, Future] = {}
        self._downloaded: dict[Digest, int] = {}
        self._present: set[Digest] = set()

    def ensure(self, digest: Digest, fetch: Callable[[], int]) -> None:
        """Make ``digest`` present in the store, calling ``fetch`` (which returns its size) only if needed."""
        with self._lock:
            if digest in self._downloaded or digest in self._present:
                return
            future = self._inflight.get(digest)
            owner = future is None
            if owner:
                future = self._inflight[digest] = Future()
        if not owner:
            future.result()  # re-raises the owner's failure
            return
        try:
            if self.store.exists(digest):
                with self._lock:
                    self._present.add(digest)
            else:
                size = fetch()
                with self._lock:
                    self._downloaded[digest] = size
            future.set_result(None)
        except BaseException as exc:
            future.set_exception(exc)
            raise
        finally:
            with self._lock:
                self._inflight.pop(digest, None)

    def note_stored(self, digest: Digest, size: int, existed: bool) -> None:
        """Count a blob written directly (manifests, local sources)."""
        with self._lock:
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
