"""The what-if job: DupHunter's registry dedup modes over the tables, with a measured restore cost.

    hubscope whatif --tables T --out RESULTS [--store S] [--replicas 3] [--popularity pulls|uniform|trace.csv]
    spark-submit jobs/whatif.py --tables T --out RESULTS [...]

Extract (the tables, a trace's GET counts, the stats job's ``chunk_dedup`` if it is in RESULTS) ->
transform (``analyze.whatif``: pure DataFrame functions, then one small pandas step) -> load
(``whatif_modes`` and ``restore_calibration`` as Parquet + CSV, ``whatif.json`` with the inputs and
the measured rates). The restore rates come from ``jobs.restore`` run here on a seeded sample of
the store's layers, or from an earlier run's ``whatif.json`` (``--calibration``); without either
the modes have no GET-cost columns. Definitions: ``analyze.whatif``'s docstring.
"""
from __future__ import annotations

import json
import logging
import os
import platform
import socket
import sys
import tempfile
import zlib
from datetime import datetime, timezone
from typing import Optional

if __package__ in (None, ""):
    # spark-submit runs this file as a script; make the repository importable when not installed.
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import click  # noqa: E402

log = logging.getLogger(__name__)
CALIBRATION_MAX_TAR_BYTES = 512 * 1_000_000  # a calibration layer is held in memory whole


def read_trace(spark, path: str):
    """A trace's popularity as ``layer_digest, gets``, from Parquet or CSV: either those two columns (one
    row per layer, or per request with ``gets`` = 1; rows of one digest are summed; ``get_count`` as
    ``hubscope trace stats`` writes ``layer_popularity`` is read as ``gets``), or a parsed trace
    with ``common/traces.py``'s columns, whose successful blob GETs are counted per ``target``."""
    from pyspark.sql import functions as F

    df = spark.read.parquet(path) if path.endswith(".parquet") or os.path.isdir(path) else (
        spark.read.option("header", "true").csv(path))
    if {"kind", "method", "target", "status"} <= set(df.columns):
        gets = df.where((F.col("kind") == "blob") & (F.upper("method") == "GET") & (F.col("status").cast("int") < 400))
        return gets.select(F.col("target").alias("layer_digest"), F.lit(1.0).alias("gets"))
    if "gets" not in df.columns and "get_count" in df.columns:  # `hubscope trace stats`'s layer_popularity
        df = df.withColumnRenamed("get_count", "gets")
    missing = {"layer_digest", "gets"} - set(df.columns)
    if missing:
        raise click.UsageError(f"trace {path} lacks column(s) {', '.join(sorted(missing))} "
                               "(needs layer_digest, gets; or a parsed trace's kind, method, target, status)")
    return df.select(F.col("layer_digest").cast("string"), F.col("gets").cast("double"))


def _machine() -> dict:
    model = ""
    try:
        with open("/proc/cpuinfo") as fh:
            model = next((ln.split(":", 1)[1].strip() for ln in fh if ln.startswith("model name")), "")
    except OSError:
        pass
    return {"host": socket.gethostname(), "cpu": model or platform.processor(), "cores": os.cpu_count(),
            "python": platform.python_version(), "zlib": zlib.ZLIB_RUNTIME_VERSION,
            "measured_at": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")}


def calibration_sample(layers, n: int, seed: int):
    """``n`` ok layers in a seeded order (as the content pass samples), each small enough to hold whole."""
    from pyspark.sql import functions as F

    key = F.sha2(F.concat(F.lit(f"{seed}:"), F.col("layer_digest")), 256)
    ok = layers.where((F.col("status") == "ok") & (F.col("uncompressed_bytes") <= CALIBRATION_MAX_TAR_BYTES))
    return ok.orderBy(key, "layer_digest").limit(n).select("layer_digest", "diff_id", "uncompressed_bytes")


def run_calibration(tables: dict, store_url: str, n: int, seed: int, repeats: int = 1):
    """Measure the restore rates on ``n`` sampled layers of the store; returns (per-layer rows, rates)."""
    from common.digest import Digest
    from common.stores import open_store
    from jobs import restore

    sample = calibration_sample(tables["layers"], n, seed).cache()
    layers = [r.asDict() for r in sample.collect()]
    files = tables["files"].join(sample.select("layer_digest"), "layer_digest").toPandas()
    store = open_store(store_url)
    with tempfile.TemporaryDirectory(prefix="hubscope-restore-") as work:
        per_layer = restore.calibrate(layers, lambda d: (lambda: store.open_read(Digest.parse(d))), work, files, repeats)
    return per_layer, restore.rates(per_layer)


def _write(df, out_dir: str, name: str) -> None:
    df.to_parquet(os.path.join(out_dir, f"{name}.parquet"), index=False)
    df.to_csv(os.path.join(out_dir, f"{name}.csv"), index=False)


def run_whatif(spark, tables_dir: str, out_dir: str, options=None, store: Optional[str] = None,
               calibration: Optional[str] = None, trace: Optional[str] = None, calibrate_layers: int = 8,
               seed: int = 0, repeats: int = 1) -> dict:
    """Extract -> transform -> load; returns the summary written as ``<out>/whatif.json``."""
    import pandas as pd

    from analyze import whatif
    from common.table_read import load_tables

    options = options or whatif.WhatifOptions()
    os.makedirs(out_dir, exist_ok=True)
    tables = load_tables(spark, tables_dir)
    trace_df = read_trace(spark, trace) if trace else None
    chunk_path = os.path.join(out_dir, "chunk_dedup.parquet")
    chunk = whatif.chunk_ratio(pd.read_parquet(chunk_path)) if os.path.exists(chunk_path) else None

    referenced = tables["image_layers"].select("layer_digest").distinct().count()
    source = options.popularity
    costs, by_rank = _layer_inputs(tables, source, trace_df)
    if source == "pulls" and len(costs) and not costs["gets"].sum():
        log.warning("no pull counts in the images table: popularity falls back to uniform (one pull per image)")
        source = "uniform"
        costs, by_rank = _layer_inputs(tables, source, None)

    rates, per_layer, machine = None, pd.DataFrame(), None
    if store:
        per_layer, measured = run_calibration(tables, store, calibrate_layers, seed, repeats)
        machine = _machine()
        _write(per_layer, out_dir, "restore_calibration")
    elif calibration:
        with open(calibration) as fh:
            earlier = json.load(fh)
        measured, machine = earlier["restore_rates"], earlier.get("machine")
    else:
        measured = None
        log.info("no --store and no --calibration: modes without GET cost")
    if measured and measured.get("layers"):
        rates = whatif.RestoreRates(measured["rebuild_gzip_mbps"], measured["rebuild_tar_mbps"], measured["serve_mbps"])

    modes = whatif.whatif_modes(costs, by_rank, options, rates, chunk)
    _write(modes, out_dir, "whatif_modes")
    summary = {
        "options": {"replicas": options.replicas, "popularity": options.popularity, "popularity_used": source,
                    "hot_shares": list(options.hot_shares), "hot_threshold": options.hot_threshold, "trace": trace},
        "inputs": whatif.inputs_summary(costs, by_rank, referenced - len(costs)),
        "restore_rates": measured, "machine": machine,
        "restore_checks": _checks(per_layer),
        "chunk": {"ratio": chunk[0], "sampled_layers": chunk[1]} if chunk else None,
    }
    with open(os.path.join(out_dir, "whatif.json"), "w") as fh:
        json.dump(summary, fh, indent=2, sort_keys=True, default=float)
    return summary


def _layer_inputs(tables: dict, source: str, trace_df):
    """(per-layer costs, unique bytes by coldest rank) as pandas: the what-if's two small inputs."""
    from analyze import whatif

    pop = whatif.layer_popularity(tables["images"], tables["image_layers"], source, trace_df)
    costs = whatif.layer_costs(tables["layers"], pop).cache()
    return costs.toPandas(), whatif.unique_bytes_by_rank(tables["files"], costs).toPandas()


def _checks(per_layer) -> Optional[dict]:
    if per_layer is None or per_layer.empty or "entries_match" not in per_layer:
        return None
    ok = per_layer[per_layer["entries_match"].notna()]
    out = {c: int(ok[c].fillna(False).astype(bool).sum()) for c in
           ("entries_match", "diff_id_match", "blob_digest_match", "table_entries_match", "diff_id_from_table") if c in ok}
    out["layers"] = int(len(ok))
    out["errors"] = int(len(per_layer) - len(ok))
    return out


@click.command("whatif")
@click.option("--tables", "tables_dir", required=True, type=click.Path(exists=True, file_okay=False),
              help="Folder holding the scan's tables.")
@click.option("--out", "out_dir", required=True, type=click.Path(file_okay=False),
              help="Results folder (the stats job's, so the report shows the what-if; its chunk_dedup is used if present).")
@click.option("--replicas", default=3, show_default=True, type=click.IntRange(1, 16), help="Replication level R.")
@click.option("--popularity", default="pulls", show_default=True,
              help="GETs per layer: 'pulls' (Hub pull counts of the images using it), 'uniform' (one pull per image), "
                   "or a trace file (Parquet/CSV with layer_digest, gets).")
@click.option("--hot-share", "hot_shares", multiple=True, type=click.FloatRange(0, 1), default=(0.1, 0.25), show_default=True,
              help="S-mode: share of layers (most requested first) kept as R full replicas; repeat for several.")
@click.option("--hot-threshold", default=None, type=click.IntRange(min=0), help="S-mode: also keep layers with at least N GETs hot.")
@click.option("--store", default=None, help="Blob store to measure the restore cost on (path or s3://).")
@click.option("--calibration", default=None, type=click.Path(exists=True, dir_okay=False),
              help="Reuse the restore rates of an earlier run's whatif.json instead of measuring.")
@click.option("--calibrate-layers", default=8, show_default=True, type=click.IntRange(min=1), help="Layers the calibration rebuilds.")
@click.option("--seed", default=0, show_default=True, type=int, help="Seed of the calibration sample.")
@click.option("--master", default=None, help="Spark master (default: local[*], or what spark-submit set).")
def whatif_command(tables_dir, out_dir, replicas, popularity, hot_shares, hot_threshold, store, calibration,
                   calibrate_layers, seed, master) -> None:
    """Storage and GET restore cost of DupHunter's dedup modes over the tables (whatif_modes.csv, whatif.json)."""
    from common.table_read import table_path
    from analyze.whatif import WhatifOptions
    from common.schemas import TABLES
    from jobs.session import get_spark

    for name in TABLES:  # fail before Spark starts, with what to do
        try:
            table_path(tables_dir, name)
        except FileNotFoundError as exc:
            raise click.UsageError(f"{exc}: point --tables at a `hubscope scan --tables` folder")
    trace = None
    if popularity not in ("pulls", "uniform"):
        if not os.path.exists(popularity):
            raise click.UsageError(f"--popularity {popularity!r}: expected pulls, uniform or a trace file")
        trace, popularity = popularity, "trace"
    options = WhatifOptions(replicas=replicas, popularity=popularity, hot_shares=tuple(hot_shares), hot_threshold=hot_threshold)
    spark = get_spark("hubscope-whatif", master=master)
    summary = run_whatif(spark, tables_dir, out_dir, options, store=store, calibration=calibration, trace=trace,
                         calibrate_layers=calibrate_layers, seed=seed)
    rates = summary["restore_rates"] or {}
    measured = (f"restore {rates['rebuild_gzip_mbps']:.0f} MB/s/core (rebuild+gzip), {rates['rebuild_tar_mbps']:.0f} "
                "(rebuild only)") if rates.get("layers") else "restore cost not measured"
    click.echo(f"what-if in {out_dir}: {summary['inputs']['layers']} layers, R={replicas}, popularity "
               f"{summary['options']['popularity_used']}; {measured}")


def main(argv: list[str] | None = None) -> None:
    """spark-submit entry: parse ``argv`` like ``hubscope whatif`` and run it."""
    from common.logsetup import configure_logging

    configure_logging()
    from jobs.whatif import whatif_command as _command  # the module's own name, not __main__

    _command.main(args=argv if argv is not None else sys.argv[1:], standalone_mode=False)


if __name__ == "__main__":
    main()
