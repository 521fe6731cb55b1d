"""Per-layer statistics: distributions of size, compression ratio, file and directory counts, depth.

Two populations (see ``analyze.populations``): each scanned layer once, or every layer of every
image (a base layer used by 1,000 images counts 1,000 times).
"""
from __future__ import annotations

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from analyze import distributions
from analyze.populations import IMAGE_REFS, LAYER_BLOBS, ok_layers

LAYER_METRICS = ("compressed_bytes", "uncompressed_bytes", "compression_ratio", "file_count", "dir_count", "depth_max")


def layer_metrics(layers: DataFrame, image_layers: DataFrame | None = None) -> DataFrame:
    """One row per scanned layer (or per image reference when ``image_layers`` is given)."""
    ok = ok_layers(layers).select("layer_digest", *LAYER_METRICS)
    if image_layers is None:
        return ok
    return image_layers.select("image_digest", "layer_digest").join(ok, "layer_digest")


def layer_distributions(layers: DataFrame, image_layers: DataFrame) -> DataFrame:
    """``population, metric, p, value``: percentiles of every layer metric, both populations."""
    unique = distributions.percentiles(layer_metrics(layers), LAYER_METRICS).withColumn("population", F.lit(LAYER_BLOBS))
    refs = distributions.percentiles(layer_metrics(layers, image_layers), LAYER_METRICS).withColumn(
        "population", F.lit(IMAGE_REFS)
    )
    return unique.unionByName(refs).select("population", "metric", "p", "value")


def layer_cdf(layers: DataFrame) -> DataFrame:
    """CDF points (unique layers) for the size, ratio and count figures."""
    return distributions.cdf(layer_metrics(layers), LAYER_METRICS)
