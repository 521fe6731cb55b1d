"""Fixtures of the analyze tests: the hand-built corpus of ``analyze_corpus`` as DataFrames and as Parquet."""
from __future__ import annotations

import pytest

from common.table_read import frame, write_tables
from analyze_corpus import corpus_rows


@pytest.fixture(scope="session")
def corpus(spark):
    """The corpus as DataFrames with the contract's schemas."""
    return {name: frame(spark, name, rows).cache() for name, rows in corpus_rows().items()}


@pytest.fixture(scope="session")
def corpus_dir(tmp_path_factory):
    """The corpus written as Parquet tables, as the scan lays them out."""
    root = tmp_path_factory.mktemp("tables")
    write_tables(str(root), corpus_rows())
    return str(root)
