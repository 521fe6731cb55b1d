"""The headline numbers (``summary.json``): what the report quotes beside the reference study.

Built from the result frames already collected, plus a few counts over the tables, so the summary
never disagrees with the tables it sits beside.
"""
from __future__ import annotations

from dataclasses import asdict
from typing import Any, Optional

import pandas as pd
from pyspark.sql import DataFrame
from pyspark.sql import functions as F


def value(pdf: Optional[pd.DataFrame], column: str, **where: Any) -> Optional[float]:
    """The first ``column`` value of the rows matching ``where`` (None when absent or null)."""
    if pdf is None:
        return None
    sel = pdf
    for k, v in where.items():
        sel = sel[sel[k] == v]
    if sel.empty or pd.isna(sel[column].iloc[0]):
        return None
    v = sel[column].iloc[0]
    return v.item() if hasattr(v, "item") else v


def _int(v: Any) -> int:
    """An integer total; an empty aggregate (null / NaN) is 0."""
    return 0 if v is None or pd.isna(v) else int(v)


def _float(v: Any) -> Optional[float]:
    return None if v is None or pd.isna(v) else float(v)


def _quantile(series: pd.Series, q: float) -> Optional[float]:
    """Linear interpolation between the nearest ranks: a median of an even count is the mean of the middle two."""
    series = series.dropna()
    return float(series.quantile(q, interpolation="linear")) if len(series) else None


def _diff_id_sharing(by_diff_id: Optional[pd.DataFrame]) -> dict:
    """Layers counted by diff_id: how many, how many stored as more than one blob, the most shared."""
    if by_diff_id is None or not len(by_diff_id):
        return {"layers_by_diff_id": 0, "max_images_per_diff_id": None}
    return {
        "layers_by_diff_id": int(by_diff_id["layers"].sum()),
        "max_images_per_diff_id": int(by_diff_id["images_per_layer"].max()),
    }


def _class_shares(types: pd.DataFrame) -> dict:
    return {
        str(r.type): {"files": _int(r.files), "bytes": _int(r.bytes), "file_share": _float(r.file_share),
                      "byte_share": _float(r.byte_share)}
        for r in types.itertuples()
    }


def _python_share(fine: pd.DataFrame) -> Optional[float]:
    """Share of script files whose fine type mentions Python (the study's 53.5 %)."""
    scripts = fine[fine["type_class"].astype(str).str.contains("script", case=False)]
    if scripts.empty or not scripts["files"].sum():
        return None
    python = scripts[scripts["type"].astype(str).str.contains("python", case=False)]
    return float(python["files"].sum() / scripts["files"].sum())


def corpus_counts(tables: dict[str, DataFrame]) -> dict:
    """Images, layers by status, file rows and byte totals of the scanned layers."""
    layers = tables["layers"].groupBy().agg(
        F.count(F.lit(1)).alias("layers"),
        F.sum(F.when(F.col("status") == "ok", 1).otherwise(0)).alias("layers_ok"),
        F.sum(F.when(F.col("status") == "ok", F.col("compressed_bytes"))).alias("compressed_bytes"),
        F.sum(F.when(F.col("status") == "ok", F.col("uncompressed_bytes"))).alias("uncompressed_bytes"),
        F.sum(F.when((F.col("status") == "ok") & (F.col("compressed_bytes") < 1_000_000), 1).otherwise(0)).alias("under_1mb"),
        F.sum(F.when((F.col("status") == "ok") & (F.col("compressed_bytes") < 10_000_000), 1).otherwise(0)).alias("under_10mb"),
    ).first()
    ok = layers["layers_ok"] or 0
    return {
        "images": tables["images"].select("image_digest").distinct().count(),
        "repositories": tables["images"].select("repository").distinct().count(),
        "layers": int(layers["layers"] or 0),
        "layers_ok": int(layers["layers_ok"] or 0),
        "layers_error": int((layers["layers"] or 0) - (layers["layers_ok"] or 0)),
        "compressed_bytes": int(layers["compressed_bytes"] or 0),
        "uncompressed_bytes": int(layers["uncompressed_bytes"] or 0),
        "file_rows": tables["files"].count(),
        "layers_under_1mb_compressed": (layers["under_1mb"] / ok) if ok else None,
        "layers_under_10mb_compressed": (layers["under_10mb"] / ok) if ok else None,
    }


def build_summary(frames: dict[str, pd.DataFrame], tables: dict[str, DataFrame], options) -> dict:
    """Headline numbers from the collected result frames."""
    lp, ip = frames["layer_percentiles"], frames["image_percentiles"]
    dedup = {
        str(r.population): {
            "total_files": _int(r.total_files), "unique_files": _int(r.unique_files),
            "total_bytes": _int(r.total_bytes), "unique_bytes": _int(r.unique_bytes),
            "dedup_count": _float(r.dedup_count),
            "dedup_capacity": _float(r.dedup_capacity),
            "unique_file_fraction": (_int(r.unique_files) / _int(r.total_files)) if _int(r.total_files) else None,
        }
        for r in frames["dedup_overall"].itertuples()
    }
    layer = {
        f"{stat}_{metric}": value(lp, "value", population="layer_blobs", metric=metric, p=p)
        for metric in ("compressed_bytes", "uncompressed_bytes", "compression_ratio", "file_count")
        for stat, p in (("median", 0.5), ("p90", 0.9))
    }
    image = {
        f"median_{metric}": value(ip, "value", metric=metric, p=0.5)
        for metric in ("compressed_bytes", "uncompressed_bytes", "file_count", "layer_count")
    }
    stats = frames["image_stats"]
    share = stats["share_elsewhere"] if "share_elsewhere" in stats else pd.Series(dtype=float)
    sharing = frames["layer_sharing"]
    total_layers = int(sharing["layers"].sum()) if len(sharing) else 0
    waste = frames["image_waste"]
    lvf = frames["layer_vs_file"]
    summary = {
        "corpus": corpus_counts(tables),
        "dedup": dedup,
        "layers": layer,
        "images": image,
        "type_class": _class_shares(frames["type_class"]),
        "scripts_python_share": _python_share(frames["type_fine"]),
        "cross_image": {
            "p10_share_elsewhere": _quantile(share, 0.1),
            "median_share_elsewhere": _quantile(share, 0.5),
            "images_over_99_4_percent": float((share.dropna() > 0.994).mean()) if len(share.dropna()) else None,
        },
        "sharing": {
            "layers_referenced": total_layers,
            "shared_layer_fraction": float(sharing.loc[sharing["images_per_layer"] > 1, "layers"].sum() / total_layers)
            if total_layers else None,
            "max_images_per_layer": int(sharing["images_per_layer"].max()) if total_layers else None,
            **_diff_id_sharing(frames.get("layer_sharing_diff_id")),
        },
        "layer_vs_file": {str(r.level): _float(r.savings) for r in lvf.itertuples()},
        "waste": {
            "median_efficiency": _quantile(waste["efficiency"], 0.5) if len(waste) else None,
            "median_wasted_user_percent": _quantile(waste["wasted_user_percent"], 0.5) if len(waste) else None,
            "wasted_bytes": int(waste["wasted_bytes"].sum()) if len(waste) else 0,
            "images_with_waste": int((waste["wasted_bytes"] > 0).sum()) if len(waste) else 0,
        },
        "final_fs": {
            "images_with_duplicates": int((waste["duplicate_files"] > 0).sum()) if len(waste) else 0,
            "duplicate_bytes_fraction": _float(waste["duplicate_bytes"].sum() / waste["final_bytes"].sum())
            if len(waste) and waste["final_bytes"].sum() else None,
        },
        "options": {k: (list(v) if isinstance(v, tuple) else v) for k, v in asdict(options).items()},
    }
    if "chunk_dedup" in frames:
        cd, rc = frames["chunk_dedup"], frames["recompression"]
        summary["content"] = {
            "sampled_layers": value(cd, "layers", population="layer_blobs", level="chunk"),
            "savings": {
                f"{r.population}/{r.level}": _float(r.savings) for r in cd.itertuples()
            },
            "recompression_savings_vs_gzip": {
                int(r.level): float(r.savings_vs_stored) for r in rc.itertuples() if r.compression == "gzip"
            },
            "top_os": frames["os_distribution"].head(5).to_dict("records"),
            "errors": len(frames["content_errors"]),
        }
    summary["ecosystems"] = frames["ecosystems"].to_dict("records")
    return summary
