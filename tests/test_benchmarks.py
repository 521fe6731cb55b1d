"""The benchmarks are not timed here; the suite only checks that each one runs on a tiny input."""
import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def test_every_benchmark_runs_on_a_tiny_input():
    out = subprocess.run([sys.executable, os.path.join(ROOT, "benchmarks", "run.py"), "--tiny"],
                         capture_output=True, text=True, timeout=1500, cwd=ROOT)
    assert out.returncode == 0, out.stdout[-4000:] + out.stderr[-4000:]
    for name in ("scan", "typing", "typing_head", "crawl", "stats", "scaling", "memory", "replay", "restore"):
        assert f"=== {name}: ok" in out.stdout
    # each prints its comparison against the baseline run in the same script
    assert "vs gzip|sha" in out.stdout
    assert "scaling: 2 cores vs 1 core speed-up, untyped" in out.stdout
    assert "memory: ratio scan/baseline RSS" in out.stdout
    assert "MAGIC_NO_CHECK_TEXT" in out.stdout and "vs baseline" in out.stdout
    assert "typing head: smallest head within 0.5 points of a full read" in out.stdout
    assert "x the plain loop" in out.stdout
    assert "rebuild + gzip" in out.stdout and "x vs gzip -c" in out.stdout


def test_unknown_benchmark_is_a_usage_error():
    out = subprocess.run([sys.executable, os.path.join(ROOT, "benchmarks", "run.py"), "nope"],
                         capture_output=True, text=True, timeout=60, cwd=ROOT)
    assert out.returncode == 2
    assert "unknown benchmark" in out.stderr
