"""Restore cost of a deduplicating registry: rebuilding real layers from a file-deduplicated store on disk.

Inputs are ``bench_scan``'s realistic corpus (Debian packages, shared .deb cache). Every layer is
split into ``jobs.restore.FileStore`` (each unique file once, plus the layer's header skeleton),
then rebuilt in the original order: uncompressed, and gzipped (zlib level 6) as a registry serves
it. The baseline, in the same run: ``gzip -c`` of the same tar read from a file. Rates are MB (10^6
bytes of uncompressed tar) per CPU second of the one process doing the work (median of the runs).

    python benchmarks/bench_restore.py [--tiny] [--size-mb 600] [--runs 3]
"""
from __future__ import annotations

import argparse
import hashlib
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from typing import Callable, Optional

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))
sys.path.insert(0, HERE)

from bench_scan import GROUPS, LAYERS, TINY_GROUPS, TINY_LAYERS, realistic_layers  # noqa: E402
from jobs.restore import FileStore, GzipSink  # noqa: E402

MB = 1e6


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def cpu_of(fn: Callable[[], object]) -> float:
    start = time.process_time()
    fn()
    return time.process_time() - start


def gzip_c(path: str) -> float:
    """CPU seconds of ``gzip -c FILE > /dev/null`` (the child's own usage)."""
    before = _children_cpu()
    with open(os.devnull, "wb") as null:
        subprocess.run(["gzip", "-6", "-c", path], stdout=null, check=True)
    return _children_cpu() - before


def measure(raws: dict[str, bytes], workdir: str, runs: int) -> dict[str, float]:
    """Median MB/s per core of each way, over ``runs`` rounds of the whole corpus."""
    store = FileStore(os.path.join(workdir, "filestore"))
    tar_paths = {}
    for name, raw in raws.items():
        store.put_layer(name, raw)
        tar_paths[name] = os.path.join(workdir, f"{name}.tar")
        with open(tar_paths[name], "wb") as fh:
            fh.write(raw)
        check = hashlib.sha256()
        store.rebuild(name, check.update)
        assert check.digest() == hashlib.sha256(raw).digest(), f"{name}: rebuilt tar differs"
    total = sum(len(r) for r in raws.values()) / MB

    def rebuild_gzip() -> None:
        for name in raws:
            sink = GzipSink()
            store.rebuild(name, sink.write)
            sink.close()

    ways = {
        "rebuild + gzip": lambda: cpu_of(rebuild_gzip),
        "rebuild only": lambda: cpu_of(lambda: [store.rebuild(name, lambda b: None) for name in raws]),
        "gzip -c (baseline)": lambda: sum(gzip_c(p) for p in tar_paths.values()),
    }
    return {way: total / statistics.median(run() for _ in range(runs)) for way, run in ways.items()}


def main(argv: Optional[list[str]] = None) -> dict[str, float]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tiny", action="store_true", help="a few MB of small packages: checks that the benchmark runs")
    parser.add_argument("--size-mb", type=float, default=600, help="uncompressed size of the corpus (prefix of the recipes)")
    parser.add_argument("--runs", type=int, default=3, help="rounds per way (the median is reported)")
    parser.add_argument("--cache", default=os.path.join(HERE, "out", "bench-scan-cache"), help="where .deb files are kept")
    args = parser.parse_args(argv)
    groups, layers = (TINY_GROUPS, TINY_LAYERS) if args.tiny else (GROUPS, LAYERS)
    raws = realistic_layers(groups, layers, 1e9 if args.tiny else args.size_mb, args.cache)
    workdir = tempfile.mkdtemp(prefix="hubscope-bench-restore-")
    try:
        rates = measure(raws, workdir, 1 if args.tiny else args.runs)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    total = sum(len(r) for r in raws.values()) / MB
    print(f"restore: {len(raws)} layers, {total:,.1f} MB of tar (MB/s of uncompressed tar per core, by CPU time)")
    base = rates["gzip -c (baseline)"]
    for way, rate in rates.items():
        print(f"  {way:<20} {rate:8.1f} MB/s   {rate / base:6.2f}x vs gzip -c")
    return rates


if __name__ == "__main__":
    main()
    sys.exit(0)
