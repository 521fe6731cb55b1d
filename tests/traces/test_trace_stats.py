"""Every trace statistic on the hand-made trace of ``trace_kit`` (r1: ten requests, r2: two requests and three
bad lines), each answer worked out by hand below; the job (parsing in ``mapInArrow``) is the one ``hubscope
trace stats`` runs."""
from __future__ import annotations

import json
import math
import os

import pandas as pd
import pytest

from jobs.trace_stats import TraceStatsOptions, run_trace_stats
from tests.traces.trace_kit import write_hand_trace


@pytest.fixture(scope="module")
def results(spark, tmp_path_factory):
    folder = tmp_path_factory.mktemp("hand")
    write_hand_trace(str(folder / "in"))
    out = str(folder / "out")
    summary = run_trace_stats(spark, [str(folder / "in")], out, TraceStatsOptions(cache_shares=(0.5, 1.0), prefetch_ttls_s=(60.0,)))
    frames = {f[: -len(".parquet")]: pd.read_parquet(os.path.join(out, f)) for f in os.listdir(out) if f.endswith(".parquet")}
    with open(os.path.join(out, "trace_summary.json")) as fh:
        assert json.load(fh)["requests"] == summary["requests"]
    return frames, summary, out


def _row(frame: pd.DataFrame, **keys) -> pd.Series:
    sel = frame
    for k, v in keys.items():
        sel = sel[sel[k] == v]
    assert len(sel) == 1, (keys, sel)
    return sel.iloc[0]


def test_bad_lines_and_counts(results):
    frames, summary, _ = results
    bad = frames["trace_bad_lines"].set_index("bad_reason")["lines"].to_dict()
    assert bad == {"not JSON": 1, "no request method or uri": 1, "bad field: not a timestamp": 1}
    assert summary["requests"] == 12 and summary["bad_lines"] == 3 and summary["registries"] == ["r1", "r2"]
    assert summary["synthetic"] is False


def test_request_mix(results):
    mix = results[0]["trace_request_mix"]
    r1 = mix[mix.registry == "r1"]
    got = {(r.method, r.kind, r.status): (r.requests, r.share) for r in r1.itertuples()}
    # PUT manifest 201: row 1; GET manifest 200: rows 2, 5, 7; GET blob 200: rows 3, 4, 6, 8, 10; GET manifest 404: row 9
    assert got == {("PUT", "manifest", 201): (1, 0.1), ("GET", "manifest", 200): (3, 0.3), ("GET", "blob", 200): (5, 0.5),
                   ("GET", "manifest", 404): (1, 0.1)}
    assert _row(mix, registry="all", method="GET", kind="blob", status=200).requests == 6  # + r2's GET
    assert _row(mix, registry="r2", method="HEAD", kind="blob", status=200).share == 0.5
    assert results[1]["get_share"] == pytest.approx(10 / 12)


def test_hourly_load(results):
    load = results[0]["trace_hourly_load"]
    r1 = load[load.registry == "r1"].sort_values("hour_start_s")
    assert list(r1.requests) == [6, 4] and list(r1.gets) == [5, 4]
    assert list(r1.response_bytes) == [1000 + 500_000 + 5_000_000 + 1000 + 500_000, 2000 + 20_000_000 + 100 + 500_000]
    assert list(r1.mean_duration_s) == pytest.approx([0.72 / 6, 2.075 / 4])


def test_sizes_and_popularity(results):
    frames, summary, _ = results
    pop = frames["layer_popularity"].set_index("layer_digest")
    assert list(pop.columns) == ["get_count", "size_bytes"]
    assert pop.to_dict("index") == {"L1": {"get_count": 4, "size_bytes": 500_000}, "L2": {"get_count": 1, "size_bytes": 5_000_000},
                                    "L3": {"get_count": 1, "size_bytes": 20_000_000}}
    cdf = frames["trace_size_cdf"]
    # r1: L1 (0.5 MB, 3 GETs), L2 (5 MB, 1), L3 (20 MB, 1)
    assert _row(cdf, registry="r1", below_bytes=10**6)[["layer_share", "get_share"]].tolist() == pytest.approx([1 / 3, 3 / 5])
    assert _row(cdf, registry="r1", below_bytes=10**7)[["layer_share", "get_share"]].tolist() == pytest.approx([2 / 3, 4 / 5])
    assert _row(cdf, registry="r1", below_bytes=3 * 10**7)[["layer_share", "get_share"]].tolist() == [1.0, 1.0]
    assert _row(cdf, registry="r1", below_bytes=1000)[["layer_share", "get_share"]].tolist() == [0.0, 0.0]
    assert summary["layers"] == 3 and summary["layers_under_1mb_share"] == pytest.approx(1 / 3)
    assert summary["layers_under_10mb_share"] == pytest.approx(2 / 3)


def test_skew(results):
    skew = results[0]["trace_skew"]
    layer = _row(skew, registry="r1", entity="layer")
    # counts 3, 1, 1 at ranks 1, 2, 3: top 1 % and top 10 % are both the top one entity (at least one)
    assert (layer.entities, layer.requests, layer.top1_share, layer.top10_share) == (3, 5, 0.6, 0.6)
    x, y = [math.log(1), math.log(2), math.log(3)], [math.log(3), 0.0, 0.0]
    slope = (3 * sum(a * b for a, b in zip(x, y)) - sum(x) * sum(y)) / (3 * sum(a * a for a in x) - sum(x) ** 2)
    assert layer.zipf_s == pytest.approx(-slope) and layer.zipf_s == pytest.approx(1.0630, abs=1e-4)
    repo = _row(skew, registry="r1", entity="repository")  # GETs: a/app 6, b/db 3
    assert (repo.entities, repo.requests, repo.top1_share) == (2, 9, pytest.approx(6 / 9))
    client = _row(skew, registry="r1", entity="client")  # all requests: c1 2, c2 4, c3 4
    assert (client.entities, client.requests, client.top1_share) == (3, 10, 0.4)
    manifest = _row(skew, registry="r1", entity="manifest")  # GETs: a/app:v1 2, b/db:latest 1, b/db:nope 1
    assert (manifest.entities, manifest.requests, manifest.top10_share) == (3, 4, 0.5)


def test_interarrival(results):
    gaps = _row(results[0]["trace_interarrival"], registry="r1")
    # gaps 10, 2, 1, 87, 2, 3598, 5, 95, 200 -> sorted 1 2 2 5 10 87 95 200 3598; p50 = 5th, p90 = p99 = 9th
    assert gaps.gaps == 9 and gaps.mean_gap_s == pytest.approx(4000 / 9)
    assert (gaps.p50_gap_s, gaps.p90_gap_s, gaps.p99_gap_s, gaps.max_gap_s) == (10, 3598, 3598, 3598)


def test_put_get(results):
    frames, summary, _ = results
    pg = frames["trace_put_get"]
    manifest, layer = _row(pg, registry="r1", followed_by="manifest"), _row(pg, registry="r1", followed_by="layer")
    # the PUT of a/app:v1 at 0 s: its manifest GET at 10 s, the first layer GET of a/app at 12 s
    assert (manifest.puts, manifest.median_delay_s, manifest.within_60s_share, manifest.ever_share) == (1, 10, 1.0, 1.0)
    assert (layer.puts, layer.median_delay_s, layer.within_60s_share) == (1, 12, 1.0)
    assert summary["put_get"]["manifest"]["median_delay_s"] == 10
    # GETs of a/app:v1 within an hour of its PUT: at 10 s and 100 s
    assert _row(frames["trace_gets_after_put"], registry="r1").mean_gets == 2


def test_latency(results):
    frames, _, _ = results
    by_size = frames["trace_latency_by_size"]
    d5 = _row(by_size, registry="r1", size_decade=5)  # the three 0.5 MB GETs of L1, 0.05 s each
    assert (d5.gets, d5.mean_duration_s, d5.median_duration_s) == (3, pytest.approx(0.05), 0.05)
    assert d5.bytes_per_s == pytest.approx(1_500_000 / 0.15)
    assert _row(by_size, registry="r1", size_decade=7).mean_duration_s == 2.0
    # two hours: (6 requests, 0.12 s mean) and (4, 0.51875): the correlation of two points is -1
    load = _row(frames["trace_latency_vs_load"], registry="r1")
    assert load.hours == 2 and load.corr_requests_duration == pytest.approx(-1.0)


def test_registries(results):
    reg = results[0]["trace_registries"]
    r1 = _row(reg, registry="r1")
    assert (r1.requests, r1.repositories, r1.clients, r1.layers) == (10, 2, 3, 3)
    assert r1.get_share == 0.9 and r1.span_hours == pytest.approx(4000 / 3600)
    assert r1.get_bytes == 6_002_000 + 20_502_100 and r1.requests_per_hour == pytest.approx(9.0)
    r2 = _row(reg, registry="r2")
    assert (r2.requests, r2.layers, r2.layers_under_1mb_share, r2.requests_per_hour) == (2, 1, 1.0, 2.0)
    assert _row(reg, registry="all").requests == 12


def test_simulations_over_the_trace(results):
    frames, summary, _ = results
    lru = frames["cache_lru"]
    # r1 blob GETs: L1 L2 L1 L3 L1 (0.5, 5, 0.5, 20, 0.5 MB); working set 25.5 MB
    full = _row(lru, registry="r1", capacity_share=1.0)
    assert (full.requests, full.hits, full.capacity_bytes) == (5, 2, 25_500_000)  # every repeat hits
    half = _row(lru, registry="r1", capacity_share=0.5)
    # 12.75 MB: L3 (20 MB) never fits, so L1 stays: L1 L2 L1(hit) L3 L1(hit)
    assert half.hits == 2 and half.byte_hit_ratio == pytest.approx(1_000_000 / 26_500_000)
    pre = _row(frames["prefetch"], registry="r1")
    # manifest GETs of a/app at 10 s (nothing known yet) and 100 s (L1, L2 known: 5.5 MB fetched); L1 at 102 s hits
    assert (pre.layer_gets, pre.prefetch_hits, pre.prefetched_bytes, pre.extra_bytes) == (5, 1, 5_500_000, 5_000_000)
    assert summary["lru_hit_ratio_by_share"]["1"] == pytest.approx(3 / 6)  # all: L1 ×4 (r2's at 50 s too), L2, L3


def test_trace_report_beside_the_published_findings(results, tmp_path):
    from click.testing import CliRunner

    from hubscope.cli import main

    out = CliRunner().invoke(main, ["report", "--results", results[2], "--out", str(tmp_path / "report")])
    assert out.exit_code == 0, out.output
    page = open(out.output.strip(), encoding="utf-8").read()
    assert "Anwar et al., USENIX FAST 2018" in page and "[C/S]" in page and "[S]" in page
    # ours beside theirs: layers under 1 MB 1 of 3 (33.3 %) beside 65 %, under 10 MB 2 of 3 beside 80 %
    assert "<td class='ours'>33.3 %</td><td class='published'>65 %</td>" in page
    assert "<td class='ours'>66.7 %</td><td class='published'>80 %</td>" in page
    assert "SYNTHETIC" not in page and "12 requests from r1, r2; 3 input lines skipped" in page
    for fig in ("trace_sizes", "trace_skew", "trace_load", "trace_cache"):
        assert f'id="fig-{fig}"' in page and (tmp_path / "report" / "figures" / f"{fig}.svg").is_file()
