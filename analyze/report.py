"""The HTML report: one self-contained file (figures inlined as base64 PNG) with our numbers beside the
reference study's published values, each labelled with its source and tag.

Reads only the results directory written by the stats job, so a report can be re-rendered without
Spark.
"""
from __future__ import annotations

import base64
import glob
import html
import json
import logging
import os
from datetime import datetime, timezone
from typing import Optional, Sequence

import pandas as pd

from analyze.figures import human_bytes, render_figures
from analyze.population_names import LABELS
from analyze.published import REFERENCES, format_value
from analyze.whatif_report import whatif_section

log = logging.getLogger(__name__)

SECTIONS = (
    # (title, figure names, result tables shown, text)
    ("Layers", ("layer_sizes", "layer_counts"), ("layer_percentiles",),
     "Distributions over scanned layers; percentiles for each layer once and for every layer of every image."),
    ("Images", ("image_sizes",), ("image_percentiles",),
     "Per image: layers, compressed size (sum of its blobs), uncompressed size (sum of its tar streams), regular files."),
    ("Files and types", ("file_sizes", "type_classes"), ("type_class", "type_class_image_refs", "size_by_type"),
     "Regular files typed by the scan into the reference study's taxonomy: of unique layers (type_class, the study's "
     "population) and of every layer of every image (type_class_image_refs)."),
    ("Deduplication", ("dedup", "dedup_growth"), ("dedup_overall", "dedup_by_class", "dedup_by_class_image_refs", "repeat_counts"),
     "dedup_count = (total - unique) / total files; dedup_capacity = (bytes - unique bytes) / bytes; unique by content sha256. "
     "Growth curves add unique layers one by one, in a seeded random order and most-pulled first."),
    ("Layer sharing and savings", ("layer_sharing", "savings"), ("layer_vs_file", "chunk_dedup"),
     "Layer-level dedup is what registries do today; file-level and chunk-level (FastCDC, sampled) are what they could add."),
    ("Cross-image redundancy", ("redundancy",), (),
     "Share of each image's regular files whose content also exists in at least one other image."),
    ("Per-image waste (dive-compatible) and duplicates in the final filesystem", ("waste",), ("waste_summary", "top_inefficient"),
     "dive's path-based efficiency and wasted bytes (whiteouts, opaque dirs and deleted dirs as dive treats them), and "
     "content duplicates among the files each image finally contains (OCI overlay semantics)."),
    ("Popularity", ("popularity",), ("popularity_buckets", "popularity_correlation"),
     "Hub pull and star counts where the crawl had them; Spearman rank correlation with size and redundancy."),
    ("Recompression, OS and packages (content pass)", ("recompression", "os_packages"), ("recompression", "os_distribution", "ecosystems"),
     "Sampled second pass over layer blobs: zstd at the chosen levels against the stored blobs; OS from /etc/os-release "
     "and dpkg/apk databases of the top-most layer holding them; Python and npm packages from final-filesystem paths."),
)


def load_results(results_dir: str) -> dict[str, pd.DataFrame]:
    """Every ``<name>.parquet`` of the results directory."""
    return {os.path.basename(p)[: -len(".parquet")]: pd.read_parquet(p) for p in sorted(glob.glob(os.path.join(results_dir, "*.parquet")))}


def _img(path: str, name: str) -> str:
    with open(path, "rb") as fh:
        data = base64.b64encode(fh.read()).decode()
    return f'<figure id="fig-{name}"><img alt="{name}" src="data:image/png;base64,{data}"/><figcaption>{name}</figcaption></figure>'


def _table(df: Optional[pd.DataFrame], name: str, max_rows: int = 25) -> str:
    if df is None or df.empty:
        return ""
    shown = df.head(max_rows).copy()
    for col in shown.columns:
        if (col.endswith("_bytes") or col == "bytes") and shown[col].dtype.kind in "iuf":
            shown[col] = shown[col].map(human_bytes)
        elif shown[col].dtype.kind == "f":
            shown[col] = shown[col].map(lambda v: "" if pd.isna(v) else f"{v:.4g}")
    more = f"<p class='more'>{len(df) - max_rows} more rows in {name}.csv</p>" if len(df) > max_rows else ""
    return f"<h4>{html.escape(name)}</h4>" + shown.to_html(index=False, classes=f"tbl tbl-{name}", border=0) + more


def _derived(frames: dict[str, pd.DataFrame]) -> dict[str, pd.DataFrame]:
    out = dict(frames)
    lp = frames.get("layer_percentiles")
    if lp is not None and len(lp):
        out["layer_percentiles"] = lp.pivot_table(index=["population", "metric"], columns="p", values="value").reset_index()
        out["layer_percentiles"].columns = [str(c) for c in out["layer_percentiles"].columns]
    ip = frames.get("image_percentiles")
    if ip is not None and len(ip):
        out["image_percentiles"] = ip.pivot_table(index="metric", columns="p", values="value").reset_index()
        out["image_percentiles"].columns = [str(c) for c in out["image_percentiles"].columns]
    w = frames.get("image_waste")
    if w is not None and len(w):
        out["waste_summary"] = pd.DataFrame([{
            "images": len(w), "median_efficiency": w["efficiency"].median(),
            "median_wasted_user_percent": w["wasted_user_percent"].median(), "wasted_bytes": int(w["wasted_bytes"].sum()),
            "images_with_final_duplicates": int((w["duplicate_files"] > 0).sum()),
            "final_duplicate_bytes": int(w["duplicate_bytes"].sum()),
        }])
    paths = frames.get("inefficient_paths")
    if paths is not None and len(paths):
        out["top_inefficient"] = paths.sort_values("bytes", ascending=False).head(15)
    return out


def _comparison(summary: dict) -> str:
    rows = []
    for ref in REFERENCES:
        ours = ref.ours(summary)
        rows.append(
            f"<tr><td>{html.escape(ref.label)}</td><td class='ours'>{format_value(ours, ref.unit)}</td>"
            f"<td>{html.escape(ref.population)}</td><td class='published'>{html.escape(ref.published)}</td>"
            f"<td>{html.escape(ref.source)} [{ref.tag}]</td></tr>"
        )
    head = "<tr><th>statistic</th><th>hubscope (this corpus)</th><th>population</th><th>published</th><th>source [tag]</th></tr>"
    return f"<table class='tbl tbl-reference'>{head}{''.join(rows)}</table>"


STYLE = """body{font-family:sans-serif;max-width:1200px;margin:2em auto;color:#222}
figure{margin:1em 0}img{max-width:100%}table.tbl{border-collapse:collapse;font-size:13px;margin:.5em 0}
.tbl td,.tbl th{padding:2px 8px;border-bottom:1px solid #ddd;text-align:right}.tbl td:first-child{text-align:left}
td.ours{font-weight:bold}.note{color:#555;font-size:14px}"""


def render_report(results_dir: str, out_dir: str, extra_sections: Sequence[str] = ()) -> str:
    """Render figures (PNG + SVG under ``<out>/figures``) and ``<out>/index.html``; returns the HTML path.

    ``extra_sections`` (HTML) go before the options, e.g. the trace section of a shared results folder."""
    frames = load_results(results_dir)
    with open(os.path.join(results_dir, "summary.json")) as fh:
        summary = json.load(fh)
    figures = render_figures(frames, os.path.join(out_dir, "figures"))
    tables = _derived(frames)
    corpus = summary.get("corpus", {})
    parts = [
        "<!DOCTYPE html><html><head><meta charset='utf-8'><title>hubscope report</title>",
        f"<style>{STYLE}</style></head><body><h1>hubscope report</h1>",
        f"<p class='note'>Generated {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC from {html.escape(os.path.abspath(results_dir))}.</p>",
        "<h2>Corpus</h2>",
        _table(pd.DataFrame([corpus]), "corpus"),
        "<h2>Populations</h2><ul>" + "".join(f"<li><b>{k}</b>: {html.escape(v)}</li>" for k, v in LABELS.items()) + "</ul>",
        "<h2>This corpus beside the reference study</h2>",
        "<p class='note'>Published values from the papers ([C] confirmed in the primary source, [S] quoted from a secondary "
        "summary). Our corpus is much smaller; the comparison shows shape, not scale.</p>",
        _comparison(summary),
    ]
    for title, figs, names, text in SECTIONS:
        parts.append(f"<h2>{html.escape(title)}</h2><p class='note'>{html.escape(text)}</p>")
        parts.extend(_img(figures[f], f) for f in figs if f in figures)
        parts.extend(_table(tables.get(n), n) for n in names)
    parts.extend(extra_sections)
    parts.append(whatif_section(results_dir, frames, os.path.join(out_dir, "figures"), _table, _img))
    parts.append("<h2>Options</h2>" + _table(pd.DataFrame([{k: str(v) for k, v in summary.get("options", {}).items()}]), "options"))
    parts.append("</body></html>")
    os.makedirs(out_dir, exist_ok=True)
    path = os.path.join(out_dir, "index.html")
    with open(path, "w", encoding="utf-8") as fh:
        fh.write("\n".join(parts))
    log.info("report with %d figures: %s", len(figures), path)
    return path
