"""A generated two-registry trace analysed by the trace stats job under spark-submit, checked against the
same statistics computed in plain Python from the parsed records."""
from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from collections import Counter

import pytest

from common.traces import TraceRecord, read_trace, trace_files
from traces.generate import GeneratorOptions, write_trace

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _reference(records: list[TraceRecord]) -> dict:
    ok = [r for r in records if 200 <= r.status < 300]
    sizes, per_layer = {}, Counter()
    for r in ok:
        if r.method == "GET" and r.kind == "blob" and (r.response_bytes or 0) > 0:
            sizes[r.target] = max(sizes.get(r.target, 0), r.response_bytes)
            per_layer[r.target] += 1
    counts = sorted(per_layer.values(), reverse=True)
    gets = {}
    for r in ok:
        if r.method == "GET" and r.kind == "manifest":
            gets.setdefault((r.registry, r.repository, r.target), []).append(r.ts_s)
    puts = [r for r in ok if r.method == "PUT" and r.kind == "manifest"]
    followed = [p for p in puts if any(t >= p.ts_s for t in gets.get((p.registry, p.repository, p.target), []))]
    return {
        "requests": len(records),
        "get_share": sum(r.method == "GET" for r in records) / len(records),
        "layers": len(sizes),
        "layers_under_1mb_share": sum(s < 10**6 for s in sizes.values()) / len(sizes),
        "layer_top10_share": sum(counts[: max(1, math.ceil(0.1 * len(counts)))]) / sum(counts),
        "put_followed_share": len(followed) / len(puts),
    }


def test_spark_submit_trace_stats_on_a_generated_trace(tmp_path):
    traces = tmp_path / "traces"
    write_trace(str(traces), GeneratorOptions(seed=5, requests=1500, repositories=40, clients=30, name="east"))
    write_trace(str(traces), GeneratorOptions(seed=6, requests=1000, repositories=30, clients=20, name="west"))
    records = [r for f in trace_files([str(traces)]) for r in read_trace(f)]
    assert all(isinstance(r, TraceRecord) for r in records)
    expected = _reference(records)

    env = dict(os.environ, PYSPARK_PYTHON=sys.executable, PYSPARK_DRIVER_PYTHON=sys.executable, SPARK_LOCAL_IP="127.0.0.1")
    proc = subprocess.run(
        [os.path.join(os.path.dirname(sys.executable), "spark-submit"), "--master", "local[2]", "--conf", "spark.ui.enabled=false",
         "--conf", "spark.sql.shuffle.partitions=4", os.path.join(REPO, "jobs", "trace_stats.py"),
         "--traces", str(traces), "--out", str(tmp_path / "out")],
        env=env, capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stderr[-3000:]
    summary = json.loads((tmp_path / "out" / "trace_summary.json").read_text())
    assert summary["synthetic"] is True and summary["registries"] == ["synthetic-east", "synthetic-west"]
    assert summary["requests"] == expected["requests"] and summary["bad_lines"] == 0
    assert summary["get_share"] == pytest.approx(expected["get_share"])
    assert summary["layers"] == expected["layers"]
    assert summary["layers_under_1mb_share"] == pytest.approx(expected["layers_under_1mb_share"])
    assert summary["skew"]["layer"]["top10_share"] == pytest.approx(expected["layer_top10_share"])
    assert summary["put_get"]["manifest"]["ever_share"] == pytest.approx(expected["put_followed_share"])
    assert os.path.isfile(tmp_path / "out" / "layer_popularity.csv")
    from analyze.trace_report import render_trace_report

    page = open(render_trace_report(str(tmp_path / "out"), str(tmp_path / "report")), encoding="utf-8").read()
    assert "<b>SYNTHETIC trace</b>" in page and "synthetic-east, synthetic-west" in page


def test_trace_stats_command_refuses_a_folder_without_traces(tmp_path):
    from click.testing import CliRunner

    from hubscope.cli import main

    result = CliRunner().invoke(main, ["trace", "stats", "--traces", str(tmp_path), "--out", str(tmp_path / "out")])
    assert result.exit_code == 2 and "no trace files" in result.output
    assert not (tmp_path / "out").exists()
