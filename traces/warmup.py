"""The trace player's warmup: push one blob of the traced size for each distinct GET target, and map URI -> digest.

As in Anwar et al.'s player, manifests are replayed as blobs of their size (a synthetic manifest
would have to reference real blobs). The content is zeros, seeded random bytes (so a rerun pushes
the same blobs), or real layers from a local blob store matched by size (the "realblobs" variant:
the store's blob of the nearest size). Targets larger than ``max_blob_bytes`` are skipped and listed.
"""
from __future__ import annotations

import bisect
import hashlib
import json
import logging
import os
import random
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Iterable, Optional

import requests

from common.errors import TraceError
from common.traces import TraceRecord
from traces.client import RegistryCallFailed, RegistryClient, check_loopback

log = logging.getLogger(__name__)
REPLAY_REPOSITORY = "hubscope-replay/warmup"
CONTENTS = ("zeros", "random", "realblobs")


@dataclass(frozen=True)
class WarmupOptions:
    """What to push, and the bounds of one warmup."""

    content: str = "random"
    blob_store: Optional[str] = None  # a local store folder (``<store>/blobs/sha256/<hex>``) for ``realblobs``
    repository: str = REPLAY_REPOSITORY
    max_requests: int = 100_000  # trace requests read
    max_seconds: float = 600.0
    max_blob_bytes: int = 256 * 1024 * 1024
    threads: int = 4
    allow_remote: bool = False


def replayable(records: Iterable[object], max_requests: int) -> list[TraceRecord]:
    """The trace's first ``max_requests`` replayable requests in time order: manifest or blob GETs and PUTs
    that sent a body (the published traces record response sizes only)."""
    keep = [r for r in records if isinstance(r, TraceRecord) and r.method in ("GET", "PUT")
            and r.kind in ("manifest", "blob") and (r.response_bytes or 0) > 0 and 200 <= r.status < 300]
    keep.sort(key=lambda r: r.ts_s)
    return keep[:max_requests]


class _RealBlobs:
    """The store's blobs by size, to stand in for a traced blob of about the same size."""

    def __init__(self, store: str) -> None:
        root = os.path.join(store, "blobs", "sha256")
        entries = sorted((os.path.getsize(os.path.join(root, h)), h) for h in os.listdir(root))
        if not entries:
            raise TraceError(f"no blobs under {root} for --content realblobs")
        self.root, self.sizes, self.hexes = root, [s for s, _ in entries], [h for _, h in entries]

    def nearest(self, size_bytes: int) -> tuple[str, bytes]:
        i = bisect.bisect_left(self.sizes, size_bytes)
        if i == len(self.sizes) or (i > 0 and size_bytes - self.sizes[i - 1] < self.sizes[i] - size_bytes):
            i -= 1
        with open(os.path.join(self.root, self.hexes[i]), "rb") as fh:
            return "sha256:" + self.hexes[i], fh.read()


def blob_content(uri: str, size_bytes: int, content: str) -> bytes:
    """Zeros, or random bytes seeded by the URI (the same blob on every warmup)."""
    if content == "zeros":
        return bytes(size_bytes)
    seed = int.from_bytes(hashlib.sha256(uri.encode()).digest()[:8], "big")
    return random.Random(seed).randbytes(size_bytes)


def warmup(records: Iterable[object], registries: list[str], options: Optional[WarmupOptions] = None) -> dict:
    """Push a blob for each distinct GET target to every registry; returns the URI -> digest map."""
    o = options or WarmupOptions()
    if o.content not in CONTENTS:
        raise TraceError(f"content is one of {CONTENTS}, not {o.content!r}")
    for url in registries:
        check_loopback(url, o.allow_remote)
    targets: dict[str, int] = {}
    for r in replayable(records, o.max_requests):
        if r.method == "GET":
            targets[r.uri] = max(targets.get(r.uri, 0), r.response_bytes)
    real = _RealBlobs(o.blob_store) if o.content == "realblobs" else None
    clients = [RegistryClient(url) for url in registries]
    blobs, skipped = {}, {}
    deadline = time.monotonic() + o.max_seconds

    def push(item: tuple[str, int]) -> None:
        uri, size = item
        if size > o.max_blob_bytes:
            skipped[uri] = f"larger than {o.max_blob_bytes} bytes"
            return
        if time.monotonic() > deadline:
            skipped[uri] = "warmup time bound reached"
            return
        digest, data = real.nearest(size) if real else (None, blob_content(uri, size, o.content))
        try:
            for client in clients:
                digest = client.push_blob(o.repository, data, digest)
        except (RegistryCallFailed, requests.RequestException) as exc:  # one failed push skips its target, not the warmup
            skipped[uri] = f"push failed: {exc}"
            return
        blobs[uri] = {"digest": digest, "size_bytes": len(data)}

    with ThreadPoolExecutor(max_workers=o.threads) as pool:
        list(pool.map(push, sorted(targets.items())))
    log.info("warmup: %d targets pushed to %d registries, %d skipped", len(blobs), len(registries), len(skipped))
    return {"registries": registries, "repository": o.repository, "content": o.content, "blobs": blobs, "skipped": skipped}


def write_map(warm: dict, path: str) -> None:
    """The warmup's URI -> digest map as JSON (``run`` reads it)."""
    with open(path, "w") as fh:
        json.dump(warm, fh, indent=1, sort_keys=True)


def read_map(path: str) -> dict:
    with open(path) as fh:
        return json.load(fh)

