"""The stats job end to end (CLI, Python API, spark-submit) and the HTML report's figures and numbers."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

import pandas as pd
import pytest
from click.testing import CliRunner

import content_corpus as cc
from analyze.report_command import report_command
from analyze.figures import FIGURES
from common.table_read import write_tables
from jobs.stats import stats_command


@pytest.fixture(scope="module")
def results(spark, tmp_path_factory):
    """`hubscope stats` with the content pass over the tiny store, then `hubscope report`."""
    root = tmp_path_factory.mktemp("e2e")
    built = cc.build(str(root / "store"))
    write_tables(str(root / "tables"), built["tables"])
    run = CliRunner().invoke(stats_command, ["--tables", str(root / "tables"), "--out", str(root / "results"),
                                             "--store", str(root / "store"), "--sample-layers", "2", "--seed", "1",
                                             "--zstd-levels", "1,3", "--json"])
    assert run.exit_code == 0, run.output
    printed = json.loads(run.stdout)  # --json: one document on stdout, the summary.json beside the results
    assert printed["schema"] == "hubscope.stats/v1" and printed["out"] == str(root / "results")
    written = json.loads((root / "results" / "summary.json").read_text())
    assert printed["summary"]["corpus"] == written["corpus"] and printed["summary"]["dedup"] == written["dedup"]
    rep = CliRunner().invoke(report_command, ["--results", str(root / "results"), "--out", str(root / "report")])
    assert rep.exit_code == 0, rep.output
    return root, built, rep.stdout.strip()


def test_results_written_as_parquet_and_csv(results):
    root, _, _ = results
    names = {f.rsplit(".", 1)[0] for f in os.listdir(root / "results") if f.endswith(".parquet")}
    csvs = {f.rsplit(".", 1)[0] for f in os.listdir(root / "results") if f.endswith(".csv")}
    assert names == csvs
    for required in ("dedup_overall", "type_class", "layer_sharing", "image_waste", "chunk_dedup", "recompression",
                     "os_distribution", "ecosystems", "growth_random", "growth_popularity", "repeat_counts",
                     "type_class_image_refs", "dedup_by_class_image_refs"):
        assert required in names
    assert len(pd.read_csv(root / "results" / "dedup_overall.csv")) == 3  # three populations


def test_summary_numbers_by_hand(results):
    root, built, _ = results
    summary = json.loads((root / "results" / "summary.json").read_text())
    small = len(cc.OS_DEBIAN) + len(cc.DPKG) + len(cc.OS_ALPINE) + len(cc.APK)
    blobs = summary["dedup"]["layer_blobs"]
    # 7 files (P1: 3, P2: 2, P3: 2), only /app/copy repeats a content: 6 unique; 40,000 of small + 120,000 bytes.
    assert (blobs["total_files"], blobs["unique_files"]) == (7, 6)
    assert blobs["dedup_capacity"] == pytest.approx(40_000 / (small + 120_000))
    assert summary["corpus"]["images"] == 3 and summary["corpus"]["layers_ok"] == 3
    assert summary["content"]["sampled_layers"] == 2  # --sample-layers 2
    assert set(summary["content"]["recompression_savings_vs_gzip"]) == {"1", "3"}
    assert summary["sharing"]["max_images_per_layer"] == 2  # P1 in X and Z
    eco = {e["ecosystem"]: e for e in summary["ecosystems"]}
    assert (eco["dpkg"]["images_with"], eco["dpkg"]["packages"], eco["apk"]["packages"]) == (2, 4, 2)


def test_report_is_one_self_contained_html_with_every_figure(results):
    root, _, printed = results
    assert printed == str(root / "report" / "index.html")
    page = open(printed, encoding="utf-8").read()
    for name in FIGURES:
        assert f'id="fig-{name}"' in page, name
        assert (root / "report" / "figures" / f"{name}.svg").exists()
    assert "src=\"http" not in page and "<script" not in page  # nothing fetched from elsewhere
    assert page.count("data:image/png;base64,") == len(FIGURES)


def test_report_puts_our_numbers_beside_the_published_ones(results):
    root, _, printed = results
    page = open(printed, encoding="utf-8").read()
    # unique files: 6 of 7 = 85.7 %, beside the study's ~3 % [C]; capacity dedup beside 85.69 % [S].
    assert "85.7 %" in page and "~3 % (3.2 %)" in page
    assert "85.69 % removable (~7x)" in page and "[S]" in page and "[C]" in page
    assert "Zhao et al." in page
    assert "analyzer speed" not in page  # [U] values are never shown as the study's


def test_spark_submit_stats_job(corpus_dir, tmp_path):
    bin_dir = os.path.dirname(sys.executable)
    env = dict(os.environ, PYSPARK_PYTHON=sys.executable, PYSPARK_DRIVER_PYTHON=sys.executable, SPARK_LOCAL_IP="127.0.0.1")
    job = os.path.join(os.path.dirname(__file__), "..", "..", "jobs", "stats.py")
    proc = subprocess.run(
        [os.path.join(bin_dir, "spark-submit"), "--master", "local[1]", "--conf", "spark.ui.enabled=false", job,
         "--tables", corpus_dir, "--out", str(tmp_path / "out")],
        env=env, capture_output=True, text=True, timeout=600,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert summary["dedup"]["image_refs"]["dedup_count"] == pytest.approx(0.6)  # the hand-built corpus: 6 of 10
    assert summary["waste"]["wasted_bytes"] == 110  # 100 (I2's deleted /bin/sh) + 10 (I1's /etc/passwd twice)


def test_layer_size_shares_for_the_ibm_comparison(results):
    root, built, _ = results
    summary = json.loads((root / "results" / "summary.json").read_text())
    # every tiny layer of the test store is far below 1 MB compressed
    assert summary["corpus"]["layers_under_1mb_compressed"] == 1.0
    assert "Anwar et al., FAST 2018 [C/S]" in open(root / "report" / "index.html", encoding="utf-8").read()


def test_stats_and_report_on_a_corpus_where_every_layer_failed(spark, tmp_path):
    rows = {
        "images": [{"image_digest": "sha256:" + "e" * 64, "repository": "demo/broken", "pull_count": 3}],
        "image_layers": [{"image_digest": "sha256:" + "e" * 64, "layer_index": 0, "layer_digest": "sha256:" + "1" * 64}],
        "layers": [{"layer_digest": "sha256:" + "1" * 64, "status": "error", "error_class": "gzip_truncated"}],
        "files": [],
    }
    write_tables(str(tmp_path / "tables"), rows)
    # the package-level name analyze.render_report is this function; under pytest
    # ``tests/analyze`` shadows the package's __init__, so import the modules
    from analyze.report import render_report
    from jobs.stats import run_stats

    summary = run_stats(spark, str(tmp_path / "tables"), str(tmp_path / "results"))
    assert summary["corpus"]["layers_error"] == 1 and summary["dedup"]["layer_blobs"]["total_files"] == 0
    assert summary["waste"]["wasted_bytes"] == 0
    assert os.path.exists(render_report(str(tmp_path / "results"), str(tmp_path / "report")))


def test_report_shows_the_registry_whatif_beside_duphunter(results, tmp_path):
    """`hubscope whatif` into the stats results (its chunk_dedup gives the chunk mode), then the report again."""
    from hubscope.cli import main as hubscope

    root, _, _ = results
    run = CliRunner().invoke(hubscope, ["whatif", "--tables", str(root / "tables"), "--out", str(root / "results"),
                                        "--store", str(root / "store"), "--calibrate-layers", "2"])
    assert run.exit_code == 0, run.output
    rep = CliRunner().invoke(report_command, ["--results", str(root / "results"), "--out", str(tmp_path / "report")])
    assert rep.exit_code == 0, rep.output
    page = open(rep.stdout.strip(), encoding="utf-8").read()
    assert "<h2>Registry what-if: DupHunter's dedup modes</h2>" in page and 'id="fig-whatif"' in page
    assert (tmp_path / "report" / "figures" / "whatif.svg").exists()
    # DupHunter's numbers are labelled as theirs; ours say where the restore rates were measured
    assert "DupHunter (Zhao et al., USENIX ATC 2020) published up to 6.9x less storage" in page and "2.8x" in page
    assert "Restore cost measured on this machine" in page and "MB/s per core" in page
    summary = json.load(open(root / "results" / "whatif.json"))
    chunk = pd.read_parquet(root / "results" / "chunk_dedup.parquet").query("population == 'layer_blobs'").set_index("level")
    ratio = chunk.loc["chunk", "stored_bytes"] / chunk.loc["file", "stored_bytes"]
    modes = pd.read_parquet(root / "results" / "whatif_modes.parquet").set_index("family")
    # chunk mode: R = 3 replicas of (unique file bytes x the sample's chunk/file ratio + every header skeleton)
    inputs = summary["inputs"]
    assert modes.loc["chunk", "stored_bytes"] == round(3 * (inputs["unique_file_bytes"] * ratio + inputs["skeleton_bytes"]))
    assert "chunk dedup (FastCDC, 2 sampled layers)" in page and "B-mode 0" in page


def test_report_says_when_the_content_pass_failed():
    """A content pass that could not read some layers is stated at the top, with its error classes."""
    from analyze.report import content_pass_status

    errors = pd.DataFrame({"layer_digest": ["sha256:" + "1" * 64, "sha256:" + "2" * 64, "sha256:" + "3" * 64],
                           "key": ["ModuleNotFoundError", "ModuleNotFoundError", "gzip_truncated"],
                           "value": ["No module named 'pyfastcdc'", "No module named 'pyfastcdc'", "truncated"]})
    note = content_pass_status({"content_errors": errors}, {"content": {"sampled_layers": 1}})
    assert "failed for 3 of 4 layers" in note  # 1 read + 3 failed
    assert "ModuleNotFoundError (2), gzip_truncated (1)" in note and "pyfastcdc" in note
    assert content_pass_status({"content_errors": errors.iloc[:0]}, {}) == ""
    assert content_pass_status({}, {}) == ""


CHROMIUM = next((shutil.which(b) for b in ("chromium", "chromium-browser", "google-chrome") if shutil.which(b)), None)


@pytest.mark.skipif(CHROMIUM is None, reason="no chromium (scripts/setup.sh installs it)")
def test_report_renders_in_headless_chromium(results, tmp_path):
    """The page a reader opens: Chromium renders it (figures decoded, text laid out), not a blank page."""
    from matplotlib.image import imread

    root, _, printed = results
    shot = tmp_path / "report.png"
    flags = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
             "--disable-component-update", "--disable-sync", f"--user-data-dir={tmp_path / 'profile'}",
             "--hide-scrollbars", "--window-size=1280,6000", f"--screenshot={shot}"]
    proc = subprocess.run([CHROMIUM, *flags, f"file://{printed}"], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0 and shot.exists(), proc.stderr[-2000:]
    pixels = imread(str(shot))[..., :3]
    assert pixels.shape[0] == 6000 and pixels.shape[1] == 1280
    ink = (pixels.mean(axis=2) < 0.9).mean()  # share of non-white pixels: text, tables and figures
    colour = ((pixels.max(axis=2) - pixels.min(axis=2)) > 0.2).mean()  # figure lines and bars are coloured
    assert ink > 0.02 and colour > 0.002, (ink, colour)
    shutil.copy(shot, root / "report-screenshot.png")  # kept beside the results for a look by eye


def test_tables_read_as_words_and_units():
    """Every header a label, bytes binary, shares as percentages, no scientific notation."""
    from analyze.report_format import column_label, readable, readable_percentiles

    df = pd.DataFrame({"layers_under_10mb_compressed": [0.7143], "compressed_bytes": [636_100], "file_rows": [7705],
                       "some_new_count": [3]})
    out = readable(df)
    assert list(out.columns) == ["layers under 10 MB (10^6 B) compressed", "compressed size",
                                 "tar entries (files, directories, links, ...)", "some new count"]
    assert out.iloc[0].tolist() == ["71.4 %", "621.2 KiB", "7,705", "3"]
    pct = pd.DataFrame({"metric": ["compressed_bytes", "file_count", "compression_ratio"],
                        "0.5": [636_100.0, 1234.4, 2.345], "0.9": [6.361e5, 5.5, 3.0]})
    table = readable_percentiles(pct, ["metric"])
    assert list(table.columns) == ["statistic", "p50", "p90"]
    assert table["p50"].tolist() == ["621.2 KiB", "1,234", "2.35"] and table["p90"].tolist()[1] == "6"
    assert "e+" not in table.to_string() and column_label("0.99") == "p99"
