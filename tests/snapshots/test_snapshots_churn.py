"""Snapshots end to end on a real registry: crawl A, change the registry, crawl B, scan, churn statistics.

Between the snapshots (``snapshots_kit``): app:v2 pushed (rebuilt on the shared base B0),
app:stable and web:v1 retagged, new:latest pushed, old:latest deleted. Every churn number below is
worked out by hand from the kit's table of layers and files.
"""
from __future__ import annotations

import os
import shutil

import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner

from analyze.churn_report import CHURN_FIGURES, TITLE, churn_section
from analyze.snapshots import churn_results, snapshot_names, snapshot_view
from common.table_read import load_tables
from common.records import latest_records
from crawler.crawl_command import crawl
from hubscope.demo.localregistry import LocalRegistry
from jobs.scan import run_scan
from jobs.stats import write_result
from snapshots_kit import AFTER_PUSHES, BEFORE, DELETED, build_images, delete, push


def _crawl(registry, store: str, snapshot: str):
    result = CliRunner().invoke(crawl, ["--registry", registry.url, "--store", store, "--catalog", "--tags", "all",
                                        "--snapshot", snapshot, "--no-progress"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.output


@pytest.fixture(scope="module")
def two_snapshots(tmp_path_factory, spark):
    work = tmp_path_factory.mktemp("snapshots")
    images = build_images(str(work / "layout"))
    store, tables, results = str(work / "store"), str(work / "tables"), str(work / "results")
    with LocalRegistry(str(work / "registry")) as registry:
        push(images, registry.host, BEFORE)
        out_a = _crawl(registry, store, "A")
        scan_a = run_scan(store, tables, spark=spark, magic=False)
        push(images, registry.host, AFTER_PUSHES)
        delete(images, registry.url, DELETED, "old")
        out_b = _crawl(registry, store, "B")
    scan_b = run_scan(store, tables, spark=spark, magic=False)
    # the churn results as the stats job computes them (the whole stats job takes minutes on 2 shared cores)
    loaded = load_tables(spark, tables)
    names = snapshot_names(loaded["images"])
    os.makedirs(results)
    for name, build in churn_results(loaded, names, ("A", "B")).items():
        write_result(build().toPandas(), results, name)
    return dict(images=images, store=store, tables=tables, results=results, scans=(scan_a, scan_b),
                outputs=(out_a, out_b), names=names, view=snapshot_view(loaded, names[-1]))


def _result(run, name: str):
    return pq.read_table(os.path.join(run["results"], f"{name}.parquet")).to_pylist()


def test_records_and_images_keep_every_snapshot(two_snapshots):
    records = [r for r in latest_records(two_snapshots["store"]).values() if r.status == "ok"]
    tags = {snap: sorted(f"{r.repository}:{r.tag}" for r in records if r.snapshot == snap) for snap in ("A", "B")}
    assert tags == {"A": ["snap/app:stable", "snap/app:v1", "snap/base:1", "snap/old:latest", "snap/web:v1"],
                    "B": ["snap/app:stable", "snap/app:v1", "snap/app:v2", "snap/base:1", "snap/new:latest", "snap/web:v1"]}
    # B's unchanged tags were carried over after a HEAD (base:1, app:v1), not fetched again
    assert "2 already done" in two_snapshots["outputs"][1]
    d = {n: desc["digest"] for n, desc in two_snapshots["images"].descriptors.items()}
    images = pq.read_table(os.path.join(two_snapshots["tables"], "images")).to_pylist()
    history = {(r["snapshot"], r["repository"], r["tag"]): r["image_digest"] for r in images}
    # tag -> digest history: app:stable and web:v1 each have both digests
    assert history[("A", "snap/app", "stable")] == d["app1"] and history[("B", "snap/app", "stable")] == d["app2"]
    assert history[("A", "snap/web", "v1")] == d["web1"] and history[("B", "snap/web", "v1")] == d["web2"]
    assert len(images) == 5 + 6


def test_second_scan_adds_only_new_layers(two_snapshots):
    scan_a, scan_b = two_snapshots["scans"]
    assert (scan_a.scanned, scan_a.skipped) == (4, 0)  # B0 A1 O1 W1
    assert (scan_b.scanned, scan_b.skipped) == (3, 4)  # A2 W2 N1 new; B0 A1 O1 W1 already ok
    layers = pq.read_table(os.path.join(two_snapshots["tables"], "layers"))
    assert layers.num_rows == 7  # every snapshot's layers are kept


def test_churn_counts(two_snapshots):
    size = two_snapshots["images"].layer_bytes
    got = {(r["entity"], r["kind"]): (r["count"], r["bytes"]) for r in _result(two_snapshots, "churn")}
    assert got == {
        ("repository", "added"): (1, None),  # snap/new
        ("repository", "removed"): (1, None),  # snap/old
        ("repository", "kept"): (3, None),  # base app web
        ("tag", "added"): (2, None),  # app:v2, new:latest
        ("tag", "removed"): (1, None),  # old:latest
        ("tag", "retagged"): (2, None),  # app:stable, web:v1
        ("tag", "unchanged"): (2, None),  # base:1, app:v1
        ("layer", "added"): (3, size["A2"] + size["W2"] + size["N1"]),
        ("layer", "removed"): (2, size["O1"] + size["W1"]),  # no longer referenced
        ("layer", "kept"): (2, size["B0"] + size["A1"]),
    }
    kinds = {(r["repository"], r["tag"]): r["kind"] for r in _result(two_snapshots, "churn_tags")}
    assert kinds == {("snap/app", "stable"): "retagged", ("snap/app", "v1"): "unchanged", ("snap/app", "v2"): "added",
                     ("snap/base", "1"): "unchanged", ("snap/new", "latest"): "added", ("snap/old", "latest"): "removed",
                     ("snap/web", "v1"): "retagged"}


def test_already_stored_layer_and_file_level(two_snapshots):
    size = two_snapshots["images"].layer_bytes
    got = {r["level"]: r for r in _result(two_snapshots, "churn_stored")}
    layer_total = size["B0"] + size["A1"] + size["A2"] + size["W2"] + size["N1"]
    assert (got["layer"]["total_bytes"], got["layer"]["already_stored_bytes"]) == (layer_total, size["B0"] + size["A1"])
    # B's unique layers' files: B0 2120 + A1 940 + A2 940 + W2 670 + N1 2450 = 7120 bytes;
    # contents A held: all of B0 and A1 (3060), A2's util.py (340), N1's libc copy (2000) = 5400
    assert (got["file"]["total_bytes"], got["file"]["already_stored_bytes"]) == (7120, 5400)
    assert got["file"]["already_stored_share"] == pytest.approx(5400 / 7120)


def test_dedup_per_snapshot(two_snapshots):
    size = two_snapshots["images"].layer_bytes
    got = {r["snapshot"]: r for r in _result(two_snapshots, "snapshots")}
    assert [r["snapshot"] for r in _result(two_snapshots, "snapshots")] == ["A", "B"]
    a, b = got["A"], got["B"]
    assert (a["repositories"], a["tags"], a["images"], a["layers"]) == (4, 5, 4, 4)  # app:v1 = app:stable in A
    assert (b["repositories"], b["tags"], b["images"], b["layers"]) == (4, 6, 5, 5)  # app:v2 = app:stable in B
    # A: files os 120, libc 2000, main1 600, util 340, old 900, index1 390, libc again 2000 -> 7 files 6350 bytes,
    # 6 unique 4350 bytes
    assert (a["total_files"], a["unique_files"], a["file_bytes"], a["unique_file_bytes"]) == (7, 6, 6350, 4350)
    assert a["file_dedup_capacity"] == pytest.approx(2000 / 6350)
    # B: 10 files 7120 bytes; unique: os libc main1 util main2 index2 css readme = 8 files, 4780 bytes
    assert (b["total_files"], b["unique_files"], b["file_bytes"], b["unique_file_bytes"]) == (10, 8, 7120, 4780)
    assert b["file_dedup_count"] == pytest.approx(2 / 10)
    # layer level: each distinct image's layers once; A: base, app1 (B0 A1), old, web1
    a_refs = size["B0"] + (size["B0"] + size["A1"]) + size["O1"] + size["W1"]
    assert a["layer_bytes"] == size["B0"] + size["A1"] + size["O1"] + size["W1"]
    assert a["layer_dedup"] == pytest.approx(1 - a["layer_bytes"] / a_refs)
    b_refs = 3 * size["B0"] + size["A1"] + size["A2"] + size["W2"] + size["N1"]
    assert b["referenced_layer_bytes"] == b_refs
    assert b["layer_dedup"] == pytest.approx(1 - (size["B0"] + size["A1"] + size["A2"] + size["W2"] + size["N1"]) / b_refs)


def test_other_statistics_describe_the_newest_snapshot(two_snapshots):
    assert two_snapshots["names"] == ["A", "B"]
    view, digests = two_snapshots["view"], two_snapshots["images"].layer_digests
    assert view["images"].count() == 6 and view["images"].select("image_digest").distinct().count() == 5
    used = {digests[n] for n in ("B0", "A1", "A2", "W2", "N1")}
    assert {r.layer_digest for r in view["layers"].collect()} == used
    assert {r.layer_digest for r in view["files"].select("layer_digest").distinct().collect()} == used
    assert view["files"].count() == 10


def test_report_section_only_with_two_snapshots(two_snapshots, tmp_path):
    from analyze.figures import render_figures
    from analyze.report import _img, _table, load_results

    frames = load_results(two_snapshots["results"])
    figures = render_figures(frames, str(tmp_path / "figures"), CHURN_FIGURES)
    assert sorted(figures) == ["churn", "churn_stored", "snapshots"]  # no listing totals in these results
    page = "".join(churn_section(frames, figures, _img, _table))
    assert page.startswith(f"<h2>{TITLE}</h2>") and 'id="fig-churn"' in page and "tbl-churn_stored" in page
    assert churn_section({}, {}, _img, _table) == []  # results of one snapshot: no section


def test_retention_keeps_the_newest_snapshot_and_its_layers(two_snapshots, tmp_path, spark):
    tables = str(tmp_path / "tables")
    shutil.copytree(two_snapshots["tables"], tables, symlinks=True)
    summary = run_scan(two_snapshots["store"], tables, spark=spark, magic=False, keep_snapshots=1)
    assert summary.scanned == 0
    images = pq.read_table(os.path.join(tables, "images"))
    assert set(images.column("snapshot").to_pylist()) == {"B"}
    digests = two_snapshots["images"].layer_digests
    kept = {digests[n] for n in ("B0", "A1", "A2", "W2", "N1")}
    assert set(pq.read_table(os.path.join(tables, "layers")).column("layer_digest").to_pylist()) == kept
    files = pq.read_table(os.path.join(tables, "files"))
    assert set(files.column("layer_digest").to_pylist()) == kept
    assert files.num_rows == 10  # B's unique layers hold 10 files; O1's and W1's rows are gone
    assert pc.sum(files.column("size_bytes")).as_py() == 7120
