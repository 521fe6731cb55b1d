"""The reference study's (and related work's) published values ([C] confirmed / [S] secondary, from REFERENCE.md) and how to
read the matching number from our summary. [U] values are never listed.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Optional

from common.units import human_bytes

ZHAO = "Zhao et al., IEEE CLUSTER 2019 / TPDS 2021"
MB = 1_000_000  # the published values' unit (decimal)


@dataclass(frozen=True)
class Reference:
    """One published value beside the key of ours that answers the same question."""

    label: str
    published: str
    tag: str  # "C" or "S"
    source: str
    ours: Callable[[dict], Optional[float]]
    unit: str  # "share" | "bytes" | "count" | "ratio"
    population: str = "layer_blobs"


def _get(*keys: str) -> Callable[[dict], Optional[float]]:
    def read(summary: dict) -> Optional[float]:
        node = summary
        for k in keys:
            if not isinstance(node, dict) or k not in node:
                return None
            node = node[k]
        return node

    return read


def _class_share(keyword: str, column: str) -> Callable[[dict], Optional[float]]:
    """Share of the first type class whose name contains ``keyword`` (taxonomy labels vary slightly)."""

    def read(summary: dict) -> Optional[float]:
        for name, row in summary.get("type_class", {}).items():
            if keyword in name.lower():
                return row[column]
        return 0.0 if summary.get("type_class") else None

    return read


def _python_share(summary: dict) -> Optional[float]:
    return summary.get("scripts_python_share")


REFERENCES: tuple[Reference, ...] = (
    Reference("uncompressed data analysed", "over 167 TB", "C", ZHAO, _get("corpus", "uncompressed_bytes"), "bytes"),
    Reference("compressed data", "47 TB", "S", ZHAO, _get("corpus", "compressed_bytes"), "bytes"),
    Reference("layers (unique, compressed)", "1,792,609", "S", ZHAO, _get("corpus", "layers_ok"), "count"),
    Reference("files", "~5.28 billion", "S", ZHAO, _get("dedup", "layer_blobs", "total_files"), "count"),
    Reference("repositories", "457,627", "S", ZHAO, _get("corpus", "repositories"), "count", "repositories"),
    Reference("unique files (share of files)", "~3 % (3.2 %)", "C", ZHAO, _get("dedup", "layer_blobs", "unique_file_fraction"), "share"),
    Reference("file-level dedup by capacity", "85.69 % removable (~7x)", "S", ZHAO, _get("dedup", "layer_blobs", "dedup_capacity"), "share"),
    Reference("cross-image redundancy: 90 % of images have more than", "99.4 % of files elsewhere", "S", ZHAO,
              _get("cross_image", "p10_share_elsewhere"), "share", "image_refs"),
    Reference("median layer size, uncompressed", "< 4 MB (kind of size not stated)", "S", ZHAO,
              _get("layers", "median_uncompressed_bytes"), "bytes"),
    Reference("median layer size, compressed", "< 4 MB (kind of size not stated)", "S", ZHAO,
              _get("layers", "median_compressed_bytes"), "bytes"),
    Reference("90th percentile layer, uncompressed", "< 177 MB", "S", ZHAO, _get("layers", "p90_uncompressed_bytes"), "bytes"),
    Reference("90th percentile layer, compressed", "< 63 MB", "S", ZHAO, _get("layers", "p90_compressed_bytes"), "bytes"),
    Reference("median layer compression ratio", "2.6", "S", ZHAO, _get("layers", "median_compression_ratio"), "ratio"),
    Reference("median image, uncompressed", "94 MB", "S", ZHAO, _get("images", "median_uncompressed_bytes"), "bytes", "images"),
    Reference("median image, compressed", "17 MB", "S", ZHAO, _get("images", "median_compressed_bytes"), "bytes", "images"),
    Reference("median image, files", "1,090", "S", ZHAO, _get("images", "median_file_count"), "count", "images"),
    Reference("executables/objects/libraries, share of bytes", "37 %", "S", ZHAO, _class_share("exec", "byte_share"), "share"),
    Reference("executables/objects/libraries, share of files", "11 %", "S", ZHAO, _class_share("exec", "file_share"), "share"),
    Reference("archives, share of bytes", "23 %", "S", ZHAO, _class_share("archive", "byte_share"), "share"),
    Reference("documents, share of bytes", "14 %", "S", ZHAO, _class_share("document", "byte_share"), "share"),
    Reference("documents, share of files", "44 %", "S", ZHAO, _class_share("document", "file_share"), "share"),
    Reference("scripts, share of files", "9 %", "S", ZHAO, _class_share("script", "file_share"), "share"),
    Reference("Python, share of script files", "53.5 %", "S", ZHAO, _python_share, "share"),
    Reference("file-level dedup in the registry (saved share)", "up to 6.9x less storage (= 85.5 % saved)", "C/S",
              "DupHunter, USENIX ATC 2020", _get("layer_vs_file", "file"), "share", "image_refs"),
    Reference("layers under 1 MB (compressed)", "65 % (IBM registry traces)", "C/S", "Anwar et al., FAST 2018",
              _get("corpus", "layers_under_1mb_compressed"), "share"),
    Reference("layers under 10 MB (compressed)", "80 % (IBM registry traces)", "C/S", "Anwar et al., FAST 2018",
              _get("corpus", "layers_under_10mb_compressed"), "share"),
)


def format_value(value: Optional[float], unit: str) -> str:
    """Our number in the unit the published value uses."""
    if value is None:
        return "n/a"
    if unit == "share":
        return f"{100 * value:.1f} %"
    if unit == "bytes":  # binary units like every other number of the report (the published side keeps its own)
        return human_bytes(value)
    if unit == "ratio":
        return f"{value:.2f}"
    return f"{value:,.0f}"
