"""Snapshot retention for the scan: keep the newest N snapshots' images, and only the layers they use.

Without a retention the tables keep every snapshot (a layer's rows are the same in every snapshot,
so a layer is scanned once and kept as long as any kept snapshot references it). With one, the
``images`` rows of older snapshots are dropped, and so are the ``layers`` rows and ``files`` rows of
layers no kept image references: a committed ``files`` part holding such a layer is rewritten
without it, every other part is carried over as a hard link.
"""
from __future__ import annotations

import logging
import os
from typing import Iterable, Optional

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from common import schemas
from common.records import CrawlRecord, snapshot_order
from common.tables import TableSet

log = logging.getLogger(__name__)


def retained_records(records: Iterable[CrawlRecord], keep_snapshots: Optional[int]) -> list[CrawlRecord]:
    """The records of the newest ``keep_snapshots`` snapshots (all of them when None)."""
    records = list(records)
    if not keep_snapshots:
        return records
    kept = set(snapshot_order(records)[-keep_snapshots:])
    dropped = sorted({r.snapshot_name for r in records} - kept)
    if dropped:
        log.info("retention %d: dropping snapshots %s", keep_snapshots, ", ".join(dropped))
    return [r for r in records if r.snapshot_name in kept]


def keep_layers(layers: pa.Table, referenced: Optional[set[str]]) -> pa.Table:
    """``layers`` rows of referenced layers only (all rows when ``referenced`` is None)."""
    if referenced is None:
        return layers
    return layers.filter(pc.is_in(layers.column("layer_digest"), pa.array(sorted(referenced), pa.string())))


def carry_files(tableset: TableSet, referenced: Optional[set[str]]) -> int:
    """Bring the committed ``files`` parts into the new generation; returns how many were rewritten.

    With ``referenced`` (a retention), rows of other layers are left behind; parts that lose no row
    are linked, not rewritten.
    """
    parts = tableset.committed_parts("files")
    if referenced is None:
        tableset.carry("files", parts)
        return 0
    keep = pa.array(sorted(referenced), pa.string())
    linked, rewritten = [], 0
    for part in parts:
        digests = pq.read_table(part, columns=["layer_digest"]).column("layer_digest")
        mask = pc.is_in(digests, keep)
        if pc.all(mask).as_py() in (True, None):
            linked.append(part)
            continue
        rewritten += 1
        table = pq.read_table(part, schema=schemas.FILES).filter(mask)
        if table.num_rows:
            pq.write_table(table, os.path.join(tableset.staging_dir("files"), os.path.basename(part)), compression="zstd")
    tableset.carry("files", linked)
    log.info("retention: %d files parts rewritten without dropped layers, %d carried", rewritten, len(linked))
    return rewritten
