"""Tables for people: a readable label for every column and every value in units a reader expects.

Bytes are binary (KiB, MiB: ``common.units``), shares are percentages, counts have thousands
separators, and nothing is printed in scientific notation. Labels come from one table; a column
missing there still reads as words (underscores become spaces, ``_bytes`` becomes "(size)").
"""
from __future__ import annotations

import math
import re
from typing import Any, Callable

import pandas as pd

from analyze.population_names import SHORT as POPULATION_SHORT
from common.units import human_bytes, percent

COLUMN_LABELS = {
    "images": "images", "repositories": "repositories (names)", "layers": "layers",
    "layers_ok": "layers scanned ok", "layers_error": "layers that failed to scan",
    "compressed_bytes": "compressed size", "uncompressed_bytes": "uncompressed size",
    "file_rows": "tar entries (files, directories, links, ...)",
    "layers_under_1mb_compressed": "layers under 1 MB (10^6 B) compressed",
    "layers_under_10mb_compressed": "layers under 10 MB (10^6 B) compressed",
    "population": "population", "metric": "statistic", "type_class": "type class", "type": "type",
    "level": "level", "files": "regular files", "bytes": "size", "file_share": "share of files",
    "byte_share": "share of bytes", "mean_bytes": "mean size", "median_bytes": "median size", "p90_bytes": "p90 size",
    "total_files": "files", "unique_files": "distinct contents", "total_bytes": "size", "unique_bytes": "size of distinct contents",
    "dedup_count": "removable by count", "dedup_capacity": "removable by capacity",
    "repeat_count": "copies of a content", "digests": "distinct contents",
    "referenced_bytes": "referenced", "stored_bytes": "stored once", "savings": "saved",
    "median_efficiency": "median dive efficiency", "median_wasted_user_percent": "median wasted share of user layers",
    "wasted_bytes": "wasted (dive)", "images_with_final_duplicates": "images with duplicate files in the final filesystem",
    "final_duplicate_bytes": "duplicate bytes in final filesystems", "path": "path", "count": "layers holding it",
    "image_digest": "image", "pulls": "pulls (Docker Hub)", "popularity": "popularity", "spearman": "Spearman rank correlation",
    "compression": "stored compression", "savings_vs_stored": "saved vs stored blob", "os_id": "OS", "os_version": "version",
    "ecosystem": "ecosystem", "images_with": "images with it", "packages": "packages",
    "key": "error class", "value": "message", "layer_digest": "layer",
}
# cell values that are names: population and dedup level
VALUE_LABELS = {"population": POPULATION_SHORT, "level": {"layer_compressed": "layer (compressed blobs)"}}
# a column whose values are shares of 1 (shown as percentages)
_SHARE = re.compile(r"(share|dedup_count|dedup_capacity|savings|fraction|efficiency|_percent|under_\d+mb)")
_COUNT_METRICS = ("file_count", "dir_count", "layer_count", "depth_max", "entries", "files")


def column_label(name: str) -> str:
    """The header a reader sees for result column ``name``."""
    if name in COLUMN_LABELS:
        return COLUMN_LABELS[name]
    if re.fullmatch(r"0?\.\d+|1(\.0)?", name):  # a percentile column
        return f"p{float(name) * 100:g}"
    words = name.replace("_bytes", " size").replace("median_", "median ").replace("_", " ")
    return words.strip()


def format_number(v: Any, digits: int = 2) -> str:
    """A plain number: integers with separators, others with ``digits`` decimals; never ``6.361e+05``."""
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return ""
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, int) or (isinstance(v, float) and v.is_integer() and abs(v) >= 1):
        return f"{int(v):,}"
    if isinstance(v, float):
        return f"{v:,.0f}" if abs(v) >= 1000 else f"{v:,.{digits}f}"
    return str(v)


def formatter_for(column: str) -> Callable[[Any], str]:
    """How the values of ``column`` read: bytes, percentage or plain number."""
    if column.endswith("_bytes") or column == "bytes":
        return human_bytes
    if _SHARE.search(column):
        return percent
    return format_number


def metric_formatter(metric: str) -> Callable[[Any], str]:
    """For percentile tables (one row per metric): the row's unit decides."""
    if metric.endswith("_bytes"):
        return human_bytes
    if _SHARE.search(metric):
        return percent
    if metric in _COUNT_METRICS or metric.endswith("_count"):
        return lambda v: format_number(round(v) if isinstance(v, float) and not math.isnan(v) else v)
    return format_number


def readable(df: pd.DataFrame) -> pd.DataFrame:
    """Every value formatted by its column and every header labelled."""
    out = pd.DataFrame(index=df.index)
    for col in df.columns:
        fmt = formatter_for(str(col))
        if col in VALUE_LABELS:
            out[column_label(col)] = [VALUE_LABELS[col].get(v, v) for v in df[col].tolist()]
            continue
        out[column_label(str(col))] = [
            "" if (v is None or (isinstance(v, float) and math.isnan(v))) else (fmt(v) if not isinstance(v, str) else v)
            for v in df[col].tolist()
        ]
    return out


def readable_percentiles(df: pd.DataFrame, index: list[str]) -> pd.DataFrame:
    """A pivoted percentile table (``index`` columns, then one column per p): each row in its metric's unit."""
    out = pd.DataFrame(index=df.index)
    for col in index:
        names = POPULATION_SHORT if col == "population" else {}
        out[column_label(col)] = df[col].astype(str).map(
            lambda v, names=names: names.get(v) or (column_label(v) if v in COLUMN_LABELS else v.replace("_", " ")))
    for col in [c for c in df.columns if c not in index]:
        out[column_label(str(col))] = [metric_formatter(str(m))(v) for m, v in zip(df["metric"], df[col])]
    return out


def key_values(row: dict) -> pd.DataFrame:
    """One record as a two-column table (statistic, value): wide one-row tables read badly."""
    return pd.DataFrame({"statistic": [column_label(k) for k in row],
                         "value": [formatter_for(k)(v) if not isinstance(v, str) else v for k, v in row.items()]})
