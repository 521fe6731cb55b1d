"""``hubscope stats`` and ``hubscope report``: the click commands the ``hubscope`` group loads lazily."""
from __future__ import annotations

import logging

import click

log = logging.getLogger(__name__)


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
@click.option("--out", "out_dir", required=True, type=click.Path(file_okay=False), help="Folder for result tables and summary.json.")
@click.option("--store", default=None, help="Blob store (path or s3://) for the content pass; without it the pass is skipped.")
@click.option("--sample-layers", default=64, show_default=True, type=click.IntRange(min=1),
              help="Layers sampled by the content pass (chunk dedup, recompression).")
@click.option("--seed", default=0, show_default=True, type=int, help="Seed of the layer sample and the random growth order.")
@click.option("--chunk-avg", "chunk_avg_bytes", default=8192, show_default=True, type=click.IntRange(256, 4 << 20),
              help="FastCDC average chunk size in bytes.")
@click.option("--zstd-levels", default="3,9", show_default=True, callback=_levels, help="zstd levels tried by the recompression what-if.")
@click.option("--master", default=None, help="Spark master (default: local[*], or what spark-submit set).")
def stats_command(tables_dir, out_dir, store, sample_layers, seed, chunk_avg_bytes, zstd_levels, master) -> None:
    """Compute every statistic over the tables and write result tables (Parquet + CSV) and summary.json."""
    from analyze.results import StatsOptions, run_stats
    from common.table_read import table_path
    from common.schemas import TABLES
    from jobs.session import get_spark

    for name in TABLES:  # fail before Spark starts, with what to do
        try:
            table_path(tables_dir, name)
        except FileNotFoundError as exc:
            raise click.UsageError(f"{exc}: point --tables at a `hubscope scan --tables` folder")
    spark = get_spark("hubscope-stats", master=master)
    options = StatsOptions(seed=seed, sample_layers=sample_layers, store=store, chunk_avg_bytes=chunk_avg_bytes,
                           zstd_levels=zstd_levels)
    summary = run_stats(spark, tables_dir, out_dir, options)
    dedup = summary["dedup"].get("layer_blobs", {})
    click.echo(f"results in {out_dir}: {summary['corpus']['images']} images, {summary['corpus']['layers_ok']} layers, "
               f"file dedup {100 * (dedup.get('dedup_capacity') or 0):.1f} % of bytes (unique layers)")


@click.command("report")
@click.option("--results", "results_dir", required=True, type=click.Path(exists=True, file_okay=False),
              help="Folder written by `hubscope stats`.")
@click.option("--out", "out_dir", required=True, type=click.Path(file_okay=False), help="Folder for index.html and figures/.")
def report_command(results_dir, out_dir) -> None:
    """Render the figures (PNG + SVG) and one self-contained HTML report; prints the HTML file's path."""
    import os

    from analyze.report import render_report

    if not os.path.isfile(os.path.join(results_dir, "summary.json")):
        raise click.UsageError(f"{results_dir} has no summary.json: point --results at a `hubscope stats --out` folder")
    click.echo(render_report(results_dir, out_dir))
