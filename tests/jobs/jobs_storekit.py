"""A tiny crawled store made in code: blobs under ``blobs/sha256`` and crawl records, as the crawler leaves them."""
from __future__ import annotations

import hashlib
import json
import os
from typing import Callable, Optional, Sequence

from common.digest import Digest
from common.records import CrawlRecord, LayerRef, RecordLog
from common.storage import LocalBlobStore, StoreConfig
from common.mediatypes import OCI_CONFIG, OCI_LAYER_GZIP, OCI_MANIFEST
from hubscope.demo.oci_layout import tar_bytes
from jobs_layerkit import gz, sha


def put_blob(store_root: str, data: bytes) -> str:
    digest = sha(data)
    LocalBlobStore(StoreConfig(url=store_root)).put_bytes(Digest.parse(digest), data)
    return digest


def add_image(
    store_root: str,
    log: RecordLog,
    repository: str,
    tag: str,
    layers: Sequence[bytes],
    blob_of: Callable[[bytes], bytes] = gz,
    finished_at: float = 1_700_000_000.0,
    empty_history: int = 0,
    bad_blobs: Optional[dict[int, bytes]] = None,
) -> CrawlRecord:
    """Store an image (layers are uncompressed tars) and append its ``ok`` crawl record.

    ``bad_blobs`` replaces the blob of layer ``i`` by other bytes (stored under their own digest) while
    the config keeps the true diff_id: how a corrupt or mismatching layer looks after a crawl.
    """
    refs, diff_ids = [], []
    for i, raw in enumerate(layers):
        blob = (bad_blobs or {}).get(i, blob_of(raw))
        refs.append(LayerRef(put_blob(store_root, blob), OCI_LAYER_GZIP, len(blob)))
        diff_ids.append(sha(raw))
    history = [{"created": "2024-01-01T00:00:00Z", "created_by": "ENV X=1", "empty_layer": True}] * empty_history
    history += [{"created": "2024-01-01T00:00:00Z", "created_by": f"RUN step {i}"} for i in range(len(layers))]
    config = json.dumps({
        "architecture": "amd64", "os": "linux", "created": "2024-03-04T05:06:07.123456789Z",
        "rootfs": {"type": "layers", "diff_ids": diff_ids}, "history": history,
    }, sort_keys=True).encode()
    config_digest = put_blob(store_root, config)
    manifest = json.dumps({
        "schemaVersion": 2, "mediaType": OCI_MANIFEST,
        "config": {"mediaType": OCI_CONFIG, "digest": config_digest, "size": len(config)},
        "layers": [{"mediaType": r.media_type, "digest": r.digest, "size": r.size_bytes} for r in refs],
    }, sort_keys=True).encode()
    record = CrawlRecord(
        registry="127.0.0.1:5000", repository=repository, tag=tag, status="ok", platform="linux/amd64",
        manifest_digest=put_blob(store_root, manifest), manifest_media_type=OCI_MANIFEST,
        config_digest=config_digest, config_media_type=OCI_CONFIG, layers=tuple(refs),
        compressed_bytes=sum(r.size_bytes for r in refs), started_at=finished_at - 1, finished_at=finished_at,
        repo_metadata={"pull_count": 42, "star_count": 7},
    )
    log.append(record)
    return record


def text_layer(prefix: str, n: int) -> bytes:
    """A small layer of ``n`` text files whose contents repeat across layers with the same ``n``."""
    return tar_bytes({f"{prefix}/file{i:03d}.txt": f"line {i}\n".encode() * (i + 1) for i in range(n)})


def demo_store(root: str) -> dict:
    """Three images: two share a base layer; one has a truncated (corrupt) layer. Returns digests by role."""
    os.makedirs(root, exist_ok=True)
    log = RecordLog(root, run_id="fixture")
    base, app, other = text_layer("base", 30), text_layer("app", 5), text_layer("other", 12)
    broken = gz(text_layer("broken", 8))[:-40]
    a = add_image(root, log, "demo/app", "v1", [base, app], empty_history=1)
    b = add_image(root, log, "demo/other", "v1", [base, other, text_layer("x", 1)], bad_blobs={2: broken})
    return {
        "base": a.layers[0].digest, "app": a.layers[1].digest, "other": b.layers[1].digest, "broken": b.layers[2].digest,
        "records": (a, b), "raw": {"base": base, "app": app, "other": other},
    }


def blob_sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()
