"""``hubscope report``: the click command the ``hubscope`` group loads lazily (no Spark needed)."""
from __future__ import annotations

import logging

import click

from common.outputs import writable_dir

log = logging.getLogger(__name__)


@click.command("report")
@click.option("--results", "results_dir", required=True, type=click.Path(exists=True, file_okay=False),
              help="Folder written by `hubscope stats` and/or `hubscope trace stats`.")
@click.option("--out", "out_dir", required=True, type=click.Path(file_okay=False), callback=writable_dir,
              help="Folder for index.html and figures/.")
def report_command(results_dir, out_dir) -> None:
    """Render the figures (PNG + SVG) and one self-contained HTML report; prints the HTML file's path."""
    import os

    from analyze.report import render_report

    corpus = os.path.isfile(os.path.join(results_dir, "summary.json"))
    traces = os.path.isfile(os.path.join(results_dir, "trace_summary.json"))
    if not corpus and not traces:
        raise click.UsageError(f"{results_dir} has no summary.json: point --results at a `hubscope stats --out` folder "
                               "(or a `hubscope trace stats --out` one)")
    if not corpus:
        from analyze.trace_report import render_trace_report

        click.echo(render_trace_report(results_dir, out_dir))
        return
    sections = []
    if traces:  # trace results written into the same folder: their section joins the report
        from analyze.trace_report import trace_section_of

        sections.append(trace_section_of(results_dir, out_dir))
    click.echo(render_report(results_dir, out_dir, sections))
