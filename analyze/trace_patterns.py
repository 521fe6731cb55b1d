"""Trace patterns that pay for caching and prefetching: manifest PUT -> GET, and response time vs size and load.

Same input as ``analyze.trace_stats`` (parsed request rows).
"""
from __future__ import annotations

from pyspark.sql import DataFrame, Window
from pyspark.sql import functions as F

from analyze.trace_stats import OK, blob_gets, hourly_load, with_all

WINDOWS_S = (60, 600, 3600, 86400)


def _next_after_put(rows: DataFrame, keys: list[str]) -> DataFrame:
    """For each manifest PUT row: seconds to the next GET row with the same keys (None if none follows).

    Ordered newest first, the minimum GET time over the rows already seen is the earliest later GET;
    a growing frame keeps it linear. At equal times a GET counts as after the PUT.
    """
    w = Window.partitionBy(*keys).orderBy(F.col("ts_s").desc(), F.col("is_put").asc()).rowsBetween(Window.unboundedPreceding, -1)
    nxt = F.min(F.when(~F.col("is_put"), F.col("ts_s"))).over(w)
    return rows.withColumn("next_get_s", nxt).where("is_put").select(*keys, "ts_s", (F.col("next_get_s") - F.col("ts_s")).alias("delay_s"))


def put_get(reqs: DataFrame) -> DataFrame:
    """How soon and how often a successful manifest PUT is followed by GETs.

    ``followed_by`` = ``manifest``: a GET of the same manifest (repository, reference);
    ``layer``: a blob GET in the same repository (anonymised traces do not say which layers a manifest
    lists, so the repository stands for the image). Shares are of PUTs followed within each window.
    """
    r = with_all(reqs)
    puts = r.where((F.col("method") == "PUT") & (F.col("kind") == "manifest") & OK).select(
        "registry", "repository", "target", "ts_s", F.lit(True).alias("is_put"))
    mget = r.where((F.col("method") == "GET") & (F.col("kind") == "manifest") & OK).select(
        "registry", "repository", "target", "ts_s", F.lit(False).alias("is_put"))
    lget = blob_gets(r).select("registry", "repository", F.lit(None).cast("string").alias("target"), "ts_s",
                               F.lit(False).alias("is_put"))
    parts = [
        _next_after_put(puts.unionByName(mget), ["registry", "repository", "target"]).select("registry", "delay_s", F.lit("manifest").alias("followed_by")),
        _next_after_put(puts.withColumn("target", F.lit(None).cast("string")).unionByName(lget), ["registry", "repository"])
        .select("registry", "delay_s", F.lit("layer").alias("followed_by")),
    ]
    delays = parts[0].unionByName(parts[1])
    aggs = [F.count("*").alias("puts")]
    aggs += [F.avg(F.when(F.col("delay_s") <= w, 1.0).otherwise(0.0)).alias(f"within_{w}s_share") for w in WINDOWS_S]
    aggs += [F.avg(F.col("delay_s").isNotNull().cast("double")).alias("ever_share"),
             F.percentile_approx("delay_s", 0.5, 10000).alias("median_delay_s")]
    return delays.groupBy("registry", "followed_by").agg(*aggs)


def gets_after_put(reqs: DataFrame, window_s: int = 3600) -> DataFrame:
    """Mean number of GETs of a manifest within ``window_s`` after its PUT ("how often")."""
    r = with_all(reqs).where((F.col("kind") == "manifest") & OK & F.col("method").isin("PUT", "GET"))
    w = Window.partitionBy("registry", "repository", "target").orderBy("ts_s").rangeBetween(0, window_s)
    counted = r.withColumn("gets_after", F.sum((F.col("method") == "GET").cast("int")).over(w))
    return counted.where(F.col("method") == "PUT").groupBy("registry").agg(
        F.lit(window_s).alias("window_s"), F.avg("gets_after").alias("mean_gets"))


def latency_by_size(reqs: DataFrame) -> DataFrame:
    """Blob GET response time by size decade (10^k <= size < 10^(k+1) bytes)."""
    g = with_all(blob_gets(reqs)).where(F.col("duration_s").isNotNull())
    decade = F.floor(F.log10(F.col("response_bytes"))).cast("int")
    return g.groupBy("registry", decade.alias("size_decade")).agg(
        F.count("*").alias("gets"), F.avg("duration_s").alias("mean_duration_s"),
        F.percentile_approx("duration_s", 0.5, 10000).alias("median_duration_s"),
        (F.sum("response_bytes") / F.sum("duration_s")).alias("bytes_per_s"))


def latency_vs_load(reqs: DataFrame) -> DataFrame:
    """Per registry: Pearson correlation of an hour's request count with its mean response time."""
    return hourly_load(reqs).groupBy("registry").agg(
        F.count("*").alias("hours"), F.corr("requests", "mean_duration_s").alias("corr_requests_duration"))


def registries(reqs: DataFrame, popularity: DataFrame) -> DataFrame:
    """One row per registry to compare them: load, mix, reach and layer sizes."""
    r = with_all(reqs)
    base = r.groupBy("registry").agg(
        F.count("*").alias("requests"),
        F.avg((F.col("method") == "GET").cast("double")).alias("get_share"),
        ((F.max("ts_s") - F.min("ts_s")) / 3600).alias("span_hours"),
        F.countDistinct("repository").alias("repositories"), F.countDistinct("client").alias("clients"),
        F.sum(F.when(F.col("method") == "GET", F.coalesce("response_bytes", F.lit(0))).otherwise(0)).alias("get_bytes"),
    )
    layers = popularity.groupBy("registry").agg(
        F.count("*").alias("layers"), F.avg((F.col("size_bytes") < 10**6).cast("double")).alias("layers_under_1mb_share"),
        F.avg((F.col("size_bytes") < 10**7).cast("double")).alias("layers_under_10mb_share"))
    return base.join(layers, "registry", "left").withColumn(
        "requests_per_hour", F.col("requests") / F.greatest(F.col("span_hours"), F.lit(1.0)))
