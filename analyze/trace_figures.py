"""Figures of the trace section: trace result frames -> matplotlib Figures (same conventions as ``analyze.figures``)."""
from __future__ import annotations

from typing import Optional

import pandas as pd
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, PercentFormatter

from analyze.figures import Frames, _fig, _legend, human_bytes
from common.traces import ALL


def _one(frame: Optional[pd.DataFrame], registry: str = ALL) -> Optional[pd.DataFrame]:
    if frame is None or frame.empty:
        return None
    return frame[frame["registry"] == registry]


def _log_x_share_y(ax, xlabel: str, ylabel: str, x_formatter) -> None:
    """Log x axis with ``x_formatter`` ticks, a share (percent) y axis, grid and legend."""
    ax.set_xscale("log")
    ax.xaxis.set_major_formatter(x_formatter)
    ax.yaxis.set_major_formatter(PercentFormatter(1.0))
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.grid(alpha=0.3)
    _legend(ax)


def fig_trace_sizes(r: Frames) -> Optional[Figure]:
    cdf = _one(r.get("trace_size_cdf"))
    if cdf is None or cdf.empty:
        return None
    fig, (ax,) = _fig("Layer sizes in the trace (blob GETs that sent bytes)")
    cdf = cdf.sort_values("below_bytes")
    ax.step(cdf["below_bytes"], cdf["layer_share"], where="post", label="layers (each once)")
    ax.step(cdf["below_bytes"], cdf["get_share"], where="post", label="layer GETs")
    ax.plot([1e6, 1e7], [0.65, 0.80], "k^", label="Anwar et al., FAST 2018: 65 % / 80 % (published)")
    _log_x_share_y(ax, "size below", "share", FuncFormatter(human_bytes))
    return fig


def fig_trace_skew(r: Frames) -> Optional[Figure]:
    pop = r.get("layer_popularity")
    if pop is None or pop.empty:
        return None
    counts = pop["get_count"].sort_values(ascending=False).reset_index(drop=True)
    fig, (ax,) = _fig("Layer popularity: GETs by rank (all registries)")
    ax.loglog(range(1, len(counts) + 1), counts, ".", markersize=3)
    ax.set_xlabel("layer rank")
    ax.set_ylabel("successful GETs")
    ax.grid(alpha=0.3)
    return fig


def fig_trace_load(r: Frames) -> Optional[Figure]:
    load = r.get("trace_hourly_load")
    if load is None or load.empty:
        return None
    fig, (ax,) = _fig("Requests per hour")
    for registry, rows in load.groupby("registry"):
        rows = rows.sort_values("hour_start_s")
        ax.plot(pd.to_datetime(rows["hour_start_s"], unit="s"), rows["requests"], label=registry,
                linestyle="--" if registry == ALL else "-")
    ax.set_ylabel("requests")
    ax.grid(alpha=0.3)
    fig.autofmt_xdate()
    _legend(ax)
    return fig


def fig_trace_cache(r: Frames) -> Optional[Figure]:
    lru, two = _one(r.get("cache_lru")), _one(r.get("cache_two_level"))
    if lru is None or lru.empty:
        return None
    fig, (ax,) = _fig("Cache what-ifs over the trace's layer GETs")
    ax.plot(lru["capacity_share"], lru["hit_ratio"], "o-", label="LRU")
    if two is not None and not two.empty:
        ax.plot(two["memory_share"], two["hit_ratio"], "s-", label="memory + 10x SSD (two-level LRU)")
    _log_x_share_y(ax, "cache (memory) size, share of the bytes of all layers requested", "hit ratio (requests)",
                   PercentFormatter(1.0))
    return fig


TRACE_FIGURES = {
    "trace_sizes": fig_trace_sizes,
    "trace_skew": fig_trace_skew,
    "trace_load": fig_trace_load,
    "trace_cache": fig_trace_cache,
}
