"""The headline numbers of a trace (registry ``all``) from the trace stats job's result frames.

Read by the report beside Anwar et al.'s published findings; pandas only, no Spark.
"""
from __future__ import annotations

from typing import Optional

import pandas as pd

from common.traces import ALL


def _all(frame: Optional[pd.DataFrame]) -> pd.DataFrame:
    if frame is None or frame.empty or "registry" not in frame:
        return pd.DataFrame()
    return frame[frame["registry"] == ALL]


def _num(value) -> Optional[float]:
    return None if value is None or pd.isna(value) else float(value)


def build_trace_summary(frames: dict[str, pd.DataFrame], synthetic: bool, schema: str) -> dict:
    """Counts, shares and fits of the whole trace, keyed for the report."""
    mix, reg = _all(frames.get("trace_request_mix")), _all(frames.get("trace_registries"))
    bad = frames.get("trace_bad_lines", pd.DataFrame())
    requests = int(mix["requests"].sum()) if not mix.empty else 0
    gets = mix[mix["method"] == "GET"]["requests"].sum() if not mix.empty else 0
    blob_gets = mix[(mix["method"] == "GET") & (mix["kind"] == "blob")]["requests"].sum() if not mix.empty else 0
    row = reg.iloc[0] if not reg.empty else {}
    out: dict = {
        "schema": schema,
        "synthetic": bool(synthetic),
        "registries": sorted(r for r in frames.get("trace_registries", pd.DataFrame({"registry": []}))["registry"] if r != ALL),
        "requests": requests,
        "bad_lines": int(bad["lines"].sum()) if not bad.empty else 0,
        "bad_lines_by_reason": bad.groupby("bad_reason")["lines"].sum().astype(int).to_dict() if not bad.empty else {},
        "get_share": float(gets / requests) if requests else None,
        "blob_get_share": float(blob_gets / requests) if requests else None,
        "layers": int(row["layers"]) if len(row) and not pd.isna(row["layers"]) else 0,
        "layers_under_1mb_share": _num(row["layers_under_1mb_share"]) if len(row) else None,
        "layers_under_10mb_share": _num(row["layers_under_10mb_share"]) if len(row) else None,
    }
    skew = _all(frames.get("trace_skew"))
    out["skew"] = {r.entity: {"entities": int(r.entities), "top1_share": _num(r.top1_share), "top10_share": _num(r.top10_share),
                              "zipf_s": _num(r.zipf_s)} for r in skew.itertuples()}
    put_get = _all(frames.get("trace_put_get"))
    out["put_get"] = {r.followed_by: {"puts": int(r.puts), "within_600s_share": _num(r.within_600s_share),
                                      "ever_share": _num(r.ever_share), "median_delay_s": _num(r.median_delay_s)}
                      for r in put_get.itertuples()}
    load = _all(frames.get("trace_latency_vs_load"))
    out["corr_requests_duration"] = _num(load["corr_requests_duration"].iloc[0]) if not load.empty else None
    lru = _all(frames.get("cache_lru"))
    out["lru_hit_ratio_by_share"] = {f"{s:g}": _num(h) for s, h in zip(lru.get("capacity_share", []), lru.get("hit_ratio", []))}
    pre = _all(frames.get("prefetch"))
    out["prefetch"] = {f"{t:g}s": {"hit_ratio": _num(h), "extra_bytes": int(x)}
                       for t, h, x in zip(pre.get("ttl_s", []), pre.get("hit_ratio", []), pre.get("extra_bytes", []))}
    return out
