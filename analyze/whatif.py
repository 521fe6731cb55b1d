"""Registry storage what-ifs: DupHunter's dedup modes (Zhao et al., USENIX ATC 2020) simulated over
the scan's tables, so an operator sees what each mode would store and what every GET would cost
before building anything.

Definitions (the README's "whatif" section repeats them; change both together):

- **Layers** counted: every distinct layer blob (``layer_digest``) that an image references and the
  scan read (``layers.status = ok``). Failed layers are left out (their number is reported).
- **Full replica** of a layer: its blob as a registry serves it, ``layers.compressed_bytes``.
- **Deduplicated replica set**: per replica, every unique regular-file content (``files.type = reg``,
  unique by ``content_sha256``, ``size_bytes`` uncompressed) stored once for all the layers of that
  set, plus each layer's *header skeleton*: its tar stream minus its regular-file contents
  (``uncompressed_bytes - files_bytes``: headers, PAX records, padding, end blocks). The skeleton is
  what a byte-identical restore (sha256 = ``diff_id``) needs. Index entries are not counted.
- **Replica placement**, replication level R: *none* stores every blob R times (a plain registry);
  *global file dedup* stores R deduplicated replica sets of every layer (the same bytes as B-mode 0,
  listed apart because it is the baseline the published latency ratio compares against);
  *B-mode n* keeps n full replicas of every layer and R - n deduplicated replica sets;
  *S-mode* ranks layers by GETs (most first, ties by digest); the top ``ceil(share x layers)`` (or
  those with at least ``threshold`` GETs) keep R full replicas, the others 1 full replica plus R - 1
  deduplicated replica sets holding the unique contents of those cold layers only;
  *chunk dedup* is global dedup at FastCDC-chunk granularity: the unique file bytes scaled by the
  content pass's sampled ``chunk stored / file stored`` ratio (only when the pass ran).
- **GET**: one client fetch of one layer blob. A layer's GETs are the sum of the pull counts of the
  images using it (``pulls``), a trace's GET count per layer digest (``trace``), or one per image
  using it (``uniform``: every image pulled once). A GET is served from a full replica whenever the
  layer has one; otherwise the registry *restores* it: reads the layer's files and skeleton, writes
  its tar (``uncompressed_bytes``) and gzips it. Restore share = GETs that restore / all GETs;
  restore bytes per GET = tar bytes restored / all GETs.
- **GET cost** (CPU seconds on one core, network excluded, since it is the same in every mode):
  ``compressed_bytes / serve rate`` from a full replica, ``uncompressed_bytes / restore rate``
  when restored, with the rates measured on this machine by the restore calibration
  (``jobs.restore``): rebuild + gzip, rebuild only (a registry serving the plain tar), and reading a
  stored blob.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Optional

import pandas as pd
from pyspark.sql import DataFrame, Window
from pyspark.sql import functions as F

POPULARITY_SOURCES = ("pulls", "trace", "uniform")
MB = 1_000_000


@dataclass(frozen=True)
class WhatifOptions:
    """Inputs of the what-if; the defaults are what the report describes."""

    replicas: int = 3
    popularity: str = "pulls"  # pulls | trace | uniform
    hot_shares: tuple[float, ...] = (0.1, 0.25)  # S-mode: share of layers kept hot
    hot_threshold: Optional[int] = None  # S-mode: layers with at least this many GETs are hot


@dataclass(frozen=True)
class RestoreRates:
    """Measured per-core rates in MB/s of uncompressed tar (serve: MB/s of stored blob)."""

    rebuild_gzip_mbps: float
    rebuild_tar_mbps: float
    serve_mbps: float


def layer_popularity(images: DataFrame, image_layers: DataFrame, source: str, trace: Optional[DataFrame] = None) -> DataFrame:
    """``layer_digest, gets``: GETs per referenced layer from Hub pulls, a trace, or one per image."""
    refs = image_layers.select("image_digest", "layer_digest").distinct()
    if source == "trace":
        if trace is None:
            raise ValueError("popularity 'trace' needs a (layer_digest, gets) table")
        counted = trace.groupBy("layer_digest").agg(F.sum("gets").cast("double").alias("gets"))
        return refs.select("layer_digest").distinct().join(counted, "layer_digest", "left").fillna(0.0, ["gets"])
    if source == "pulls":
        pulls = images.select("image_digest", F.coalesce(F.col("pull_count"), F.lit(0)).cast("double").alias("w"))
        weighted = refs.join(pulls, "image_digest", "left").fillna(0.0, ["w"])
    elif source == "uniform":
        weighted = refs.withColumn("w", F.lit(1.0))
    else:
        raise ValueError(f"popularity must be one of {POPULARITY_SOURCES}, got {source!r}")
    return weighted.groupBy("layer_digest").agg(F.sum("w").alias("gets"))


def layer_costs(layers: DataFrame, popularity: DataFrame) -> DataFrame:
    """``layer_digest, compressed_bytes, uncompressed_bytes, files_bytes, skeleton_bytes, gets, rank``
    for every referenced ok layer; rank 1 is the most requested (ties broken by digest)."""
    ok = layers.where(F.col("status") == "ok").select(
        "layer_digest", "compressed_bytes", "uncompressed_bytes", F.coalesce("files_bytes", F.lit(0)).alias("files_bytes")
    )
    out = ok.join(popularity, "layer_digest").withColumn(
        "skeleton_bytes", F.col("uncompressed_bytes") - F.col("files_bytes")
    )
    order = Window.orderBy(F.col("gets").desc(), F.col("layer_digest"))  # one partition: one row per layer
    return out.withColumn("rank", F.row_number().over(order))


def unique_bytes_by_rank(files: DataFrame, costs: DataFrame) -> DataFrame:
    """``max_rank, contents, unique_bytes``: unique regular-file contents grouped by the coldest rank
    of the layers holding them. Contents with ``max_rank > k`` are exactly those a deduplicated
    replica set must hold when layers ranked 1..k are stored only as full replicas."""
    regular = files.where((F.col("type") == "reg") & F.col("content_sha256").isNotNull())
    per_content = regular.join(costs.select("layer_digest", "rank"), "layer_digest").groupBy("content_sha256").agg(
        F.max("size_bytes").alias("size_bytes"), F.max("rank").alias("max_rank")
    )
    return per_content.groupBy("max_rank").agg(F.count(F.lit(1)).alias("contents"), F.sum("size_bytes").alias("unique_bytes"))


def hot_counts(costs: pd.DataFrame, options: WhatifOptions) -> list[tuple[str, int]]:
    """S-mode variants as (label, number of hot layers)."""
    n = len(costs)
    out = [(f"S-mode top {100 * s:g} %", min(n, math.ceil(s * n))) for s in options.hot_shares]
    if options.hot_threshold is not None:
        out.append((f"S-mode >= {options.hot_threshold} GETs", int((costs["gets"] >= options.hot_threshold).sum())))
    return out


def chunk_ratio(chunk_dedup: Optional[pd.DataFrame]) -> Optional[tuple[float, int]]:
    """(chunk stored / file stored, sampled layers) of the content pass's unique-layer population."""
    if chunk_dedup is None or chunk_dedup.empty:
        return None
    rows = chunk_dedup[chunk_dedup["population"] == "layer_blobs"].set_index("level")
    if not {"file", "chunk"} <= set(rows.index) or not rows.loc["file", "stored_bytes"]:
        return None
    return float(rows.loc["chunk", "stored_bytes"] / rows.loc["file", "stored_bytes"]), int(rows.loc["file", "layers"])


def whatif_modes(
    costs: pd.DataFrame,
    by_rank: pd.DataFrame,
    options: WhatifOptions,
    rates: Optional[RestoreRates] = None,
    chunk: Optional[tuple[float, int]] = None,
) -> pd.DataFrame:
    """One row per mode: stored bytes, saving and reduction vs none, restore share, restore bytes per
    GET and the estimated GET cost (see the module docstring for every definition)."""
    R = options.replicas
    costs = costs.sort_values("rank").reset_index(drop=True)
    ranks = by_rank.set_index("max_rank")["unique_bytes"].reindex(range(1, len(costs) + 1), fill_value=0)
    # unique content bytes a dedup set still needs when layers ranked 1..k are hot: U(k) = sum over max_rank > k
    unique_after = [float(v) for v in ranks[::-1].cumsum()[::-1]] + [0.0]
    C, U, S, W = (costs[c].astype(float) for c in ("compressed_bytes", "uncompressed_bytes", "skeleton_bytes", "gets"))
    total_gets = float(W.sum())
    all_c, all_s = float(C.sum()), float(S.sum())

    def row(mode: str, family: str, full: str, stored: float, restored: pd.Series, hot: Optional[int] = None) -> dict:
        share = float((W * restored).sum() / total_gets) if total_gets else float("nan")
        per_get = float((W * restored * U).sum() / total_gets) if total_gets else float("nan")
        out = {"mode": mode, "family": family, "replicas": R, "full_replicas": full, "hot_layers": hot,
               "stored_bytes": stored, "restore_share": share, "restore_bytes_per_get": per_get}
        if rates is not None and total_gets:
            served = (W * (1 - restored) * C).sum() / total_gets / (rates.serve_mbps * MB)
            out["get_restore_s"] = per_get / (rates.rebuild_gzip_mbps * MB)
            out["get_restore_tar_s"] = per_get / (rates.rebuild_tar_mbps * MB)
            out["get_cost_s"] = float(served) + out["get_restore_s"]
        return out

    none, every = pd.Series(0.0, index=C.index), pd.Series(1.0, index=C.index)
    dedup_set = unique_after[0] + all_s
    rows = [row("none", "none", f"{R} of every layer", R * all_c, none),
            row("global file dedup", "global", "0", R * dedup_set, every)]
    for n in range(R, -1, -1):
        rows.append(row(f"B-mode {n}", "B", f"{n} of every layer", n * all_c + (R - n) * dedup_set, every if n == 0 else none))
    for label, k in hot_counts(costs, options):
        hot = C.index < k
        stored = R * float(C[hot].sum()) + float(C[~hot].sum()) + (R - 1) * (unique_after[k] + float(S[~hot].sum()))
        rows.append(row(label, "S", f"{R} of {k} hot layers, 1 of the rest", stored, none, hot=k))
    if chunk is not None:
        ratio, sampled = chunk
        rows.append(row(f"chunk dedup (FastCDC, {sampled} sampled layers)", "chunk", "0",
                        R * (unique_after[0] * ratio + all_s), every))
    out = pd.DataFrame(rows)
    base = out.loc[out["mode"] == "none", "stored_bytes"].iloc[0]
    out["saving"] = 1 - out["stored_bytes"] / base if base else float("nan")
    out["reduction_x"] = base / out["stored_bytes"].where(out["stored_bytes"] > 0)
    if "get_cost_s" in out:
        ref = out.loc[out["mode"] == "global file dedup", "get_cost_s"].iloc[0]
        out["get_speedup_vs_global"] = ref / out["get_cost_s"].where(out["get_cost_s"] > 0)
    out["stored_bytes"] = out["stored_bytes"].round().astype("int64")
    return out


def inputs_summary(costs: pd.DataFrame, by_rank: pd.DataFrame, skipped_layers: int) -> dict:
    """The corpus totals the modes were computed from (stored with the results)."""
    return {
        "layers": int(len(costs)), "layers_skipped": int(skipped_layers), "gets": float(costs["gets"].sum()),
        "compressed_bytes": int(costs["compressed_bytes"].sum()), "uncompressed_bytes": int(costs["uncompressed_bytes"].sum()),
        "skeleton_bytes": int(costs["skeleton_bytes"].sum()), "unique_file_bytes": int(by_rank["unique_bytes"].sum()),
        "unique_files": int(by_rank["contents"].sum()),
    }

