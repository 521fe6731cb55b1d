"""The scan job outside the test's own session: killed mid-run, via spark-submit on a standalone cluster, on S3."""
from __future__ import annotations

import glob
import os
import signal
import subprocess
import sys
import time

from click.testing import CliRunner

import jobs.scan as scan_module
from common.digest import Digest
from common.records import RecordLog
from common.storage import LocalBlobStore, StoreConfig
from common.stores import open_store
from jobs.scan import run_scan, scan_command
from jobs_storekit import add_image, demo_store, text_layer
from test_scan_job import comparable

from jobs_sparkkit import VENV_BIN, spark_env

SCAN_PY = os.path.abspath(scan_module.__file__)
SLOW_SCAN = os.path.join(os.path.dirname(os.path.abspath(__file__)), "slow_scan")  # its sitecustomize sleeps per layer


def _more_images(store: str) -> None:
    log = RecordLog(store, run_id="more")
    for i in range(6):
        add_image(store, log, f"demo/more{i}", "v1", [text_layer(f"more{i}", 4 + i)], finished_at=1_700_000_100.0 + i)


def test_killed_run_leaves_tables_intact_and_rerun_matches_uninterrupted(spark, tmp_path):
    store, tables, fresh = str(tmp_path / "store"), str(tmp_path / "tables"), str(tmp_path / "fresh")
    demo_store(store)
    run_scan(store, tables, spark=spark, magic=False)
    committed = os.path.realpath(os.path.join(tables, "current"))
    before = comparable(tables)
    _more_images(store)

    env = spark_env()
    env["HUBSCOPE_TEST_SCAN_DELAY_S"] = "3"
    env["PYTHONPATH"] = os.pathsep.join(p for p in (SLOW_SCAN, env.get("PYTHONPATH")) if p)
    proc = subprocess.Popen([sys.executable, "-m", "jobs.scan", "--store", store, "--tables", tables, "--master", "local[2]",
                             "--no-magic", "--tasks", "4"], env=env, start_new_session=True,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 180
        parts = []
        while time.monotonic() < deadline and proc.poll() is None:
            parts = [p for p in glob.glob(os.path.join(tables, ".generations", "*", "files", "part-*.parquet"))
                     if not p.startswith(committed)]
            if parts:
                break
            time.sleep(0.2)
        assert parts and proc.poll() is None, "the run finished or never wrote a part before it could be killed"
    finally:
        os.killpg(proc.pid, signal.SIGKILL)  # the driver, its JVM and the Python workers: one process group
        proc.wait()

    assert os.path.realpath(os.path.join(tables, "current")) == committed
    assert comparable(tables) == before  # a half-done generation is invisible

    summary = run_scan(store, tables, spark=spark, magic=False)
    assert (summary.scanned, summary.ok, summary.error, summary.skipped) == (7, 6, 1, 3)
    run_scan(store, fresh, spark=spark, magic=False)
    assert comparable(tables) == comparable(fresh)
    generations = os.listdir(os.path.join(tables, ".generations"))
    assert all(os.path.exists(os.path.join(tables, ".generations", g, "_COMMITTED.json")) for g in generations)


def test_spark_submit_on_a_standalone_cluster_matches_local_mode(standalone_master, spark, tmp_path):
    store, local, cluster = str(tmp_path / "store"), str(tmp_path / "local"), str(tmp_path / "cluster")
    demo_store(store)
    run_scan(store, local, spark=spark, magic=True)
    cmd = [os.path.join(VENV_BIN, "spark-submit"), "--master", standalone_master,
           "--conf", "spark.cores.max=2", "--conf", "spark.executor.memory=1g", "--conf", "spark.ui.enabled=false",
           SCAN_PY, "--store", store, "--tables", cluster]
    result = subprocess.run(cmd, env=spark_env(), capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-4000:]
    assert "scanned 4 layers: 3 ok, 1 error; 47 files" in result.stdout
    assert comparable(cluster) == comparable(local)


def test_s3_store_on_moto_gives_the_same_tables(moto_s3, spark, tmp_path):
    local_store, local, s3_tables = str(tmp_path / "store"), str(tmp_path / "local"), str(tmp_path / "s3tables")
    demo_store(local_store)
    s3 = open_store(StoreConfig(url="s3://hubscope-scan/crawl", s3_endpoint=moto_s3))
    s3.ensure_bucket()
    source = LocalBlobStore(StoreConfig(url=local_store))
    for digest in source.digests():
        s3.put_bytes(digest, source.read_bytes(digest))
    assert sorted(s3.digests()) == sorted(source.digests())
    run_scan(local_store, local, spark=spark, magic=False)
    result = CliRunner().invoke(scan_command, ["--store", "s3://hubscope-scan/crawl", "--s3-endpoint", moto_s3,
                                               "--records", local_store, "--tables", s3_tables, "--no-magic"])
    assert result.exit_code == 0, result.output
    assert result.output.startswith("scanned 4 layers: 3 ok, 1 error; 47 files")
    assert comparable(s3_tables) == comparable(local)


def test_s3_store_needs_a_records_folder(tmp_path):
    result = CliRunner().invoke(scan_command, ["--store", "s3://bucket/x", "--tables", str(tmp_path / "t")])
    assert result.exit_code != 0 and "--records is required" in result.output


def test_missing_blob_is_an_error_row(spark, tmp_path):
    store, tables = str(tmp_path / "store"), str(tmp_path / "tables")
    d = demo_store(store)
    os.unlink(LocalBlobStore(StoreConfig(url=store)).path(Digest.parse(d["app"])))
    summary = run_scan(store, tables, spark=spark, magic=False)
    assert summary.line() == "scanned 4 layers: 2 ok, 2 error; 42 files"
    layers = {r["layer_digest"]: r for r in __import__("pyarrow.parquet").parquet.read_table(os.path.join(tables, "layers")).to_pylist()}
    assert layers[d["app"]]["error_class"] == "blob_missing"
