"""Scan throughput: the Spark scan job vs ``gzip -dc | sha256sum`` and ``igzip -dc | sha256sum`` on the same layers.

Inputs are real: Debian packages fetched with ``apt-get download`` (cached in ``--cache``) and
regrouped into ~10 gzip layers (~1.2 GB uncompressed at full size) the way images share content:
a base set of packages reinstalled in flattened images, a Python runtime under two apps, and so
on, so most files occur in 2-4 layers. A second corpus holds every file content exactly once
(the worst case for typing, which is paid once per unique digest).

Measured in this script, one after another:
- baselines: per layer, ``gzip -dc | sha256sum`` and ``igzip -dc | sha256sum`` pinned to one core
  with ``taskset`` (both pipeline processes share it), so their MB/s is per core;
- the pure scanner in this process (one core), without and with typing;
- the Spark job (``jobs.scan.run_scan``) in ``local[N]``, N = cores, without and with typing, each in
  a new process and JVM, after a warm-up job (so Python workers are started), scanned twice with
  empty typing caches: the first scan in the new JVM, then the steady state a long scan runs at
  (the JIT has compiled the scan's code paths); MB/s per core = uncompressed tar bytes / CPU time.
MB = 10^6 bytes of uncompressed tar. Targets (issue 6): typed >= 200 MB/s/core (>= 2.7x
``gzip -dc | sha256sum``), untyped >= 300 MB/s/core.

    python benchmarks/bench_scan.py            # full size
    python benchmarks/bench_scan.py --tiny     # seconds; what the test suite runs
    python benchmarks/bench_scan.py --size-mb 500 --profile
"""
from __future__ import annotations

import argparse
import concurrent.futures
import cProfile
import hashlib
import io
import json
import os
import pstats
import resource
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
import zlib
import dataclasses
from dataclasses import dataclass
from typing import Optional

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))

from common.digest import Digest  # noqa: E402
from common.records import CrawlRecord, LayerRef, RecordLog  # noqa: E402
from common.storage import LocalBlobStore, StoreConfig  # noqa: E402
from common.mediatypes import OCI_CONFIG, OCI_LAYER_GZIP, OCI_MANIFEST  # noqa: E402
from hubscope.demo.sample_images import deb_members, download_packages  # noqa: E402

# Package groups (Debian bookworm); sizes are rough installed sizes.
GROUPS: dict[str, tuple[str, ...]] = {
    "base": ("base-files", "libc6", "libgcc-s1", "libstdc++6", "zlib1g", "libzstd1", "liblzma5", "libbz2-1.0", "bash",
             "coreutils", "libselinux1", "libpcre2-8-0", "tzdata", "perl-base", "dpkg", "apt", "libapt-pkg6.0",
             "util-linux", "findutils", "grep", "sed", "tar", "gzip", "libssl3", "ncurses-base", "libtinfo6",
             "libsystemd0", "login", "passwd", "debianutils", "base-passwd", "libgnutls30", "libp11-kit0"),  # ~90 MB
    "python": ("python3.11-minimal", "libpython3.11-minimal", "libpython3.11-stdlib", "libexpat1", "libsqlite3-0",
               "libffi8", "python3-pkg-resources", "python3-setuptools", "python3-pip"),  # ~60 MB
    "perl": ("perl-modules-5.36", "libperl5.36"),  # ~50 MB
    "gcc": ("gcc-12", "cpp-12", "libgcc-12-dev", "binutils-x86-64-linux-gnu", "libbinutils"),  # ~130 MB
    "llvm": ("libllvm15",),  # ~100 MB
    "tools": ("git", "git-man", "curl", "libcurl4", "vim-runtime", "openssl", "jq", "libjq1", "libonig5"),  # ~80 MB
    "node": ("libnode108", "libuv1", "libicu72"),  # ~110 MB
    "java": ("openjdk-17-jre-headless",),  # ~190 MB
}
# Layers in build order (a --size-mb budget takes a prefix) and the images using them.
LAYERS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("base", ("base",)), ("python", ("python",)), ("base+python", ("base", "python")), ("perl", ("perl",)),
    ("tools-flat", ("base", "tools")), ("gcc", ("gcc",)), ("python+node", ("python", "node")),
    ("llvm", ("llvm",)), ("kitchen-flat", ("base", "perl", "tools")), ("java", ("java",)),
)
IMAGES: dict[str, tuple[str, ...]] = {
    "debian": ("base",), "python": ("base", "python"), "python-flat": ("base+python",), "perl": ("base", "perl"),
    "tools-flat": ("tools-flat",), "gcc": ("base", "gcc"), "node-app": ("base", "python", "python+node"),
    "llvm": ("base", "gcc", "llvm"), "kitchen-flat": ("kitchen-flat",), "java": ("base", "java"),
}
TINY_GROUPS = {"base": ("base-files", "zlib1g", "libbz2-1.0", "debianutils", "sed"), "extra": ("grep", "gzip")}
TINY_LAYERS = (("base", ("base",)), ("extra", ("extra",)), ("flat", ("base", "extra")))
TINY_IMAGES = {"a": ("base",), "b": ("base", "extra"), "c": ("flat",)}


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def group_members(groups: dict[str, tuple[str, ...]], cache: str) -> dict[str, list[tuple[tarfile.TarInfo, Optional[bytes]]]]:
    debs = download_packages([p for pkgs in groups.values() for p in pkgs], os.path.join(cache, "debs"))
    out = {}
    for name, pkgs in groups.items():
        members, seen = [], set()
        for pkg in pkgs:
            for info, data in deb_members(debs[pkg]):
                if info.name not in seen:
                    seen.add(info.name)
                    members.append((info, data))
        out[name] = members
    return out


def tar_of(members) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tf:
        seen = set()
        for info, data in members:
            if info.name in seen:
                continue
            seen.add(info.name)
            tf.addfile(info, io.BytesIO(data) if data is not None else None)
    return buf.getvalue()


def _gzip(raw: bytes) -> bytes:
    comp = zlib.compressobj(6, zlib.DEFLATED, 31)  # what docker/containerd (Go, level 6 default) produce, roughly
    return comp.compress(raw) + comp.flush()


def realistic_layers(groups, layers, size_mb: float, cache: str) -> dict[str, bytes]:
    """Uncompressed tars of the layer recipes, taking recipes in order until ``size_mb`` is reached."""
    members = group_members(groups, cache)
    out, total = {}, 0
    for name, parts in layers:
        raw = tar_of([m for part in parts for m in members[part]])
        out[name] = raw
        total += len(raw)
        if total >= size_mb * 1e6:
            break
    return out


def distinct_layers(groups, cache: str, size_mb: float, count: int) -> dict[str, bytes]:
    """Every regular-file content once (first path wins), cut into ``count`` layers up to ``size_mb``."""
    members = group_members(groups, cache)
    seen, files = set(), []
    for part in members.values():
        for info, data in part:
            if data is None:
                continue
            digest = hashlib.sha256(data).digest()
            if digest not in seen:
                seen.add(digest)
                files.append((info, data))
    budget = size_mb * 1e6
    per_layer = budget / count
    layers, current, size = {}, [], 0
    for info, data in files:
        current.append((info, data))
        size += len(data) + 512
        if size >= per_layer * (len(layers) + 1):
            layers[f"distinct{len(layers)}"] = tar_of(current)
            current = []
            if len(layers) == count:
                break
    if current and len(layers) < count:
        layers[f"distinct{len(layers)}"] = tar_of(current)
    return layers


def build_store(root: str, raws: dict[str, bytes], images: dict[str, tuple[str, ...]]) -> dict[str, str]:
    """A crawled store: gzip layer blobs, configs, manifests and crawl records. Returns layer name -> blob path."""
    store = LocalBlobStore(StoreConfig(url=root))
    with concurrent.futures.ProcessPoolExecutor(max_workers=os.cpu_count() or 2) as pool:
        blobs = dict(zip(raws, pool.map(_gzip, raws.values())))
    refs, paths = {}, {}
    for name, blob in blobs.items():
        digest = Digest.of_bytes(blob)
        store.put_bytes(digest, blob)
        refs[name] = (LayerRef(str(digest), OCI_LAYER_GZIP, len(blob)), "sha256:" + hashlib.sha256(raws[name]).hexdigest())
        paths[name] = store.path(digest)
    records = RecordLog(root, run_id="bench")
    for image, layer_names in images.items():
        if not all(n in refs for n in layer_names):
            continue
        config = json.dumps({"architecture": "amd64", "os": "linux", "created": "2024-01-01T00:00:00Z",
                             "rootfs": {"type": "layers", "diff_ids": [refs[n][1] for n in layer_names]},
                             "history": [{"created_by": f"ADD {n}"} for n in layer_names]}).encode()
        config_digest = Digest.of_bytes(config)
        store.put_bytes(config_digest, config)
        manifest = json.dumps({"schemaVersion": 2, "mediaType": OCI_MANIFEST, "config": {"digest": str(config_digest)},
                               "layers": [{"digest": refs[n][0].digest} for n in layer_names]}).encode()
        manifest_digest = Digest.of_bytes(manifest)
        store.put_bytes(manifest_digest, manifest)
        records.append(CrawlRecord(registry="bench", repository=f"bench/{image}", tag="latest", status="ok",
                                   platform="linux/amd64", manifest_digest=str(manifest_digest), manifest_media_type=OCI_MANIFEST,
                                   config_digest=str(config_digest), config_media_type=OCI_CONFIG,
                                   layers=tuple(refs[n][0] for n in layer_names), finished_at=time.time()))
    return paths


# --- measurements ---------------------------------------------------------------------------------

@dataclass
class Measure:
    """One measured run: bytes are uncompressed tar bytes; ``cpu`` counts every process involved."""

    name: str
    cores: int
    mb: float
    wall: float
    cpu: float
    files: Optional[int] = None
    note: str = ""

    @property
    def per_core_wall(self) -> float:
        return self.mb / self.wall / self.cores

    @property
    def per_core_cpu(self) -> float:
        return self.mb / self.cpu


def tree_cpu_seconds(root: int) -> float:
    """CPU seconds of a process and all its descendants, live (own time) or reaped (their parent's ``cutime``)."""
    stats, children = {}, {}
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat") as fh:
                fields = fh.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        stats[int(name)] = fields
        children.setdefault(int(fields[1]), []).append(int(name))
    total, stack = 0, [root]
    while stack:
        pid = stack.pop()
        if pid in stats:
            total += sum(int(x) for x in stats[pid][11:15])  # utime stime cutime cstime
        stack.extend(children.get(pid, ()))
    return total / os.sysconf("SC_CLK_TCK")


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def pipeline_run(paths: list[str], decompressor: str, total_bytes: int) -> Measure:
    """``<decompressor> -dc | sha256sum`` over every layer, both processes pinned to one core with taskset."""
    started, cpu = time.monotonic(), _children_cpu()
    for path in paths:
        subprocess.run(["taskset", "-c", "0", "sh", "-c", f"{decompressor} -dc < '{path}' | sha256sum > /dev/null"], check=True)
    return Measure(f"{decompressor} -dc | sha256sum", 1, total_bytes / 1e6, time.monotonic() - started, _children_cpu() - cpu)


def inprocess_run(paths: list[str], magic: bool, profile: bool = False) -> Measure:
    """The pure scanner in this process (one core)."""
    from jobs.filetype import FileTyper
    from jobs.layer_scanner import scan_layer

    typer = FileTyper() if magic else None
    profiler = cProfile.Profile() if profile else None
    total = files = 0
    started, cpu = time.monotonic(), time.process_time()
    for path in paths:
        with open(path, "rb") as fh:
            if profiler:
                profiler.enable()
            result = scan_layer(fh, "sha256:" + os.path.basename(path), typer=typer)
            if profiler:
                profiler.disable()
        assert result.ok, result.layer
        total += result.layer["uncompressed_bytes"]
        files += result.files.num_rows
    wall, cpu = time.monotonic() - started, time.process_time() - cpu
    if profiler:
        print(f"--- profile: in-process scan, typing {'on' if magic else 'off'} (top 12 by own time) ---")
        pstats.Stats(profiler, stream=sys.stdout).sort_stats("tottime").print_stats(12)
    note = f"{typer.calls} libmagic answers for {files} files" if typer else ""
    return Measure(f"scanner in-process, typing {'on' if magic else 'off'}", 1, total / 1e6, wall, cpu, files, note)


def _warm_worker(batches):
    """Start the Python workers and import the scan modules there: steady state, not start-up, is measured."""
    import jobs.filetype  # noqa: F401
    import jobs.scan  # noqa: F401

    yield from batches


def _timed_scan(spark, store: str, magic: bool, cores: int, workdir: str, label: str) -> Measure:
    """One scan into new tables with an empty machine-wide type cache (answers left by an earlier
    scan would flatter it; a new cache folder also gives each worker a new in-memory cache)."""
    import pyarrow.parquet as pq

    from jobs.scan import run_scan

    os.environ["HUBSCOPE_TYPE_CACHE"] = tempfile.mkdtemp(prefix="typecache-", dir=workdir)
    jvm = spark.sparkContext._gateway.proc.pid
    tables = tempfile.mkdtemp(prefix="tables-", dir=workdir)
    started, cpu = time.monotonic(), time.process_time() + tree_cpu_seconds(jvm)
    summary = run_scan(store, tables, spark=spark, magic=magic)
    wall, cpu = time.monotonic() - started, time.process_time() + tree_cpu_seconds(jvm) - cpu
    assert summary.error == 0, summary
    total = sum(pq.read_table(os.path.join(tables, "layers")).column("uncompressed_bytes").to_pylist())
    shutil.rmtree(tables, ignore_errors=True)
    return Measure(f"Spark job local[{cores}], typing {'on' if magic else 'off'}", cores, total / 1e6, wall, cpu,
                   summary.files, label)


FIRST, STEADY = "first scan in a new JVM", "steady state: 2nd scan, same JVM"


def spark_run(store: str, magic: bool, cores: int, workdir: str) -> tuple[Measure, Measure]:
    """In this process: a new local[cores] JVM, a warm-up job (Python workers started), then the scan
    twice. The first pays the JVM's JIT compiling the scan's code paths and the workers' imports
    (~0.5 CPU-s, once per executor however long the scan); the second is what a long scan runs at."""
    from jobs.session import SCAN_JAVA_OPTIONS, get_spark

    spark = get_spark("hubscope-bench", master=f"local[{cores}]", java_options=SCAN_JAVA_OPTIONS)  # as the scan's own
    try:
        spark.range(cores * 4, numPartitions=cores * 2).mapInArrow(_warm_worker, "id long").count()
        return (_timed_scan(spark, store, magic, cores, workdir, FIRST),
                _timed_scan(spark, store, magic, cores, workdir, STEADY))
    finally:
        spark.stop()


def spark_run_isolated(store: str, magic: bool, cores: int, workdir: str, cpus: Optional[str] = None) -> tuple[Measure, Measure]:
    """``spark_run`` in a child process: PySpark keeps one JVM per Python process (stopping a context
    does not end it), so a fresh JVM per measurement needs a fresh process. ``cpus`` (taskset list)
    confines the whole run - driver, JVM, Python workers - to those CPUs."""
    cmd = [sys.executable, os.path.abspath(__file__), "--spark-run", store, "--cores", str(cores), "--workdir", workdir]
    cmd += [] if magic else ["--no-magic"]
    if cpus is not None:
        cmd = ["taskset", "-c", cpus] + cmd
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in (os.path.dirname(HERE), os.environ.get("PYTHONPATH")) if p))
    done = subprocess.run(cmd, capture_output=True, text=True, env=env)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed:\n{done.stderr[-4000:]}")
    first, steady = json.loads(done.stdout.strip().splitlines()[-1])
    return Measure(**first), Measure(**steady)


def run_corpus(label: str, store: str, paths: list[str], raws: dict[str, bytes], cores: int, workdir: str, profile: bool) -> None:
    total = sum(len(r) for r in raws.values())
    compressed = sum(os.path.getsize(p) for p in paths)
    log(f"[{label}] {len(paths)} layers, {total / 1e6:.0f} MB uncompressed, {compressed / 1e6:.0f} MB gzip")
    runs = [pipeline_run(paths, "gzip", total)]
    if shutil.which("igzip"):
        runs.append(pipeline_run(paths, "igzip", total))
    runs += [inprocess_run(paths, magic, profile=profile and magic) for magic in (False, True)]
    for magic in (False, True):
        runs += spark_run_isolated(store, magic, cores, workdir)
    gzip_rate, igzip_rate = runs[0].per_core_cpu, runs[1].per_core_cpu if shutil.which("igzip") else float("nan")
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    print(f"\n== scan benchmark: {label} corpus: {len(paths)} layers, {total / 1e6:.0f} MB tar, {compressed / 1e6:.0f} MB gzip, "
          f"{os.cpu_count()} cores, load average {load} ==")
    print("MB/s per core: by CPU time (MB / CPU-seconds of every process involved) and by wall time (MB / wall / cores)")
    print(f"{'measurement':40s} {'cores':>5s} {'wall s':>7s} {'CPU s':>7s} {'MB/s/core':>9s} {'(wall)':>7s} {'files/s/core':>12s} "
          f"{'vs gzip|sha':>11s} {'vs igzip|sha':>12s}  note")
    for m in runs:
        fps = f"{m.files / m.cpu:12.0f}" if m.files is not None else f"{'':12s}"
        print(f"{m.name:40s} {m.cores:5d} {m.wall:7.1f} {m.cpu:7.1f} {m.per_core_cpu:9.1f} {m.per_core_wall:7.1f} {fps} "
              f"{m.per_core_cpu / gzip_rate:10.2f}x {m.per_core_cpu / igzip_rate:11.2f}x  {m.note}")
    untyped_first, untyped, typed_first, typed = runs[-4:]
    print(f"targets (Spark job, per core by CPU time, steady state): typed {typed.per_core_cpu:.0f} MB/s (>= 200: "
          f"{'met' if typed.per_core_cpu >= 200 else 'NOT met'}; {typed.per_core_cpu / gzip_rate:.2f}x gzip|sha, >= 2.7x), "
          f"untyped {untyped.per_core_cpu:.0f} MB/s (>= 300: {'met' if untyped.per_core_cpu >= 300 else 'NOT met'}); "
          f"first scan in a new JVM: typed {typed_first.per_core_cpu:.0f}, untyped {untyped_first.per_core_cpu:.0f}", flush=True)


def main(argv: Optional[list[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tiny", action="store_true", help="a few MB of small packages: checks that the benchmark runs")
    parser.add_argument("--size-mb", type=float, default=1200, help="uncompressed size of the realistic corpus (prefix of the recipes)")
    parser.add_argument("--distinct-mb", type=float, default=None, help="size of the all-distinct corpus (default: half of --size-mb)")
    parser.add_argument("--cores", type=int, default=os.cpu_count() or 2, help="Spark local[N]")
    parser.add_argument("--cache", default=os.path.join(HERE, "out", "bench-scan-cache"), help="where .deb files are kept")
    parser.add_argument("--profile", action="store_true", help="print a cProfile of the in-process typed scan")
    parser.add_argument("--spark-run", metavar="STORE", help=argparse.SUPPRESS)  # one spark_run, JSON out (spark_run_isolated)
    parser.add_argument("--no-magic", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--workdir", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.spark_run:
        measures = spark_run(args.spark_run, not args.no_magic, args.cores, args.workdir)
        print(json.dumps([dataclasses.asdict(m) for m in measures]))
        return 0
    groups, layers, images = (TINY_GROUPS, TINY_LAYERS, TINY_IMAGES) if args.tiny else (GROUPS, LAYERS, IMAGES)
    size = 1e9 if args.tiny else args.size_mb
    distinct_mb = args.distinct_mb or (5 if args.tiny else args.size_mb / 2)
    workdir = tempfile.mkdtemp(prefix="hubscope-bench-scan-")
    try:
        started = time.monotonic()
        raws = realistic_layers(groups, layers, size, args.cache)
        store = os.path.join(workdir, "realistic")
        paths = build_store(store, raws, images)
        log(f"built the realistic corpus in {time.monotonic() - started:.0f}s")
        run_corpus("realistic", store, list(paths.values()), raws, args.cores, workdir, args.profile)
        started = time.monotonic()
        draws = distinct_layers(groups, args.cache, distinct_mb, 3 if args.tiny else 10)
        dstore = os.path.join(workdir, "distinct")
        dpaths = build_store(dstore, draws, {f"d{i}": (name,) for i, name in enumerate(draws)})
        log(f"built the all-distinct corpus in {time.monotonic() - started:.0f}s")
        run_corpus("all-distinct", dstore, list(dpaths.values()), draws, args.cores, workdir, False)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
