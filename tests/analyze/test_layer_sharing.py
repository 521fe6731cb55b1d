"""Layer sharing, layer-level vs file-level savings and cross-image redundancy."""
from __future__ import annotations

import pytest

from analyze import sharing
from analyze_corpus import I1, I2


def test_sharing_histogram(spark, corpus):
    got = [(r.images_per_layer, r.layers) for r in sharing.sharing_histogram(corpus["image_layers"]).collect()]
    assert got == [(1, 2), (2, 1)]  # L2 and L3 in one image each, L1 in two


def test_layer_level_vs_file_level_savings(spark, corpus):
    got = {r.level: (r.referenced_bytes, r.stored_bytes, r.savings) for r in
           sharing.layer_vs_file_savings(corpus["files"], corpus["layers"], corpus["image_layers"]).collect()}
    # referenced = 110*2 + 25 + 130 = 375; layers stored once = 265; each content once = 155.
    assert got["none"] == (375, 375, pytest.approx(0.0))
    assert got["layer"] == (375, 265, pytest.approx(110 / 375))
    assert got["file"] == (375, 155, pytest.approx(220 / 375))
    # compressed blobs: 50*2 + 10 + 40 = 150 referenced, 100 stored.
    assert got["layer_compressed"] == (150, 100, pytest.approx(1 / 3))


def test_cross_image_redundancy(spark, corpus):
    got = {r.image_digest: (r.files, r.files_elsewhere, r.share_elsewhere) for r in
           sharing.cross_image_redundancy(corpus["files"], corpus["image_layers"]).collect()}
    # I1 files A B B C B: C is only in I1 -> 4/5; I2 files A B B D A: D only in I2 -> 4/5.
    assert got[I1] == (5, 4, pytest.approx(0.8))
    assert got[I2] == (5, 4, pytest.approx(0.8))


def test_cross_image_redundancy_with_a_third_image(spark, corpus):
    from analyze_corpus import L2

    i3 = "sha256:" + "d" * 64
    extra = spark.createDataFrame([(i3, 0, L2)], "image_digest string, layer_index int, layer_digest string")
    il = corpus["image_layers"].select("image_digest", "layer_index", "layer_digest").unionByName(extra)
    got = {r.image_digest: r.share_elsewhere for r in sharing.cross_image_redundancy(corpus["files"], il).collect()}
    # I3 = [L2]: C20 and B5 are both in I1 -> 1.0; I1 now has C elsewhere too -> 5/5; I2 keeps D alone -> 4/5.
    assert got == {i3: pytest.approx(1.0), I1: pytest.approx(1.0), I2: pytest.approx(0.8)}
    hist = [(r.images_per_layer, r.layers) for r in sharing.sharing_histogram(il).collect()]
    assert hist == [(1, 1), (2, 2)]  # L3 alone; L1 (I1, I2) and L2 (I1, I3) shared
