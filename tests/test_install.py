"""A plain ``pip install .`` is whole: the demo's content pass runs in a fresh venv without dev extras.

The first-hour defect this guards: ``pyfastcdc`` sat in ``[dev]`` only, so a user's install exited 0
while the content pass failed for every layer. Here a non-editable install into a fresh venv (no
system site-packages, run from outside the repository so nothing is imported from the checkout)
runs ``hubscope demo``; the content pass must have read its sample with no errors.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _copy_sources(dest: str) -> None:
    """The files git would ship (tracked and new, not ignored): no venv, no build leftovers in the checkout."""
    listed = subprocess.run(["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"], cwd=ROOT,
                            capture_output=True, check=True).stdout.decode().split("\0")
    for rel in filter(None, listed):
        src = os.path.join(ROOT, rel)
        if os.path.isfile(src):
            os.makedirs(os.path.dirname(os.path.join(dest, rel)), exist_ok=True)
            shutil.copy2(src, os.path.join(dest, rel))


@pytest.mark.slow
@pytest.mark.timeout(3600)  # pip install + the whole demo: ~4 min idle, far longer on shared cores
def test_plain_pip_install_runs_the_demo_with_the_content_pass(tmp_path):
    src, venv, work = tmp_path / "src", tmp_path / "venv", tmp_path / "work"
    _copy_sources(str(src))
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)  # no --system-site-packages
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYSPARK_PYTHON", "PYSPARK_DRIVER_PYTHON",
                                                               "VIRTUAL_ENV", "SPARK_HOME")}
    env["PATH"] = f"{venv / 'bin'}{os.pathsep}{env.get('PATH', '')}"
    pip = subprocess.run([str(venv / "bin" / "pip"), "install", "-q", str(src)], env=env, cwd=tmp_path,
                         capture_output=True, text=True, timeout=900)
    assert pip.returncode == 0, pip.stderr[-3000:]
    assert subprocess.run([str(venv / "bin" / "pip"), "check"], env=env, capture_output=True).returncode == 0

    demo = subprocess.run([str(venv / "bin" / "hubscope"), "demo", "--workdir", str(work)], env=env, cwd=tmp_path,
                          capture_output=True, text=True, timeout=3000)
    assert demo.returncode == 0, demo.stderr[-3000:]
    # quiet by default: no window without a partition (430 warnings before), no Spark INFO lines
    assert "No Partition Defined" not in demo.stderr
    assert " INFO SparkContext" not in demo.stderr and " INFO DAGScheduler" not in demo.stderr
    report = demo.stdout.strip().splitlines()[-1]
    assert report == str(work / "report" / "index.html")
    summary = json.loads((work / "results" / "summary.json").read_text())
    assert summary["content"]["errors"] == 0
    assert summary["content"]["sampled_layers"] > 0  # chunk dedup measured over a real sample
    assert summary["content"]["savings"]  # chunk / file / layer savings present
    page = open(report, encoding="utf-8").read()
    assert "content-errors" not in page and 'id="fig-savings"' in page
