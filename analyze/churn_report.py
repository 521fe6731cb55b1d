"""The report's "Growth and churn" section and its figures; present only when the results compare snapshots.

Reads the churn results of ``analyze.snapshots`` (``snapshots``, ``churn``, ``churn_stored``) as
pandas frames, so the report stays free of Spark.
"""
from __future__ import annotations

import html
from typing import Callable, Optional

import pandas as pd
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, PercentFormatter

from analyze.figures import Frames, _fig, _legend, human_bytes

TITLE = "Growth and churn between snapshots"
TEXT = ("Each snapshot is one crawl (hubscope crawl --snapshot). Tags (repository, tag, platform) are added, removed, "
        "retagged (same tag, new digest) or unchanged; layers added or no longer referenced, in compressed bytes; "
        "'already stored' is the share of a snapshot's bytes the previous one held, by layer and by file content.")
KINDS = {"tag": ("added", "removed", "retagged", "unchanged"), "repository": ("added", "removed", "kept"),
         "layer": ("added", "removed", "kept")}


def _pair(row) -> str:
    return f"{row['snapshot_a']} -> {row['snapshot_b']}"


def fig_churn(r: Frames) -> Optional[Figure]:
    """Counts per kind for repositories and tags, and layer bytes per kind, for each compared pair."""
    churn = r.get("churn")
    if churn is None or churn.empty:
        return None
    fig, axes = _fig("Churn between snapshots", ncols=3)
    churn = churn.assign(pair=churn.apply(_pair, axis=1))
    for ax, (entity, value) in zip(axes, (("repository", "count"), ("tag", "count"), ("layer", "bytes"))):
        table = churn[churn["entity"] == entity].pivot_table(index="pair", columns="kind", values=value, aggfunc="sum")
        table = table.reindex(columns=[k for k in KINDS[entity] if k in table.columns]).fillna(0)
        table.plot.bar(ax=ax, rot=0)
        ax.set_title(f"{entity}s" + (" (compressed bytes)" if value == "bytes" else ""))
        ax.set_xlabel("")
        if value == "bytes":
            ax.yaxis.set_major_formatter(FuncFormatter(human_bytes))
        _legend(ax)
    return fig


def fig_snapshots(r: Frames) -> Optional[Figure]:
    """Per snapshot: unique layer bytes, and layer-level and file-level dedup."""
    snaps = r.get("snapshots")
    if snaps is None or len(snaps) < 2:
        return None
    fig, (left, right) = _fig("Snapshots over time", ncols=2)
    left.plot(snaps["snapshot"], snaps["layer_bytes"], marker="o", label="unique layer bytes")
    left.yaxis.set_major_formatter(FuncFormatter(human_bytes))
    left.set_ylabel("compressed bytes")
    _legend(left)
    right.plot(snaps["snapshot"], snaps["layer_dedup"], marker="o", label="layer dedup")
    right.plot(snaps["snapshot"], snaps["file_dedup_capacity"], marker="s", label="file dedup (capacity)")
    right.yaxis.set_major_formatter(PercentFormatter(1.0))
    _legend(right)
    for ax in (left, right):
        ax.grid(alpha=0.3)
    return fig


def fig_stored(r: Frames) -> Optional[Figure]:
    """Share of each newer snapshot's bytes already stored by the one before, by layer and by file."""
    stored = r.get("churn_stored")
    if stored is None or stored.empty:
        return None
    fig, (ax,) = _fig("Already stored before the newer snapshot")
    table = stored.assign(pair=stored.apply(_pair, axis=1)).pivot_table(index="pair", columns="level",
                                                                         values="already_stored_share")
    table.plot.bar(ax=ax, rot=0)
    ax.yaxis.set_major_formatter(PercentFormatter(1.0))
    ax.set_xlabel("")
    _legend(ax)
    return fig


def fig_repository_counts(r: Frames) -> Optional[Figure]:
    """The repositories each listing announced, over time (the reference study counted the Hub hourly)."""
    counts = r.get("repository_counts")
    if counts is None or counts.empty:
        return None
    fig, (ax,) = _fig("Repositories listed over time")
    for key, rows in counts.sort_values("at").groupby("key"):
        ax.plot(pd.to_datetime(rows["at"], unit="s", utc=True), rows["total"], marker=".", label=key)
    ax.set_ylabel("repositories announced")
    ax.grid(alpha=0.3)
    _legend(ax)
    return fig


CHURN_FIGURES: dict[str, Callable[[Frames], Optional[Figure]]] = {
    "churn": fig_churn, "snapshots": fig_snapshots, "churn_stored": fig_stored, "repository_counts": fig_repository_counts,
}


def has_churn(frames: Frames) -> bool:
    """The section appears only when the results compare two or more snapshots."""
    churn = frames.get("churn")
    return churn is not None and not churn.empty


def churn_section(frames: Frames, figures: dict[str, str], img: Callable[[str, str], str],
                  table: Callable[[Optional[pd.DataFrame], str], str]) -> list[str]:
    """HTML parts of the section (empty without churn results), with the report's figure and table renderers."""
    if not has_churn(frames):
        return []
    parts = [f"<h2>{html.escape(TITLE)}</h2><p class='note'>{html.escape(TEXT)}</p>"]
    parts += [img(figures[name], name) for name in CHURN_FIGURES if name in figures]
    parts += [table(frames.get(name), name) for name in ("snapshots", "churn", "churn_stored")]
    return parts
