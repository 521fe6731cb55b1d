"""The Spark scan job in local mode: end to end on a tiny store, incremental, atomic, CLI."""
from __future__ import annotations

import io
import json
import os

import pyarrow.compute as pc
import pyarrow.parquet as pq
from click.testing import CliRunner

from common.records import RecordLog
from common import schemas
from jobs.image_tables import LayerTodo
from jobs.scan import balance, run_scan, scan_command
from jobs.layer_scanner import scan_layer
from jobs_layerkit import sha
from jobs_storekit import add_image, demo_store, text_layer

IGNORED = ("scanned_at",)  # the only column that differs between two scans of the same bytes


def read(tables: str, name: str):
    return pq.read_table(os.path.join(tables, name))


def comparable(tables: str) -> dict:
    """Every table as sorted rows without run-time columns, for equality between runs."""
    out = {}
    for name in schemas.TABLES:
        table = read(tables, name)
        keep = [c for c in table.column_names if c not in IGNORED]
        out[name] = sorted(map(repr, table.select(keep).to_pylist()))
    return out


def test_scan_end_to_end_with_a_bad_layer(spark, tmp_path):
    store, tables = str(tmp_path / "store"), str(tmp_path / "tables")
    d = demo_store(store)
    summary = run_scan(store, tables, spark=spark, magic=False)
    assert summary.line() == "scanned 4 layers: 3 ok, 1 error; 47 files"  # 30 + 5 + 12; the broken layer has none

    layers = read(tables, "layers")
    assert layers.schema.equals(schemas.LAYERS, check_metadata=True)
    status = dict(zip(layers.column("layer_digest").to_pylist(), zip(layers.column("status").to_pylist(), layers.column("error_class").to_pylist())))
    assert status == {d["base"]: ("ok", None), d["app"]: ("ok", None), d["other"]: ("ok", None), d["broken"]: ("error", "gzip_truncated")}

    files = read(tables, "files")
    assert files.schema.equals(schemas.FILES, check_metadata=True)
    assert files.num_rows == 47
    # The job's rows are exactly the pure scanner's rows for each ok layer.
    for role in ("base", "app", "other"):
        digest = d[role]
        blob = open(os.path.join(store, "blobs", "sha256", digest.split(":")[1]), "rb").read()
        expected = scan_layer(io.BytesIO(blob), digest).files.sort_by("entry_index")
        got = files.filter(pc.equal(files.column("layer_digest"), digest)).sort_by("entry_index")
        assert got.equals(expected), role

    # Spark reads the same tables with the contract's types.
    for name in schemas.TABLES:
        df = spark.read.parquet(os.path.join(tables, name))
        assert df.count() == read(tables, name).num_rows
        assert [f.name for f in df.schema.fields] == schemas.TABLES[name].names
    ddl = {f.name: f.dataType.simpleString() for f in spark.read.parquet(os.path.join(tables, "files")).schema.fields}
    assert ddl["path_raw"] == "binary" and ddl["entry_index"] == "bigint" and ddl["mode"] == "int"


def test_image_tables_from_records_and_configs(spark, tmp_path):
    store, tables = str(tmp_path / "store"), str(tmp_path / "tables")
    d = demo_store(store)
    run_scan(store, tables, spark=spark, magic=False)
    a, b = d["records"]
    images = read(tables, "images").sort_by("repository").to_pylist()
    assert [(i["image_digest"], i["repository"], i["tag"], i["platform"], i["os"], i["architecture"], i["layer_count"],
             i["empty_layer_count"], i["compressed_bytes"], i["pull_count"], i["star_count"]) for i in images] == [
        (a.manifest_digest, "demo/app", "v1", "linux/amd64", "linux", "amd64", 2, 1, a.compressed_bytes, 42, 7),
        (b.manifest_digest, "demo/other", "v1", "linux/amd64", "linux", "amd64", 3, 0, b.compressed_bytes, 42, 7),
    ]
    assert images[0]["created"].isoformat() == "2024-03-04T05:06:07.123456+00:00"
    assert images[0]["crawled_at"].timestamp() == 1_700_000_000.0
    il = read(tables, "image_layers").sort_by([("image_digest", "ascending"), ("layer_index", "ascending")])
    rows = [(r["image_digest"], r["layer_index"], r["layer_digest"], r["diff_id"], r["created_by"]) for r in il.to_pylist()]
    expected = [
        (a.manifest_digest, 0, d["base"], sha(d["raw"]["base"]), "RUN step 0"),
        (a.manifest_digest, 1, d["app"], sha(d["raw"]["app"]), "RUN step 1"),
        (b.manifest_digest, 0, d["base"], sha(d["raw"]["base"]), "RUN step 0"),
        (b.manifest_digest, 1, d["other"], sha(d["raw"]["other"]), "RUN step 1"),
        (b.manifest_digest, 2, d["broken"], sha(text_layer("x", 1)), "RUN step 2"),
    ]
    assert sorted(rows) == sorted(expected)


def test_rerun_is_incremental_and_picks_up_new_layers(spark, tmp_path):
    store, tables = str(tmp_path / "store"), str(tmp_path / "tables")
    d = demo_store(store)
    first = run_scan(store, tables, spark=spark, magic=False)
    before = comparable(tables)
    again = run_scan(store, tables, spark=spark, magic=False)
    # Only the error layer is tried again; ok layers are skipped and their rows carried over.
    assert (again.scanned, again.ok, again.error, again.files, again.skipped) == (1, 0, 1, 0, 3)
    assert comparable(tables) == before
    add_image(store, RecordLog(store, run_id="second"), "demo/new", "v2", [d["raw"]["base"], text_layer("new", 3)])
    third = run_scan(store, tables, spark=spark, magic=False)
    assert (third.scanned, third.ok, third.error, third.files, third.skipped) == (2, 1, 1, 3, 3)
    assert read(tables, "files").num_rows == first.files + 3
    assert read(tables, "images").num_rows == 3
    # Old generations are pruned: the committed one and its predecessor remain.
    assert len(os.listdir(os.path.join(tables, ".generations"))) == 2


def test_cli_prints_the_summary(spark, tmp_path):
    store, tables = str(tmp_path / "store"), str(tmp_path / "tables")
    demo_store(store)
    result = CliRunner().invoke(scan_command, ["--store", store, "--tables", tables, "--no-magic"])
    assert result.exit_code == 0, result.output
    assert result.output.startswith("scanned 4 layers: 3 ok, 1 error; 47 files")
    again = CliRunner().invoke(scan_command, ["--store", store, "--tables", tables, "--no-magic", "--json"])
    assert again.exit_code == 0, again.output
    doc = json.loads(again.stdout)  # one document, nothing else on stdout
    assert doc["schema"] == "hubscope.scan/v1" and doc["tables"] == tables
    # the rerun retries only the failed layer: 1 scanned (still an error), 3 already ok
    assert (doc["layers"]["scanned"], doc["layers"]["error"], doc["layers"]["skipped"]) == (1, 1, 3)


def test_typed_scan_fills_the_type_columns(spark, tmp_path):
    store, tables = str(tmp_path / "store"), str(tmp_path / "tables")
    demo_store(store)
    run_scan(store, tables, spark=spark, magic=True)
    files = read(tables, "files")
    assert set(files.column("type_class").to_pylist()) == {"document"}
    assert set(files.column("magic_mime").to_pylist()) == {"text/plain"}


def test_typing_head_size_is_an_option(spark, tmp_path, monkeypatch):
    """With 4-byte heads libmagic never sees a newline of the demo's text files (all longer than 4 bytes)."""
    monkeypatch.setenv("HUBSCOPE_TYPE_CACHE", str(tmp_path / "typecache"))
    store, tables = str(tmp_path / "store"), str(tmp_path / "tables")
    demo_store(store)
    result = CliRunner().invoke(scan_command, ["--store", store, "--tables", tables, "--type-head-bytes", "4"])
    assert result.exit_code == 0, result.output
    files = read(tables, "files").to_pylist()
    assert files and all(f["size_bytes"] > 4 for f in files)
    assert {f["magic_description"] for f in files} == {"ASCII text, with no line terminators"}


def test_balance_packs_largest_first():
    todo = [LayerTodo(f"sha256:{i:064x}", None, size, None) for i, size in enumerate([100, 90, 50, 40, 30, 5])]
    bins = balance(todo, 2)
    assert [[t.compressed_bytes for t in b] for b in bins] == [[100, 40, 30], [90, 50, 5]]
    assert len(balance(todo, 10)) == 6
