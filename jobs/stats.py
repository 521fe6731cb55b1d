"""The stats job: read the tables, compute every statistic, write small result tables and a summary.

Extract (``common.table_read.load_tables``, and the sampled content pass over the blobs,
``jobs.content_pass``) -> transform (``analyze.results``, pure) -> load (``<out>/<name>.parquet``
and ``.csv`` per result, ``summary.json`` with the headline numbers the report puts beside the
reference study's).

Also the spark-submit entry point: ``spark-submit jobs/stats.py --tables DIR --out DIR [...]`` takes
the options of ``hubscope stats``.
"""
from __future__ import annotations

import json
import logging
import os
import sys
import time
from typing import TYPE_CHECKING, Optional

import click

if __package__ in (None, ""):
    # spark-submit runs this file as a script; make the repository importable when not installed.
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from common.outputs import writable_dir  # noqa: E402 (after the path fix above)

if TYPE_CHECKING:
    import pandas as pd
    from pyspark.sql import SparkSession

    from analyze.results import StatsOptions

log = logging.getLogger(__name__)


def write_result(df: "pd.DataFrame", out_dir: str, name: str) -> None:
    """``<out>/<name>.parquet`` and ``.csv`` from a small pandas frame."""
    df.to_parquet(os.path.join(out_dir, f"{name}.parquet"), index=False)
    df.to_csv(os.path.join(out_dir, f"{name}.csv"), index=False)


def run_stats(
    spark: "SparkSession", tables_dir: str, out_dir: str, options: Optional["StatsOptions"] = None
) -> dict:
    """Compute every statistic over the tables in ``tables_dir``; write results to ``out_dir``.

    Returns the summary (also written as ``summary.json``).
    """
    from analyze.populations import LABELS
    from analyze.snapshots import check_snapshots, churn_results, snapshot_names, snapshot_view
    from analyze.results import StatsOptions, compute_results, content_results, no_content_results
    from analyze.summary import build_summary
    from common.progress import StageProgress
    from common.table_read import load_tables
    from jobs.content_pass import ContentOptions, content_pass

    options = options or StatsOptions()
    os.makedirs(out_dir, exist_ok=True)
    tables = load_tables(spark, tables_dir)
    names = snapshot_names(tables["images"])
    chosen = options.snapshot or (names[-1] if names else None)
    check_snapshots([options.snapshot] if options.snapshot else [], names)
    churn = churn_results(tables, names, options.compare)
    if len(names) > 1:
        log.info("snapshots %s; statistics describe %s", ", ".join(names), chosen)
        tables = snapshot_view(tables, chosen)
    results, fs = compute_results(tables, options)
    results.update(churn)
    if options.records:
        from common.listings import listing_totals

        totals = listing_totals(options.records)
        if totals:  # the repository-count-over-time curve
            results["repository_counts"] = lambda: spark.createDataFrame(totals, "snapshot string, key string, at double, total long")
    if options.store:
        opts = ContentOptions(chunk_avg_bytes=options.chunk_avg_bytes, zstd_levels=options.zstd_levels)
        rows = content_pass(spark, tables, options.store, options.sample_layers, options.seed, opts)
        results.update(content_results(rows, tables, fs))
    else:
        log.info("no --store: skipping the content pass (chunk dedup, recompression, OS and package databases)")
        results.update(no_content_results(tables, fs))
    frames: dict[str, pd.DataFrame] = {}
    timings = {}
    progress = StageProgress("stats", len(results), "results", logger=log)
    for done, (name, build) in enumerate(results.items(), 1):
        start = time.monotonic()
        frames[name] = build().toPandas()
        timings[name] = round(time.monotonic() - start, 3)
        write_result(frames[name], out_dir, name)
        log.debug("result %s: %d rows in %.1f s", name, len(frames[name]), timings[name])
        progress.update(done)
    progress.close()
    summary = build_summary(frames, tables, options)
    summary["timings_s"] = timings
    summary["snapshots"] = {"names": names, "described": chosen,
                            "compared": [list(p) for p in _pairs(names, options.compare)]}
    summary["populations"] = LABELS
    with open(os.path.join(out_dir, "summary.json"), "w") as fh:
        json.dump(summary, fh, indent=2, sort_keys=True, default=_json_default)
    return summary


def _pairs(names, compare):
    from analyze.snapshots import pairs

    return pairs(names, compare)


def _json_default(value):
    if hasattr(value, "item"):
        return value.item()
    return str(value)


def _levels(ctx, param, value: str) -> tuple[int, ...]:
    try:
        levels = tuple(int(v) for v in value.split(",") if v.strip())
    except ValueError:
        raise click.BadParameter(f"expected comma-separated integers, got {value!r}")
    if not all(1 <= lv <= 22 for lv in levels):
        raise click.BadParameter("zstd levels are 1..22")
    return levels


@click.command("stats")
@click.option("--tables", "tables_dir", required=True, type=click.Path(exists=True, file_okay=False),
              help="Folder holding the scan's tables (images/, image_layers/, layers/, files/).")
@click.option("--out", "out_dir", required=True, type=click.Path(file_okay=False), callback=writable_dir,
              help="Folder for result tables and summary.json.")
@click.option("--store", default=None, help="Blob store (path or s3://) for the content pass; without it the pass is skipped.")
@click.option("--sample-layers", default=64, show_default=True, type=click.IntRange(min=1),
              help="Layers sampled by the content pass (chunk dedup, recompression).")
@click.option("--seed", default=0, show_default=True, type=int, help="Seed of the layer sample and the random growth order.")
@click.option("--chunk-avg", "chunk_avg_bytes", default=8192, show_default=True, type=click.IntRange(256, 4 << 20),
              help="FastCDC average chunk size in bytes.")
@click.option("--zstd-levels", default="3,9", show_default=True, callback=_levels, help="zstd levels tried by the recompression what-if.")
@click.option("--master", default=None, help="Spark master (default: local[*], or what spark-submit set).")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON document (schema hubscope.stats/v1: the summary) instead of the line.")
@click.option("--snapshot", default=None, metavar="NAME", help="Snapshot the statistics describe (default: the newest).")
@click.option("--records", "records_dir", default=None, type=click.Path(file_okay=False),
              help="Crawl records folder: adds repository_counts, the totals each listing announced over time.")
@click.option("--compare", nargs=2, default=None, metavar="SNAP_A SNAP_B",
              help="Growth and churn from SNAP_A to SNAP_B (default: each snapshot against the one before it).")
def stats_command(tables_dir, out_dir, store, sample_layers, seed, chunk_avg_bytes, zstd_levels, master,
                  as_json=False, snapshot=None, compare=None, records_dir=None) -> None:
    """Compute every statistic over the tables and write result tables (Parquet + CSV) and summary.json."""
    from analyze.results import StatsOptions
    from common.schemas import TABLES
    from common.table_read import table_path
    from jobs.session import get_spark

    for name in TABLES:  # fail before Spark starts, with what to do
        try:
            table_path(tables_dir, name)
        except FileNotFoundError as exc:
            raise click.UsageError(f"{exc}: point --tables at a `hubscope scan --tables` folder")
    spark = get_spark("hubscope-stats", master=master)
    options = StatsOptions(seed=seed, sample_layers=sample_layers, store=store, chunk_avg_bytes=chunk_avg_bytes,
                           zstd_levels=zstd_levels, snapshot=snapshot, compare=tuple(compare) if compare else None,
                           records=records_dir)
    from analyze.snapshots import UnknownSnapshot

    try:
        summary = run_stats(spark, tables_dir, out_dir, options)
    except UnknownSnapshot as exc:
        raise click.UsageError(str(exc)) from exc
    if as_json:
        from common.jsonout import document

        click.echo(document("stats", {"out": out_dir, "summary": summary}))
        return
    dedup = summary["dedup"].get("layer_blobs", {})
    click.echo(f"results in {out_dir}: {summary['corpus']['images']} images, {summary['corpus']['layers_ok']} layers, "
               f"file dedup {100 * (dedup.get('dedup_capacity') or 0):.1f} % of bytes (unique layers)")


def main(argv: Optional[list[str]] = None) -> None:
    """spark-submit: parse ``argv`` like ``hubscope stats`` and run it (session from ``jobs.session.get_spark``)."""
    from common.logsetup import configure_logging

    configure_logging()
    from jobs.stats import stats_command as _command  # the module's own name, not __main__

    _command.main(args=argv if argv is not None else sys.argv[1:], standalone_mode=False)


if __name__ == "__main__":
    main()
