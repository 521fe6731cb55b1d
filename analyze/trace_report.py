"""The report's trace section: our trace statistics beside Anwar et al.'s published findings, labelled as theirs.

Reads only the trace stats job's results (``trace_summary.json`` and the ``trace_*`` tables), so it
renders without Spark: appended to the corpus report when both share a results folder, or alone.
"""
from __future__ import annotations

import html
import json
import os
from typing import Callable, Optional

import pandas as pd

from analyze.figures import render_figures
from analyze.report import STYLE, _img, _table, load_results
from analyze.trace_figures import TRACE_FIGURES

ANWAR = "Anwar et al., USENIX FAST 2018 (IBM registry traces, 75 days)"


def _pct(v: Optional[float]) -> str:
    return "n/a" if v is None else f"{100 * v:.1f} %"


def _get(*keys: str) -> Callable[[dict], Optional[float]]:
    def read(summary: dict) -> Optional[float]:
        node = summary
        for k in keys:
            node = node.get(k) if isinstance(node, dict) else None
        return node

    return read


# (statistic, how we read ours, format, the published finding, tag: [C] confirmed / [S] secondary summary)
FINDINGS: tuple[tuple[str, Callable[[dict], Optional[float]], Callable, str, str], ...] = (
    ("GET share of all requests", _get("get_share"), _pct, "GET requests dominate", "S"),
    ("layers under 1 MB", _get("layers_under_1mb_share"), _pct, "65 %", "C/S"),
    ("layers under 10 MB", _get("layers_under_10mb_share"), _pct, "80 %", "C/S"),
    ("layer GETs going to the top 10 % of layers", _get("skew", "layer", "top10_share"), _pct,
     "access to layers, manifests, repositories and users heavily skewed", "S"),
    ("repository GETs going to the top 10 % of repositories", _get("skew", "repository", "top10_share"), _pct,
     "(same finding)", "S"),
    ("manifest PUTs followed by a GET of it within 10 min", _get("put_get", "manifest", "within_600s_share"), _pct,
     "a manifest PUT is strongly followed by GETs of it and its layers", "S"),
    ("manifest PUTs followed by a layer GET of the repository within 10 min", _get("put_get", "layer", "within_600s_share"),
     _pct, "(same finding)", "S"),
    ("correlation of an hour's requests with its mean response time", _get("corr_requests_duration"),
     lambda v: "n/a" if v is None else f"{v:.2f}", "response time correlates with load", "S"),
)


def _comparison(summary: dict) -> str:
    head = "<tr><th>statistic</th><th>hubscope (this trace)</th><th>published finding</th><th>source [tag]</th></tr>"
    rows = "".join(
        f"<tr><td>{html.escape(label)}</td><td class='ours'>{html.escape(fmt(read(summary)))}</td>"
        f"<td class='published'>{html.escape(published)}</td><td>{html.escape(ANWAR)} [{tag}]</td></tr>"
        for label, read, fmt, published, tag in FINDINGS)
    return f"<table class='tbl tbl-trace-reference'>{head}{rows}</table>"


def trace_section(frames: dict[str, pd.DataFrame], summary: dict, figures_dir: str) -> str:
    """HTML of the trace section (figures written under ``figures_dir``)."""
    figures = render_figures(frames, figures_dir, TRACE_FIGURES)
    parts = ["<h2>Registry workload trace</h2>"]
    if summary.get("synthetic"):
        parts.append("<p class='note'><b>SYNTHETIC trace</b> (written by <code>hubscope trace generate</code> in the published "
                     "shape): these numbers describe the generator, not a registry.</p>")
    parts.append(f"<p class='note'>{summary.get('requests', 0)} requests from {', '.join(map(html.escape, summary.get('registries', [])))}; "
                 f"{summary.get('bad_lines', 0)} input lines skipped ({html.escape(json.dumps(summary.get('bad_lines_by_reason', {})))}). "
                 "Published findings are Anwar et al.'s on the IBM traces, labelled with their source; [C] confirmed in the "
                 "primary source, [S] from a secondary summary.</p>")
    parts.append(_comparison(summary))
    parts.extend(_img(figures[f], f) for f in TRACE_FIGURES if f in figures)
    for name in ("trace_registries", "trace_skew", "trace_put_get", "trace_interarrival", "cache_lru", "cache_two_level", "prefetch"):
        parts.append(_table(frames.get(name), name))
    return "\n".join(parts)


def render_trace_report(results_dir: str, out_dir: str) -> str:
    """A report of the trace section alone (a results folder with only trace results); returns the HTML path."""
    body = trace_section_of(results_dir, out_dir)
    os.makedirs(out_dir, exist_ok=True)
    path = os.path.join(out_dir, "index.html")
    with open(path, "w", encoding="utf-8") as fh:
        fh.write(f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>hubscope trace report</title><style>{STYLE}</style>"
                 f"</head><body><h1>hubscope trace report</h1>{body}</body></html>")
    return path


def trace_section_of(results_dir: str, out_dir: str) -> str:
    """The trace section for the report of a results folder holding trace results too."""
    with open(os.path.join(results_dir, "trace_summary.json")) as fh:
        summary = json.load(fh)
    return trace_section(load_results(results_dir), summary, os.path.join(out_dir, "figures"))
