"""The trace stats job: parse registry traces in parallel, compute every trace statistic, write results.

``hubscope trace stats --traces DIR --out DIR`` or, on a cluster (trace files on a shared folder):
``spark-submit jobs/trace_stats.py --traces /shared/traces --out /shared/trace-results``.
Each trace file is one task (the published traces are ~22 GB in one file per registry and day);
the parsed requests are persisted once and every result (``analyze.trace_stats``,
``analyze.trace_patterns``) is a small table written as ``<out>/<name>.parquet`` and ``.csv``. The
cache and prefetch what-ifs (``analyze.trace_cache``) are sequential: they stream the first
``max_sim_requests`` GETs of each registry to the driver in time order.
"""
from __future__ import annotations

import json
import logging
import os
import sys
import time
from dataclasses import asdict, dataclass
from typing import Callable, Iterator, Optional

if __package__ in (None, ""):
    # spark-submit runs this file as a script; make the repository importable when not installed.
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import click  # noqa: E402

log = logging.getLogger(__name__)

SUMMARY_SCHEMA = "hubscope.trace_summary/1"
BATCH_ROWS = 65536


@dataclass(frozen=True)
class TraceStatsOptions:
    """Knobs of the what-ifs: cache sizes as shares of the simulated working set, prefetch lifetimes."""

    max_sim_requests: int = 500_000
    cache_shares: tuple[float, ...] = (0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0)
    ssd_factor: int = 10  # the two-level cache's SSD is this many times its memory
    prefetch_ttls_s: tuple[float, ...] = (60.0, 600.0, 3600.0)


def trace_ddl() -> str:
    from common.traces import TRACE_COLUMNS

    return ", ".join(f"{name} {kind}" for name, kind in TRACE_COLUMNS)


def parse_files(batches: Iterator) -> Iterator:
    """The ``mapInArrow`` function: batches of trace file paths -> batches of parsed rows (bad input as rows with a reason)."""
    import pyarrow as pa

    from common.traces import TRACE_COLUMNS, BadRecord, read_trace

    names = [n for n, _ in TRACE_COLUMNS]
    arrow = {"string": pa.string(), "double": pa.float64(), "int": pa.int32(), "long": pa.int64()}
    schema = pa.schema([(n, arrow[k]) for n, k in TRACE_COLUMNS])

    def flush(cols: dict) -> "pa.RecordBatch":
        return pa.RecordBatch.from_arrays([pa.array(cols[n], type=schema.field(n).type) for n in names], schema=schema)

    for batch in batches:
        for path in batch.column("path").to_pylist():
            cols: dict[str, list] = {n: [] for n in names}
            try:
                records = list(read_trace(path))
            except OSError as exc:
                records = [BadRecord(os.path.basename(path), f"unreadable file: {type(exc).__name__}")]
            for rec in records:
                if isinstance(rec, BadRecord):
                    for n in names:
                        cols[n].append(None)
                    cols["registry"][-1], cols["bad_reason"][-1] = rec.registry, rec.reason
                else:
                    for n in names[:-1]:
                        cols[n].append(getattr(rec, n))
                    cols["bad_reason"].append(None)
                if len(cols["registry"]) >= BATCH_ROWS:
                    yield flush(cols)
                    cols = {n: [] for n in names}
            if cols["registry"]:
                yield flush(cols)


def load_trace(spark, paths: list[str]):
    """Every request of the trace files named (or inside the folders named), one task per file."""
    from common.errors import TraceError
    from common.traces import trace_files

    files = trace_files(paths)
    if not files:
        raise TraceError(f"no trace files in {paths}")
    df = spark.createDataFrame([(os.path.abspath(f),) for f in files], "path string").repartition(len(files))
    return df.mapInArrow(parse_files, trace_ddl())


def _simulation_events(reqs, max_requests: int) -> dict[str, list[tuple]]:
    """Registry -> its first ``max_requests`` successful manifest and blob GETs, oldest first (one collect);
    ``all`` merges them (and keeps its own first ``max_requests``)."""
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    from analyze.trace_stats import ALL, OK

    first = Window.partitionBy("registry").orderBy("ts_s")
    gets = (reqs.where((F.col("method") == "GET") & OK & F.col("kind").isin("manifest", "blob"))
            .withColumn("n", F.row_number().over(first)).where(F.col("n") <= max_requests))
    by_registry: dict[str, list[tuple]] = {}
    for r in gets.select("registry", "ts_s", "kind", "repository", "target", F.coalesce("response_bytes", F.lit(0))).collect():
        by_registry.setdefault(r[0], []).append(tuple(r[1:]))
    for events in by_registry.values():
        events.sort(key=lambda e: e[0])
    by_registry[ALL] = sorted((e for evs in by_registry.values() for e in evs), key=lambda e: e[0])[:max_requests]
    return by_registry


def _simulations(reqs, options: TraceStatsOptions) -> dict[str, "object"]:
    """The cache and prefetch what-ifs of every registry, as pandas frames."""
    import pandas as pd

    from analyze import trace_cache

    lru_rows, two_rows, pre_rows = [], [], []
    for registry, events in sorted(_simulation_events(reqs, options.max_sim_requests).items()):
        blobs = [(e[3], e[4]) for e in events if e[1] == "blob" and e[4] > 0]
        working_bytes = sum(dict(blobs).values())
        for share in options.cache_shares:
            cap = max(1, int(working_bytes * share))
            r = trace_cache.lru(blobs, cap)
            lru_rows.append({"registry": registry, "capacity_share": share, **asdict(r), "hit_ratio": r.hit_ratio,
                             "byte_hit_ratio": r.byte_hit_ratio})
            t = trace_cache.two_level(blobs, cap, cap * options.ssd_factor)
            two_rows.append({"registry": registry, "memory_share": share, **asdict(t), "hit_ratio": t.hit_ratio})
        for ttl in options.prefetch_ttls_s:
            p = trace_cache.prefetch((e for e in events if e[1] == "manifest" or e[4] > 0), ttl)
            pre_rows.append({"registry": registry, **asdict(p), "hit_ratio": p.hit_ratio})
    return {"cache_lru": pd.DataFrame(lru_rows), "cache_two_level": pd.DataFrame(two_rows), "prefetch": pd.DataFrame(pre_rows)}


def compute_results(trace) -> dict[str, Callable]:
    """Name -> thunk building each Spark result from a parsed (persisted) trace."""
    from pyspark.sql import functions as F

    from analyze import trace_patterns as tp
    from analyze import trace_stats as ts

    reqs = ts.requests(trace)
    pop = ts.layer_popularity(reqs).cache()
    return {
        "trace_bad_lines": lambda: ts.bad_lines(trace),
        "trace_request_mix": lambda: ts.request_mix(reqs),
        "trace_hourly_load": lambda: ts.hourly_load(reqs),
        "trace_size_cdf": lambda: ts.size_cdf(pop),
        "trace_skew": lambda: ts.skew(reqs),
        "trace_interarrival": lambda: ts.interarrival(reqs),
        "trace_put_get": lambda: tp.put_get(reqs),
        "trace_gets_after_put": lambda: tp.gets_after_put(reqs),
        "trace_latency_by_size": lambda: tp.latency_by_size(reqs),
        "trace_latency_vs_load": lambda: tp.latency_vs_load(reqs),
        "trace_registries": lambda: tp.registries(reqs, pop),
        # the popularity table for what-ifs over the image tables: layer_digest, get_count, size_bytes
        "layer_popularity": lambda: pop.where(F.col("registry") == ts.ALL).drop("registry"),
    }


def run_trace_stats(spark, paths: list[str], out_dir: str, options: Optional[TraceStatsOptions] = None) -> dict:
    """Compute every trace statistic over the trace files; write the result tables and ``trace_summary.json``."""
    from pyspark import StorageLevel

    from analyze.trace_stats import requests
    from analyze.trace_summary import build_trace_summary
    from jobs.stats import write_result

    options = options or TraceStatsOptions()
    os.makedirs(out_dir, exist_ok=True)
    trace = load_trace(spark, paths).persist(StorageLevel.MEMORY_AND_DISK)
    frames, timings = {}, {}
    for name, build in compute_results(trace).items():
        start = time.monotonic()
        frames[name] = build().toPandas()
        timings[name] = round(time.monotonic() - start, 3)
        write_result(frames[name], out_dir, name)
        log.info("result %s: %d rows in %.1f s", name, len(frames[name]), timings[name])
    start = time.monotonic()
    for name, frame in _simulations(requests(trace), options).items():
        frames[name] = frame
        write_result(frame, out_dir, name)
    timings["simulations"] = round(time.monotonic() - start, 3)
    synthetic = trace.where("user_agent LIKE 'hubscope-synthetic%'").limit(1).count() > 0
    trace.unpersist()
    summary = build_trace_summary(frames, synthetic=synthetic, schema=SUMMARY_SCHEMA)
    summary["timings_s"] = timings
    with open(os.path.join(out_dir, "trace_summary.json"), "w") as fh:
        json.dump(summary, fh, indent=2, sort_keys=True, default=lambda v: v.item() if hasattr(v, "item") else str(v))
    return summary


@click.command("stats")
@click.option("--traces", "paths", required=True, multiple=True, type=click.Path(exists=True),
              help="Trace file or folder (repeatable): published JSON arrays or a registry's JSON log; .gz is read too.")
@click.option("--out", "out_dir", required=True, type=click.Path(file_okay=False), help="Folder for result tables and trace_summary.json.")
@click.option("--max-sim-requests", default=500_000, show_default=True, type=click.IntRange(min=1),
              help="GETs per registry streamed to the cache and prefetch simulations (the first, in time order).")
@click.option("--master", default=None, help="Spark master (default: local[*], or what spark-submit set).")
def stats_command(paths, out_dir, max_sim_requests, master) -> None:
    """Characterize registry traces: request mix, load, sizes, skew, PUT->GET, latency, cache/prefetch what-ifs."""
    from common.traces import trace_files
    from jobs.session import get_spark

    if not trace_files(list(paths)):  # fail before Spark starts
        raise click.UsageError(f"no trace files in {', '.join(paths)}")
    spark = get_spark("hubscope-trace-stats", master=master)
    summary = run_trace_stats(spark, list(paths), out_dir, TraceStatsOptions(max_sim_requests=max_sim_requests))
    click.echo(f"results in {out_dir}: {summary['requests']} requests, {summary['bad_lines']} bad lines skipped, "
               f"{summary['layers']} layers ({100 * (summary['layers_under_1mb_share'] or 0):.0f} % under 1 MB)")


def main(argv: Optional[list[str]] = None) -> None:
    """spark-submit entry point: the options of ``hubscope trace stats``."""
    from common.logsetup import configure_logging

    configure_logging()
    from jobs.trace_stats import stats_command as _command  # the module's own name, not __main__

    _command.main(args=argv if argv is not None else sys.argv[1:], standalone_mode=False)


if __name__ == "__main__":
    main()
