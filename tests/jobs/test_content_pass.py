"""The content pass on a tiny store built with hubscope.demo.oci_layout, answers worked out by hand."""
from __future__ import annotations

import hashlib
import io

import pytest
import zstandard
from pyfastcdc import FastCDC

import content_corpus as cc
from analyze import content
from common.table_read import frame
from jobs.content_pass import ContentOptions, analyze_layer, content_pass


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    root = str(tmp_path_factory.mktemp("store"))
    return dict(cc.build(root), root=root)


@pytest.fixture(scope="module")
def passed(spark, built):
    tables = {name: frame(spark, name, rows) for name, rows in built["tables"].items()}
    rows = content_pass(spark, tables, built["root"], sample_layers=10, seed=0, options=ContentOptions(8192, (3,)))
    return tables, rows


def test_analyze_layer_reads_packages_and_recompresses(built):
    result = analyze_layer(io.BytesIO(built["blobs"]["P1"]), True, True, ContentOptions(8192, (3,)))
    assert result.compression == "gzip"
    assert result.tar_bytes == len(built["tars"]["P1"])
    assert result.file_bytes == len(cc.OS_DEBIAN) + len(cc.DPKG) + 40_000
    assert result.packages["os-release"]["id"] == "debian" and result.packages["dpkg"]["packages"] == 2
    one_shot = len(zstandard.ZstdCompressor(level=3).compress(built["tars"]["P1"]))
    assert abs(result.zstd_bytes[3] - one_shot) <= 16  # streaming frame vs one-shot frame header
    # chunks cover every file byte exactly once per occurrence
    assert sum(length * n for length, n in result.chunks.values()) == result.file_bytes


def test_chunk_vs_file_vs_layer_dedup(spark, built, passed):
    tables, rows = passed
    got = {(r.population, r.level): (r.total_bytes, r.stored_bytes) for r in
           content.chunk_dedup(rows, tables["files"], tables["layers"], tables["image_layers"]).collect()}
    small = len(cc.OS_DEBIAN) + len(cc.DPKG) + len(cc.OS_ALPINE) + len(cc.APK)
    total = small + 3 * 40_000  # big, its copy, the edited copy
    # file level: /app/copy is the only repeated content.
    assert got[("layer_blobs", "file")] == (total, total - 40_000)
    assert got[("layer_blobs", "layer")] == (total, total)  # each sampled layer once: nothing to share
    # chunk level: EDITED shares every chunk with BIG except those around the changed byte.
    cdc = FastCDC(8192)
    big = {hashlib.sha256(c.data).digest() for c in cdc.cut_buf(cc.BIG)}
    new = sum(c.length for c in cdc.cut_buf(cc.EDITED) if hashlib.sha256(c.data).digest() not in big)
    assert 0 < new < 40_000
    assert got[("layer_blobs", "chunk")] == (total, total - 80_000 + new)
    # every image reference: P1 is used by X and Z, so its files count twice; layer dedup stores it once.
    p1 = len(cc.OS_DEBIAN) + len(cc.DPKG) + 40_000
    assert got[("image_refs", "layer")] == (total + p1, total)
    assert got[("image_refs", "file")] == (total + p1, total - 40_000)


def test_recompression_against_stored_gzip(spark, built, passed):
    _, rows = passed
    per_layer = {r.layer_digest: r for r in content.recompression_layers(rows).collect()}
    p1 = per_layer[built["digests"]["P1"]]
    assert (p1.compression, p1.stored_bytes, p1.tar_bytes, p1.level) == ("gzip", len(built["blobs"]["P1"]), len(built["tars"]["P1"]), 3)
    summary = content.recompression_summary(content.recompression_layers(rows)).collect()
    assert [(r.compression, r.level, r.layers) for r in summary] == [("gzip", 3, 3)]
    assert summary[0].stored_bytes == sum(len(b) for b in built["blobs"].values())


def test_os_and_package_databases_per_image(spark, built, passed):
    tables, rows = passed
    pk = {r.image_digest: r for r in content.image_packages(rows, tables["images"], tables["image_layers"]).collect()}
    x, y, z = (built["image_digest"][k] for k in "XYZ")
    assert (pk[x].os_id, pk[x].os_version, pk[x].dpkg_packages, pk[x].dpkg_bytes) == ("debian", "12", 2, 30720)
    assert (pk[y].os_id, pk[y].os_version, pk[y].apk_packages, pk[y].apk_bytes) == ("alpine", "3.19.0", 2, 300)
    assert pk[z].os_id == "debian" and pk[y].dpkg_packages is None
    dist = [(r.os_id, r.os_version, r.images) for r in content.os_distribution(content.image_packages(rows, tables["images"], tables["image_layers"])).collect()]
    assert dist == [("debian", "12", 2), ("alpine", "3.19.0", 1)]


def test_unreadable_layer_is_an_error_row_and_the_rest_completes(spark, built, tmp_path):
    rows = cc.build(str(tmp_path))["tables"]
    rows["layers"].append({"layer_digest": "sha256:" + "0" * 64, "status": "ok"})  # not in the store
    tables = {name: frame(spark, name, r) for name, r in rows.items()}
    out = content_pass(spark, tables, str(tmp_path), sample_layers=10, seed=0, options=ContentOptions(8192, ()))
    kinds = {(r.kind, r.layer_digest) for r in out.select("kind", "layer_digest").distinct().collect()}
    assert ("error", "sha256:" + "0" * 64) in kinds
    assert {d for k, d in kinds if k == "size"} == set(built["digests"].values())


def test_truncated_gzip_layer_is_reported_not_read_short():
    import gzip

    from common.errors import LayerError
    from hubscope.demo.oci_layout import tar_bytes

    blob = gzip.compress(tar_bytes({"etc/os-release": cc.OS_DEBIAN}), mtime=0)
    with pytest.raises(LayerError) as caught:
        analyze_layer(io.BytesIO(blob[: len(blob) - 12]), True, True, ContentOptions(8192, (3,)))
    assert caught.value.error_class == "gzip_truncated"
    whole = analyze_layer(io.BytesIO(blob), True, True, ContentOptions(8192, (3,)))
    assert (whole.compression, whole.stored_bytes) == ("gzip", len(blob))
    assert whole.packages["os-release"]["id"] == "debian"
