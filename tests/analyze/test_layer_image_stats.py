"""Layer and image distributions, popularity relations."""
from __future__ import annotations

import pandas as pd
import pytest

from analyze import distributions, images, layers
from analyze_corpus import I1, I2


def _pct(df, **where):
    rows = df.collect()
    return {(r.metric, r.p): r.value for r in rows if all(getattr(r, k) == v for k, v in where.items())}


def test_percentiles_interpolate_linearly_between_ranks(spark):
    df = spark.createDataFrame([(v,) for v in (1, 2, 3, 4, 100)], "x long")
    got = _pct(distributions.percentiles(df, ["x"], [0.5, 0.9, 1.0]))
    # rank (5 - 1) * 0.9 = 3.6: 4 + 0.6 * (100 - 4) = 61.6
    assert got == pytest.approx({("x", 0.5): 3.0, ("x", 0.9): 61.6, ("x", 1.0): 100.0})


def test_median_of_an_even_count_is_the_mean_of_the_middle_two(spark):
    """The issue's case: the lower middle (interpolation="lower") reported 112 where the median is 139."""
    from analyze.summary import _quantile

    values = (20, 112, 166, 400)
    df = spark.createDataFrame([(v, 1000) for v in values], "x long, pull_count long")
    got = _pct(distributions.percentiles(df, ["x"], [0.5, 0.25]))
    assert got == {("x", 0.5): 139.0, ("x", 0.25): 89.0}  # (112 + 166) / 2; rank 0.75: 20 + 0.75 * 92
    assert _quantile(pd.Series(values), 0.5) == 139.0
    [bucket] = images.popularity_buckets(df, ("x",)).collect()
    assert bucket.median_x == 139.0


def test_cdf_has_the_requested_points(spark):
    df = spark.createDataFrame([(v,) for v in range(1, 11)], "x long")
    points = distributions.cdf(df, ["x"], points=11).orderBy("p").collect()
    assert [r.value for r in points] == [1.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0, 10.0]


def test_layer_distributions_both_populations(spark, corpus):
    got = layers.layer_distributions(corpus["layers"], corpus["image_layers"])
    unique = _pct(got, population="layer_blobs")
    # compressed 50/10/40 -> median 40; uncompressed 2048/1024/3072 -> 2048; ratios 40.96/102.4/76.8 -> 76.8
    assert unique[("compressed_bytes", 0.5)] == 40 and unique[("uncompressed_bytes", 0.5)] == 2048
    assert unique[("compression_ratio", 0.5)] == pytest.approx(76.8)
    # file counts 2, 2, 3: rank 2 * 0.9 = 1.8 -> 2 + 0.8 * 1 = 2.8
    assert unique[("file_count", 0.9)] == pytest.approx(2.8) and unique[("depth_max", 0.5)] == 2
    # every reference: 10, 40, 50, 50 (L1 counted twice): rank 2.25 -> 50; rank 0.75 -> 10 + 0.75 * 30 = 32.5
    refs = _pct(got, population="image_refs")
    assert refs[("compressed_bytes", 0.75)] == 50 and refs[("compressed_bytes", 0.25)] == 32.5


def test_image_sizes(spark, corpus):
    got = {r.image_digest: r for r in images.image_sizes(corpus["images"], corpus["image_layers"], corpus["layers"]).collect()}
    assert (got[I1].layer_count, got[I1].compressed_bytes, got[I1].uncompressed_bytes, got[I1].file_count) == (2, 60, 3072, 5)
    assert (got[I2].layer_count, got[I2].compressed_bytes, got[I2].uncompressed_bytes, got[I2].file_count) == (2, 90, 5120, 5)


def test_popularity_buckets_by_pull_decade(spark, corpus):
    sizes = images.image_sizes(corpus["images"], corpus["image_layers"], corpus["layers"])
    got = [(r.pulls, r.images, r.median_compressed_bytes) for r in images.popularity_buckets(sizes, ("compressed_bytes",)).collect()]
    assert got == [("1e1-1e2", 1, 90.0), ("1e3-1e4", 1, 60.0)]


def test_spearman_correlation_with_ties(spark):
    # pulls 1, 2, 3, 4 vs size 10, 20, 20, 40 -> ranks (1,2,3,4) vs (1,2.5,2.5,4): rho = 0.9487
    df = spark.createDataFrame([(1, 0, 10), (2, 0, 20), (3, 0, 20), (4, 0, 40)], "pull_count long, star_count long, size long")
    got = {r.popularity: r.spearman for r in images.popularity_correlation(df, ("size",)).collect()}
    assert got["pull_count"] == pytest.approx(0.9486833, abs=1e-6)
    assert got["star_count"] is None  # all stars tie: no correlation defined


def test_image_percentiles(spark, corpus):
    sizes = images.image_sizes(corpus["images"], corpus["image_layers"], corpus["layers"])
    got = _pct(images.image_distributions(sizes))
    # two images: compressed 60 and 90 -> median (60 + 90) / 2; uncompressed 3072 and 5120 -> p90 3072 + 0.9 * 2048
    assert got[("compressed_bytes", 0.5)] == 75 and got[("uncompressed_bytes", 0.9)] == pytest.approx(4915.2)
    assert got[("layer_count", 0.5)] == 2 and got[("file_count", 0.5)] == 5


def test_images_without_hub_metadata_fall_in_unknown(spark, corpus):
    from pyspark.sql import functions as F

    sizes = images.image_sizes(corpus["images"], corpus["image_layers"], corpus["layers"]).withColumn("pull_count", F.lit(None).cast("long"))
    got = [(r.pulls, r.images) for r in images.popularity_buckets(sizes, ("file_count",)).collect()]
    assert got == [("unknown", 2)]
