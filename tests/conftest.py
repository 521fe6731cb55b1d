"""Shared fixtures: real services on loopback, started once per session and stopped at the end.

A missing service binary fails the test with the install hint; nothing is skipped silently.
"""
from __future__ import annotations

import os
import sys

import pytest

os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
os.environ.setdefault("PYSPARK_DRIVER_PYTHON", sys.executable)

from crawler.localregistry import LocalRegistry  # noqa: E402


@pytest.fixture(scope="session")
def spark():
    """One local[2] session for the whole run: UI off, few shuffle partitions."""
    from pyspark.sql import SparkSession

    session = (
        SparkSession.builder.master("local[2]")
        .appName("hubscope-tests")
        .config("spark.ui.enabled", "false")
        .config("spark.sql.shuffle.partitions", "4")
        .config("spark.default.parallelism", "4")
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.driver.host", "127.0.0.1")
        .config("spark.driver.bindAddress", "127.0.0.1")
        .config("spark.driver.memory", "2g")
        .getOrCreate()
    )
    yield session
    session.stop()


@pytest.fixture(scope="session")
def registry(tmp_path_factory):
    """An anonymous distribution registry (Debian's docker-registry) on a free loopback port."""
    reg = LocalRegistry(str(tmp_path_factory.mktemp("registry"))).start()
    yield reg
    reg.stop()
