"""Services for the scan-job tests: a Spark standalone master + worker on free loopback ports.

The moto S3 server and the AWS test credentials come from tests/conftest.py (shared with the crawler tests).
"""
from __future__ import annotations

import json
import os
import subprocess
import time
import urllib.request

import pytest

from hubscope.demo.localregistry import free_port
from jobs_sparkkit import VENV_BIN, spark_env  # noqa: F401  (spark_env is used by fixtures below)


def _wait(predicate, seconds: float, what: str, logs: list[str]) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            if predicate():
                return
        except OSError:
            pass
        time.sleep(0.5)
    tails = "\n".join(open(p).read()[-2000:] for p in logs if os.path.exists(p))
    pytest.fail(f"timed out waiting for {what}\n{tails}")


@pytest.fixture(scope="module")
def standalone_master(tmp_path_factory):
    """A Spark standalone master and one 2-core worker started with ``spark-class``; yields the master URL."""
    work = tmp_path_factory.mktemp("spark-standalone")
    port, ui, worker_ui = free_port(), free_port(), free_port()
    env = spark_env()
    env["SPARK_MASTER_OPTS"] = "-Dspark.master.rest.enabled=false"
    spark_class = os.path.join(VENV_BIN, "spark-class")
    logs = [str(work / "master.log"), str(work / "worker.log")]
    procs = []
    try:
        with open(logs[0], "w") as out:
            procs.append(subprocess.Popen([spark_class, "org.apache.spark.deploy.master.Master", "--host", "127.0.0.1",
                                           "--port", str(port), "--webui-port", str(ui)], stdout=out, stderr=subprocess.STDOUT, env=env))
        url = f"spark://127.0.0.1:{port}"
        _wait(lambda: urllib.request.urlopen(f"http://127.0.0.1:{ui}/json/", timeout=2).status == 200, 90, "the Spark master", logs)
        with open(logs[1], "w") as out:
            procs.append(subprocess.Popen([spark_class, "org.apache.spark.deploy.worker.Worker", url, "--host", "127.0.0.1",
                                           "--cores", "2", "--memory", "2g", "--webui-port", str(worker_ui),
                                           "--work-dir", str(work / "work")], stdout=out, stderr=subprocess.STDOUT, env=env))

        def worker_alive() -> bool:
            state = json.load(urllib.request.urlopen(f"http://127.0.0.1:{ui}/json/", timeout=2))
            return state.get("aliveworkers", 0) >= 1

        _wait(worker_alive, 90, "the Spark worker to register", logs)
        yield url
    finally:
        for proc in reversed(procs):
            proc.terminate()
        for proc in reversed(procs):
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
