"""The whole chain on the embedded default: registry + sample images -> crawl -> scan -> stats -> report.

One run, several checks: the demo is what a new user runs first, so it must work end to end on
real components and its report must carry real numbers.
"""
import json
import os
import re

import pyarrow.parquet as pq
import pytest

from hubscope.demo.sample_images import SAMPLE_IMAGES

pytestmark = pytest.mark.slow  # the whole chain on real services: left out by `-m "not slow"`


@pytest.fixture(scope="module")
def demo(tmp_path_factory, spark):
    from hubscope.demo.pipeline import run_demo

    workdir = tmp_path_factory.mktemp("demo")
    html = run_demo(str(workdir), master="local[2]", deb_cache=str(tmp_path_factory.mktemp("debs")))
    return workdir, html


def test_demo_writes_the_report(demo):
    workdir, html = demo
    assert html == os.path.join(str(workdir), "report", "index.html")
    text = open(html, encoding="utf-8").read()
    figures = re.findall(r'<img alt="[^"]+" src="data:image/png;base64,', text)
    assert len(figures) >= 4
    assert "Zhao" in text  # the reference study's values are shown beside ours, with their source


def test_demo_tables_hold_every_sample_image_and_layer(demo):
    workdir, _ = demo
    images = pq.read_table(os.path.join(workdir, "tables", "images")).to_pylist()
    assert sorted((r["repository"], r["tag"]) for r in images) == sorted((i.repository, i.tag) for i in SAMPLE_IMAGES)
    layers = pq.read_table(os.path.join(workdir, "tables", "layers")).to_pylist()
    recipes = {name for image in SAMPLE_IMAGES for name in image.layers}
    assert len(layers) == len(recipes)  # shared base layers are stored and scanned once
    assert {r["status"] for r in layers} == {"ok"}
    assert all(r["compression"] == "gzip" and r["compression_ratio"] > 1 for r in layers)


def test_demo_numbers_in_the_report_match_the_results(demo):
    workdir, html = demo
    summary = json.load(open(os.path.join(workdir, "results", "summary.json")))
    assert summary["corpus"]["images"] == len(SAMPLE_IMAGES)
    # Files are stored again in the flattened image and the chmod copy-up: dedup must see it.
    dedup = summary["dedup"]["layer_blobs"]
    assert 0 < dedup["dedup_capacity"] < 1
    assert dedup["unique_bytes"] < dedup["total_bytes"]
    text = open(html, encoding="utf-8").read()
    assert f"{dedup['dedup_capacity'] * 100:.1f}" in text


def test_demo_files_are_real_debian_content(demo):
    workdir, _ = demo
    files = pq.read_table(os.path.join(workdir, "tables", "files"), columns=["path", "type_class", "magic_description"])
    paths = set(files.column("path").to_pylist())
    assert "/usr/bin/python3.11" in paths
    assert "/etc/debian_version" in paths
    classes = set(files.column("type_class").to_pylist())
    assert {"executable", "script", "document"} <= classes
