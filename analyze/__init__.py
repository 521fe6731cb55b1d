"""Statistics over the hubscope tables (DataFrame -> DataFrame), figures and the HTML report.

Imports no job and no Spark session: the stats job (``jobs.stats``) builds the session, loads the
tables (``common.table_read``) and calls these transforms.

Module map:
- ``populations``: which files count (each layer blob once, one blob per diff_id, every layer of
  every image) as a per-layer weight; their names and labels in ``population_names`` (no pyspark).
- ``distributions``: percentiles and CDF points as small tables.
- ``layers``, ``images``, ``files``: per-layer, per-image (with popularity) and per-file statistics.
- ``dedup``: file-level dedup ratios overall / per class / per image, repeat counts, growth curves.
- ``sharing``: layer sharing, layer- vs file-level savings, cross-image redundancy.
- ``entries``, ``waste``, ``finalfs``, ``image_fs_metrics``: dive-compatible waste and the final filesystem
  (content duplicates, path-visible packages) of every image.
- ``content``: result tables of the sampled content pass (``jobs.content_pass``).
- ``results``, ``summary``: every named result of the stats job, and its ``summary.json``.
- ``figures``, ``published``, ``report``: matplotlib figures, the reference study's published
  values, and the self-contained HTML report (``render_report``).
- ``report_command``: ``hubscope report``.
"""
from __future__ import annotations


def render_report(*args, **kwargs):
    """``analyze.report.render_report`` (no Spark needed)."""
    from analyze.report import render_report as _render

    return _render(*args, **kwargs)
