"""The crawl benchmark runs end to end in its tiny form (real registry, real skopeo)."""
from __future__ import annotations

import re

from crawler_testkit import require


def test_bench_crawl_tiny_smoke(capsys):
    require("skopeo", "skopeo")
    import importlib.util
    import pathlib

    path = pathlib.Path(__file__).resolve().parents[2] / "benchmarks" / "bench_crawl.py"
    spec = importlib.util.spec_from_file_location("bench_crawl", path)
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)  # loaded by path, unregistered, the way benchmarks/run.py loads it
    assert bench.main(["--tiny", "--concurrency", "4"]) == 0
    out = capsys.readouterr().out
    assert "crawled 20 images: 20 ok, 0 errors" in out
    assert out.count("crawled 20 images: 20 ok, 0 errors") == 2  # concurrency 1 and 4
    assert re.search(r"ratio vs dir: per image: hubscope \(concurrency 4\) is [\d.]+x the speed of sequential "
                     r"skopeo \(20 images", out)
    assert re.search(r"ratio vs oci: \+ shared blob dir: hubscope \(concurrency 1\) is [\d.]+x", out)
