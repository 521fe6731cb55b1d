"""Statistics over the hubscope tables (DataFrame -> DataFrame), figures and the HTML report.

Module map:
- ``tables``: read the scan's tables with the contract's schemas; build small ones by hand.
- ``populations``: which files count (each layer blob once, one blob per diff_id, every layer of
  every image) as a per-layer weight.
- ``distributions``: percentiles and CDF points as small tables.
- ``layers``, ``images``, ``files``: per-layer, per-image (with popularity) and per-file statistics.
- ``dedup``: file-level dedup ratios overall / per class / per image, repeat counts, growth curves.
- ``sharing``: layer sharing, layer- vs file-level savings, cross-image redundancy.
- ``entries``, ``waste``, ``finalfs``, ``imagefs``: dive-compatible waste and the final filesystem
  (content duplicates, path-visible packages) of every image.
- ``content``: result tables of the sampled content pass (``jobs.content_pass``).
- ``run``, ``summary``: the stats job (``run_stats``) and its ``summary.json``.
- ``figures``, ``reference``, ``report``: matplotlib figures, the reference study's published
  values, and the self-contained HTML report (``render_report``).
- ``cli``: ``hubscope stats`` and ``hubscope report``.
"""
from __future__ import annotations


def run_stats(*args, **kwargs):
    """``analyze.results.run_stats`` (imported lazily: it needs pyspark)."""
    from analyze.results import run_stats as _run

    return _run(*args, **kwargs)


def render_report(*args, **kwargs):
    """``analyze.report.render_report`` (no Spark needed)."""
    from analyze.report import render_report as _render

    return _render(*args, **kwargs)
