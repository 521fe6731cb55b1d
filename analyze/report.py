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

from analyze.figures import render_figures
from analyze.report_format import key_values, readable, readable_percentiles
from analyze.population_names import LABELS, SHORT
from analyze.churn_report import CHURN_FIGURES, churn_section, has_churn
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
     "Regular files typed by the scan (libmagic) into the reference study's taxonomy: of unique layers (the study's "
     "population) and of every layer of every image."),
    ("Deduplication", ("dedup", "dedup_growth"), ("dedup_overall", "dedup_by_class", "dedup_by_class_image_refs", "repeat_counts"),
     "Removable by count = (files - distinct contents) / files; removable by capacity = (bytes - bytes of distinct contents) "
     "/ bytes; contents are distinct by sha256. Growth curves add unique layers one by one, in a seeded random order "
     "(and most-pulled first when the crawl has pull counts)."),
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


# What each figure shows and over which population (the figure's caption).
CAPTIONS = {
    "layer_sizes": "Cumulative distribution of layer sizes, compressed and uncompressed (left), and of their compression "
                   "ratio (right). Population: every unique layer blob that scanned ok, each once.",
    "layer_counts": "Cumulative distribution of regular files and directories per layer (left) and of each layer's deepest "
                    "path (right). Population: unique layers, each once.",
    "image_sizes": "Cumulative distribution of image sizes (left: the sum of the image's layers) and files against layers "
                   "per image (right). Population: every image crawled.",
    "file_sizes": "Cumulative distribution of regular-file sizes. Population: the files of unique layers, each layer once.",
    "type_classes": "Share of files and of bytes per type class (left) and for the largest fine types (right). "
                    "Population: the regular files of unique layers.",
    "dedup": "Share of files (by count) and of bytes (by capacity) removable by storing each distinct content once, per "
             "population (left) and per type class over unique layers (right).",
    "dedup_growth": "How the dedup ratio grows as unique layers are added one by one (seeded random order; most-pulled "
                    "first when the crawl has pull counts). Population: the files of unique layers.",
    "layer_sharing": "How many images use each layer (left) and how many copies each distinct content has (right). "
                     "Population: layers referenced by images; files of unique layers.",
    "savings": "Storage saved by dedup at the granularity of layers, files and (sampled) FastCDC chunks. Population: every "
               "layer of every image (left); the content pass's sampled layers (right).",
    "redundancy": "Cumulative distribution, over images, of the share of each image's regular files whose content also "
                  "exists in another image. Population: every image.",
    "waste": "dive's efficiency per image (left) and, per image, dive's wasted bytes and duplicate content in the final "
             "filesystem against image size (right). Population: every image.",
    "popularity": "Image size and cross-image redundancy against Docker Hub pull counts. Population: images with pull counts.",
    "recompression": "Bytes saved by recompressing the stored blobs with zstd at each level. Population: the content "
                     "pass's sampled layers.",
    "os_packages": "Images holding each package ecosystem (left) and the distribution named by /etc/os-release (right). "
                   "Population: every image.",
}


def _img(path: str, name: str) -> str:
    with open(path, "rb") as fh:
        data = base64.b64encode(fh.read()).decode()
    caption = html.escape(CAPTIONS.get(name, name))
    return (f'<figure id="fig-{name}"><img alt="{html.escape(name)}" src="data:image/png;base64,{data}"/>'
            f"<figcaption>{caption}</figcaption></figure>")


TABLE_TITLES = {
    "layer_percentiles": "Layer percentiles", "image_percentiles": "Image percentiles",
    "type_class": "Type classes (files of unique layers)", "type_class_image_refs": "Type classes (every layer of every image)",
    "size_by_type": "File sizes by type class", "dedup_overall": "File-level dedup per population",
    "dedup_by_class": "Dedup per type class (unique layers)", "dedup_by_class_image_refs": "Dedup per type class (every layer of every image)",
    "repeat_counts": "How often contents repeat", "layer_vs_file": "Savings by dedup level (every layer of every image)",
    "chunk_dedup": "Savings by dedup level (sampled layers)", "waste_summary": "Waste over all images",
    "top_inefficient": "Paths wasting the most bytes", "popularity_buckets": "Images by pull-count decade",
    "popularity_correlation": "Rank correlation with popularity", "recompression": "Recompression with zstd",
    "os_distribution": "Operating systems", "ecosystems": "Package ecosystems", "corpus": "", "options": "",
}


def _table(df: Optional[pd.DataFrame], name: str, max_rows: int = 25) -> str:
    if df is None or df.empty:
        return ""
    shown = df.head(max_rows)
    if not all(isinstance(v, str) for v in shown.iloc[0].tolist()):  # not formatted yet
        shown = readable(shown)
    more = f"<p class='more'>{len(df) - max_rows} more rows in {name}.csv</p>" if len(df) > max_rows else ""
    title = TABLE_TITLES.get(name, name.replace("_", " "))
    heading = f"<h4>{html.escape(title)}</h4>" if title else ""
    return heading + shown.to_html(index=False, classes=f"tbl tbl-{name}", border=0) + more


def _derived(frames: dict[str, pd.DataFrame]) -> dict[str, pd.DataFrame]:
    out = dict(frames)
    lp = frames.get("layer_percentiles")
    if lp is not None and len(lp):
        pivot = lp.pivot_table(index=["population", "metric"], columns="p", values="value").reset_index()
        pivot.columns = [str(c) for c in pivot.columns]
        out["layer_percentiles"] = readable_percentiles(pivot, ["population", "metric"])
    ip = frames.get("image_percentiles")
    if ip is not None and len(ip):
        pivot = ip.pivot_table(index="metric", columns="p", values="value").reset_index()
        pivot.columns = [str(c) for c in pivot.columns]
        out["image_percentiles"] = readable_percentiles(pivot, ["metric"])
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
            f"<td>{html.escape(SHORT.get(ref.population, ref.population))}</td><td class='published'>{html.escape(ref.published)}</td>"
            f"<td>{html.escape(ref.source)} [{ref.tag}]</td></tr>"
        )
    head = "<tr><th>statistic</th><th>hubscope (this corpus)</th><th>population</th><th>published</th><th>source [tag]</th></tr>"
    return f"<table class='tbl tbl-reference'>{head}{''.join(rows)}</table>"


def missing_data(title: str, frames: dict[str, pd.DataFrame], summary: dict) -> Optional[str]:
    """Why a section has nothing to show for this corpus (None when it has data)."""
    if title == "Popularity":
        stats = frames.get("image_stats")
        if stats is None or "pull_count" not in stats or stats["pull_count"].dropna().empty:
            return ("No popularity data: the crawl recorded no pull or star counts (only Docker Hub listings, "
                    "--hub-search and --hub-namespace, carry them).")
    if title.startswith("Recompression") and "recompression" not in frames:
        return ("No content pass: stats ran without --store, so recompression and the OS / package databases "
                "were not measured.")
    if not (summary.get("corpus") or {}).get("file_rows") and title != "Images":
        return "No data: no layer of this corpus scanned ok, so there are no files to analyse."
    return None


def _empty_corpus_note(corpus: dict) -> str:
    if corpus.get("file_rows"):
        return ""
    return (f"<p class='warn'>This corpus has no scanned files ({corpus.get('layers_error', 0)} of "
            f"{corpus.get('layers', 0)} layers failed to scan): the sections below have no data.</p>")


def content_pass_status(frames: dict[str, pd.DataFrame], summary: dict) -> str:
    """One warning paragraph when the content pass failed for some layers (its results then cover fewer layers).

    An install missing a content-pass dependency used to exit 0 with these sections silently empty.
    """
    errors = frames.get("content_errors")
    if errors is None or errors.empty:
        return ""
    sampled = (summary.get("content") or {}).get("sampled_layers")
    by_class = errors.groupby("key").size().sort_values(ascending=False)
    classes = ", ".join(f"{html.escape(str(k))} ({n})" for k, n in by_class.items())
    example = html.escape(str(errors["value"].iloc[0])[:200])
    of = f" of {int(sampled) + len(errors)}" if sampled is not None else ""
    return (f"<p class='warn' id='content-errors'><b>The content pass failed for {len(errors)}{of} layers</b> "
            f"({classes}; e.g. &ldquo;{example}&rdquo;): chunk-level dedup, recompression and OS / package results "
            "cover only the layers it could read.</p>")


STYLE = """body{font-family:sans-serif;max-width:1200px;margin:2em auto;color:#222}
figure{margin:1em 0}img{max-width:100%}table.tbl{border-collapse:collapse;font-size:13px;margin:.5em 0}
.tbl td,.tbl th{padding:2px 8px;border-bottom:1px solid #ddd;text-align:right}.tbl td:first-child{text-align:left}
td.ours{font-weight:bold}.note{color:#555;font-size:14px}
.warn{background:#fff3cd;border-left:4px solid #c90;padding:.5em 1em}.nodata{color:#555;font-style:italic}
figcaption{color:#444;font-size:14px;margin-top:.3em}"""


def render_report(results_dir: str, out_dir: str, extra_sections: Sequence[str] = ()) -> str:
    """Render figures (PNG + SVG under ``<out>/figures``) and ``<out>/index.html``; returns the HTML path.

    ``extra_sections`` (HTML) go before the options, e.g. the trace section of a shared results folder."""
    frames = load_results(results_dir)
    with open(os.path.join(results_dir, "summary.json")) as fh:
        summary = json.load(fh)
    figures = render_figures(frames, os.path.join(out_dir, "figures"))
    if has_churn(frames):
        figures.update(render_figures(frames, os.path.join(out_dir, "figures"), CHURN_FIGURES))
    tables = _derived(frames)
    corpus = summary.get("corpus", {})
    parts = [
        "<!DOCTYPE html><html><head><meta charset='utf-8'><title>hubscope report</title>",
        f"<style>{STYLE}</style></head><body><h1>hubscope report</h1>",
        f"<p class='note'>Generated {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC from {html.escape(os.path.abspath(results_dir))}.</p>",
        content_pass_status(frames, summary),
        "<h2>Corpus</h2>",
        _empty_corpus_note(corpus),
        _table(key_values(corpus), "corpus"),
        "<h2>Populations</h2><ul>" + "".join(f"<li><b>{html.escape(SHORT.get(k, k))}</b> ({k}): {html.escape(v)}</li>"
                                           for k, v in LABELS.items()) + "</ul>",
        "<h2>This corpus beside the reference study</h2>",
        "<p class='note'>Published values from the papers ([C] confirmed in the primary source, [S] quoted from a secondary "
        "summary). Our corpus is much smaller; the comparison shows shape, not scale. Our sizes are in binary "
        "units (1 KiB = 1,024 B, 1 MiB = 2^20 B) throughout; the published column quotes the papers' decimal MB and TB.</p>",
        _comparison(summary),
    ]
    for title, figs, names, text in SECTIONS:
        parts.append(f"<h2>{html.escape(title)}</h2>")
        missing = missing_data(title, frames, summary)
        body = [] if missing else [_img(figures[f], f) for f in figs if f in figures] + [
            t for t in (_table(tables.get(n), n) for n in names) if t]
        if not body:  # one sentence instead of empty figures and tables
            parts.append(f"<p class='nodata'>{html.escape(missing or 'No data for this section in this corpus.')}</p>")
            continue
        parts.append(f"<p class='note'>{html.escape(text)}</p>")
        parts.extend(body)
    parts.extend(churn_section(frames, figures, _img, _table))
    parts.extend(extra_sections)
    parts.append(whatif_section(results_dir, frames, os.path.join(out_dir, "figures"), _table, _img))
    parts.append("<h2>Options</h2>" + _table(key_values({k: str(v) for k, v in summary.get("options", {}).items()}), "options"))
    parts.append("</body></html>")
    os.makedirs(out_dir, exist_ok=True)
    path = os.path.join(out_dir, "index.html")
    with open(path, "w", encoding="utf-8") as fh:
        fh.write("\n".join(parts))
    log.info("report with %d figures: %s", len(figures), path)
    return path
