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


def test_sharing_by_diff_id_counts_one_tar_under_two_compressions_once(spark):
    """Image X uses tar T gzip-compressed, image Y the same T zstd-compressed (its config gives no diff_id:
    the scan's is used), image Z another tar U. By blob: three layers in one image each. By diff_id:
    T in two images (two blobs), U in one."""
    import gzip
    import hashlib
    import io
    import tarfile

    import zstandard

    from common.table_read import frame
    from jobs.layer_scanner import scan_layer

    def tar(data: bytes) -> bytes:
        buf = io.BytesIO()
        with tarfile.open(fileobj=buf, mode="w") as tf:
            info = tarfile.TarInfo("f.txt")
            info.size = len(data)
            tf.addfile(info, io.BytesIO(data))
        return buf.getvalue()

    t, u = tar(b"shared content\n"), tar(b"other content\n")
    blobs = {"X": gzip.compress(t), "Y": zstandard.ZstdCompressor().compress(t), "Z": gzip.compress(u)}
    layers, refs = [], []
    for image, blob in blobs.items():
        digest = "sha256:" + hashlib.sha256(blob).hexdigest()
        result = scan_layer(io.BytesIO(blob), digest)
        assert result.ok
        layers.append(result.layer)
        config_diff_id = None if image == "Y" else result.layer["diff_id"]
        refs.append({"image_digest": image, "layer_index": 0, "layer_digest": digest, "diff_id": config_diff_id})
    assert layers[0]["diff_id"] == layers[1]["diff_id"] == "sha256:" + hashlib.sha256(t).hexdigest()
    il, ly = frame(spark, "image_layers", refs), frame(spark, "layers", layers)
    assert [(r.images_per_layer, r.layers) for r in sharing.sharing_histogram(il).collect()] == [(1, 3)]
    got = [(r.images_per_layer, r.layers, r.blobs) for r in sharing.diff_id_sharing_histogram(il, ly).collect()]
    assert got == [(1, 1, 1), (2, 1, 2)]


def test_diff_id_sharing_summary():
    import pandas as pd

    from analyze.summary import _diff_id_sharing

    frame = pd.DataFrame({"images_per_layer": [1, 2], "layers": [1, 1], "blobs": [1, 2]})
    assert _diff_id_sharing(frame) == {"layers_by_diff_id": 2, "max_images_per_diff_id": 2}
