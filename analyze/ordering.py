"""Positions and running totals in a global order, without a window that has no partition.

``Window.orderBy(...)`` with no ``partitionBy`` moves every row into one partition (Spark warns
"No Partition Defined for Window operation!" each time): at Hub scale that is one task holding
every layer. Instead the rows are range-partitioned on the order, each partition computes its own
running totals with a window partitioned by the partition id (in parallel), and each partition's
offset (the totals of the partitions before it, a handful of numbers) is added back.
"""
from __future__ import annotations

from itertools import accumulate

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F
from pyspark.sql import Window

_PID = "_ordering_pid"


def running_totals(df: DataFrame, order: list, sums: dict[str, Column]) -> DataFrame:
    """``df`` plus one column per ``sums`` entry: its running sum in ``order`` (first row included).

    ``order`` must be a total order (add a unique column as the last key) when the result depends
    on how ties are broken. ``{"rank": F.lit(1)}`` gives 1-based positions.
    """
    spark = df.sparkSession
    keys = [F.col(c) if isinstance(c, str) else c for c in order]
    tagged = df.repartitionByRange(*keys).withColumn(_PID, F.spark_partition_id())
    values = tagged.select("*", *[col.alias(f"_v_{name}") for name, col in sums.items()]).cache()
    per_part = values.groupBy(_PID).agg(*[F.sum(f"_v_{n}").alias(n) for n in sums]).collect()
    offsets = {name: {} for name in sums}
    for name in sums:
        ordered = sorted((r[_PID], r[name] or 0) for r in per_part)
        before = [0, *accumulate(v for _, v in ordered)][:-1]
        offsets[name] = {pid: b for (pid, _), b in zip(ordered, before)}
    rows = [(pid, *[offsets[n].get(pid, 0) for n in sums]) for pid in sorted({r[_PID] for r in per_part})]
    offset_df = spark.createDataFrame(rows or [(0, *[0] * len(sums))], [_PID, *[f"_o_{n}" for n in sums]])
    local = Window.partitionBy(_PID).orderBy(*keys).rowsBetween(Window.unboundedPreceding, Window.currentRow)
    out = values.join(F.broadcast(offset_df), _PID, "left")
    for name in sums:
        out = out.withColumn(name, F.sum(f"_v_{name}").over(local) + F.col(f"_o_{name}"))
    return out.drop(_PID, *[f"_v_{n}" for n in sums], *[f"_o_{n}" for n in sums])


def positions(df: DataFrame, order: list, name: str = "rank") -> DataFrame:
    """``df`` plus ``name``: the 1-based position of each row in ``order`` (a total order)."""
    return running_totals(df, order, {name: F.lit(1)})


def average_ranks(df: DataFrame, column: str, name: str) -> DataFrame:
    """``df`` plus ``name``: the rank of ``column`` with ties sharing their average rank (Spearman's ranks)."""
    placed = positions(df, [column], f"_pos_{name}")
    return placed.withColumn(name, F.avg(f"_pos_{name}").over(Window.partitionBy(column))).drop(f"_pos_{name}")


def with_totals_share(df: DataFrame, shares: dict[str, str]) -> DataFrame:
    """``df`` plus ``share_name = column / sum(column)`` for each entry (the sums from one small aggregate)."""
    totals = df.agg(*[F.sum(col).alias(f"_total_{col}") for col in shares.values()])
    out = df.crossJoin(F.broadcast(totals))
    for share, col in shares.items():
        out = out.withColumn(share, F.col(col) / F.col(f"_total_{col}"))
    return out.drop(*[f"_total_{col}" for col in shares.values()])
