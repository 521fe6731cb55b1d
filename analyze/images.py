"""Per-image statistics and how size and redundancy relate to popularity (Hub pulls and stars).

Sizes come from the layers an image references: compressed = sum of its layer blobs' sizes,
uncompressed = sum of the tar streams, files = sum of the layers' regular files (a file replaced in
a later layer counts twice, as it is pulled twice). Popularity exists only for images crawled with
Hub metadata; images without it fall in the ``unknown`` bucket.
"""
from __future__ import annotations

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from analyze import distributions
from analyze.ordering import average_ranks
from analyze.populations import ok_layers

IMAGE_METRICS = ("layer_count", "compressed_bytes", "uncompressed_bytes", "file_count")


def image_sizes(images: DataFrame, image_layers: DataFrame, layers: DataFrame) -> DataFrame:
    """``image_digest, repository, tag, layer_count, compressed_bytes, uncompressed_bytes, file_count,
    pull_count, star_count`` (layers the scan failed on count as missing sizes)."""
    sizes = (
        image_layers.join(ok_layers(layers).select("layer_digest", "uncompressed_bytes", "file_count"), "layer_digest", "left")
        .groupBy("image_digest")
        .agg(
            F.count(F.lit(1)).cast("int").alias("layer_count"),
            F.sum("compressed_bytes").alias("compressed_bytes"),
            F.sum("uncompressed_bytes").alias("uncompressed_bytes"),
            F.sum("file_count").alias("file_count"),
        )
    )
    meta = images.select("image_digest", "repository", "tag", "pull_count", "star_count").dropDuplicates(["image_digest"])
    return meta.join(sizes, "image_digest", "left")


def image_distributions(sizes: DataFrame) -> DataFrame:
    """``metric, p, value`` percentiles of layers, sizes and files per image."""
    return distributions.percentiles(sizes, IMAGE_METRICS)


def pull_bucket(column: str = "pull_count") -> F.Column:
    """Decade of the pull count as a label (``1e3-1e4``); ``unknown`` without Hub metadata."""
    decade = F.floor(F.log10(F.greatest(F.col(column), F.lit(1)))).cast("int")
    return (
        F.when(F.col(column).isNull(), F.lit("unknown"))
        .otherwise(F.concat(F.lit("1e"), decade.cast("string"), F.lit("-1e"), (decade + 1).cast("string")))
    )


def popularity_buckets(image_table: DataFrame, metrics: tuple[str, ...]) -> DataFrame:
    """``pulls, images, median_<metric>...`` per pull-count decade: size/redundancy vs popularity."""
    aggs = [distributions.quantile(m, 0.5).alias(f"median_{m}") for m in metrics]
    bucketed = image_table.withColumn("pulls", pull_bucket()).withColumn(
        "decade", F.when(F.col("pull_count").isNull(), F.lit(99)).otherwise(F.floor(F.log10(F.greatest("pull_count", F.lit(1)))))
    )
    return bucketed.groupBy("decade", "pulls").agg(F.count(F.lit(1)).alias("images"), *aggs).orderBy("decade").drop("decade")


def popularity_correlation(image_table: DataFrame, metrics: tuple[str, ...]) -> DataFrame:
    """``popularity, metric, images, spearman``: rank correlation of pulls/stars with each metric."""
    rows = []
    for pop in ("pull_count", "star_count"):
        for metric in metrics:
            pair = image_table.where(F.col(pop).isNotNull() & F.col(metric).isNotNull()).select(pop, metric)
            # ranks with ties sharing their average rank, as Spearman's coefficient requires
            ranked = average_ranks(average_ranks(pair, pop, "rp"), metric, "rm")
            rows.append(
                ranked.agg(F.count(F.lit(1)).alias("images"), F.corr("rp", "rm").alias("spearman")).select(
                    F.lit(pop).alias("popularity"), F.lit(metric).alias("metric"), "images", "spearman"
                )
            )
    out = rows[0]
    for r in rows[1:]:
        out = out.unionByName(r)
    return out
