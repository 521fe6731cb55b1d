"""The report's registry what-if section: storage vs restore cost per dedup mode, beside DupHunter's
published 6.9x and 2.8x (labelled as theirs), with the restore rates measured on this machine.

Reads ``whatif_modes`` (a result frame) and ``whatif.json`` from the results folder written by
``hubscope whatif``; renders nothing when the what-if has not run.
"""
from __future__ import annotations

import html
import json
import logging
import os
from typing import Callable, Optional

import matplotlib.pyplot as plt
import pandas as pd
from matplotlib.figure import Figure

from analyze.figures import _fig, human_bytes

log = logging.getLogger(__name__)
DUPHUNTER = "DupHunter (Zhao et al., USENIX ATC 2020)"
DUPHUNTER_STORAGE_X = 6.9  # "reduces storage space by up to 6.9x" in its highest data-reduction mode [C/S]
DUPHUNTER_LATENCY_X = 2.8  # "can reduce the GET layer latency up to 2.8x" in its highest-performance mode [C/S]
SHOWN = {"mode": "mode", "full_replicas": "full replicas", "stored_bytes": "stored_bytes", "reduction_x": "reduction x",
         "saving": "saving", "restore_share": "GETs restoring", "restore_bytes_per_get": "restored_bytes",
         "get_cost_s": "GET cost (ms/core)", "get_speedup_vs_global": "GET speed-up vs global dedup"}


def fig_whatif(modes: Optional[pd.DataFrame]) -> Optional[Figure]:
    """Left: storage reduction vs restore cost per GET, one point per mode; right: GET speed-up vs global dedup."""
    if modes is None or modes.empty:
        return None
    fig, (left, right) = _fig("Registry dedup modes: storage vs restore cost (this corpus)", ncols=2)
    timed = "get_cost_s" in modes and modes["get_cost_s"].notna().any()
    x = modes["get_cost_s"] * 1000 if timed else modes["restore_bytes_per_get"]
    left.scatter(x, modes["reduction_x"], color="C0", zorder=3)
    for xi, yi, label in zip(x, modes["reduction_x"], modes["mode"]):
        left.annotate(label, (xi, yi), textcoords="offset points", xytext=(4, 4), fontsize=7)
    left.axhline(DUPHUNTER_STORAGE_X, color="C3", ls="--", label=f"{DUPHUNTER}: up to {DUPHUNTER_STORAGE_X}x (theirs)")
    left.axhline(1.0, color="grey", lw=0.8)
    left.set_xlabel("mean GET cost, ms of one core (measured rates)" if timed else "restored bytes per GET")
    if not timed:
        left.xaxis.set_major_formatter(lambda v, _pos: human_bytes(v))
    left.set_ylabel("storage reduction vs none (x)")
    left.grid(alpha=0.3)
    left.legend(fontsize=7)
    if timed:
        speed = modes["get_speedup_vs_global"].clip(upper=1e4)
        right.barh(modes["mode"], speed, color="C0")
        right.axvline(DUPHUNTER_LATENCY_X, color="C3", ls="--", label=f"{DUPHUNTER}: up to {DUPHUNTER_LATENCY_X}x (theirs)")
        right.set_xscale("log")
        right.set_xlabel("GET speed-up vs global file dedup (x, log)")
        right.legend(fontsize=7)
    else:
        right.barh(modes["mode"], modes["restore_share"], color="C0")
        right.set_xlabel("share of GETs that restore (no restore rates measured)")
    right.invert_yaxis()
    right.tick_params(axis="y", labelsize=7)
    right.grid(alpha=0.3)
    fig.tight_layout()
    return fig


def _rates_note(summary: dict) -> str:
    rates, machine, checks = summary.get("restore_rates") or {}, summary.get("machine") or {}, summary.get("restore_checks")
    opts = summary.get("options", {})
    parts = [f"R = {opts.get('replicas')}; popularity: {opts.get('popularity_used')}"
             + (f" (trace {opts.get('trace')})" if opts.get("trace") else "") + "."]
    if rates.get("layers"):
        parts.append(
            f"Restore cost measured on this machine ({machine.get('host', '?')}, {machine.get('cpu', '?')}, "
            f"{machine.get('measured_at', '?')}) over {rates['layers']} layers ({rates['tar_bytes'] / 1e6:,.1f} MB of tar): "
            f"rebuild from the file store + gzip {rates['rebuild_gzip_mbps']:.1f} MB/s per core, rebuild only "
            f"{rates['rebuild_tar_mbps']:.1f} MB/s, reading a stored blob {rates['serve_mbps']:.0f} MB/s (page cache).")
    else:
        parts.append("No restore rates: run `hubscope whatif --store` to measure them; GET costs are not shown.")
    if checks:
        parts.append(f"Rebuild check: {checks['diff_id_match']} of {checks['layers']} layers rebuilt with sha256 = diff_id "
                     f"and entries in the original order ({checks['entries_match']}), {checks['blob_digest_match']} to the "
                     f"original blob digest; from the files table alone (no header skeleton) "
                     f"{checks.get('diff_id_from_table', 0)} of {checks['layers']}.")
    parts.append(f"{DUPHUNTER} published up to {DUPHUNTER_STORAGE_X}x less storage (highest-reduction mode) and up to "
                 f"{DUPHUNTER_LATENCY_X}x lower GET-layer latency than prior dedup (fastest mode), on their workload and "
                 "testbed [C/S]; ours are this corpus and one core's CPU time, network excluded.")
    return " ".join(parts)


def whatif_section(results_dir: str, frames: dict[str, pd.DataFrame], fig_dir: str,
                   table: Callable[[Optional[pd.DataFrame], str], str], img: Callable[[str, str], str]) -> str:
    """The section's HTML (figure saved as PNG + SVG under ``fig_dir``); empty when the what-if did not run."""
    path = os.path.join(results_dir, "whatif.json")
    modes = frames.get("whatif_modes")
    if modes is None or not os.path.isfile(path):
        return ""
    with open(path) as fh:
        summary = json.load(fh)
    parts = ["<h2>Registry what-if: DupHunter's dedup modes</h2>",
             f"<p class='note'>{html.escape(_rates_note(summary))} Definitions: README, section whatif.</p>"]
    fig = fig_whatif(modes)
    if fig is not None:
        os.makedirs(fig_dir, exist_ok=True)
        png = os.path.join(fig_dir, "whatif.png")
        fig.savefig(png, dpi=110)
        fig.savefig(os.path.join(fig_dir, "whatif.svg"))
        plt.close(fig)
        parts.append(img(png, "whatif"))
    shown = modes[[c for c in SHOWN if c in modes]].copy()
    if "get_cost_s" in shown:
        shown["get_cost_s"] = shown["get_cost_s"] * 1000
    parts.append(table(shown.rename(columns=SHOWN), "whatif_modes"))
    calib = frames.get("restore_calibration")
    if calib is not None and len(calib):
        parts.append(table(calib, "restore_calibration"))
    return "\n".join(parts)
