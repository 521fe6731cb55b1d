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
    for line in ("gzip -dc | sha256sum", "igzip -dc | sha256sum", "scanner in-process, typing on"):
        assert sum(row.startswith(line) for row in out.splitlines()) == 2, line
    for line in ("Spark job local[2], typing off", "Spark job local[2], typing on"):  # first scan, steady state
        assert sum(row.startswith(line) for row in out.splitlines()) == 4, line
    assert out.count("first scan in a new JVM") == 6 and out.count("steady state: 2nd scan") == 4
    assert out.count("targets (Spark job, per core by CPU time, steady state): typed") == 2
