"""Reading the scan's Parquet tables, and building small ones by hand (tests, notebooks).

The scan writes one folder (or file) per table under a tables directory: ``<dir>/files``,
``<dir>/layers`` ... Readers apply the contract's schema from ``common.schemas`` so a statistic
never depends on what Parquet inferred.
"""
from __future__ import annotations

import logging
import os
from typing import Iterable, Mapping

import pyarrow as pa
from pyspark.sql import DataFrame, SparkSession

from common.schemas import TABLES, spark_ddl

log = logging.getLogger(__name__)


def table_path(tables_dir: str, name: str) -> str:
    """Where table ``name`` lives: ``<dir>/<name>`` (a Parquet folder) or ``<dir>/<name>.parquet``."""
    for candidate in (os.path.join(tables_dir, name), os.path.join(tables_dir, f"{name}.parquet")):
        if os.path.exists(candidate):
            return candidate
    raise FileNotFoundError(f"table {name!r} not found under {tables_dir} (expected {name}/ or {name}.parquet)")


def load_tables(spark: SparkSession, tables_dir: str) -> dict[str, DataFrame]:
    """The four contract tables as DataFrames, read with the contract's schema."""
    frames = {}
    for name in TABLES:
        path = table_path(tables_dir, name)
        frames[name] = spark.read.schema(spark_ddl(name)).parquet(path)
        log.info("table %s from %s", name, path)
    return frames


def arrow_table(name: str, rows: Iterable[Mapping]) -> pa.Table:
    """An Arrow table with the contract's schema; columns missing from ``rows`` are null."""
    schema = TABLES[name]
    rows = list(rows)
    columns = {f.name: [r.get(f.name) for r in rows] for f in schema}
    return pa.Table.from_pydict(columns, schema=schema)


def frame(spark: SparkSession, name: str, rows: Iterable[Mapping]) -> DataFrame:
    """A DataFrame of contract table ``name`` built from dicts (tests and notebooks)."""
    table = arrow_table(name, rows)
    if table.num_rows == 0:
        return spark.createDataFrame([], spark_ddl(name))
    return spark.createDataFrame(table)


def write_tables(tables_dir: str, tables: Mapping[str, Iterable[Mapping]]) -> None:
    """Write hand-built tables as ``<dir>/<name>/part-0.parquet`` (the scan's layout)."""
    import pyarrow.parquet as pq

    for name, rows in tables.items():
        folder = os.path.join(tables_dir, name)
        os.makedirs(folder, exist_ok=True)
        pq.write_table(arrow_table(name, rows), os.path.join(folder, "part-0.parquet"))
