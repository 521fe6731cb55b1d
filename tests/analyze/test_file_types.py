"""File size and type distributions at class and fine level, by count and capacity."""
from __future__ import annotations

import pytest

from analyze import files
from analyze.populations import LAYER_BLOBS, weighted_files


def _w(corpus):
    return weighted_files(corpus["files"], corpus["layers"], corpus["image_layers"], LAYER_BLOBS)


def test_type_classes_by_count_and_capacity(spark, corpus):
    got = {r.type: r for r in files.type_distribution(_w(corpus), "class").collect()}
    # 7 files / 265 bytes: executables 2 / 200, documents 3 / 15, scripts 2 / 50.
    assert (got["executables"].files, got["executables"].bytes) == (2, 200)
    assert got["executables"].file_share == pytest.approx(2 / 7) and got["executables"].byte_share == pytest.approx(200 / 265)
    assert got["documents"].file_share == pytest.approx(3 / 7) and got["documents"].byte_share == pytest.approx(15 / 265)
    assert sum(r.byte_share for r in got.values()) == pytest.approx(1.0)


def test_type_fine_level(spark, corpus):
    got = {r.type: (r.files, r.bytes) for r in files.type_distribution(_w(corpus), "fine").collect()}
    assert got == {"elf-shared": (2, 200), "text": (3, 15), "python": (2, 50)}


def test_missing_class_is_unknown_not_dropped(spark, corpus):
    from pyspark.sql import functions as F

    w = _w(corpus).withColumn("type_class", F.when(F.col("size_bytes") == 30, None).otherwise(F.col("type_class")))
    got = {r.type: r.files for r in files.type_distribution(w, "class").collect()}
    assert got["unknown"] == 1 and got["scripts"] == 1


def test_size_by_type(spark, corpus):
    got = {r.type_class: r for r in files.size_by_type(_w(corpus)).collect()}
    assert (got["scripts"].files, got["scripts"].bytes, got["scripts"].mean_bytes) == (2, 50, 25.0)
    assert got["documents"].median_bytes == 5
    # scripts 20 and 30: median (20 + 30) / 2, p90 20 + 0.9 * 10
    assert (got["scripts"].median_bytes, got["scripts"].p90_bytes) == (25.0, pytest.approx(29.0))


def test_file_size_cdf_ends_at_the_largest_file(spark, corpus):
    points = files.file_size_cdf(_w(corpus)).orderBy("p").collect()
    assert len(points) == 101 and points[0].value == 5 and points[-1].value == 100
