"""A Docker Hub search crawl scans: search v4's text pull counts ("1M+") become a lower bound plus the text.

Crawl against the listing stand-in (real registry behind it), then the real scan and stats jobs.
"""
from __future__ import annotations

import json

import pandas as pd
import pyarrow.parquet as pq
from click.testing import CliRunner

from analyze.results import StatsOptions
from jobs.stats import run_stats
from crawler.crawl_command import crawl as crawl_command
from jobs.image_tables import parse_pull_count
from jobs.scan import run_scan


def test_parse_pull_count_lower_bounds():
    assert parse_pull_count("1M+") == (1_000_000, "1M+")
    assert parse_pull_count("10K+") == (10_000, "10K+")
    assert parse_pull_count("1B+") == (1_000_000_000, "1B+")
    assert parse_pull_count("1.5M+") == (1_500_000, "1.5M+")
    assert parse_pull_count("0") == (0, None)
    assert parse_pull_count(3000) == (3000, None)
    assert parse_pull_count("lots") == (None, "lots")
    assert parse_pull_count(None) == (None, None)


def test_hub_search_crawl_scans_and_stats(hub, pushed, tmp_path, spark):
    store, tables, out = tmp_path / "store", tmp_path / "tables", tmp_path / "results"
    result = CliRunner().invoke(crawl_command, ["--registry", pushed.url, "--store", str(store), "--hub-url", hub.url,
                                                "--hub-search", "demo", "--hub-limit", "2"])
    assert result.exit_code == 0, result.output

    summary = run_scan(str(store), str(tables), spark=spark, magic=False)
    assert summary.ok > 0 and summary.error == 0
    images = pq.read_table(tables / "images").to_pandas()
    by_repo = images.groupby("repository").first()
    # the stand-in lists demo/oci as "1M+" (updated 2025-01-02T03:04:05Z) and demo/schema2 as "10K+"
    assert by_repo.loc["demo/oci", ["pull_count", "pull_count_text", "last_updated"]].tolist() == [
        1_000_000, "1M+", "2025-01-02T03:04:05Z"]
    assert by_repo.loc["demo/schema2", ["pull_count", "pull_count_text", "last_updated"]].tolist() == [
        10_000, "10K+", "2025-02-02T03:04:05Z"]

    run_stats(spark, str(tables), str(out), StatsOptions())
    buckets = pd.read_parquet(out / "popularity_buckets.parquet").set_index("pulls")["images"].to_dict()
    expected = {"1e6-1e7": int((images.repository == "demo/oci").sum()),
                "1e4-1e5": int((images.repository == "demo/schema2").sum())}
    assert buckets == expected
    assert json.loads((out / "summary.json").read_text())["corpus"]["images"] == len(images)
