"""File-level dedup, worked out by hand (definitions in REFERENCE.md)."""
from __future__ import annotations

import pytest
from pyspark.sql import functions as F

from analyze import dedup
from analyze.populations import IMAGE_REFS, LAYER_BLOBS, UNIQUE_DIFF_IDS, weighted_files
from common.table_read import frame
from analyze_corpus import I1, I2, L1, L2, L3



def test_five_files_three_digests(spark):
    # sizes 10/10/20/30/30, digests x x y z z -> unique 3 of 5 (0.4), unique bytes 60 of 100 (0.4).
    rows = [
        {"layer_digest": "sha256:" + "1" * 64, "entry_index": i, "path": f"/f{i}", "type": "reg", "size_bytes": s,
         "content_sha256": "sha256:" + c * 64}
        for i, (s, c) in enumerate([(10, "a"), (10, "a"), (20, "b"), (30, "c"), (30, "c")])
    ]
    files = frame(spark, "files", rows).withColumn("weight", F.lit(1).cast("long"))
    r = dedup.dedup_ratios(files).first()
    assert (r.total_files, r.unique_files, r.total_bytes, r.unique_bytes) == (5, 3, 100, 60)
    assert r.dedup_count == pytest.approx(0.4) and r.dedup_capacity == pytest.approx(0.4)


def test_directories_symlinks_and_whiteouts_are_not_files(spark, corpus):
    w = weighted_files(corpus["files"], corpus["layers"], corpus["image_layers"], LAYER_BLOBS)
    assert w.count() == 7  # 13 entries, 7 regular files


def test_unique_layer_population(spark, corpus):
    # A100 B5 B5 | C20 B5 | D30 A100 -> 7 files, 4 unique; 265 bytes, 155 unique.
    r = dedup.dedup_ratios(weighted_files(corpus["files"], corpus["layers"], corpus["image_layers"], LAYER_BLOBS)).first()
    assert (r.total_files, r.unique_files, r.total_bytes, r.unique_bytes) == (7, 4, 265, 155)
    assert r.dedup_count == pytest.approx(3 / 7) and r.dedup_capacity == pytest.approx(110 / 265)


def test_every_layer_of_every_image_population(spark, corpus):
    # L1 counted twice (I1 and I2): 6 + 2 + 2 = 10 files, 220 + 25 + 130 = 375 bytes; unique 4 / 155.
    r = dedup.dedup_ratios(weighted_files(corpus["files"], corpus["layers"], corpus["image_layers"], IMAGE_REFS)).first()
    assert (r.total_files, r.unique_files, r.total_bytes, r.unique_bytes) == (10, 4, 375, 155)
    assert r.dedup_count == pytest.approx(0.6) and r.dedup_capacity == pytest.approx(220 / 375)


def test_same_tar_under_two_compressions_counts_once_by_diff_id(spark, corpus):
    # A zstd copy of L2 (same diff_id, new blob digest): blobs count it again, diff_ids do not.
    twin = "sha256:" + "9" * 64
    layers = corpus["layers"].unionByName(corpus["layers"].where(F.col("layer_digest") == L2).withColumn("layer_digest", F.lit(twin)))
    files = corpus["files"].unionByName(corpus["files"].where(F.col("layer_digest") == L2).withColumn("layer_digest", F.lit(twin)))
    blobs = dedup.dedup_ratios(weighted_files(files, layers, corpus["image_layers"], LAYER_BLOBS)).first()
    diffs = dedup.dedup_ratios(weighted_files(files, layers, corpus["image_layers"], UNIQUE_DIFF_IDS)).first()
    assert (blobs.total_files, blobs.total_bytes) == (9, 290)
    assert (diffs.total_files, diffs.total_bytes) == (7, 265)


def test_dedup_by_type_class(spark, corpus):
    w = weighted_files(corpus["files"], corpus["layers"], corpus["image_layers"], LAYER_BLOBS)
    got = {r.type_class: (r.total_files, r.unique_files, r.dedup_count, r.dedup_capacity) for r in dedup.dedup_by_class(w).collect()}
    assert got["executables"] == (2, 1, pytest.approx(0.5), pytest.approx(0.5))
    assert got["documents"] == (3, 1, pytest.approx(2 / 3), pytest.approx(10 / 15))
    assert got["scripts"] == (2, 2, pytest.approx(0.0), pytest.approx(0.0))


def test_dedup_per_image(spark, corpus):
    got = {r.image_digest: r for r in dedup.dedup_per_image(corpus["files"], corpus["image_layers"]).collect()}
    # I1: A100 B5 B5 C20 B5 -> 2/5 by count, (135-125)/135 by capacity.
    assert got[I1].dedup_count == pytest.approx(0.4) and got[I1].dedup_capacity == pytest.approx(10 / 135)
    # I2: A100 B5 B5 D30 A100 -> 2/5, (240-135)/240.
    assert got[I2].dedup_count == pytest.approx(0.4) and got[I2].dedup_capacity == pytest.approx(105 / 240)


def test_repeat_count_distribution(spark, corpus):
    w = weighted_files(corpus["files"], corpus["layers"], corpus["image_layers"], LAYER_BLOBS)
    got = [(r.repeat_count, r.digests, r.total_files, r.unique_bytes, r.total_bytes) for r in dedup.repeat_counts(w).collect()]
    # C and D once; A twice (100 each); B three times (5 each).
    assert got == [(1, 2, 2, 50, 50), (2, 1, 2, 100, 200), (3, 1, 3, 5, 15)]


def test_growth_in_a_given_order(spark, corpus):
    w = weighted_files(corpus["files"], corpus["layers"], corpus["image_layers"], LAYER_BLOBS)
    order = spark.createDataFrame([(L1, 1), (L2, 2), (L3, 3)], "layer_digest string, rank int")
    got = [(r.layers, r.total_files, r.unique_files, r.total_bytes, r.unique_bytes) for r in dedup.dedup_growth(w, order).collect()]
    assert got == [(1, 3, 2, 110, 105), (2, 5, 3, 135, 125), (3, 7, 4, 265, 155)]


def test_popularity_order_puts_most_pulled_images_layers_first(spark, corpus):
    order = dedup.popularity_layer_order(corpus["image_layers"], corpus["images"])
    # L1 and L2 belong to I1 (1000 pulls), tie broken by digest; L3 only to I2 (10 pulls).
    assert [r.layer_digest for r in order.orderBy("rank").collect()] == [L1, L2, L3]


def test_random_order_is_reproducible_and_seeded(spark, corpus):
    w = weighted_files(corpus["files"], corpus["layers"], corpus["image_layers"], LAYER_BLOBS)
    ranks = lambda seed: [r.layer_digest for r in dedup.random_layer_order(w, seed).orderBy("rank").collect()]  # noqa: E731
    assert ranks(1) == ranks(1)
    assert sorted(ranks(1)) == [L1, L2, L3]
    assert len({tuple(ranks(s)) for s in range(8)}) > 1  # different seeds give different orders
    last = dedup.dedup_growth(w, dedup.random_layer_order(w, 7)).orderBy("layers").collect()[-1]
    assert (last.total_files, last.unique_files) == (7, 4)  # whatever the order, the end is the whole corpus


def test_files_of_a_failed_layer_are_not_counted(spark, corpus):
    # Mark L3 failed: its two files (D30, A100) leave the unique-layer population -> 5 files, 3 unique.
    layers = corpus["layers"].withColumn("status", F.when(F.col("layer_digest") == L3, "error").otherwise(F.col("status")))
    r = dedup.dedup_ratios(weighted_files(corpus["files"], layers, corpus["image_layers"], LAYER_BLOBS)).first()
    assert (r.total_files, r.unique_files, r.total_bytes, r.unique_bytes) == (5, 3, 135, 125)
