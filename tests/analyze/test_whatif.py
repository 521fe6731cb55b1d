"""The registry what-if on the hand-built corpus of whatif_corpus; every number worked out by hand here.

Shared by all cases: the ok layers are L1, L2, L3 (L4 failed and is skipped); compressed sum
C = 3000 + 2500 + 1500 = 7000; skeletons S = 100 each, 300 in all; unique contents A + B + C + D =
4000 + 2000 + 1000 + 1000 = 8000 (the hardlink /a/z carries no content bytes); R = 3, so a dedup
replica set of everything is 8000 + 300 = 8300 bytes.
"""
from __future__ import annotations

import json
import os

import pandas as pd
import pytest

from analyze import whatif
from common.table_read import frame, write_tables
from whatif_corpus import L1, L2, L3, whatif_rows

RATES = whatif.RestoreRates(rebuild_gzip_mbps=50.0, rebuild_tar_mbps=200.0, serve_mbps=1000.0)


@pytest.fixture(scope="module")
def tables(spark):
    return {name: frame(spark, name, rows).cache() for name, rows in whatif_rows().items()}


def _inputs(tables, source, trace=None):
    pop = whatif.layer_popularity(tables["images"], tables["image_layers"], source, trace)
    costs = whatif.layer_costs(tables["layers"], pop).cache()
    return costs.toPandas(), whatif.unique_bytes_by_rank(tables["files"], costs).toPandas()


def _by_mode(modes: pd.DataFrame) -> dict[str, dict]:
    return {r["mode"]: r for r in modes.to_dict("records")}


def test_popularity_from_pulls_ranks_layers(tables):
    costs, by_rank = _inputs(tables, "pulls")
    got = {r.layer_digest: (r.gets, r.rank, r.skeleton_bytes) for r in costs.itertuples()}
    # L1 is in I1 (90) and I2 (10): 100 GETs; L2 in I1: 90; L3 in I2: 10. L4 failed: not a row.
    assert got == {L1: (100.0, 1, 100), L2: (90.0, 2, 100), L3: (10.0, 3, 100)}
    # coldest rank holding each content: A in L1, L2 -> 2; C in L2 -> 2; B in L1, L3 -> 3; D in L3 -> 3
    assert dict(zip(by_rank["max_rank"], zip(by_rank["contents"], by_rank["unique_bytes"]))) == {2: (2, 5000), 3: (2, 3000)}


def test_every_mode_by_hand_with_pull_popularity(tables):
    costs, by_rank = _inputs(tables, "pulls")
    options = whatif.WhatifOptions(replicas=3, hot_shares=(0.3,), hot_threshold=90)
    modes = _by_mode(whatif.whatif_modes(costs, by_rank, options, RATES, chunk=(0.8, 2)))
    stored = {m: r["stored_bytes"] for m, r in modes.items()}
    assert stored == {
        "none": 3 * 7000,                                  # 21000
        "global file dedup": 3 * 8300,                     # 24900 (files kept uncompressed outweigh a 2x gzip)
        "B-mode 3": 3 * 7000,                              # 21000
        "B-mode 2": 2 * 7000 + 1 * 8300,                   # 22300
        "B-mode 1": 1 * 7000 + 2 * 8300,                   # 23600
        "B-mode 0": 3 * 8300,                              # 24900
        # top 30 % of 3 layers = ceil(0.9) = 1 hot layer (L1): 3 x 3000 full + 1 x (2500 + 1500) full
        # + 2 x (contents of L2, L3 = A, C, B, D = 8000, + their skeletons 200)
        "S-mode top 30 %": 9000 + 4000 + 2 * 8200,         # 29400
        # >= 90 GETs: L1, L2 hot: 3 x 5500 + 1500 + 2 x (contents of L3 = B + D = 3000, + 100)
        "S-mode >= 90 GETs": 16500 + 1500 + 2 * 3100,      # 24200
        # chunks: unique file bytes x 0.8 = 6400, + skeletons 300, 3 times
        "chunk dedup (FastCDC, 2 sampled layers)": 3 * 6700,  # 20100
    }
    assert modes["S-mode top 30 %"]["hot_layers"] == 1 and modes["S-mode >= 90 GETs"]["hot_layers"] == 2
    assert modes["B-mode 2"]["saving"] == pytest.approx(1 - 22300 / 21000)
    assert modes["chunk dedup (FastCDC, 2 sampled layers)"]["reduction_x"] == pytest.approx(21000 / 20100)
    # every GET restores only where no full replica exists: global, B-mode 0, chunk
    share = {m: r["restore_share"] for m, r in modes.items()}
    assert share == {m: (1.0 if m in ("global file dedup", "B-mode 0") or m.startswith("chunk") else 0.0) for m in modes}
    # restore bytes per GET = sum(GETs x tar bytes) / GETs = (100 x 6100 + 90 x 5100 + 10 x 3100) / 200 = 5500
    assert modes["B-mode 0"]["restore_bytes_per_get"] == pytest.approx(5500)
    assert modes["B-mode 1"]["restore_bytes_per_get"] == 0
    # GET cost: restoring 5500 bytes at 50 MB/s = 1.1e-4 s (at 200 MB/s without gzip: 2.75e-5 s);
    # serving a full replica: (100 x 3000 + 90 x 2500 + 10 x 1500) / 200 = 2700 bytes at 1000 MB/s = 2.7e-6 s
    assert modes["global file dedup"]["get_restore_s"] == pytest.approx(1.1e-4)
    assert modes["global file dedup"]["get_restore_tar_s"] == pytest.approx(2.75e-5)
    assert modes["global file dedup"]["get_cost_s"] == pytest.approx(1.1e-4)
    assert modes["none"]["get_cost_s"] == pytest.approx(2.7e-6)
    assert modes["none"]["get_speedup_vs_global"] == pytest.approx(1.1e-4 / 2.7e-6)


def test_uniform_popularity_breaks_ties_by_digest(tables):
    costs, by_rank = _inputs(tables, "uniform")
    # one pull per image: L1 is used by 2 images, L2 and L3 by one each; the tie L2/L3 goes to the smaller digest
    assert {r.layer_digest: (r.gets, r.rank) for r in costs.itertuples()} == {L1: (2.0, 1), L2: (1.0, 2), L3: (1.0, 3)}
    modes = _by_mode(whatif.whatif_modes(costs, by_rank, whatif.WhatifOptions(hot_shares=())))
    # (2 x 6100 + 5100 + 3100) / 4 GETs = 5100 restored bytes per GET; no rates given: no cost columns
    assert modes["global file dedup"]["restore_bytes_per_get"] == pytest.approx(5100)
    assert "get_cost_s" not in modes["none"]


def test_trace_popularity_counts_gets_per_digest(spark, tables):
    trace = spark.createDataFrame([(L3, 30.0), (L3, 20.0), (L2, 5.0), ("sha256:" + "0" * 64, 99.0)], "layer_digest string, gets double")
    costs, by_rank = _inputs(tables, "trace", trace)
    # L3 50 GETs, L2 5, L1 none in the trace (0); a digest no image uses is ignored
    assert {r.layer_digest: (r.gets, r.rank) for r in costs.itertuples()} == {L3: (50.0, 1), L2: (5.0, 2), L1: (0.0, 3)}
    modes = _by_mode(whatif.whatif_modes(costs, by_rank, whatif.WhatifOptions(hot_shares=(0.3,))))
    # L3 hot: 3 x 1500 + (3000 + 2500) + 2 x (A + B + C = 7000, in L1 or L2, + skeletons 200) = 24400
    assert modes["S-mode top 30 %"]["stored_bytes"] == 4500 + 5500 + 2 * 7200
    # (0 x 6100 + 5 x 5100 + 50 x 3100) / 55 GETs restored per GET in B-mode 0
    assert modes["B-mode 0"]["restore_bytes_per_get"] == pytest.approx((5 * 5100 + 50 * 3100) / 55)


def test_chunk_ratio_reads_the_unique_layer_population():
    chunk = pd.DataFrame([
        {"population": "layer_blobs", "level": "file", "stored_bytes": 1000, "layers": 2},
        {"population": "layer_blobs", "level": "chunk", "stored_bytes": 800, "layers": 2},
        {"population": "image_refs", "level": "chunk", "stored_bytes": 1, "layers": 2},
    ])
    assert whatif.chunk_ratio(chunk) == (0.8, 2)
    assert whatif.chunk_ratio(pd.DataFrame()) is None


def test_run_whatif_writes_modes_and_summary(spark, tmp_path):
    from jobs.whatif import run_whatif

    tables_dir, out = str(tmp_path / "tables"), str(tmp_path / "results")
    write_tables(tables_dir, whatif_rows())
    summary = run_whatif(spark, tables_dir, out, whatif.WhatifOptions(hot_shares=(0.3,)))
    modes = pd.read_csv(os.path.join(out, "whatif_modes.csv"))
    assert modes.set_index("mode").loc["B-mode 0", "stored_bytes"] == 24900
    with open(os.path.join(out, "whatif.json")) as fh:
        assert json.load(fh) == json.loads(json.dumps(summary, default=float))
    # three ok layers, the failed L4 skipped; 200 GETs; no store given, so nothing measured
    assert summary["inputs"] == {"layers": 3, "layers_skipped": 1, "gets": 200.0, "compressed_bytes": 7000,
                                 "uncompressed_bytes": 14300, "skeleton_bytes": 300, "unique_file_bytes": 8000, "unique_files": 4}
    assert summary["restore_rates"] is None and "get_cost_s" not in modes


def test_trace_files_of_either_shape(spark, tables, tmp_path):
    from jobs.whatif import read_trace

    counts = tmp_path / "counts.csv"
    counts.write_text(f"layer_digest,gets\n{L2},4\n{L2},1\n{L3},2\n")
    # a parsed trace (common/traces.py columns): successful blob GETs count, HEADs, errors and manifests do not
    parsed = tmp_path / "parsed.csv"
    parsed.write_text("kind,method,target,status\n" + "".join(
        f"{k},{m},{t},{s}\n" for k, m, t, s in [("blob", "GET", L2, 200), ("blob", "GET", L2, 200), ("blob", "GET", L3, 200),
                                                ("blob", "HEAD", L3, 200), ("blob", "GET", L3, 404), ("manifest", "GET", L1, 200)]))
    popularity = tmp_path / "layer_popularity.csv"  # as `hubscope trace stats` writes it
    popularity.write_text(f"layer_digest,get_count,size_bytes\n{L1},3,10\n")
    for path, expected in ((counts, {L2: 5.0, L3: 2.0, L1: 0.0}), (parsed, {L2: 2.0, L3: 1.0, L1: 0.0}),
                           (popularity, {L1: 3.0, L2: 0.0, L3: 0.0})):
        costs, _ = _inputs(tables, "trace", read_trace(spark, str(path)))
        assert dict(zip(costs["layer_digest"], costs["gets"])) == expected
