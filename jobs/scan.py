"""The scan job: every layer blob in the store -> the ``layers`` and ``files`` tables (+ ``images``, ``image_layers``).

Driver: read crawl records and configs (``jobs.image_tables``), skip layers already scanned ``ok``
(incremental), pack the rest into tasks balanced by compressed size (largest first), run
``mapInArrow`` over them, then commit a new table generation atomically (``common.tables``).
Tasks: open the store from its ``StoreConfig`` (local or S3), stream each blob through
``jobs.layer_scanner.scan_layer`` and write the verified layers' file rows straight to Parquet parts in
the new generation; only the small per-layer rows travel back through Spark. File rows are thus
never shuffled or held for the whole task, and their Parquet carries the exact contract schema.

Run as ``hubscope scan ...``, ``python -m jobs.scan ...`` or ``spark-submit jobs/scan.py ...``.
"""
from __future__ import annotations

import gc
import heapq
import logging
import os
import threading
import time
import uuid
from dataclasses import dataclass
from typing import Iterator, Optional

import click
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from common.storage import StoreConfig
from common.settings import Settings
from common.stores import open_store
from common import schemas
from jobs.image_tables import LayerTodo, build_index
from jobs.layer_scanner import ScanOptions
from common.tables import TableSet
from common.outputs import writable_dir

log = logging.getLogger(__name__)

ROW_GROUP_ROWS = 128 * 1024  # file rows buffered per Parquet row group in a task
# Tasks per core by default: enough that Spark hands out the largest-first layers one by one when
# there are few (compressed size says little about typing cost: on the benchmark's all-distinct
# corpus 2 tasks per core left one core idle for a sixth of the run, one layer per task did not),
# few enough that a big corpus does not become thousands of tiny Parquet parts.
TASKS_PER_CORE = 8

# What a task returns per layer: the layers row (scanned_at as epoch microseconds, so no time zone
# conversion can touch it on the way through Spark) plus where its file rows went.
_DDL_TYPES = {
    pa.string(): "string", pa.int32(): "int", pa.int64(): "bigint", pa.float64(): "double", schemas.TS: "bigint",
    schemas.STRING_LIST: "array<string>",
}
RESULT_SCHEMA = pa.schema(
    [pa.field(f.name, pa.int64() if f.type == schemas.TS else f.type) for f in schemas.LAYERS]
    + [pa.field("files_part", pa.string()), pa.field("files_rows", pa.int64())]
)
RESULT_DDL = ", ".join(f"`{f.name}` {_DDL_TYPES[f.type]}" for f in RESULT_SCHEMA)


@dataclass(frozen=True)
class ScanSummary:
    """What a run did; ``skipped`` layers were already ``ok`` in the committed tables."""

    scanned: int
    ok: int
    error: int
    files: int
    skipped: int
    generation: str

    def line(self) -> str:
        return f"scanned {self.scanned} layers: {self.ok} ok, {self.error} error; {self.files} files"


def balance(layers: list[LayerTodo], tasks: int) -> list[list[LayerTodo]]:
    """Greedy longest-processing-time packing by compressed size: bins ordered by load, layers largest first."""
    ordered = sorted(layers, key=lambda t: (-(t.compressed_bytes or 0), t.layer_digest))
    tasks = max(1, min(tasks, len(ordered)))
    heap = [(0, i) for i in range(tasks)]
    bins: list[list[LayerTodo]] = [[] for _ in range(tasks)]
    loads = [0] * tasks
    for todo in ordered:
        load, i = heapq.heappop(heap)
        bins[i].append(todo)
        loads[i] = load + (todo.compressed_bytes or 0)
        heapq.heappush(heap, (loads[i], i))
    order = sorted(range(tasks), key=lambda i: (-loads[i], i))
    return [bins[i] for i in order if bins[i]]


class _PartWriter:
    """File rows of a task's verified layers, buffered into row groups of one Parquet part file."""

    def __init__(self, files_dir: str) -> None:
        self.name = f"part-{uuid.uuid4().hex}.parquet"  # unique per task attempt
        self.path = os.path.join(files_dir, self.name)
        self.writer: Optional[pq.ParquetWriter] = None
        self.pending: list[pa.Table] = []
        self.pending_rows = 0

    def add(self, files: pa.Table) -> None:
        self.pending.append(files)
        self.pending_rows += files.num_rows
        if self.pending_rows >= ROW_GROUP_ROWS:
            self.flush()

    def flush(self) -> None:
        if not self.pending:
            return
        if self.writer is None:
            self.writer = pq.ParquetWriter(self.path, schemas.FILES, compression="zstd")
        self.writer.write_table(pa.concat_tables(self.pending))
        self.pending, self.pending_rows = [], 0

    def close(self) -> None:
        self.flush()
        if self.writer is not None:
            self.writer.close()


def scan_partition(bins, store: StoreConfig, files_dir: str, magic: bool, options: ScanOptions, progress=None):
    """The ``mapInArrow`` function: task ids in (``bins.value[id]``, a broadcast, is that task's layers),
    one result row per layer out, file rows to the task's Parquet part.

    Spark keeps a task's rows only if the whole task succeeds, which is after the part is closed, and
    the driver keeps only parts named by kept rows: a failed attempt's part is never committed.
    """

    type_cache = Settings.load().type_cache  # read on the driver: executors may not share its environment

    def run(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        from jobs.filetype import shared_typer

        typer = shared_typer(type_cache, options.type_head_bytes) if magic else None
        _freeze_long_lived_heap()
        blobs = open_store(store)
        part = _PartWriter(files_dir)
        for batch in batches:
            for task_id in batch.column("id").to_pylist():
                for todo in bins.value[task_id]:
                    row, files = _scan_one(blobs, todo, typer, options)
                    row["files_part"] = part.name if files is not None and files.num_rows else None
                    row["files_rows"] = files.num_rows if files is not None else 0
                    if row["files_part"]:
                        part.add(files)
                    if progress is not None:  # (layers, bytes) accumulators: the driver's progress bar
                        progress[0].add(1)
                        progress[1].add(todo.compressed_bytes or 0)
                    yield pa.RecordBatch.from_pylist([row], schema=RESULT_SCHEMA)
        part.close()

    return run


def _freeze_long_lived_heap() -> None:
    """Once per Python worker: move what exists by now (modules, the typer) out of the collector's sight.

    PySpark's daemon runs a full ``gc.collect()`` after every task of a reused worker, which walks
    every object pyarrow, pandas and pyspark created at import: ~36 ms per task, measured, so 16
    tasks cost more CPU than a layer. Frozen, that heap is skipped (~8-14 ms per task). It lives as
    long as the worker anyway; a per-task object created later is collected as usual.
    """
    if not gc.get_freeze_count():
        gc.collect()
        gc.freeze()


def _scan_one(blobs, todo: LayerTodo, typer, options: ScanOptions) -> tuple[dict, Optional[pa.Table]]:
    """Scan one layer from the store; a blob that cannot be opened is an error row like any other."""
    from common.digest import Digest
    from common.errors import LayerError
    from jobs.layer_scanner import error_row, scan_layer

    started = time.monotonic()
    try:
        fh = blobs.open_read(Digest.parse(todo.layer_digest))
    except Exception as exc:
        error = LayerError("blob_missing", f"{type(exc).__name__}: {exc}")
        row, files = error_row(todo.layer_digest, error, todo.media_type), None
    else:
        try:
            result = scan_layer(fh, todo.layer_digest, media_type=todo.media_type, diff_id=todo.diff_id, typer=typer, options=options)
        finally:
            fh.close()
        row, files = dict(result.layer), result.files
    log.info("layer %s %s in %.2fs", todo.layer_digest, row["status"], time.monotonic() - started)
    row["scanned_at"] = int(row["scanned_at"].timestamp() * 1_000_000)
    return row, files


def _progress(stop: threading.Event, bins: list[list[LayerTodo]], layers_acc, bytes_acc) -> None:
    """Layers and compressed bytes done (accumulators, updated as each task ends), rate and ETA."""
    from common.progress import StageProgress

    total = sum(len(b) for b in bins)
    progress = StageProgress("scan", total, "layers", sum(t.compressed_bytes or 0 for b in bins for t in b) or None,
                             logger=log)
    try:
        while not stop.wait(0.5):
            progress.update(layers_acc.value, bytes_acc.value)
        progress.update(layers_acc.value, bytes_acc.value)
    finally:
        progress.close()


def _result_to_layers(result: pa.Table) -> tuple[pa.Table, dict[str, int]]:
    """Spark's result rows -> a ``layers`` table with the contract's types, and rows per part file."""
    columns = {}
    for field in schemas.LAYERS:
        column = result.column(field.name)
        columns[field.name] = column.cast(field.type) if field.type != schemas.TS else pc.cast(column, pa.int64()).cast(field.type)
    parts: dict[str, int] = {}
    for part, rows in zip(result.column("files_part").to_pylist(), result.column("files_rows").to_pylist()):
        if part:
            parts[part] = parts.get(part, 0) + rows
    return pa.table(columns, schema=schemas.LAYERS), parts


def run_scan(
    store: str,
    tables: str,
    records: Optional[str] = None,
    master: Optional[str] = None,
    magic: bool = True,
    s3_endpoint: Optional[str] = None,
    spark=None,
    tasks: Optional[int] = None,
    options: ScanOptions = ScanOptions(),
    keep_snapshots: Optional[int] = None,
) -> ScanSummary:
    """Scan every not-yet-``ok`` layer the crawl records reference and commit all four tables atomically.

    The tables keep every snapshot's images; ``keep_snapshots`` keeps only the newest N (``jobs.retention``).
    """
    from common.records import latest_records
    from jobs.retention import carry_files, keep_layers, retained_records

    config = StoreConfig(url=store if store.startswith("s3://") else os.path.abspath(store), s3_endpoint=s3_endpoint)
    if records is None:
        if store.startswith("s3://"):
            raise click.UsageError("--records is required with an s3:// store (records are local JSON lines)")
        records = store
    blobs = open_store(config)
    index = build_index(retained_records(latest_records(records).values(), keep_snapshots), blobs)
    referenced = {t.layer_digest for t in index.layers} if keep_snapshots else None
    tableset = TableSet(tables)
    try:
        previous = tableset.committed_table("layers")
        done_ok = set()
        if previous is not None:
            previous = previous.filter(pc.equal(previous.column("status"), "ok"))
            done_ok = set(previous.column("layer_digest").to_pylist())
        todo = [t for t in index.layers if t.layer_digest not in done_ok]
        log.info("%d images, %d layers referenced, %d already ok, %d to scan (%.1f MB compressed)",
                 index.images.num_rows, len(index.layers), len(index.layers) - len(todo), len(todo),
                 sum(t.compressed_bytes or 0 for t in todo) / 1e6)
        new_layers, parts = schemas.empty_table("layers"), {}
        if todo:
            new_layers, parts = _run_spark(todo, config, tableset.staging_dir("files"), magic, options, spark, master, tasks)
        if previous is not None:
            previous = keep_layers(previous, referenced)
        layers = pa.concat_tables([previous, new_layers]) if previous is not None else new_layers
        layers = layers.sort_by("layer_digest")
        carry_files(tableset, referenced)
        for name in os.listdir(tableset.staging_dir("files")):
            if name not in parts and not os.path.exists(os.path.join(tableset.committed or "", "files", name)):
                os.unlink(os.path.join(tableset.staging_dir("files"), name))  # a failed task attempt's leftover
        tableset.write("layers", layers)
        tableset.write("images", index.images)
        tableset.write("image_layers", index.image_layers)
        ok = int(pc.sum(pc.equal(new_layers.column("status"), "ok")).as_py() or 0)
        summary = ScanSummary(scanned=new_layers.num_rows, ok=ok, error=new_layers.num_rows - ok,
                              files=sum(parts.values()), skipped=len(index.layers) - len(todo), generation=tableset.generation)
        tableset.commit({**summary.__dict__, "store": store, "parts": sorted(parts)})
        return summary
    except BaseException:
        tableset.abort()
        raise
    finally:
        tableset.close()


def _run_spark(todo, config, files_dir, magic, options, spark, master, tasks) -> tuple[pa.Table, dict[str, int]]:
    from jobs.session import SCAN_JAVA_OPTIONS, get_spark

    spark = spark or get_spark("hubscope-scan", master=master, java_options=SCAN_JAVA_OPTIONS)
    sc = spark.sparkContext
    bins = balance(todo, tasks or max(2, sc.defaultParallelism * TASKS_PER_CORE))
    log.info("scanning %d layers in %d tasks (largest first)", len(todo), len(bins))
    # One task id per partition (a JVM range: no Python RDD stage); each task finds its layers in a broadcast.
    bins_bc = sc.broadcast(bins)
    layers_acc, bytes_acc = sc.accumulator(0), sc.accumulator(0)
    df = spark.range(len(bins), numPartitions=len(bins)).mapInArrow(
        scan_partition(bins_bc, config, files_dir, magic, options, (layers_acc, bytes_acc)), RESULT_DDL)
    stop = threading.Event()
    watcher = threading.Thread(target=_progress, args=(stop, bins, layers_acc, bytes_acc), daemon=True)
    watcher.start()
    try:
        result = df.toArrow()
    finally:
        stop.set()
        watcher.join(timeout=5)
        bins_bc.unpersist()
    return _result_to_layers(result)


@click.command("scan")
@click.option("--store", required=True, help="Blob store: a local folder or s3://bucket/prefix.")
@click.option("--tables", required=True, type=click.Path(file_okay=False), callback=writable_dir,
              help="Folder of the output tables.")
@click.option("--records", default=None, type=click.Path(file_okay=False),
              help="Folder holding records/*.jsonl from the crawl (default: the store folder).")
@click.option("--master", default=None, help="Spark master, e.g. local[2] or spark://host:7077 (default: spark-submit's, else local[*]).")
@click.option("--no-magic", is_flag=True, help="Skip libmagic typing (faster; magic and type columns stay null).")
@click.option("--s3-endpoint", default=None, help="S3 endpoint URL for an s3:// store (e.g. http://127.0.0.1:9000).")
@click.option("--tasks", default=None, type=click.IntRange(min=1), help="Number of scan tasks (default: 8 x Spark parallelism, at most one per layer).")
@click.option("--type-head-bytes", default=ScanOptions().type_head_bytes, show_default=True, type=click.IntRange(min=1),
              help="Leading bytes of each file libmagic types (larger: closer to a full read, slower).")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON document (schema hubscope.scan/v1) instead of the summary line.")
@click.option("--keep-snapshots", default=None, type=click.IntRange(min=1), metavar="N",
              help="Keep only the newest N crawl snapshots (and the layers they use) in the tables (default: every snapshot).")
def scan_command(store: str, tables: str, records: Optional[str], master: Optional[str], no_magic: bool,
                 s3_endpoint: Optional[str], tasks: Optional[int], type_head_bytes: int, as_json: bool = False,
                 keep_snapshots: Optional[int] = None) -> None:
    """Scan every crawled layer into Parquet tables (images, image_layers, layers, files); reruns are incremental."""
    from common.records import RECORDS_DIR

    if not store.startswith("s3://") and not os.path.isdir(store):
        raise click.UsageError(f"store {store!r} does not exist: crawl into it first (hubscope crawl --store {store} ...)")
    records_root = records or (None if store.startswith("s3://") else store)
    if records_root is not None and not os.path.isdir(os.path.join(records_root, RECORDS_DIR)):
        raise click.UsageError(f"no crawl records in {os.path.join(records_root, RECORDS_DIR)}: "
                               "run `hubscope crawl` first, or point --records at the crawl's records folder")
    started = time.monotonic()
    summary = run_scan(store, tables, records=records, master=master, magic=not no_magic, s3_endpoint=s3_endpoint, tasks=tasks,
                       options=ScanOptions(type_head_bytes=type_head_bytes), keep_snapshots=keep_snapshots)
    elapsed = time.monotonic() - started
    if as_json:
        from common.jsonout import document

        click.echo(document("scan", {"store": store, "tables": tables, "layers": summary.__dict__,
                                     "seconds": round(elapsed, 3)}))
    else:
        click.echo(f"{summary.line()} ({summary.skipped} already ok; {elapsed:.1f}s)")


if __name__ == "__main__":
    from common.logsetup import configure_logging

    configure_logging()
    from jobs.scan import scan_command as _command  # closures pickled by reference to jobs.scan, not __main__

    _command()
