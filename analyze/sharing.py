"""Layer sharing across images, layer-level vs file-level savings, and cross-image redundancy.

Layer-level dedup is what every registry already does (a blob is stored once); file-level dedup is
what a registry could add. Both are measured on one population, every layer of every image, so the
two savings are comparable: ``savings = 1 - stored_bytes / referenced_bytes``.

Sharing is counted two ways: by blob digest (what a registry stores) and by ``diff_id`` (what the
layer is: the same tar gzip- and zstd-compressed is two blobs and one layer to a registry that
deduplicates uncompressed content). A reference without a diff_id in its config takes the one the
scan computed, and failing that its blob digest, so every reference counts once.
"""
from __future__ import annotations

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from analyze.dedup import image_files
from analyze.populations import ok_layers, regular_files


def layer_refcounts(image_layers: DataFrame) -> DataFrame:
    """``layer_digest, images``: how many distinct images use each layer."""
    return image_layers.groupBy("layer_digest").agg(F.countDistinct("image_digest").alias("images"))


def sharing_histogram(image_layers: DataFrame) -> DataFrame:
    """``images_per_layer, layers``: the layer sharing histogram (layers by blob digest)."""
    return (
        layer_refcounts(image_layers)
        .groupBy(F.col("images").alias("images_per_layer"))
        .agg(F.count(F.lit(1)).alias("layers"))
        .orderBy("images_per_layer")
    )


def diff_id_sharing_histogram(image_layers: DataFrame, layers: DataFrame) -> DataFrame:
    """``images_per_layer, layers, blobs``: the sharing histogram with a layer identified by its diff_id;
    ``blobs`` counts the distinct blobs (compressions) behind the layers of each bin."""
    scanned = layers.select("layer_digest", F.col("diff_id").alias("scanned_diff_id"))
    refs = image_layers.select("image_digest", "layer_digest", "diff_id").join(scanned, "layer_digest", "left")
    keyed = refs.withColumn("key", F.coalesce("diff_id", "scanned_diff_id", "layer_digest"))
    per_layer = keyed.groupBy("key").agg(
        F.countDistinct("image_digest").alias("images"), F.countDistinct("layer_digest").alias("blobs")
    )
    return (
        per_layer.groupBy(F.col("images").alias("images_per_layer"))
        .agg(F.count(F.lit(1)).alias("layers"), F.sum("blobs").alias("blobs"))
        .orderBy("images_per_layer")
    )


def layer_vs_file_savings(files: DataFrame, layers: DataFrame, image_layers: DataFrame) -> DataFrame:
    """``level, referenced_bytes, stored_bytes, savings`` for none / layer / file dedup of file content,
    plus the compressed-blob view (``layer_compressed``).

    referenced = the regular-file bytes of every layer of every image; layer level stores each
    layer's files once; file level stores each distinct content once.
    """
    ok = ok_layers(layers)
    refs = image_layers.select("image_digest", "layer_digest").join(
        ok.select("layer_digest", "files_bytes", "compressed_bytes"), "layer_digest"
    )
    totals = refs.agg(
        F.sum("files_bytes").alias("ref_files"), F.sum("compressed_bytes").alias("ref_compressed")
    )
    unique = (
        refs.select("layer_digest", "files_bytes", "compressed_bytes")
        .distinct()
        .agg(F.sum("files_bytes").alias("layer_files"), F.sum("compressed_bytes").alias("layer_compressed"))
    )
    used = ok.select("layer_digest").join(image_layers.select("layer_digest").distinct(), "layer_digest")
    file_unique = (
        regular_files(files)
        .join(used, "layer_digest")
        .groupBy("content_sha256")
        .agg(F.max("size_bytes").alias("s"))
        .agg(F.sum("s").alias("file_unique"))
    )
    row = totals.crossJoin(unique).crossJoin(file_unique)
    levels = F.array(
        F.struct(F.lit("none").alias("level"), F.col("ref_files").alias("referenced_bytes"), F.col("ref_files").alias("stored_bytes")),
        F.struct(F.lit("layer").alias("level"), F.col("ref_files").alias("referenced_bytes"), F.col("layer_files").alias("stored_bytes")),
        F.struct(F.lit("file").alias("level"), F.col("ref_files").alias("referenced_bytes"), F.col("file_unique").alias("stored_bytes")),
        F.struct(
            F.lit("layer_compressed").alias("level"),
            F.col("ref_compressed").alias("referenced_bytes"),
            F.col("layer_compressed").alias("stored_bytes"),
        ),
    )
    out = row.select(F.explode(levels).alias("r")).select("r.*")
    return out.withColumn(
        "savings", F.when(F.col("referenced_bytes") > 0, 1 - F.col("stored_bytes") / F.col("referenced_bytes"))
    )


def cross_image_redundancy(files: DataFrame, image_layers: DataFrame) -> DataFrame:
    """``image_digest, files, files_elsewhere, share_elsewhere``: share of an image's regular files
    whose content also exists in at least one other image."""
    per_image = image_files(files, image_layers).select("image_digest", "content_sha256")
    spread = per_image.distinct().groupBy("content_sha256").agg(F.count(F.lit(1)).alias("images"))
    joined = per_image.join(spread, "content_sha256")
    return joined.groupBy("image_digest").agg(
        F.count(F.lit(1)).alias("files"),
        F.sum(F.when(F.col("images") > 1, 1).otherwise(0)).alias("files_elsewhere"),
    ).withColumn("share_elsewhere", F.col("files_elsewhere") / F.col("files"))
