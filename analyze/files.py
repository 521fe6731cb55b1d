"""File statistics: size distribution and the reference study's type taxonomy by count and capacity.

Counted over regular files of a population (default: each scanned layer once, as the study did).
``type_class`` / ``type_fine`` come from the scan (libmagic description mapped to the taxonomy); a
missing class is reported as ``unknown`` rather than dropped, so shares always sum to 1.
"""
from __future__ import annotations

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from analyze import distributions
from analyze.ordering import with_totals_share

LEVELS = {"class": "type_class", "fine": "type_fine"}


def type_distribution(weighted: DataFrame, level: str = "class") -> DataFrame:
    """``level, type_class, type, files, bytes, file_share, byte_share`` at ``level`` ("class" or
    "fine"; a fine type is kept within its class), largest first."""
    column = LEVELS[level]
    keys = [F.coalesce(F.col("type_class"), F.lit("unknown")).alias("type_class")]
    if level != "class":
        keys.append(F.coalesce(F.col(column), F.lit("unknown")).alias("type"))
    grouped = weighted.groupBy(*keys).agg(
        F.sum("weight").alias("files"), F.sum(F.col("weight") * F.col("size_bytes")).alias("bytes")
    )
    if level == "class":
        grouped = grouped.withColumn("type", F.col("type_class"))
    return (
        with_totals_share(grouped, {"file_share": "files", "byte_share": "bytes"})
        .withColumn("level", F.lit(level))
        .select("level", "type_class", "type", "files", "bytes", "file_share", "byte_share")
        .orderBy(F.desc("bytes"), "type")
    )


def size_by_type(weighted: DataFrame) -> DataFrame:
    """``type_class, files, bytes, mean_bytes, median_bytes, p90_bytes`` (each row counted once)."""
    sizes = weighted.withColumn("type_class", F.coalesce("type_class", F.lit("unknown")))
    return (
        sizes.groupBy("type_class")
        .agg(
            F.count(F.lit(1)).alias("files"),
            F.sum("size_bytes").alias("bytes"),
            F.avg("size_bytes").alias("mean_bytes"),
            distributions.quantile("size_bytes", 0.5).alias("median_bytes"),
            distributions.quantile("size_bytes", 0.9).alias("p90_bytes"),
        )
        .orderBy(F.desc("bytes"))
    )


def file_size_cdf(weighted: DataFrame) -> DataFrame:
    """CDF points of regular-file sizes (each row once)."""
    return distributions.cdf(weighted, ["size_bytes"])
