"""The what-if stage end to end: under spark-submit on a scanned store (restore measured on its blobs),
and as ``hubscope whatif`` reusing that calibration with a trace's GET counts."""
from __future__ import annotations

import json
import os
import subprocess

import pandas as pd
import pyarrow.parquet as pq
from click.testing import CliRunner

import jobs.whatif as whatif_module
from hubscope.cli import main as hubscope
from jobs.scan import run_scan
from jobs_sparkkit import VENV_BIN, spark_env
from jobs_storekit import demo_store

WHATIF_PY = os.path.abspath(whatif_module.__file__)


def _ok_layers(tables: str) -> pd.DataFrame:
    layers = pq.read_table(os.path.join(tables, "layers")).to_pandas()
    return layers[layers["status"] == "ok"]


def test_spark_submit_measures_restore_and_writes_every_mode(spark, tmp_path):
    store, tables, out = str(tmp_path / "store"), str(tmp_path / "tables"), str(tmp_path / "results")
    digests = demo_store(store)  # 4 layers, one truncated
    run_scan(store, tables, spark=spark, magic=False)
    cmd = [os.path.join(VENV_BIN, "spark-submit"), "--master", "local[2]", "--conf", "spark.ui.enabled=false",
           WHATIF_PY, "--tables", tables, "--out", out, "--store", store, "--calibrate-layers", "8", "--replicas", "2"]
    result = subprocess.run(cmd, env=spark_env(), capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-4000:]
    assert "what-if in" in result.stdout and "R=2" in result.stdout

    with open(os.path.join(out, "whatif.json")) as fh:
        summary = json.load(fh)
    ok = _ok_layers(tables)
    # the three readable layers are calibrated (the truncated one has status error and is not sampled). These
    # tars were written by Python's tarfile (PAX format, no user/group names, whole-second mtimes) from fields the
    # files table keeps, so even the table alone rebuilds them byte for byte (unlike the .deb trees of test_restore)
    assert summary["restore_checks"] == {"layers": 3, "errors": 0, "entries_match": 3, "diff_id_match": 3,
                                         "blob_digest_match": 3, "table_entries_match": 3, "diff_id_from_table": 3}
    rates = summary["restore_rates"]
    assert rates["layers"] == 3 and rates["tar_bytes"] == int(ok["uncompressed_bytes"].sum())
    assert rates["rebuild_gzip_mbps"] > 0 and rates["rebuild_tar_mbps"] > 0 and rates["serve_mbps"] > 0
    assert summary["machine"]["cores"] and summary["inputs"]["layers_skipped"] == 1
    assert digests["broken"] not in set(pd.read_csv(os.path.join(out, "restore_calibration.csv"))["layer_digest"])

    modes = pd.read_csv(os.path.join(out, "whatif_modes.csv")).set_index("mode")
    # R = 2: none stores each ok blob twice; B-mode 1 one blob + one dedup set; B-mode 0 restores every GET
    compressed = int(ok["compressed_bytes"].sum())
    assert modes.loc["none", "stored_bytes"] == 2 * compressed
    dedup_set = summary["inputs"]["unique_file_bytes"] + summary["inputs"]["skeleton_bytes"]
    assert modes.loc["B-mode 1", "stored_bytes"] == compressed + dedup_set
    assert modes.loc["B-mode 0", "restore_share"] == 1.0 and modes.loc["B-mode 1", "restore_share"] == 0.0
    assert modes.loc["B-mode 0", "get_cost_s"] > 0 and modes.loc["B-mode 0", "get_speedup_vs_global"] == 1.0


def test_cli_reuses_a_calibration_and_reads_a_trace(spark, tmp_path):
    store, tables = str(tmp_path / "store"), str(tmp_path / "tables")
    digests = demo_store(store)
    run_scan(store, tables, spark=spark, magic=False)
    first = CliRunner().invoke(hubscope, ["whatif", "--tables", tables, "--out", str(tmp_path / "a"), "--store", store,
                                          "--calibrate-layers", "1"])
    assert first.exit_code == 0, first.output
    trace = tmp_path / "trace.csv"
    trace.write_text(f"layer_digest,gets\n{digests['app']},7\n{digests['base']},3\n")
    second = CliRunner().invoke(hubscope, ["whatif", "--tables", tables, "--out", str(tmp_path / "b"), "--popularity", str(trace),
                                           "--calibration", str(tmp_path / "a" / "whatif.json"), "--hot-share", "0.34"])
    assert second.exit_code == 0, second.output
    with open(tmp_path / "a" / "whatif.json") as fa, open(tmp_path / "b" / "whatif.json") as fb:
        a, b = json.load(fa), json.load(fb)
    assert b["restore_rates"] == a["restore_rates"] and b["options"]["popularity_used"] == "trace"
    assert b["inputs"]["gets"] == 10.0  # 7 + 3; the third ok layer is not in the trace
    modes = pd.read_csv(tmp_path / "b" / "whatif_modes.csv").set_index("mode")
    # 3 ok layers, top 34 % = ceil(1.02) = 2 hot (app, base): every GET has a full replica
    assert modes.loc["S-mode top 34 %", "hot_layers"] == 2 and modes.loc["S-mode top 34 %", "restore_share"] == 0.0
    bad = CliRunner().invoke(hubscope, ["whatif", "--tables", tables, "--out", str(tmp_path / "c"), "--popularity", "nope"])
    assert bad.exit_code == 2 and "expected pulls, uniform or a trace file" in bad.output
