"""Figures of the report: pandas result frames -> matplotlib Figures (Agg backend).

Each ``fig_*`` takes the dict of result frames and returns a Figure, or None when its results are
absent (e.g. no content pass). Sizes span decades, so size axes are logarithmic with byte units.
"""
from __future__ import annotations

import logging
import os
from typing import Callable, Optional

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from matplotlib.ticker import FuncFormatter, LogLocator, MaxNLocator, NullLocator, PercentFormatter  # noqa: E402

from analyze.population_names import SHORT  # noqa: E402
from common.units import human_bytes  # noqa: E402  (re-exported: the report formats tables with it)

log = logging.getLogger(__name__)
Frames = dict[str, pd.DataFrame]


def _tick_bytes(n: float, _pos=None) -> str:
    """Axis ticks at powers of two: ``4 KiB``, ``1 MiB`` (no ``.0``)."""
    text = human_bytes(n)
    return text.replace(".0 ", " ")


def bytes_axis(axis, log: bool = True) -> None:
    """Binary units on a byte axis: on a log scale ticks at powers of 4 (1 KiB, 4 KiB, 16 KiB ...), never
    at decimal decades (which print as ``976.6 KiB``)."""
    if log and axis.get_scale() == "log":
        axis.set_major_locator(LogLocator(base=4, numticks=12))
        axis.set_minor_locator(NullLocator())
    axis.set_major_formatter(FuncFormatter(_tick_bytes))


def _scale(axis) -> str:
    """``, log scale`` for a log axis (the label says how to read it), else nothing."""
    return ", log scale" if axis.get_scale() == "log" else ""


def count_axis(axis) -> None:
    """Counts get whole-number ticks (never 0.25 images or depth 5.5), with thousands separators."""
    if axis.get_scale() == "linear":
        axis.set_major_locator(MaxNLocator(integer=True))
    axis.set_major_formatter(FuncFormatter(lambda v, _pos=None: f"{v:,.0f}"))


def _fig(title: str, ncols: int = 1) -> tuple[Figure, list]:
    fig, axes = plt.subplots(1, ncols, figsize=(6.4 * ncols, 4.2), squeeze=False)
    fig.suptitle(title)
    return fig, list(axes[0])


def _legend(ax) -> None:
    if ax.get_legend_handles_labels()[0]:
        ax.legend()


def _cdf_lines(ax, df: pd.DataFrame, metrics: dict[str, str], log_x: bool = True) -> None:
    values = df[df["metric"].isin(list(metrics))]["value"].dropna()
    positive = values[values > 0]
    if log_x and (positive.empty or positive.max() / positive.min() < 50):
        log_x = False  # within a decade or two a log axis has no ticks to label
    for metric, label in metrics.items():
        pts = df[df["metric"] == metric].sort_values("p")
        if len(pts):
            ax.step(pts["value"].clip(lower=1 if log_x else None), pts["p"], where="post", label=label)
    if log_x:
        ax.set_xscale("log")
    ax.yaxis.set_major_formatter(PercentFormatter(1.0))
    ax.set_ylabel("share of items at or below (CDF)")
    ax.grid(alpha=0.3)
    _legend(ax)


def fig_layer_sizes(r: Frames) -> Optional[Figure]:
    if "layer_cdf" not in r:
        return None
    fig, (ax1, ax2) = _fig("Layer sizes and compression (each layer once)", 2)
    _cdf_lines(ax1, r["layer_cdf"], {"compressed_bytes": "compressed", "uncompressed_bytes": "uncompressed"})
    bytes_axis(ax1.xaxis)
    ax1.set_xlabel(f"layer size (bytes{_scale(ax1.xaxis)})")
    _cdf_lines(ax2, r["layer_cdf"], {"compression_ratio": "compression ratio"}, log_x=False)
    ax2.set_xlabel("uncompressed / compressed")
    return fig


def fig_layer_counts(r: Frames) -> Optional[Figure]:
    if "layer_cdf" not in r:
        return None
    fig, (ax1, ax2) = _fig("Files, directories and depth per layer (each layer once)", 2)
    _cdf_lines(ax1, r["layer_cdf"], {"file_count": "regular files", "dir_count": "directories"})
    ax1.set_xlabel(f"entries per layer (count{_scale(ax1.xaxis)})")
    count_axis(ax1.xaxis)
    _cdf_lines(ax2, r["layer_cdf"], {"depth_max": "deepest path"}, log_x=False)
    ax2.set_xlabel("path components")
    count_axis(ax2.xaxis)
    return fig


def fig_file_sizes(r: Frames) -> Optional[Figure]:
    if "file_size_cdf" not in r:
        return None
    fig, (ax,) = _fig("Regular-file sizes (files of unique layers)")
    _cdf_lines(ax, r["file_size_cdf"], {"size_bytes": "file size"})
    bytes_axis(ax.xaxis)
    ax.set_xlabel(f"file size (bytes{_scale(ax.xaxis)})")
    return fig


def fig_image_sizes(r: Frames) -> Optional[Figure]:
    stats = r.get("image_stats")
    if stats is None or stats.empty:
        return None
    fig, (ax1, ax2) = _fig("Images: size and file count (all layers of each image)", 2)
    for col, label in (("compressed_bytes", "compressed"), ("uncompressed_bytes", "uncompressed")):
        v = stats[col].dropna().sort_values()
        ax1.step(v.clip(lower=1), [(i + 1) / len(v) for i in range(len(v))], where="post", label=label)
    ax1.set_xscale("log")
    bytes_axis(ax1.xaxis)
    ax1.set_xlabel("image size (bytes, log scale)")
    ax1.set_ylabel("share of images (CDF)")
    ax1.yaxis.set_major_formatter(PercentFormatter(1.0))
    _legend(ax1)
    ax1.grid(alpha=0.3)
    ax2.scatter(stats["layer_count"], stats["file_count"], s=12, alpha=0.7)
    files = stats["file_count"].dropna()
    log_y = len(files) and files.min() > 0 and files.max() / files.min() > 50  # log only across decades
    if log_y:
        ax2.set_yscale("log")
    ax2.set_xlabel("layers per image (count)")
    ax2.set_ylabel(f"regular files per image (count{', log' if log_y else ''})")
    count_axis(ax2.xaxis)
    count_axis(ax2.yaxis)
    ax2.grid(alpha=0.3)
    return fig


def _share_bars(ax, df: pd.DataFrame, title: str) -> None:
    df = df.sort_values("byte_share", ascending=True)
    y = range(len(df))
    ax.barh([i + 0.2 for i in y], df["file_share"], height=0.4, label="by count")
    ax.barh([i - 0.2 for i in y], df["byte_share"], height=0.4, label="by capacity")
    ax.set_yticks(list(y), df["type"].astype(str))
    ax.xaxis.set_major_formatter(PercentFormatter(1.0))
    ax.set_xlabel("share of files / of bytes")
    ax.set_title(title)
    _legend(ax)
    ax.grid(axis="x", alpha=0.3)


def fig_type_classes(r: Frames) -> Optional[Figure]:
    if "type_class" not in r or r["type_class"].empty:
        return None
    fig, (ax1, ax2) = _fig("File types by count and by capacity (files of unique layers)", 2)
    _share_bars(ax1, r["type_class"], "type classes (reference taxonomy)")
    fine = r.get("type_fine", pd.DataFrame())
    if not fine.empty:
        shown = fine.nlargest(15, "bytes")
        _share_bars(ax2, shown, f"{len(shown)} largest fine types" if len(fine) > len(shown) else f"all {len(shown)} fine types")
    return fig


def fig_dedup(r: Frames) -> Optional[Figure]:
    if "dedup_by_class" not in r:
        return None
    fig, (ax1, ax2) = _fig("File-level dedup ratio", 2)
    overall = r["dedup_overall"]
    x = range(len(overall))
    ax1.bar([i - 0.2 for i in x], overall["dedup_count"], width=0.4, label="by count")
    ax1.bar([i + 0.2 for i in x], overall["dedup_capacity"], width=0.4, label="by capacity")
    ax1.set_xticks(list(x), [SHORT.get(p, p).replace(" of every", "\nof every") for p in overall["population"].astype(str)])
    ax1.set_ylabel("removable share (dedup ratio)")
    ax1.set_title("per population")
    ax1.yaxis.set_major_formatter(PercentFormatter(1.0))
    _legend(ax1)
    by = r["dedup_by_class"].sort_values("total_bytes")
    y = range(len(by))
    ax2.barh([i + 0.2 for i in y], by["dedup_count"], height=0.4, label="by count")
    ax2.barh([i - 0.2 for i in y], by["dedup_capacity"], height=0.4, label="by capacity")
    ax2.set_yticks(list(y), by["type_class"].astype(str))
    ax2.xaxis.set_major_formatter(PercentFormatter(1.0))
    ax2.set_xlabel("removable share within the class")
    ax2.set_title("per type class (unique layers)")
    return fig


def fig_growth(r: Frames) -> Optional[Figure]:
    if "growth_random" not in r:
        return None
    fig, (ax,) = _fig("Dedup ratio as unique layers are added")
    stats = r.get("image_stats")
    has_pulls = stats is not None and "pull_count" in stats and stats["pull_count"].notna().any()
    orders = (("growth_random", "random order"),) + ((("growth_popularity", "most pulled first"),) if has_pulls else ())
    for name, label in orders:
        g = r.get(name)
        if g is not None and len(g):
            ax.plot(g["layers"], g["dedup_capacity"], label=f"{label}, by capacity")
            ax.plot(g["layers"], g["dedup_count"], linestyle="--", label=f"{label}, by count")
    ax.set_xlabel("layers added (count)")
    count_axis(ax.xaxis)
    ax.set_ylabel("dedup ratio so far")
    ax.yaxis.set_major_formatter(PercentFormatter(1.0))
    ax.grid(alpha=0.3)
    _legend(ax)
    return fig


def _bars(ax, labels, values, xlabel: str, ylabel: str, percent: bool = False) -> None:
    ax.bar([str(v) for v in labels], values)
    if percent:
        ax.yaxis.set_major_formatter(PercentFormatter(1.0))
    else:
        count_axis(ax.yaxis)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.grid(axis="y", alpha=0.3)


def _loglog_bars(ax, x, y, xlabel: str, what: str) -> None:
    """Bars of counts; axes go logarithmic only where the values span decades."""
    ax.bar(x, y, width=0.6 if len(x) < 30 else 1.0)
    if len(x) and max(x) > 20:
        ax.set_xscale("log")
    log_y = bool(len(y)) and max(y) > 50
    if log_y:
        ax.set_yscale("log")
    ax.set_xlabel(xlabel)
    ax.set_ylabel(f"{what} (count{', log' if log_y else ''})")
    count_axis(ax.xaxis)
    count_axis(ax.yaxis)
    ax.grid(alpha=0.3)


def fig_sharing(r: Frames) -> Optional[Figure]:
    if "layer_sharing" not in r:
        return None
    by_diff_id = r.get("layer_sharing_diff_id", pd.DataFrame())
    fig, axes = _fig("Layer sharing across images and content repeats", 3 if len(by_diff_id) else 2)
    ax1, ax2 = axes[0], axes[-1]
    s = r["layer_sharing"]
    _loglog_bars(ax1, s["images_per_layer"], s["layers"], "images using the layer (count)", "layers")
    ax1.set_title("layer sharing histogram (by blob digest)")
    if len(by_diff_id):
        _loglog_bars(axes[1], by_diff_id["images_per_layer"], by_diff_id["layers"], "images using the layer (count)", "layers")
        axes[1].set_title("layer sharing histogram (by diff_id)")
    rc = r.get("repeat_counts", pd.DataFrame())
    if len(rc):
        _loglog_bars(ax2, rc["repeat_count"], rc["digests"], "copies of a content (count)", "distinct contents")
        ax2.set_title("repeat-count distribution (unique layers)")
    return fig


SAVINGS_LEVELS = {"none": "none", "layer": "layer", "file": "file", "layer_compressed": "layer\n(compressed)"}


def fig_savings(r: Frames) -> Optional[Figure]:
    if "layer_vs_file" not in r:
        return None
    cols = 2 if "chunk_dedup" in r else 1
    fig, axes = _fig("Storage savings by dedup granularity", cols)
    lvf = r["layer_vs_file"]
    # the compressed-blob bar has another base (compressed bytes) than the others (uncompressed file bytes)
    compressed = lvf["level"].astype(str) == "layer_compressed"
    labels = [SAVINGS_LEVELS.get(str(v), str(v)) for v in lvf["level"]]
    axes[0].bar(labels, lvf["savings"], color=["tab:orange" if c else "tab:blue" for c in compressed],
                hatch=None)
    axes[0].yaxis.set_major_formatter(PercentFormatter(1.0))
    axes[0].set_xlabel("dedup level (blue: of uncompressed file bytes; orange: of compressed blob bytes)")
    axes[0].set_ylabel("saved share of referenced bytes")
    axes[0].grid(axis="y", alpha=0.3)
    axes[0].set_title("every layer of every image")
    if cols == 2:
        cd = r["chunk_dedup"]
        for pop, offset in (("layer_blobs", -0.2), ("image_refs", 0.2)):
            part = cd[cd["population"] == pop]
            axes[1].bar([i + offset for i in range(len(part))], part["savings"], width=0.4, label=SHORT.get(pop, pop))
            axes[1].set_xticks(range(len(part)), part["level"].astype(str))
        axes[1].yaxis.set_major_formatter(PercentFormatter(1.0))
        axes[1].set_title("sampled layers: layer vs file vs chunk (FastCDC)")
        axes[1].set_xlabel("dedup level")
        _legend(axes[1])
    return fig


def fig_waste(r: Frames) -> Optional[Figure]:
    w = r.get("image_waste")
    if w is None or w.empty:
        return None
    fig, (ax1, ax2) = _fig("Per-image waste (dive-compatible) and final-filesystem duplicates", 2)
    ax1.hist(w["efficiency"].dropna(), bins=20, range=(0, 1))
    ax1.set_xlabel("dive efficiency (1 = no waste)")
    ax1.set_ylabel("images (count)")
    count_axis(ax1.yaxis)
    ax1.grid(alpha=0.3)
    # a log axis has no zero: images without waste are counted in the legend, not drawn at 1 B
    for size, part, label, marker in (("image_bytes", "wasted_bytes", "dive wasted bytes", "o"),
                                      ("final_bytes", "duplicate_bytes", "duplicate content in final fs", "x")):
        some = w[(w[part] > 0) & (w[size] > 0)]
        none = int((w[part] <= 0).sum())
        ax2.scatter(some[size], some[part], s=12, alpha=0.7, marker=marker,
                    label=f"{label} ({none} image{'s' if none != 1 else ''} with none, not drawn)" if none else label)
    ax2.set_xscale("log")
    ax2.set_yscale("log")
    for axis in (ax2.xaxis, ax2.yaxis):  # after set_*scale, which resets the formatters
        bytes_axis(axis)
    ax2.set_xlabel("image size (bytes, log)")
    ax2.set_ylabel("bytes (log)")
    _legend(ax2)
    ax2.grid(alpha=0.3)
    return fig


def fig_redundancy(r: Frames) -> Optional[Figure]:
    stats = r.get("image_stats")
    if stats is None or "share_elsewhere" not in stats or stats["share_elsewhere"].dropna().empty:
        return None
    fig, (ax,) = _fig("Cross-image redundancy: share of an image's files found in another image")
    v = stats["share_elsewhere"].dropna().sort_values()
    ax.step(v, [(i + 1) / len(v) for i in range(len(v))], where="post")
    ax.axvline(0.994, color="grey", linestyle=":", label="99.4 % (reference study)")
    ax.xaxis.set_major_formatter(PercentFormatter(1.0))
    ax.yaxis.set_major_formatter(PercentFormatter(1.0))
    ax.set_xlabel("share of the image's files present in another image")
    ax.set_ylabel("share of images (CDF)")
    _legend(ax)
    ax.grid(alpha=0.3)
    return fig


def fig_popularity(r: Frames) -> Optional[Figure]:
    stats = r.get("image_stats")
    if stats is None or stats["pull_count"].dropna().empty:
        return None
    fig, (ax1, ax2) = _fig("Popularity vs size and redundancy", 2)
    ax1.scatter(stats["pull_count"].clip(lower=1), stats["uncompressed_bytes"].clip(lower=1), s=12, alpha=0.7)
    ax1.set_xscale("log")
    ax1.set_yscale("log")
    bytes_axis(ax1.yaxis)
    ax1.set_xlabel("pulls (count, log)")
    ax1.set_ylabel("uncompressed image size (log)")
    ax1.grid(alpha=0.3)
    ax2.scatter(stats["pull_count"].clip(lower=1), stats["share_elsewhere"], s=12, alpha=0.7)
    ax2.set_xscale("log")
    ax2.yaxis.set_major_formatter(PercentFormatter(1.0))
    ax2.set_xlabel("pulls (count, log)")
    ax2.set_ylabel("files found in another image")
    ax2.grid(alpha=0.3)
    return fig


def fig_recompression(r: Frames) -> Optional[Figure]:
    rc = r.get("recompression")
    if rc is None or rc.empty:
        return None
    fig, (ax,) = _fig("Recompression what-if: zstd vs the stored blobs (sampled layers)")
    labels = [f"{c} -> zstd {int(lv)}" for c, lv in zip(rc["compression"], rc["level"])]
    _bars(ax, labels, rc["savings_vs_stored"], "stored compression -> zstd level", "bytes saved vs stored blob", percent=True)
    return fig


def fig_os(r: Frames) -> Optional[Figure]:
    if "ecosystems" not in r:
        return None
    cols = 2 if "os_distribution" in r else 1
    fig, axes = _fig("Operating systems and package ecosystems", cols)
    eco = r["ecosystems"]
    if cols == 1:  # dpkg and apk databases are read by the content pass only: without it they are unknown, not 0
        eco = eco[~eco["ecosystem"].isin(["dpkg", "apk"])]
        axes[0].set_title("python and npm only (dpkg / apk need the content pass)")
    _bars(axes[0], eco["ecosystem"], eco["images_with"], "package ecosystem", "images with the ecosystem (count)")
    if cols == 2:
        od = r["os_distribution"].head(12)
        labels = [f"{a} {b}" if isinstance(b, str) else str(a) for a, b in zip(od["os_id"], od["os_version"])]
        axes[1].barh(labels[::-1], od["images"][::-1])
        axes[1].set_xlabel("images (count)")
        count_axis(axes[1].xaxis)
        axes[1].set_title("distribution from /etc/os-release")
    return fig


FIGURES: dict[str, Callable[[Frames], Optional[Figure]]] = {
    "layer_sizes": fig_layer_sizes,
    "layer_counts": fig_layer_counts,
    "image_sizes": fig_image_sizes,
    "file_sizes": fig_file_sizes,
    "type_classes": fig_type_classes,
    "dedup": fig_dedup,
    "dedup_growth": fig_growth,
    "layer_sharing": fig_sharing,
    "savings": fig_savings,
    "redundancy": fig_redundancy,
    "waste": fig_waste,
    "popularity": fig_popularity,
    "recompression": fig_recompression,
    "os_packages": fig_os,
}


def render_figures(frames: Frames, out_dir: str, figures: Optional[dict[str, Callable[[Frames], Optional[Figure]]]] = None) -> dict[str, str]:
    """Save every available figure (of ``figures``, default the corpus's) as PNG and SVG; returns name -> PNG path."""
    os.makedirs(out_dir, exist_ok=True)
    written = {}
    for name, build in (FIGURES if figures is None else figures).items():
        fig = None
        try:
            fig = build(frames)
            if fig is None:
                continue
            fig.tight_layout()
            for ext in ("png", "svg"):
                fig.savefig(os.path.join(out_dir, f"{name}.{ext}"), dpi=110)
            written[name] = os.path.join(out_dir, f"{name}.png")
        except Exception as exc:  # a figure that cannot be drawn (e.g. no data) must not lose the others
            log.warning("figure %s not drawn: %s", name, exc)
        finally:
            if fig is not None:
                plt.close(fig)
    return written
