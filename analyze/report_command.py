"""``hubscope report``: the click command the ``hubscope`` group loads lazily (no Spark needed)."""
from __future__ import annotations

import logging

import click

log = logging.getLogger(__name__)


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
