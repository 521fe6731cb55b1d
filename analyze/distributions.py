"""Distributions as small tables: percentiles and CDF points of numeric columns.

A CDF over billions of rows is shipped as quantiles on a fixed probability grid (101 points by
default) rather than as the rows themselves: the figure needs only the curve, and the table stays
a few kilobytes at any scale.

Reported numbers (``percentiles``, ``quantile``) are exact with linear interpolation between the two
nearest ranks (numpy's and pandas' default), so a median of an even count is the mean of the two
middle values; Spark's exact ``percentile`` keeps a count per distinct value. CDF curves use
``percentile_approx`` (an element of the column, rank error ``1/accuracy``), which is cheap at any
scale and changes nothing a figure can show.
"""
from __future__ import annotations

from typing import Optional, Sequence

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

DEFAULT_PROBS: tuple[float, ...] = (0.1, 0.25, 0.5, 0.75, 0.9, 0.99)
ACCURACY = 100_000


def percentiles(
    df: DataFrame, columns: Sequence[str], probs: Sequence[float] = DEFAULT_PROBS, group: Optional[str] = None
) -> DataFrame:
    """Long table ``[group,] metric, p, value``: the exact ``p`` quantile of each column (nulls ignored)."""
    return _quantile_table(df, columns, list(probs), group, exact=True)


def quantile(column: str, p: float) -> F.Column:
    """The exact ``p`` quantile of ``column`` with linear interpolation (an aggregate; nulls ignored)."""
    return F.percentile(F.col(column).cast("double"), p)


def _quantile_table(df: DataFrame, columns: Sequence[str], probs: list[float], group: Optional[str], exact: bool) -> DataFrame:
    if exact:
        aggs = [F.percentile(F.col(c).cast("double"), probs).alias(c) for c in columns]
    else:
        aggs = [F.percentile_approx(F.col(c).cast("double"), probs, ACCURACY).alias(c) for c in columns]
    grouped = df.groupBy(group).agg(*aggs) if group else df.agg(*aggs)
    keys = [group] if group else []
    stacked = grouped.select(
        *keys,
        F.explode(F.array(*[F.struct(F.lit(c).alias("metric"), F.col(c).alias("values")) for c in columns])).alias("m"),
    )
    return stacked.select(
        *keys,
        F.col("m.metric").alias("metric"),
        F.posexplode(F.col("m.values")).alias("i", "value"),
    ).select(*keys, "metric", F.element_at(F.array(*[F.lit(p) for p in probs]), F.col("i") + 1).alias("p"), "value")


def cdf(df: DataFrame, columns: Sequence[str], points: int = 101, group: Optional[str] = None) -> DataFrame:
    """CDF curve data: approximate quantiles at ``points`` evenly spaced probabilities from 0 to 1."""
    grid = [i / (points - 1) for i in range(points)]
    return _quantile_table(df, columns, grid, group, exact=False)


def moments(df: DataFrame, columns: Sequence[str]) -> DataFrame:
    """``metric, count, sum, mean, min, max`` for each column: the totals behind the percentiles."""
    parts = [
        df.agg(
            F.lit(c).alias("metric"),
            F.count(c).alias("count"),
            F.sum(F.col(c).cast("double")).alias("sum"),
            F.avg(c).alias("mean"),
            F.min(F.col(c).cast("double")).alias("min"),
            F.max(F.col(c).cast("double")).alias("max"),
        )
        for c in columns
    ]
    out = parts[0]
    for part in parts[1:]:
        out = out.unionByName(part)
    return out
