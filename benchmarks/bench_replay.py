"""Replay benchmark: the trace player's ``run`` vs a plain loop of HTTP GETs of the same blobs, same run.

Generates a synthetic trace (published shape, layer sizes clipped so the corpus fits on a laptop),
warms a local distribution registry up with it, then times, against the same registry and the same
list of blobs in the same order:

- hubscope: ``traces.replay.run`` as fast as possible, at concurrency 1 and N;
- baseline: one ``requests.Session`` GETting each blob in a ``for`` loop (reading every body).

Prints requests/s and MB/s of each and the ratio to the baseline. ``--tiny`` is the smoke run.
Usage: ``python benchmarks/bench_replay.py [--tiny] [--concurrency 8]``.
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from typing import Optional

import requests

from common.traces import read_trace, trace_files
from hubscope.demo.localregistry import LocalRegistry
from traces.generate import GeneratorOptions, write_trace
from traces.replay import ReplayOptions, plan, run, summarize
from traces.warmup import WarmupOptions, warmup


def plain_loop(url: str, repository: str, digests: list[str]) -> tuple[float, int]:
    """Seconds and body bytes of GETting every digest in order with one session."""
    session, total = requests.Session(), 0
    start = time.monotonic()
    for digest in digests:
        with session.get(f"{url}/v2/{repository}/blobs/{digest}", stream=True, timeout=60) as resp:
            resp.raise_for_status()
            total += sum(len(c) for c in resp.iter_content(1 << 16))
    return time.monotonic() - start, total


def main(argv: Optional[list[str]] = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tiny", action="store_true", help="a few hundred small requests (smoke run)")
    parser.add_argument("--concurrency", type=int, default=8)
    args = parser.parse_args(argv)
    requests_n, max_bytes = (300, 20_000) if args.tiny else (3000, 1_000_000)
    with tempfile.TemporaryDirectory(prefix="bench-replay-") as work:
        paths = write_trace(os.path.join(work, "trace"), GeneratorOptions(seed=7, requests=requests_n, repositories=100,
                                                                          clients=50, max_layer_bytes=max_bytes))
        records = [r for f in trace_files(paths) for r in read_trace(f)]
        with LocalRegistry(os.path.join(work, "registry")) as reg:
            warm = warmup(records, [reg.url], WarmupOptions(content="random"))
            planned, _ = plan(records, warm, [reg.url], requests_n)
            gets = [p.digest for p in planned if p.method == "GET"]
            plain_loop(reg.url, warm["repository"], gets[:20])  # warm the registry's and the OS's caches
            # the faster of two plain loops, one before and one after the replays: neither side gets the warmer machine
            base_s, base_bytes = plain_loop(reg.url, warm["repository"], gets)
            replays = {}
            for concurrency in sorted({1, args.concurrency}):
                outcomes, _ = run(planned, warm["repository"], ReplayOptions(concurrency=concurrency, max_requests=requests_n))
                replays[concurrency] = summarize(outcomes, 0, 0)
                assert replays[concurrency]["failed"] == 0, replays[concurrency]["errors"]
            base_s = min(base_s, plain_loop(reg.url, warm["repository"], gets)[0])
    base_rate = len(gets) / base_s
    print(f"replay: {len(gets)} blob GETs, {base_bytes / 1e6:.1f} MB; plain loop {base_rate:.0f} req/s, "
          f"{base_bytes / base_s / 1e6:.1f} MB/s", flush=True)
    results = {"requests": len(gets), "bytes": base_bytes, "plain_loop_req_per_s": base_rate}
    for concurrency, s in replays.items():
        results[f"replay_c{concurrency}_req_per_s"] = s["requests_per_s"]
        print(f"replay: trace player concurrency {concurrency}: {s['requests_per_s']:.0f} req/s, "
              f"{s['bytes_per_s'] / 1e6:.1f} MB/s, p50 {1000 * s['latency_p50_s']:.1f} ms; "
              f"{s['requests_per_s'] / base_rate:.2f}x the plain loop", flush=True)
    return results


if __name__ == "__main__":
    main(sys.argv[1:])
