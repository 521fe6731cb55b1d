"""Crawl benchmark: hubscope's crawl vs sequential ``skopeo copy docker://... dir:...`` of the same images.

Builds >= 20 images from real files of this machine (/usr/lib and /usr/share, grouped into shared
base and runtime layers plus one app layer per image, the way real images share layers), pushes
them to a local distribution registry, then in the same run times:

- hubscope: ``run_crawl`` of every image into an empty store, at concurrency 1 and N (each blob once);
- baselines: ``skopeo copy`` of each image, one after another, into its own ``dir:`` folder; and into
  one OCI layout with ``--dest-shared-blob-dir`` (blobs shared between images, like our store).

Prints both timings, the bytes each moved, and the ratio. ``--tiny`` builds a few small images for
a smoke run. Usage: ``python benchmarks/bench_crawl.py [--tiny] [--concurrency 8]``.
"""
from __future__ import annotations

import argparse
import gzip
import os
import shutil
import subprocess
import sys
import tempfile
import time
from typing import NamedTuple, Optional

from crawler.crawl import CrawlOptions, RepoTarget, run_crawl
from hubscope.demo.localregistry import LocalRegistry, skopeo_copy
from hubscope.demo.samplefiles import collect_files
from common.stores import open_store
from hubscope.demo.oci_layout import OciLayout


class Size(NamedTuple):
    """How big a corpus to build (a NamedTuple: benchmarks/run.py loads this file without registering it)."""

    images: int
    base_bytes: int
    runtime_bytes: int
    app_bytes: int


NORMAL = Size(images=24, base_bytes=12_000_000, runtime_bytes=6_000_000, app_bytes=1_500_000)
TINY = Size(images=20, base_bytes=600_000, runtime_bytes=300_000, app_bytes=60_000)


def build_images(workdir: str, size: Size) -> tuple[str, list[str]]:
    """An OCI layout with ``size.images`` tagged images: 3 bases x 2 runtimes share layers; one app layer each."""
    layout = OciLayout(os.path.join(workdir, "layout"))
    compress = lambda raw: gzip.compress(raw, compresslevel=6, mtime=0)  # noqa: E731
    bases = [collect_files(["/usr/lib/x86_64-linux-gnu"], size.base_bytes, skip_bytes=i * size.base_bytes)
             for i in range(3)]
    runtimes = [collect_files(["/usr/lib/python3.11", "/usr/lib/python3"], size.runtime_bytes),
                collect_files(["/usr/share/perl", "/usr/share/perl5"], size.runtime_bytes)]
    app_sources = sorted(d.path for d in os.scandir("/usr/share") if d.is_dir() and d.name not in ("doc", "locale"))
    refs = []
    for i in range(size.images):
        app = collect_files([app_sources[i % len(app_sources)], "/usr/share/doc"], size.app_bytes,
                            skip_bytes=(i // len(app_sources)) * size.app_bytes)
        app[f"app/{i}/VERSION"] = f"bench image {i}\n".encode()
        desc = layout.image([bases[i % 3], runtimes[i % 2], app], compress=compress,
                            created=f"2024-01-{1 + i % 28:02d}T00:00:00Z")
        ref = f"app{i:02d}"
        layout.tag(desc, ref)
        refs.append(ref)
    layout.save()
    return layout.root, refs


def time_skopeo(host: str, refs: list[str], destination) -> Optional[float]:
    """Seconds for ``skopeo copy`` of every image, one after another; None (after a message) on failure."""
    t0 = time.perf_counter()
    for ref in refs:
        done = subprocess.run(["skopeo", "copy", "--quiet", "--src-tls-verify=false",
                               f"docker://{host}/bench/{ref}:latest", *destination(ref)], capture_output=True, text=True)
        if done.returncode != 0:
            print(f"error: skopeo copy of {ref} failed: {done.stderr.strip()}", file=sys.stderr)
            return None
    return time.perf_counter() - t0


def du(path: str) -> int:
    return sum(os.path.getsize(os.path.join(d, f)) for d, _, files in os.walk(path) for f in files)


def main(argv: Optional[list[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tiny", action="store_true", help="a quick smoke run with small images")
    parser.add_argument("--concurrency", type=int, default=8, help="hubscope crawl concurrency (default 8)")
    parser.add_argument("--keep", action="store_true", help="keep the work folder")
    args = parser.parse_args(argv)
    for binary in ("docker-registry", "skopeo"):
        if shutil.which(binary) is None:
            print(f"error: {binary} not found (apt-get install {binary})", file=sys.stderr)
            return 2
    size = TINY if args.tiny else NORMAL
    work = tempfile.mkdtemp(prefix="hubscope-bench-crawl-")
    try:
        t0 = time.perf_counter()
        layout, refs = build_images(work, size)
        built = time.perf_counter() - t0
        with LocalRegistry(os.path.join(work, "registry")) as registry:
            t0 = time.perf_counter()
            for ref in refs:
                skopeo_copy(f"oci:{layout}:{ref}", f"docker://{registry.host}/bench/{ref}:latest")
            pushed = time.perf_counter() - t0
            print(f"built {len(refs)} images in {built:.1f} s, pushed in {pushed:.1f} s "
                  f"(registry holds {du(os.path.join(work, 'registry', 'data')) / 1e6:.1f} MB)")

            timings = {}
            for concurrency in sorted({1, args.concurrency}):
                store_dir = os.path.join(work, f"store-c{concurrency}")
                t0 = time.perf_counter()
                summary = run_crawl(registry.url, store_dir, [RepoTarget(f"bench/{r}") for r in refs],
                                    options=CrawlOptions(concurrency=concurrency))
                timings[concurrency] = time.perf_counter() - t0
                if summary.images_ok != len(refs):
                    print(f"error: hubscope crawl incomplete: {summary.line()}", file=sys.stderr)
                    return 1
                blobs = list(open_store(store_dir).digests())
                print(f"hubscope crawl (concurrency {concurrency}): {timings[concurrency]:.2f} s; {summary.line()}; "
                      f"store {du(os.path.join(store_dir, 'blobs')) / 1e6:.1f} MB in {len(blobs)} blobs")
                sys.stdout.flush()

            baselines = {
                # the baseline: every image into its own dir: folder (no sharing between images)
                "skopeo copy, sequential, dir: per image": lambda ref: [f"dir:{os.path.join(work, 'skopeo-dir', ref)}"],
                # a fairer one: one OCI layout whose blob folder all images share (each blob written once)
                "skopeo copy, sequential, oci: + shared blob dir": lambda ref: [
                    "--dest-shared-blob-dir", os.path.join(work, "skopeo-oci", "shared"),
                    f"oci:{os.path.join(work, 'skopeo-oci', 'layout')}:{ref}"],
            }
            for label, destination in baselines.items():
                folder = os.path.join(work, "skopeo-dir" if "dir:" in label else "skopeo-oci")
                os.makedirs(folder, exist_ok=True)
                seconds = time_skopeo(registry.host, refs, destination)
                if seconds is None:
                    return 1
                print(f"{label}: {seconds:.2f} s; {du(folder) / 1e6:.1f} MB written")
                for concurrency, own in sorted(timings.items()):
                    print(f"ratio vs {label.split(',')[-1].strip()}: hubscope (concurrency {concurrency}) is "
                          f"{seconds / own:.2f}x the speed of sequential skopeo ({len(refs)} images, same registry, "
                          f"same run)")
        return 0
    finally:
        if args.keep:
            print(f"work folder kept: {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
