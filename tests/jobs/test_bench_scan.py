"""The scan benchmark runs end to end on a tiny corpus (numbers are not asserted: benchmarks are not tests)."""
from __future__ import annotations

import os
import subprocess
import sys

BENCH = os.path.join(os.path.dirname(__file__), "..", "..", "benchmarks", "bench_scan.py")


def test_bench_scan_tiny_prints_every_measurement(tmp_path):
    # A subprocess: the benchmark starts and stops its own Spark contexts, which must not touch the test session.
    result = subprocess.run([sys.executable, BENCH, "--tiny", "--cache", str(tmp_path / "cache")],
                            capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-4000:]
    out = result.stdout
    for corpus in ("realistic", "all-distinct"):
        assert f"== scan benchmark: {corpus} corpus" in out
    for line in ("gzip -dc | sha256sum", "igzip -dc | sha256sum", "scanner in-process, typing on",
                 "Spark job local[2], typing off", "Spark job local[2], typing on"):
        assert sum(row.startswith(line) for row in out.splitlines()) == 2, line
    assert out.count("targets (Spark job, per core by CPU time): typed") == 2
