"""Positions and running totals in a global order without a single-partition window (analyze.ordering).

By hand: values k = 5, 1, 4, 1, 3 with weights w = 10, 20, 30, 40, 50 (ties on k broken by id).
Ordered by (k, id): ids b(1), d(1), e(3), c(4), a(5) -> positions 1..5; running w: 20, 60, 110, 140, 150.
Average ranks of k: the two 1s share (1 + 2) / 2 = 1.5; 3 -> 3, 4 -> 4, 5 -> 5.
"""
from __future__ import annotations

import io
from contextlib import redirect_stdout

from pyspark.sql import functions as F

from analyze.ordering import average_ranks, positions, running_totals, with_totals_share

ROWS = [("a", 5, 10), ("b", 1, 20), ("c", 4, 30), ("d", 1, 40), ("e", 3, 50)]


def _df(spark):
    return spark.createDataFrame(ROWS, "id string, k long, w long").repartition(3)  # several partitions


def _plan(df) -> str:
    out = io.StringIO()
    with redirect_stdout(out):
        df.explain()
    return out.getvalue()


def test_positions_and_running_totals_by_hand(spark):
    out = running_totals(_df(spark), ["k", "id"], {"rank": F.lit(1), "so_far": F.col("w")})
    got = {r.id: (r.rank, r.so_far) for r in out.collect()}
    assert got == {"b": (1, 20), "d": (2, 60), "e": (3, 110), "c": (4, 140), "a": (5, 150)}
    # no window over the whole table: nothing is moved into one partition
    assert "SinglePartition" not in _plan(out)


def test_descending_order_and_empty_input(spark):
    out = positions(_df(spark), [F.desc("k"), "id"])
    assert [r.id for r in out.orderBy("rank").collect()] == ["a", "c", "e", "b", "d"]
    assert positions(_df(spark).where("k > 9"), ["k"]).count() == 0


def test_average_ranks_share_ties(spark):
    got = {r.id: r.rk for r in average_ranks(_df(spark), "k", "rk").collect()}
    assert got == {"b": 1.5, "d": 1.5, "e": 3.0, "c": 4.0, "a": 5.0}


def test_shares_of_the_total(spark):
    got = {r.id: r.share for r in with_totals_share(_df(spark), {"share": "w"}).collect()}
    assert got["a"] == 10 / 150 and got["e"] == 50 / 150
    assert "Window" not in _plan(with_totals_share(_df(spark), {"share": "w"}))  # an aggregate, not a global window
