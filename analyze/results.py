"""Every statistic of the stats job as a named result: tables in, one thunk per result DataFrame out.

Pure transforms (no session, no I/O): ``jobs.stats`` loads the tables, runs the content pass, calls
these, and writes each result as ``<out>/<name>.parquet`` and ``.csv``. Per-image tables have one
row per image, which is small next to the ``files`` table they come from.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Callable, Optional

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from analyze import content, dedup, files, images, layers, sharing
from analyze import image_fs_metrics as imagefs
from analyze.populations import IMAGE_REFS, LAYER_BLOBS, POPULATIONS, weighted_files

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class StatsOptions:
    """Knobs of the stats job; the defaults are what the report describes."""

    seed: int = 0
    sample_layers: int = 64
    store: Optional[str] = None  # blob store URL; None skips the content pass
    chunk_avg_bytes: int = 8192
    zstd_levels: tuple[int, ...] = (3, 9)
    growth_points: int = 500
    snapshot: Optional[str] = None  # the snapshot the single-snapshot statistics describe (None: the newest)
    compare: Optional[tuple[str, str]] = None  # churn between these two (None: each snapshot and the one before)
    records: Optional[str] = None  # crawl records folder: the listings' announced totals (repository counts)


def compute_results(
    tables: dict[str, DataFrame], options: StatsOptions
) -> tuple[dict[str, Callable[[], DataFrame]], DataFrame]:
    """Name -> a thunk building that result DataFrame, and the per-image filesystem metrics."""
    fl, ly, il, im = tables["files"], tables["layers"], tables["image_layers"], tables["images"]
    unique = weighted_files(fl, ly, il, LAYER_BLOBS).cache()
    sizes = images.image_sizes(im, il, ly)
    fs = imagefs.image_fs(fl, il, ly).cache()
    redundancy = sharing.cross_image_redundancy(fl, il)
    per_image_dedup = dedup.dedup_per_image(fl, il).select(
        "image_digest", F.col("dedup_count").alias("image_dedup_count"), F.col("dedup_capacity").alias("image_dedup_capacity")
    )
    image_table = (
        sizes.join(redundancy.select("image_digest", "share_elsewhere"), "image_digest", "left")
        .join(per_image_dedup, "image_digest", "left")
        .join(fs.drop("top_paths", "layers"), "image_digest", "left")
    ).cache()

    def dedup_overall() -> DataFrame:
        parts = [
            dedup.dedup_ratios(weighted_files(fl, ly, il, p)).select(F.lit(p).alias("population"), "*") for p in POPULATIONS
        ]
        out = parts[0]
        for part in parts[1:]:
            out = out.unionByName(part)
        return out

    pop_metrics = ("compressed_bytes", "uncompressed_bytes", "file_count", "share_elsewhere", "wasted_user_percent")
    results: dict[str, Callable[[], DataFrame]] = {
        "layer_percentiles": lambda: layers.layer_distributions(ly, il),
        "layer_cdf": lambda: layers.layer_cdf(ly),
        "image_stats": lambda: image_table,
        "image_percentiles": lambda: images.image_distributions(sizes),
        "popularity_buckets": lambda: images.popularity_buckets(image_table, pop_metrics),
        "popularity_correlation": lambda: images.popularity_correlation(image_table, pop_metrics),
        "file_size_cdf": lambda: files.file_size_cdf(unique),
        "type_class": lambda: files.type_distribution(unique, "class"),
        "type_fine": lambda: files.type_distribution(unique, "fine"),
        "type_class_image_refs": lambda: files.type_distribution(weighted_files(fl, ly, il, IMAGE_REFS), "class"),
        "size_by_type": lambda: files.size_by_type(unique),
        "dedup_overall": dedup_overall,
        "dedup_by_class": lambda: dedup.dedup_by_class(unique),
        "dedup_by_class_image_refs": lambda: dedup.dedup_by_class(weighted_files(fl, ly, il, IMAGE_REFS)),
        "dedup_per_image": lambda: dedup.dedup_per_image(fl, il),
        "repeat_counts": lambda: dedup.repeat_counts(unique),
        "growth_random": lambda: dedup.dedup_growth(unique, dedup.random_layer_order(unique, options.seed), options.growth_points),
        "growth_popularity": lambda: dedup.dedup_growth(unique, dedup.popularity_layer_order(il, im), options.growth_points),
        "layer_sharing": lambda: sharing.sharing_histogram(il),
        "layer_sharing_diff_id": lambda: sharing.diff_id_sharing_histogram(il, ly),
        "layer_vs_file": lambda: sharing.layer_vs_file_savings(fl, ly, il),
        "image_waste": lambda: fs,
        "inefficient_paths": lambda: imagefs.inefficient_paths(fs),
    }
    return results, fs


def content_results(rows: DataFrame, tables: dict[str, DataFrame], fs: DataFrame) -> dict[str, Callable[[], DataFrame]]:
    """Name -> thunk of each result built from the content pass's raw rows (``jobs.content_pass.ROWS_SCHEMA``)."""
    per_layer = content.recompression_layers(rows).cache()
    packages = content.image_packages(rows, tables["images"], tables["image_layers"]).cache()
    return {
        "chunk_dedup": lambda: content.chunk_dedup(rows, tables["files"], tables["layers"], tables["image_layers"]),
        "recompression_layers": lambda: per_layer,
        "recompression": lambda: content.recompression_summary(per_layer),
        "image_packages": lambda: packages,
        "os_distribution": lambda: content.os_distribution(packages),
        "ecosystems": lambda: content.ecosystems(packages, fs),
        "content_errors": lambda: rows.where(F.col("kind") == "error").select("layer_digest", "key", "value"),
    }


def no_content_results(tables: dict[str, DataFrame], fs: DataFrame) -> dict[str, Callable[[], DataFrame]]:
    """Without a store there is no content pass; ``ecosystems`` still comes from the files' paths."""
    packages = _empty_packages(tables["images"])
    return {"ecosystems": lambda: content.ecosystems(packages, fs)}


def _empty_packages(images_df: DataFrame) -> DataFrame:
    cols = ["os_id string", "os_version string", "os_pretty_name string", "dpkg_packages long", "dpkg_bytes long",
            "apk_packages long", "apk_bytes long"]
    out = images_df.select("image_digest").distinct()
    for c in cols:
        name, kind = c.split()
        out = out.withColumn(name, F.lit(None).cast(kind))
    return out
