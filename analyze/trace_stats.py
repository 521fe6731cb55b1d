"""Registry trace statistics as DataFrame -> DataFrame transforms (Anwar et al., FAST 2018, on any trace).

Input: a parsed trace with the columns of ``common.traces.TRACE_COLUMNS`` (one row per request; rows
with ``bad_reason`` set are skipped input). Every result has a ``registry`` column; ``all`` is every
trace together. Percentiles use ``percentile_approx``, which is exact on small inputs: the smallest
value v with at least a share p of the values <= v (rank ceil(p * n)).
"""
from __future__ import annotations

from pyspark.sql import Column, DataFrame, Window
from pyspark.sql import functions as F

from common.traces import ALL
SIZE_POINTS_BYTES = tuple(int(m * 10**e) for e in range(3, 10) for m in (1, 3)) + (10**10,)
PERCENTILES = (0.5, 0.9, 0.99)
OK = F.col("status").between(200, 299)


def requests(trace: DataFrame) -> DataFrame:
    """The request rows (skipped input dropped)."""
    return trace.where(F.col("bad_reason").isNull()).drop("bad_reason")


def with_all(df: DataFrame) -> DataFrame:
    """``df`` plus a copy of its rows under registry ``all``, so each result covers every trace too."""
    return df.unionByName(df.withColumn("registry", F.lit(ALL)))


def bad_lines(trace: DataFrame) -> DataFrame:
    """Skipped input per registry and reason."""
    return trace.where(F.col("bad_reason").isNotNull()).groupBy("registry", "bad_reason").agg(F.count("*").alias("lines"))


def request_mix(reqs: DataFrame) -> DataFrame:
    """Requests by method x kind (manifest/blob/upload/other) x status, with their share of the registry's requests."""
    out = with_all(reqs).groupBy("registry", "method", "kind", "status").agg(
        F.count("*").alias("requests"), F.sum("response_bytes").alias("response_bytes"))
    total = F.sum("requests").over(Window.partitionBy("registry"))
    return out.withColumn("share", F.col("requests") / total)


def hourly_load(reqs: DataFrame) -> DataFrame:
    """Per registry and hour: requests, GETs, bytes sent and mean response time."""
    hour = (F.floor(F.col("ts_s") / 3600) * 3600).cast("long")
    return with_all(reqs).groupBy("registry", hour.alias("hour_start_s")).agg(
        F.count("*").alias("requests"),
        F.sum(F.when(F.col("method") == "GET", 1).otherwise(0)).alias("gets"),
        F.sum(F.coalesce("response_bytes", F.lit(0))).alias("response_bytes"),
        F.avg("duration_s").alias("mean_duration_s"),
    )


def blob_gets(reqs: DataFrame) -> DataFrame:
    """Successful blob GETs that sent bytes (the layer downloads)."""
    return reqs.where((F.col("method") == "GET") & (F.col("kind") == "blob") & OK & (F.col("response_bytes") > 0))


def layer_popularity(reqs: DataFrame) -> DataFrame:
    """One row per (registry, layer): its size (largest body sent) and successful GETs.

    Under registry ``all`` this is the popularity table other analyses read:
    ``layer_digest`` (the blob digest as the trace names it; anonymised in the published traces),
    ``get_count`` (successful GETs that sent bytes), ``size_bytes``.
    """
    return with_all(blob_gets(reqs)).groupBy("registry", F.col("target").alias("layer_digest")).agg(
        F.count("*").alias("get_count"), F.max("response_bytes").alias("size_bytes"))


def size_cdf(popularity: DataFrame) -> DataFrame:
    """Share of layers, and of layer GETs, smaller than each size point (65 % / 80 % < 1 / 10 MB in Anwar et al.)."""
    points = popularity.sparkSession.createDataFrame([(p,) for p in SIZE_POINTS_BYTES], "below_bytes long")
    per = popularity.groupBy("registry").agg(F.count("*").alias("n"), F.sum("get_count").alias("g"))
    joined = popularity.crossJoin(points).where(F.col("size_bytes") < F.col("below_bytes"))
    counts = joined.groupBy("registry", "below_bytes").agg(F.count("*").alias("layers"), F.sum("get_count").alias("gets"))
    grid = per.crossJoin(points)
    return (grid.join(counts, ["registry", "below_bytes"], "left").fillna(0, ["layers", "gets"])
            .select("registry", "below_bytes", (F.col("layers") / F.col("n")).alias("layer_share"),
                    (F.col("gets") / F.col("g")).alias("get_share")))


def _skew(counts: DataFrame, entity: str) -> DataFrame:
    """Share of requests to the top 1 % / 10 % of entities (at least one), and a Zipf exponent.

    The exponent s is the least-squares slope of ln(count) on ln(rank), negated (count ~ rank^-s).
    """
    w = Window.partitionBy("registry").orderBy(F.col("n").desc())
    ranked = counts.withColumn("rank", F.row_number().over(w)).withColumn(
        "entities", F.count("*").over(Window.partitionBy("registry")))
    x, y = F.log(F.col("rank")), F.log(F.col("n"))

    def top(share: float) -> Column:
        return F.sum(F.when(F.col("rank") <= F.greatest(F.lit(1), F.ceil(F.col("entities") * share)), F.col("n")).otherwise(0))

    agg = ranked.groupBy("registry").agg(
        F.first("entities").alias("entities"), F.sum("n").alias("requests"),
        (top(0.01) / F.sum("n")).alias("top1_share"), (top(0.10) / F.sum("n")).alias("top10_share"),
        F.count("*").alias("k"), F.sum(x).alias("sx"), F.sum(y).alias("sy"), F.sum(x * y).alias("sxy"), F.sum(x * x).alias("sxx"))
    denom = F.col("k") * F.col("sxx") - F.col("sx") * F.col("sx")
    slope = F.when(denom > 0, (F.col("k") * F.col("sxy") - F.col("sx") * F.col("sy")) / denom)
    return agg.select("registry", F.lit(entity).alias("entity"), "entities", "requests", "top1_share", "top10_share",
                      (-slope).alias("zipf_s"))


def skew(reqs: DataFrame) -> DataFrame:
    """Access skew of layers (blob GETs), manifests and repositories (GETs) and clients (all requests)."""
    r = with_all(reqs)
    gets = r.where(F.col("method") == "GET")
    parts = [
        (blob_gets(r).groupBy("registry", "target"), "layer"),
        (gets.where(F.col("kind") == "manifest").groupBy("registry", "repository", "target"), "manifest"),
        (gets.where(F.col("repository").isNotNull()).groupBy("registry", "repository"), "repository"),
        (r.groupBy("registry", "client"), "client"),
    ]
    out = None
    for grouped, entity in parts:
        part = _skew(grouped.agg(F.count("*").alias("n")), entity)
        out = part if out is None else out.unionByName(part)
    return out


def interarrival(reqs: DataFrame) -> DataFrame:
    """Gaps between consecutive requests of each registry: mean, percentiles, max."""
    w = Window.partitionBy("registry").orderBy("ts_s")
    gaps = with_all(reqs).select("registry", (F.col("ts_s") - F.lag("ts_s").over(w)).alias("gap_s")).where(F.col("gap_s").isNotNull())
    pct = F.percentile_approx("gap_s", list(PERCENTILES), 10000)
    return gaps.groupBy("registry").agg(F.count("*").alias("gaps"), F.avg("gap_s").alias("mean_gap_s"), pct.alias("p"),
                                        F.max("gap_s").alias("max_gap_s")).select(
        "registry", "gaps", "mean_gap_s", *[F.col("p")[i].alias(f"p{int(q * 100)}_gap_s") for i, q in enumerate(PERCENTILES)],
        "max_gap_s")
