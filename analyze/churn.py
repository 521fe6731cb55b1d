"""Growth and churn between crawl snapshots: what was added, removed, retagged, and how storage moves.

Pure transforms over the tables (``images`` has one row per snapshot and tag, ``common.schemas``).
Definitions, between an older snapshot A and a newer B:

- a **tag** is (registry, repository, tag, platform): *added* if only B has it, *removed* if only A
  has it, *retagged* if both have it with different manifest digests, *unchanged* otherwise;
- a **repository** is (registry, repository): *added*, *removed* or *kept*;
- a **layer** is a non-foreign layer blob some image of the snapshot references: *added* (only B),
  *removed* (only A: no longer referenced), *kept*; bytes are the manifests' compressed sizes;
- **already stored**: of B's unique layers' compressed bytes, the share in layers A referenced
  (``layer`` level); of the regular-file bytes of B's unique scanned layers (each layer's files
  once), the share whose content A's layers already held (``file`` level);
- per snapshot, **layer dedup** = 1 - unique layer bytes / bytes of every image's layers (each
  distinct image once), and file dedup (``analyze.dedup``) over that snapshot's unique layers.

A tag B could not crawl (an error record) has no image row, so it counts as removed.
"""
from __future__ import annotations

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from analyze.dedup import dedup_ratios
from analyze.populations import ok_layers, regular_files

TAG_KEY = ("registry", "repository", "tag", "platform")
REPO_KEY = ("registry", "repository")


def snapshot_images(images: DataFrame, snapshot: str) -> DataFrame:
    """The ``images`` rows of one snapshot."""
    return images.where(F.col("snapshot") == snapshot)


def snapshot_layers(images: DataFrame, image_layers: DataFrame) -> DataFrame:
    """``snapshot, layer_digest, compressed_bytes``: each snapshot's distinct non-foreign layers."""
    refs = images.select("snapshot", "image_digest").distinct()
    own = image_layers.where(~F.coalesce(F.col("foreign"), F.lit(False)))
    return (refs.join(own.select("image_digest", "layer_digest", "compressed_bytes"), "image_digest")
            .groupBy("snapshot", "layer_digest").agg(F.max("compressed_bytes").alias("compressed_bytes")))


def _kinds(a: DataFrame, b: DataFrame, key: list[str], same: str, changed: str) -> DataFrame:
    """Full outer join of A's and B's keys (``digest_a``/``digest_b`` columns) -> ``kind``."""
    joined = a.join(b, key, "full_outer")
    return joined.withColumn("kind", F.when(F.col("in_a").isNull(), "added").when(F.col("in_b").isNull(), "removed")
                             .when(F.col("digest_a") == F.col("digest_b"), same).otherwise(changed))


def tag_changes(images: DataFrame, snapshot_a: str, snapshot_b: str) -> DataFrame:
    """One row per tag of either snapshot: the key, ``digest_a``, ``digest_b``, ``kind``."""
    key = list(TAG_KEY)

    def side(name: str, suffix: str) -> DataFrame:
        rows = snapshot_images(images, name).select(*key, "image_digest").fillna("", subset=["platform"])
        return rows.groupBy(*key).agg(F.min("image_digest").alias(f"digest_{suffix}")).withColumn(f"in_{suffix}", F.lit(True))

    out = _kinds(side(snapshot_a, "a"), side(snapshot_b, "b"), key, "unchanged", "retagged")
    return out.drop("in_a", "in_b").select(F.lit(snapshot_a).alias("snapshot_a"), F.lit(snapshot_b).alias("snapshot_b"), *key,
                                           "digest_a", "digest_b", "kind")


def churn_counts(images: DataFrame, image_layers: DataFrame, snapshot_a: str, snapshot_b: str) -> DataFrame:
    """``snapshot_a, snapshot_b, entity, kind, count, bytes`` for repositories, tags and layers."""
    key = list(REPO_KEY)

    def repos(name: str, suffix: str) -> DataFrame:
        rows = snapshot_images(images, name).select(*key).distinct()
        return rows.withColumn(f"in_{suffix}", F.lit(True)).withColumn(f"digest_{suffix}", F.lit(""))

    repo_rows = _kinds(repos(snapshot_a, "a"), repos(snapshot_b, "b"), key, "kept", "kept")
    repo_counts = repo_rows.groupBy("kind").agg(F.count(F.lit(1)).alias("count")).withColumn("bytes", F.lit(None).cast("long"))
    tag_counts = (tag_changes(images, snapshot_a, snapshot_b).groupBy("kind").agg(F.count(F.lit(1)).alias("count"))
                  .withColumn("bytes", F.lit(None).cast("long")))
    layers = snapshot_layers(images, image_layers)

    def side(name: str, suffix: str) -> DataFrame:
        rows = layers.where(F.col("snapshot") == name).select("layer_digest", F.col("compressed_bytes").alias(f"bytes_{suffix}"))
        return rows.withColumn(f"in_{suffix}", F.lit(True)).withColumn(f"digest_{suffix}", F.lit(""))

    layer_rows = _kinds(side(snapshot_a, "a"), side(snapshot_b, "b"), ["layer_digest"], "kept", "kept")
    layer_counts = layer_rows.groupBy("kind").agg(
        F.count(F.lit(1)).alias("count"), F.sum(F.coalesce("bytes_b", "bytes_a")).cast("long").alias("bytes"))
    parts = [df.select(F.lit(entity).alias("entity"), "kind", F.col("count").cast("long"), "bytes")
             for entity, df in (("repository", repo_counts), ("tag", tag_counts), ("layer", layer_counts))]
    out = parts[0].unionByName(parts[1]).unionByName(parts[2])
    return out.select(F.lit(snapshot_a).alias("snapshot_a"), F.lit(snapshot_b).alias("snapshot_b"), "*")


def _snapshot_files(images: DataFrame, image_layers: DataFrame, layers: DataFrame, files: DataFrame) -> DataFrame:
    """``snapshot, layer_digest, content_sha256, size_bytes``: regular files of each snapshot's unique ok layers."""
    used = snapshot_layers(images, image_layers).select("snapshot", "layer_digest")
    ok = ok_layers(layers).select("layer_digest")
    return (regular_files(files).select("layer_digest", "content_sha256", "size_bytes")
            .join(used.join(ok, "layer_digest", "left_semi"), "layer_digest"))


def already_stored(images: DataFrame, image_layers: DataFrame, layers: DataFrame, files: DataFrame,
                   snapshot_a: str, snapshot_b: str) -> DataFrame:
    """``snapshot_a, snapshot_b, level, total_bytes, already_stored_bytes, already_stored_share`` (layer, file)."""
    lay = snapshot_layers(images, image_layers)
    in_a = lay.where(F.col("snapshot") == snapshot_a).select("layer_digest", F.lit(True).alias("old"))
    layer_level = (lay.where(F.col("snapshot") == snapshot_b).join(in_a, "layer_digest", "left")
                   .agg(F.sum("compressed_bytes").alias("total_bytes"),
                        F.sum(F.when(F.col("old"), F.col("compressed_bytes")).otherwise(0)).alias("already_stored_bytes"))
                   .select(F.lit("layer").alias("level"), "*"))
    fl = _snapshot_files(images, image_layers, layers, files)
    old = fl.where(F.col("snapshot") == snapshot_a).select("content_sha256").distinct().withColumn("old", F.lit(True))
    file_level = (fl.where(F.col("snapshot") == snapshot_b).join(old, "content_sha256", "left")
                  .agg(F.sum("size_bytes").alias("total_bytes"),
                       F.sum(F.when(F.col("old"), F.col("size_bytes")).otherwise(0)).alias("already_stored_bytes"))
                  .select(F.lit("file").alias("level"), "*"))
    out = layer_level.unionByName(file_level).select(
        F.lit(snapshot_a).alias("snapshot_a"), F.lit(snapshot_b).alias("snapshot_b"), "level",
        F.coalesce(F.col("total_bytes"), F.lit(0)).cast("long").alias("total_bytes"),
        F.coalesce(F.col("already_stored_bytes"), F.lit(0)).cast("long").alias("already_stored_bytes"))
    return out.withColumn("already_stored_share",
                          F.when(F.col("total_bytes") > 0, F.col("already_stored_bytes") / F.col("total_bytes")))


def snapshot_metrics(images: DataFrame, image_layers: DataFrame, layers: DataFrame, files: DataFrame) -> DataFrame:
    """One row per snapshot: its size (repositories, tags, images, layers, bytes) and its layer and file dedup."""
    counts = images.groupBy("snapshot").agg(
        F.min("crawled_at").alias("first_crawled_at"),
        F.countDistinct("registry", "repository").alias("repositories"),
        F.count(F.lit(1)).alias("tags"),
        F.countDistinct("image_digest").alias("images"))
    lay = snapshot_layers(images, image_layers)
    unique = lay.groupBy("snapshot").agg(F.count(F.lit(1)).alias("layers"), F.sum("compressed_bytes").alias("layer_bytes"))
    own = image_layers.where(~F.coalesce(F.col("foreign"), F.lit(False)))
    referenced = (images.select("snapshot", "image_digest").distinct().join(own, "image_digest")
                  .groupBy("snapshot").agg(F.sum("compressed_bytes").alias("referenced_layer_bytes")))
    per_file = _snapshot_files(images, image_layers, layers, files).withColumn("weight", F.lit(1).cast("long"))
    file_dedup = dedup_ratios(per_file, ["snapshot"]).withColumnRenamed("dedup_count", "file_dedup_count") \
        .withColumnRenamed("dedup_capacity", "file_dedup_capacity") \
        .withColumnRenamed("total_bytes", "file_bytes").withColumnRenamed("unique_bytes", "unique_file_bytes")
    out = counts.join(unique, "snapshot", "left").join(referenced, "snapshot", "left").join(file_dedup, "snapshot", "left")
    out = out.withColumn("layer_dedup", F.when(F.col("referenced_layer_bytes") > 0,
                                               1 - F.col("layer_bytes") / F.col("referenced_layer_bytes")))
    return out.orderBy("first_crawled_at", "snapshot")
