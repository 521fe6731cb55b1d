"""What a rerun may skip: earlier records that still describe a tag, with everything they need in the store."""
from __future__ import annotations

from typing import Optional, Sequence

from common.digest import Digest
from common.records import CrawlRecord
from common.storage import BlobStore
from crawler.image_record import record_blob_digests
from crawler.manifest import ImageIndex, Platform, parse_manifest, select_platforms


def still_done(previous: Sequence[CrawlRecord], current: Optional[Digest], store: BlobStore,
               platforms: Optional[Sequence[Platform]]) -> list[CrawlRecord]:
    """The records of ``previous`` (ok or not_an_image) that the tag's ``current`` manifest digest still
    matches, or [] when anything must be fetched again.

    For an index, the stored index blob says which platforms this run wants; each must have a record
    (so a platform that failed, or one newly asked for, is fetched again). An ok record's blobs must
    all be in the store; a not_an_image record needs none (nothing of it is stored).
    """
    if current is None:
        return []
    done = [r for r in previous if r.index_digest == str(current)]
    if done:
        if not store.exists(current):
            return []
        index = parse_manifest(store.read_bytes(current))
        if not isinstance(index, ImageIndex):
            return []
        wanted = {str(d.digest) for d in select_platforms(index, platforms)}
        if not wanted or not wanted <= {r.manifest_digest for r in done}:
            return []
        done = [r for r in done if r.manifest_digest in wanted]
    else:
        done = [r for r in previous if r.index_digest is None and r.manifest_digest == str(current)][:1]
        if not done:
            return []
    if not all(store.exists(Digest.parse(d)) for r in done if r.status == "ok" for d in record_blob_digests(r)):
        return []
    return done
