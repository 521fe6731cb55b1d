"""Results of the content pass (``jobs.content_pass``): chunk vs file vs layer dedup, recompression,
OS and package databases per image.

The pass emits raw rows (``kind, layer_digest, key, length, count, value``); these functions turn
them into the small result tables, joining the scan's tables for populations and image membership.
"""
from __future__ import annotations

from pyspark.sql import DataFrame, Window
from pyspark.sql import functions as F

from analyze.dedup import dedup_ratios
from analyze.package_dbs import PACKAGE_DB_PATHS
from analyze.populations import IMAGE_REFS, LAYER_BLOBS, layer_weights, regular_files


def sampled_layers(rows: DataFrame) -> DataFrame:
    """``layer_digest``: the layers the pass chunked and recompressed."""
    return rows.where((F.col("kind") == "size") & (F.col("key") == "files")).select("layer_digest").distinct()


def select_layers(layers: DataFrame, files: DataFrame, n: int, seed: int) -> DataFrame:
    """``layer_digest, sampled, packages``: what the content pass reads, the seeded sample plus every layer holding a package db.

    Sample: ``n`` ok layers by ``sha256("<seed>:<layer digest>")`` order, so the same seed gives the
    same sample whatever the partitioning.
    """
    ok = layers.where(F.col("status") == "ok").select("layer_digest")
    key = F.sha2(F.concat(F.lit(f"{seed}:"), F.col("layer_digest")), 256)
    sample = ok.orderBy(key, "layer_digest").limit(n).select("layer_digest", F.lit(True).alias("sampled"))
    dbs = (
        files.where(F.col("path").isin(list(PACKAGE_DB_PATHS)) & (F.col("type") == "reg"))
        .select("layer_digest")
        .distinct()
        .join(ok, "layer_digest")
        .select("layer_digest", F.lit(True).alias("packages"))
    )
    both = sample.join(dbs, "layer_digest", "full")
    return both.select(
        "layer_digest", F.coalesce("sampled", F.lit(False)).alias("sampled"), F.coalesce("packages", F.lit(False)).alias("packages")
    )


def _levels(population: str, none_total, layer_stored, file_total, file_stored, chunk_total, chunk_stored):
    def row(level, total, stored):
        return F.struct(
            F.lit(population).alias("population"), F.lit(level).alias("level"),
            total.cast("long").alias("total_bytes"), stored.cast("long").alias("stored_bytes"),
        )

    return F.array(
        row("none", none_total, none_total),
        row("layer", none_total, layer_stored),
        row("file", file_total, file_stored),
        row("chunk", chunk_total, chunk_stored),
    )


def chunk_dedup(rows: DataFrame, files: DataFrame, layers: DataFrame, image_layers: DataFrame) -> DataFrame:
    """``population, level, total_bytes, stored_bytes, savings, layers``: dedup of the sampled layers'
    regular-file bytes at layer, file and chunk granularity, for two populations (each sampled
    layer once; every image reference to a sampled layer)."""
    sample = sampled_layers(rows)
    chunks = rows.where(F.col("kind") == "chunk")
    out = None
    for population in (LAYER_BLOBS, IMAGE_REFS):
        weights = layer_weights(layers, image_layers, population).join(sample, "layer_digest")
        wfiles = regular_files(files).join(weights, "layer_digest")
        per_layer = wfiles.groupBy("layer_digest", "weight").agg(F.sum("size_bytes").alias("b"))
        layer_level = per_layer.agg(
            F.sum(F.col("b") * F.col("weight")).alias("none_total"), F.sum("b").alias("layer_stored"),
            F.count(F.lit(1)).alias("layers"),
        )
        file_level = dedup_ratios(wfiles).select(F.col("total_bytes").alias("file_total"), F.col("unique_bytes").alias("file_stored"))
        wchunks = chunks.join(weights, "layer_digest")
        chunk_level = wchunks.agg(F.sum(F.col("length") * F.col("count") * F.col("weight")).alias("chunk_total")).crossJoin(
            wchunks.groupBy("key").agg(F.max("length").alias("l")).agg(F.sum("l").alias("chunk_stored"))
        )
        joined = layer_level.crossJoin(file_level).crossJoin(chunk_level)
        levels = _levels(
            population, F.col("none_total"), F.col("layer_stored"), F.col("file_total"),
            F.col("file_stored"), F.col("chunk_total"), F.col("chunk_stored"),
        )
        part = joined.select("layers", F.explode(levels).alias("r")).select("r.*", "layers")
        out = part if out is None else out.unionByName(part)
    return out.fillna(0, ["total_bytes", "stored_bytes"]).withColumn(
        "savings", F.when(F.col("total_bytes") > 0, 1 - F.col("stored_bytes") / F.col("total_bytes"))
    )


def recompression_layers(rows: DataFrame) -> DataFrame:
    """``layer_digest, compression, stored_bytes, tar_bytes, level, zstd_bytes, zstd_vs_stored``."""
    sizes = rows.where(F.col("kind") == "size")
    base = sizes.groupBy("layer_digest").agg(
        F.first("value").alias("compression"),
        F.max(F.when(F.col("key") == "stored", F.col("length"))).alias("stored_bytes"),
        F.max(F.when(F.col("key") == "tar", F.col("length"))).alias("tar_bytes"),
    )
    zstd = sizes.where(F.col("key").startswith("zstd-")).select(
        "layer_digest", F.substring("key", 6, 4).cast("int").alias("level"), F.col("length").alias("zstd_bytes")
    )
    return base.join(zstd, "layer_digest").withColumn("zstd_vs_stored", F.col("zstd_bytes") / F.col("stored_bytes"))


def recompression_summary(per_layer: DataFrame) -> DataFrame:
    """``compression, level, layers, stored_bytes, tar_bytes, zstd_bytes, savings_vs_stored, tar_ratio``:
    what recompressing the sampled layers with zstd would save over what is stored."""
    return (
        per_layer.groupBy("compression", "level")
        .agg(
            F.count(F.lit(1)).alias("layers"),
            F.sum("stored_bytes").alias("stored_bytes"),
            F.sum("tar_bytes").alias("tar_bytes"),
            F.sum("zstd_bytes").alias("zstd_bytes"),
        )
        .withColumn("savings_vs_stored", 1 - F.col("zstd_bytes") / F.col("stored_bytes"))
        .withColumn("tar_ratio", F.col("tar_bytes") / F.col("zstd_bytes"))
        .orderBy("compression", "level")
    )


def image_packages(rows: DataFrame, images: DataFrame, image_layers: DataFrame) -> DataFrame:
    """One row per image: OS from os-release and dpkg / apk package counts and bytes, each taken from
    the top-most layer that holds the file (what the final filesystem shows)."""
    found = rows.where(F.col("kind") == "package").select("layer_digest", F.col("key").alias("kind"), "value")
    placed = found.join(image_layers.select("image_digest", "layer_index", "layer_digest"), "layer_digest")
    top = Window.partitionBy("image_digest", "kind").orderBy(F.desc("layer_index"))
    latest = placed.withColumn("n", F.row_number().over(top)).where("n = 1")
    parsed = latest.groupBy("image_digest").pivot("kind", ["os-release", "dpkg", "apk"]).agg(F.first("value"))
    os_schema, pkg_schema = "id string, version_id string, pretty_name string", "packages long, bytes long"
    wide = parsed.select(
        "image_digest",
        F.from_json("`os-release`", os_schema).alias("os"),
        F.from_json("dpkg", pkg_schema).alias("dpkg"),
        F.from_json("apk", pkg_schema).alias("apk"),
    )
    result = wide.select(
        "image_digest",
        F.col("os.id").alias("os_id"),
        F.col("os.version_id").alias("os_version"),
        F.col("os.pretty_name").alias("os_pretty_name"),
        F.col("dpkg.packages").alias("dpkg_packages"),
        F.col("dpkg.bytes").alias("dpkg_bytes"),
        F.col("apk.packages").alias("apk_packages"),
        F.col("apk.bytes").alias("apk_bytes"),
    )
    return images.select("image_digest").distinct().join(result, "image_digest", "left")


def os_distribution(packages: DataFrame) -> DataFrame:
    """``os_id, os_version, images``: how many images run on each distribution release."""
    return (
        packages.fillna("unknown", ["os_id"])
        .groupBy("os_id", "os_version")
        .agg(F.count(F.lit(1)).alias("images"))
        .orderBy(F.desc("images"), "os_id", "os_version")
    )


def ecosystems(packages: DataFrame, image_fs: DataFrame) -> DataFrame:
    """``ecosystem, images_with, packages, bytes``: dpkg and apk from the databases' contents, Python
    and npm from final-filesystem paths (``analyze.finalfs``)."""
    both = packages.join(image_fs.select("image_digest", "python_packages", "python_bytes", "node_packages", "node_bytes"), "image_digest", "outer")
    parts = []
    for name, count, size in (
        ("dpkg", "dpkg_packages", "dpkg_bytes"),
        ("apk", "apk_packages", "apk_bytes"),
        ("python", "python_packages", "python_bytes"),
        ("npm", "node_packages", "node_bytes"),
    ):
        parts.append(
            both.agg(
                F.lit(name).alias("ecosystem"),
                F.sum(F.when(F.col(count) > 0, 1).otherwise(0)).alias("images_with"),
                F.coalesce(F.sum(count), F.lit(0)).cast("long").alias("packages"),
                F.coalesce(F.sum(size), F.lit(0)).cast("long").alias("bytes"),
            )
        )
    out = parts[0]
    for p in parts[1:]:
        out = out.unionByName(p)
    return out
