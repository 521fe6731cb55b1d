"""The synthetic trace: reproducible from its seed, labelled synthetic, in the published format and shape."""
from __future__ import annotations

import filecmp
import os
from collections import defaultdict

from common.traces import BadRecord, TraceRecord, read_trace
from traces.generate import GeneratorOptions, write_trace


def _records(paths):
    return [r for p in paths for r in read_trace(p)]


def test_same_seed_same_trace_other_seed_other_trace(tmp_path):
    o = GeneratorOptions(seed=3, requests=800, repositories=30, clients=20)
    a, b = write_trace(str(tmp_path / "a"), o), write_trace(str(tmp_path / "b"), o)
    c = write_trace(str(tmp_path / "c"), GeneratorOptions(seed=4, requests=800, repositories=30, clients=20))
    assert [os.path.basename(p) for p in a] == [os.path.basename(p) for p in b]
    assert all(filecmp.cmp(x, y, shallow=False) for x, y in zip(a, b))
    assert not filecmp.cmp(a[0], c[0], shallow=False)


def test_published_format_labelled_synthetic_and_published_shape(tmp_path):
    o = GeneratorOptions(seed=1, requests=30_000, repositories=400, clients=100, duration_s=2 * 86400)
    paths = write_trace(str(tmp_path), o)
    assert [os.path.basename(p) for p in paths] == ["synthetic-gen-logstash-2017.06.20-0.json",
                                                    "synthetic-gen-logstash-2017.06.21-0.json"]
    recs = _records(paths)
    assert not [r for r in recs if isinstance(r, BadRecord)]
    assert 29_700 <= len(recs) <= 30_000 and all(r.user_agent.startswith("hubscope-synthetic") for r in recs)
    assert [r.ts_s for r in recs] == sorted(r.ts_s for r in recs)
    # sizes: 65 % / 80 % of distinct layers under 1 MB / 10 MB (sampling noise on ~2,000 layers)
    sizes = {r.target: r.response_bytes for r in recs if r.kind == "blob" and r.method == "GET"}
    under_1mb = sum(s < 10**6 for s in sizes.values()) / len(sizes)
    under_10mb = sum(s < 10**7 for s in sizes.values()) / len(sizes)
    assert len(sizes) > 1000 and 0.60 < under_1mb < 0.70 and 0.75 < under_10mb < 0.85
    # GETs dominate, and skew: the most requested 10 % of repositories get over a third of the GETs
    assert sum(r.method == "GET" for r in recs) / len(recs) > 0.8
    per_repo = defaultdict(int)
    for r in recs:
        if r.method == "GET":
            per_repo[r.repository] += 1
    top = sorted(per_repo.values(), reverse=True)[: len(per_repo) // 10]
    assert sum(top) / sum(per_repo.values()) > 1 / 3
    # PUT -> GET: nearly every manifest PUT is followed by a GET of that manifest
    puts = [r for r in recs if r.method == "PUT" and r.kind == "manifest"]
    gets = {(r.repository, r.target): r.ts_s for r in reversed(recs) if r.method == "GET" and r.kind == "manifest"}
    followed = [p for p in puts if gets.get((p.repository, p.target), -1) > p.ts_s]
    assert len(puts) > 50 and len(followed) / len(puts) > 0.9


def test_sizes_clipped(tmp_path):
    paths = write_trace(str(tmp_path), GeneratorOptions(requests=500, min_layer_bytes=100, max_layer_bytes=4096))
    sizes = [r.response_bytes for r in _records(paths) if isinstance(r, TraceRecord) and r.kind == "blob" and r.method == "GET"]
    assert sizes and min(sizes) >= 100 and max(sizes) <= 4096


def test_generate_command(tmp_path):
    from click.testing import CliRunner

    from hubscope.cli import main

    result = CliRunner().invoke(main, ["trace", "generate", "--out", str(tmp_path), "--requests", "300", "--seed", "2",
                                       "--max-layer-bytes", "2048", "--name", "t"])
    assert result.exit_code == 0, result.output
    (path,) = result.output.split()
    assert path.endswith("synthetic-t-logstash-2017.06.20-0.json")
    recs = list(read_trace(path))
    assert 290 <= len(recs) <= 300 and all(isinstance(r, TraceRecord) for r in recs)
