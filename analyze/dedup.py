"""File-level deduplication, with the reference study's definitions.

``dedup_count = (total_files - unique_files) / total_files`` and
``dedup_capacity = (total_bytes - unique_bytes) / total_bytes``, unique by content sha256. Input is
a weighted file population (``analyze.populations.weighted_files``): a row with weight w counts as w
files. Growth curves order layers (random with a seed, or by popularity) and report the ratios after
the first k layers, computed from each digest's first appearance so the cost is one sort of layers.
"""
from __future__ import annotations

from typing import Sequence

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from analyze.ordering import positions, running_totals


def _ratios(df: DataFrame) -> DataFrame:
    return df.withColumn(
        "dedup_count", F.when(F.col("total_files") > 0, 1 - F.col("unique_files") / F.col("total_files"))
    ).withColumn("dedup_capacity", F.when(F.col("total_bytes") > 0, 1 - F.col("unique_bytes") / F.col("total_bytes")))


def per_digest(weighted: DataFrame, by: Sequence[str] = ()) -> DataFrame:
    """``[by], content_sha256, copies, bytes, size_bytes``: one row per distinct content (within ``by``)."""
    return weighted.groupBy(*by, "content_sha256").agg(
        F.sum("weight").alias("copies"),
        F.sum(F.col("weight") * F.col("size_bytes")).alias("bytes"),
        F.max("size_bytes").alias("size_bytes"),
    )


def dedup_ratios(weighted: DataFrame, by: Sequence[str] = ()) -> DataFrame:
    """``[by], total_files, unique_files, total_bytes, unique_bytes, dedup_count, dedup_capacity``."""
    grouped = per_digest(weighted, by).groupBy(*by).agg(
        F.sum("copies").alias("total_files"),
        F.count(F.lit(1)).alias("unique_files"),
        F.sum("bytes").alias("total_bytes"),
        F.sum("size_bytes").alias("unique_bytes"),
    )
    return _ratios(grouped)


def dedup_by_class(weighted: DataFrame) -> DataFrame:
    """Dedup ratios within each type class (a digest counts once per class)."""
    return dedup_ratios(weighted.withColumn("type_class", F.coalesce("type_class", F.lit("unknown"))), ["type_class"])


def image_files(files: DataFrame, image_layers: DataFrame) -> DataFrame:
    """Regular files of every image (weight 1 per occurrence), keyed by ``image_digest``."""
    from analyze.populations import regular_files

    refs = image_layers.select("image_digest", "layer_digest", "layer_index")
    return regular_files(files).join(refs, "layer_digest").withColumn("weight", F.lit(1).cast("long"))


def dedup_per_image(files: DataFrame, image_layers: DataFrame) -> DataFrame:
    """Dedup ratios inside each image, over all its layers (copies across its own layers count)."""
    return dedup_ratios(image_files(files, image_layers), ["image_digest"])


def repeat_counts(weighted: DataFrame) -> DataFrame:
    """``repeat_count, digests, total_files, unique_bytes, total_bytes``: how often contents recur."""
    return (
        per_digest(weighted)
        .groupBy(F.col("copies").alias("repeat_count"))
        .agg(
            F.count(F.lit(1)).alias("digests"),
            F.sum("copies").alias("total_files"),
            F.sum("size_bytes").alias("unique_bytes"),
            F.sum("bytes").alias("total_bytes"),
        )
        .orderBy("repeat_count")
    )


def random_layer_order(weighted: DataFrame, seed: int) -> DataFrame:
    """``layer_digest, rank``: a seeded pseudo-random order, independent of partitioning."""
    layers = weighted.select("layer_digest").distinct()
    key = F.sha2(F.concat(F.lit(f"{seed}:"), F.col("layer_digest")), 256)
    return positions(layers.withColumn("_key", key), ["_key", "layer_digest"]).drop("_key")


def popularity_layer_order(image_layers: DataFrame, images: DataFrame) -> DataFrame:
    """``layer_digest, rank``: layers of the most pulled images first (max pull count of any user)."""
    pulls = image_layers.join(images.select("image_digest", "pull_count"), "image_digest", "left")
    best = pulls.groupBy("layer_digest").agg(F.max("pull_count").alias("pulls"))
    return positions(best, [F.desc_nulls_last("pulls"), "layer_digest"]).select("layer_digest", "rank")


def dedup_growth(weighted: DataFrame, order: DataFrame, max_points: int = 500) -> DataFrame:
    """``layers, total_files, unique_files, total_bytes, unique_bytes, dedup_*`` after the first k layers.

    Each distinct content becomes unique at the rank of the first layer that holds it; totals are
    cumulative sums over ranks. At most ``max_points`` evenly spaced k (plus the last) are kept.
    """
    ranked = weighted.join(order, "layer_digest")
    per_layer = ranked.groupBy("rank").agg(
        F.sum("weight").alias("files"), F.sum(F.col("weight") * F.col("size_bytes")).alias("bytes")
    )
    first = ranked.groupBy("content_sha256").agg(F.min("rank").alias("rank"), F.max("size_bytes").alias("size_bytes"))
    new = first.groupBy("rank").agg(F.count(F.lit(1)).alias("new_unique"), F.sum("size_bytes").alias("new_bytes"))
    all_ranks = order.select("rank").join(per_layer, "rank", "left").join(new, "rank", "left").fillna(0)
    sums = {"total_files": F.col("files"), "unique_files": F.col("new_unique"), "total_bytes": F.col("bytes"),
            "unique_bytes": F.col("new_bytes")}
    curve = running_totals(all_ranks, ["rank"], sums).select(F.col("rank").alias("layers"), *sums)
    n = order.count()
    step = max(1, -(-n // max_points))
    kept = curve.where((F.col("layers") % step == 0) | (F.col("layers") == n) | (F.col("layers") == 1))
    return _ratios(kept).orderBy("layers")
