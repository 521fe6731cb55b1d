"""Stats benchmark: the stats job's file-level dedup (Spark) vs the same query in DuckDB, same Parquet.

Input: a synthetic ``files`` table (default 10^7 rows) with a realistic duplicate structure: content
ids drawn from a Zipf distribution (a few contents repeated very often, most seen once or twice),
sizes log-normal around 2 KiB per content, 500 files per layer, and a ``layers`` table marking every
layer ok, written the way the scan writes its parts (zstd, row groups of ``jobs.scan.ROW_GROUP_ROWS``
rows). Both engines compute the reference study's four totals (files, unique files, bytes,
unique bytes) over regular files of ok layers; the answers must be equal. The scan writes file rows
only for layers it read completely, so both engines check the layers table for failures and then
aggregate the files table alone (Spark's ``weighted_files`` does exactly that).

    python benchmarks/bench_stats.py [--rows N] [--tiny] [--workdir DIR] [--repeat 5]

Prints seconds per run (first = cold, then warm) and the ratio of the medians of the warm runs
(issue 6 target: Spark <= 3x DuckDB). The JVM's JIT keeps improving Spark's time over the first few
runs, so the default takes the median of four warm runs.
"""
from __future__ import annotations

import argparse
import logging
import os
import shutil
import statistics
import sys
import tempfile
import time

if __package__ in (None, ""):
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import numpy as np  # noqa: E402
import pyarrow as pa  # noqa: E402
import pyarrow.parquet as pq  # noqa: E402

from jobs.scan import ROW_GROUP_ROWS  # noqa: E402
from common.schemas import FILES, LAYERS  # noqa: E402

FILES_PER_LAYER = 500
CLASSES = ("executables", "documents", "scripts", "source", "archives", "images", "databases", "bytecode", "others")
DUCKDB_QUERY = """
    SELECT SUM(copies) AS total_files, COUNT(*) AS unique_files, SUM(bytes) AS total_bytes, SUM(size) AS unique_bytes
    FROM (
        SELECT f.content_sha256, COUNT(*) AS copies, SUM(f.size_bytes) AS bytes, MAX(f.size_bytes) AS size
        FROM read_parquet('{files}/*.parquet') f
        WHERE f.type = 'reg' AND f.content_sha256 IS NOT NULL
          AND NOT EXISTS (SELECT 1 FROM read_parquet('{layers}/*.parquet') l WHERE l.status <> 'ok')
        GROUP BY f.content_sha256
    )
"""


def _digests(n: int, tag: int) -> pa.Array:
    return pa.array([f"sha256:{tag:02x}{i:062x}" for i in range(n)])


def make_tables(root: str, rows: int, seed: int = 0, part_rows: int = 1_000_000) -> tuple[str, str]:
    """Write ``files`` and ``layers`` Parquet folders under ``root``; returns their paths."""
    rng = np.random.default_rng(seed)
    uniques = max(10, rows // 4)
    sizes = np.minimum(rng.lognormal(mean=np.log(2048), sigma=2.0, size=uniques), 2**31).astype(np.int64)
    content = _digests(uniques, 1)
    layers_n = max(1, -(-rows // FILES_PER_LAYER))
    layer_ids = _digests(layers_n, 2)
    files_dir, layers_dir = os.path.join(root, "files"), os.path.join(root, "layers")
    os.makedirs(files_dir, exist_ok=True)
    os.makedirs(layers_dir, exist_ok=True)
    classes = pa.array(CLASSES)
    for part, start in enumerate(range(0, rows, part_rows)):
        n = min(part_rows, rows - start)
        ids = (rng.zipf(1.3, size=n) - 1) % uniques
        index = np.arange(start, start + n)
        cols = {
            "layer_digest": layer_ids.take(pa.array(index // FILES_PER_LAYER)),
            "entry_index": pa.array(index % FILES_PER_LAYER),
            "path": pa.array([f"/usr/lib/f{i}" for i in range(n)]),
            "type": pa.array(["reg"] * n),
            "size_bytes": pa.array(sizes[ids]),
            "content_sha256": content.take(pa.array(ids)),
            "type_class": classes.take(pa.array(ids % len(CLASSES))),
        }
        table = pa.table({f.name: cols.get(f.name, pa.nulls(n, f.type)) for f in FILES}, schema=FILES)
        pq.write_table(table, os.path.join(files_dir, f"part-{part:05d}.parquet"), compression="zstd",
                       row_group_size=ROW_GROUP_ROWS)
    layers = pa.table(
        {f.name: (layer_ids if f.name == "layer_digest" else pa.array(["ok"] * layers_n) if f.name == "status"
                  else pa.nulls(layers_n, f.type)) for f in LAYERS},
        schema=LAYERS,
    )
    pq.write_table(layers, os.path.join(layers_dir, "part-00000.parquet"), compression="zstd")
    return files_dir, layers_dir


def spark_dedup(spark, files_dir: str, layers_dir: str) -> tuple:
    """The stats job's dedup: ``analyze.dedup.dedup_ratios`` over the unique-layer population."""
    from analyze.dedup import dedup_ratios
    from analyze.populations import LAYER_BLOBS, weighted_files
    from common.schemas import spark_ddl

    files = spark.read.schema(spark_ddl("files")).parquet(files_dir)
    layers = spark.read.schema(spark_ddl("layers")).parquet(layers_dir)
    image_layers = spark.createDataFrame([], spark_ddl("image_layers"))
    r = dedup_ratios(weighted_files(files, layers, image_layers, LAYER_BLOBS)).first()
    return (r.total_files, r.unique_files, r.total_bytes, r.unique_bytes)


def duckdb_dedup(files_dir: str, layers_dir: str, threads: int) -> tuple:
    import duckdb

    con = duckdb.connect()
    con.execute(f"SET threads TO {threads}")
    row = con.execute(DUCKDB_QUERY.format(files=files_dir, layers=layers_dir)).fetchone()
    con.close()
    return tuple(int(v) for v in row)


def _timed(fn, repeat: int) -> tuple[list[float], tuple]:
    times, result = [], None
    for _ in range(repeat):
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    return times, result


def main(argv: list[str] | None = None) -> dict:
    """Build the input, time both engines, print the times and the ratio; returns the numbers."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=10_000_000, help="rows of the synthetic files table")
    parser.add_argument("--tiny", action="store_true", help="10^4 rows, one warm run: a smoke test")
    parser.add_argument("--workdir", default=None, help="where the Parquet goes (default: a temp folder)")
    parser.add_argument("--repeat", type=int, default=5, help="runs per engine (the first is cold)")
    parser.add_argument("--cores", type=int, default=os.cpu_count() or 1, help="Spark local cores and DuckDB threads")
    args = parser.parse_args(argv)
    rows, repeat = (10_000, 2) if args.tiny else (args.rows, max(2, args.repeat))
    logging.basicConfig(level=logging.WARNING)
    work = args.workdir or tempfile.mkdtemp(prefix="bench-stats-")
    try:
        result = _measure(work, rows, repeat, args.cores)
    finally:
        if not args.workdir:
            shutil.rmtree(work, ignore_errors=True)
    return result


def _measure(work: str, rows: int, repeat: int, cores: int) -> dict:
    start = time.perf_counter()
    files_dir, layers_dir = make_tables(work, rows)
    print(f"input: {rows:,} file rows in {files_dir} ({time.perf_counter() - start:.1f} s to build)")

    from jobs.session import get_spark

    start = time.perf_counter()
    spark = get_spark("bench-stats", master=f"local[{cores}]", shuffle_partitions=4 * cores)
    print(f"spark session: {time.perf_counter() - start:.1f} s (not counted)")
    spark_times, spark_result = _timed(lambda: spark_dedup(spark, files_dir, layers_dir), repeat)
    duck_times, duck_result = _timed(lambda: duckdb_dedup(files_dir, layers_dir, cores), repeat)
    if spark_result != duck_result:
        raise SystemExit(f"engines disagree: spark {spark_result} vs duckdb {duck_result}")
    total, unique, total_bytes, unique_bytes = spark_result
    spark_warm, duck_warm = statistics.median(spark_times[1:]), statistics.median(duck_times[1:])
    ratio = spark_warm / duck_warm
    print(f"answer (both engines): {total:,} files, {unique:,} unique, dedup by count {1 - unique / total:.4f}, "
          f"by capacity {1 - unique_bytes / total_bytes:.4f}")
    print("spark  s per run: " + ", ".join(f"{t:.2f}" for t in spark_times) + f"  (warm median {spark_warm:.2f})")
    print("duckdb s per run: " + ", ".join(f"{t:.2f}" for t in duck_times) + f"  (warm median {duck_warm:.2f})")
    print(f"ratio spark / duckdb (warm): {ratio:.2f}x  (target <= 3x: {'met' if ratio <= 3 else 'NOT met'})")
    return {"rows": rows, "spark_s": spark_times, "duckdb_s": duck_times, "ratio": ratio, "result": spark_result}


if __name__ == "__main__":
    main()
