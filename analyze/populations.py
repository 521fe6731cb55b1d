"""The populations a statistic can count, named once so every figure can say which it used.

The reference study downloaded unique layers only, so each distinct layer blob's files count once
however many images use it (``layer_blobs``). The same tar can be stored twice under two
compressions (gzip and zstd blobs with one diff_id): ``unique_diff_ids`` keeps one blob per
uncompressed tar. ``image_refs`` counts every layer of every image, so layer sharing is folded in
and dedup ratios come out much higher. Populations are expressed as a ``weight`` per layer (how many
times its files are counted) rather than by replicating rows.
"""
from __future__ import annotations

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from analyze.population_names import IMAGE_REFS, LABELS, LAYER_BLOBS, POPULATIONS, UNIQUE_DIFF_IDS  # noqa: F401


def ok_layers(layers: DataFrame) -> DataFrame:
    """Layers the scan read completely; error rows carry no file rows worth counting."""
    return layers.where(F.col("status") == "ok")


def layer_weights(layers: DataFrame, image_layers: DataFrame, population: str) -> DataFrame:
    """``layer_digest, weight``: how many times each scanned layer counts in ``population``."""
    ok = ok_layers(layers).select("layer_digest", "diff_id")
    if population == LAYER_BLOBS:
        return ok.select("layer_digest", F.lit(1).cast("long").alias("weight"))
    if population == UNIQUE_DIFF_IDS:
        keyed = ok.withColumn("key", F.coalesce("diff_id", "layer_digest"))
        first = keyed.groupBy("key").agg(F.min("layer_digest").alias("layer_digest"))
        return first.select("layer_digest", F.lit(1).cast("long").alias("weight"))
    if population == IMAGE_REFS:
        refs = image_layers.groupBy("layer_digest").agg(F.count(F.lit(1)).alias("weight"))
        return refs.join(ok.select("layer_digest"), "layer_digest")
    raise ValueError(f"unknown population {population!r}; choose one of {POPULATIONS}")


def regular_files(files: DataFrame) -> DataFrame:
    """Regular files with a content digest: what file-level dedup counts (hardlinks are not copies)."""
    return files.where((F.col("type") == "reg") & F.col("content_sha256").isNotNull())


def weighted_files(files: DataFrame, layers: DataFrame, image_layers: DataFrame, population: str) -> DataFrame:
    """Regular files of ``population`` with a ``weight`` column (times each row counts).

    Populations where every layer counts once are a semi-join (a broadcast hash lookup per file row,
    carrying nothing), or no join when no layer failed; only ``image_refs`` joins a weight.
    """
    if population == LAYER_BLOBS and not _has_failed_layers(layers):
        # The scan writes file rows only for layers it read completely, so when no layer failed the
        # files table already is this population: no join at all.
        return regular_files(files).withColumn("weight", F.lit(1).cast("long"))
    weights = layer_weights(layers, image_layers, population)
    if population == IMAGE_REFS:
        return regular_files(files).join(weights, "layer_digest")
    kept = regular_files(files).join(weights.select("layer_digest"), "layer_digest", "left_semi")
    return kept.withColumn("weight", F.lit(1).cast("long"))


def _has_failed_layers(layers: DataFrame) -> bool:
    """One small query over the layers table (thousands of rows, not billions)."""
    return bool(layers.where(F.col("status") != "ok").limit(1).count())
