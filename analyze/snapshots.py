"""Which snapshot the statistics describe, and the churn results when the tables hold several.

The ``images`` table keeps every crawl snapshot (``common.schemas`` version 3). The single-snapshot
statistics (sizes, types, dedup, ...) describe one snapshot, the newest unless asked: its images,
their layers and those layers' files; counting a layer once per snapshot would double everything.
With two or more snapshots the churn results (``analyze.churn``) compare each one with the one
before it, or the two named by ``--compare``.
"""
from __future__ import annotations

import logging
from typing import Callable, Optional

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from analyze import churn

log = logging.getLogger(__name__)

class UnknownSnapshot(ValueError):
    """A snapshot named by the user is not in the tables."""


def check_snapshots(wanted, names: list[str]) -> None:
    """Raise ``UnknownSnapshot`` naming what the tables do have."""
    missing = [n for n in wanted if n not in names]
    if missing:
        raise UnknownSnapshot(f"snapshot {', '.join(missing)} not in the tables (have: {', '.join(names) or 'none'})")


CHURN_RESULTS = ("snapshots", "churn", "churn_tags", "churn_stored")


def snapshot_names(images: DataFrame) -> list[str]:
    """The snapshots in the ``images`` table, oldest first (by their first crawl time, then name)."""
    rows = images.groupBy("snapshot").agg(F.min("crawled_at").alias("first")).collect()
    ordered = sorted(rows, key=lambda r: (r["first"] is None, r["first"] or 0, r["snapshot"] or ""))
    return [r["snapshot"] for r in ordered if r["snapshot"] is not None]


def snapshot_view(tables: dict[str, DataFrame], snapshot: str) -> dict[str, DataFrame]:
    """The tables restricted to one snapshot: its images, their image_layers, those layers and their files."""
    images = tables["images"].where(F.col("snapshot") == snapshot)
    image_layers = tables["image_layers"].join(images.select("image_digest").distinct(), "image_digest", "left_semi")
    used = image_layers.select("layer_digest").distinct()
    return {
        **tables,
        "images": images,
        "image_layers": image_layers,
        "layers": tables["layers"].join(used, "layer_digest", "left_semi"),
        "files": tables["files"].join(F.broadcast(used), "layer_digest", "left_semi"),
    }


def pairs(names: list[str], compare: Optional[tuple[str, str]]) -> list[tuple[str, str]]:
    """The (older, newer) pairs to compare: ``compare`` if given, else each snapshot with the one before."""
    if compare:
        check_snapshots(compare, names)
        return [tuple(compare)]
    return list(zip(names, names[1:]))


def churn_results(tables: dict[str, DataFrame], names: list[str],
                  compare: Optional[tuple[str, str]] = None) -> dict[str, Callable[[], DataFrame]]:
    """Name -> thunk of each churn result; empty with fewer than two snapshots and no ``compare``."""
    todo = pairs(names, compare)
    if not todo:
        return {}
    im, il, ly, fl = tables["images"], tables["image_layers"], tables["layers"], tables["files"]

    def union(build) -> DataFrame:
        frames = [build(a, b) for a, b in todo]
        out = frames[0]
        for frame in frames[1:]:
            out = out.unionByName(frame)
        return out

    return {
        "snapshots": lambda: churn.snapshot_metrics(im, il, ly, fl),
        "churn": lambda: union(lambda a, b: churn.churn_counts(im, il, a, b)),
        "churn_tags": lambda: union(lambda a, b: churn.tag_changes(im, a, b)).orderBy("snapshot_b", *churn.TAG_KEY),
        "churn_stored": lambda: union(lambda a, b: churn.already_stored(im, il, ly, fl, a, b)),
    }
