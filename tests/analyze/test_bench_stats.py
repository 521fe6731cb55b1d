"""benchmarks/bench_stats.py runs on a tiny input and both engines agree (no timing asserted)."""
from __future__ import annotations

import importlib.util
import os

BENCH = os.path.join(os.path.dirname(__file__), "..", "..", "benchmarks", "bench_stats.py")


def test_bench_stats_tiny(spark, tmp_path, capsys):
    spec = importlib.util.spec_from_file_location("bench_stats", BENCH)
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    out = bench.main(["--tiny", "--workdir", str(tmp_path)])
    total, unique, total_bytes, unique_bytes = out["result"]
    assert total == 10_000 and 0 < unique < total and unique_bytes < total_bytes
    assert "ratio spark / duckdb" in capsys.readouterr().out
