"""dive's waste on scenarios worked out by hand from the definition in REFERENCE.md."""
from __future__ import annotations

import pytest

from analyze.entries import Entry, whiteout_target
from analyze.waste import dive_waste


def d(path):
    return Entry(path, "dir")


def f(path, size):
    return Entry(path, "reg", size, "sha256:" + str(size) * 64)


def test_single_layer_is_fully_efficient():
    result = dive_waste([[d("/etc"), f("/etc/a", 10), f("/etc/b", 20)]])
    assert result.efficiency == 1.0
    assert result.wasted_bytes == 0
    assert result.image_bytes == 30 and result.user_bytes == 0
    assert result.wasted_user_percent is None  # no user layers: dive would divide by zero


def test_file_overwritten_in_a_later_layer():
    # /a: 100 in layer 0, 40 in layer 1 -> cumulative 140, min 40, both copies are waste.
    # /b: 10 once. efficiency = (40 + 10) / (140 + 10) = 1/3; wasted = 140; user = 40.
    result = dive_waste([[f("/a", 100), f("/b", 10)], [f("/a", 40)]])
    assert result.wasted_bytes == 140
    assert result.efficiency == pytest.approx(50 / 150)
    assert result.image_bytes == 150 and result.user_bytes == 40
    assert result.wasted_user_percent == pytest.approx(140 / 40)
    assert [(w.path, w.count, w.cumulative_bytes) for w in result.inefficient] == [("/a", 2, 140)]


def test_deleted_file_counts_its_bytes_as_waste():
    # layer 1 whites out /a (100): /a cumulative 100 + 0, min 0 -> waste 100; efficiency = 5/105.
    result = dive_waste([[f("/a", 100), f("/b", 5)], [Entry("/.wh.a", "whiteout")]])
    assert result.wasted_bytes == 100
    assert result.efficiency == pytest.approx(5 / 105)
    assert result.user_bytes == 0  # a whiteout has no size


def test_deleted_directory_charges_subtree_once_not_waste():
    # /d holds 30 + 70; layer 1 whites out /d: the /d leaf is charged 100 once (min = cumulative),
    # the files keep their own single visits. cumulative = 30 + 70 + 100 + 1 (/x) = 201,
    # min = the same -> efficiency 1.0, waste 0.
    base = [d("/d"), f("/d/p", 30), f("/d/q", 70)]
    result = dive_waste([base, [Entry("/.wh.d", "whiteout"), f("/x", 1)]])
    assert result.wasted_bytes == 0
    assert result.efficiency == 1.0
    assert not result.inefficient


def test_deleted_directory_lowers_efficiency_when_files_repeat():
    # /d/p (30) in layers 0 and 1 -> waste 60; layer 2 removes /d, charged the stacked subtree = 30 (p's latest) + 0.
    # cumulative: /d/p 60, /d 30 -> 90; min: 30 + 30 = 60.
    layers = [[d("/d"), f("/d/p", 30)], [d("/d"), f("/d/p", 30)], [Entry("/.wh.d", "whiteout")]]
    result = dive_waste(layers)
    assert result.wasted_bytes == 60
    assert result.efficiency == pytest.approx(60 / 90)


def test_opaque_directory_marker_is_ignored():
    # Layer 1 makes /o opaque and adds /o/new (5). dive ignores the marker: /o/old (50) is not charged,
    # /o is not a leaf in layer 1 (it has /o/new). No path repeats: efficiency 1, waste 0.
    layers = [[d("/o"), f("/o/old", 50)], [d("/o"), Entry("/o/.wh..wh..opq", "opaque_whiteout"), f("/o/new", 5)]]
    result = dive_waste(layers)
    assert result.wasted_bytes == 0 and result.efficiency == 1.0
    assert result.image_bytes == 55 and result.user_bytes == 5


def test_opaque_marker_alone_makes_its_directory_a_leaf_of_size_zero():
    # Layer 0 has the empty dir /o (a leaf, 0); layer 1 only the marker: /o is a leaf again (0).
    # /o is visited twice -> inefficient with 0 bytes; efficiency stays 1 (nothing has size but /f).
    result = dive_waste([[d("/o"), f("/f", 9)], [Entry("/o/.wh..wh..opq", "opaque_whiteout")]])
    assert [(w.path, w.count, w.cumulative_bytes) for w in result.inefficient] == [("/o", 2, 0)]
    assert result.wasted_bytes == 0 and result.efficiency == 1.0


def test_whiteout_recorded_under_target_path_gives_same_answer():
    # The files table may carry the whiteout under the deleted path instead of the .wh. name.
    by_name = dive_waste([[f("/a", 100)], [Entry("/.wh.a", "whiteout")]])
    by_target = dive_waste([[f("/a", 100)], [Entry("/a", "whiteout")]])
    assert by_name == by_target
    assert whiteout_target(Entry("/x/.wh.y", "whiteout")) == "/x/y"
    assert whiteout_target(Entry("/x/.wh..wh..opq", "opaque_whiteout")) == "/x"


def test_corpus_images_by_hand(spark, corpus):
    from analyze.image_fs_metrics import image_fs, inefficient_paths
    from analyze_corpus import I1, I2

    rows = {r.image_digest: r for r in image_fs(corpus["files"], corpus["image_layers"], corpus["layers"]).collect()}
    # I2 = [L1, L3]: /bin/sh 100 then whited out -> waste 100; min 140, cumulative 240; user 130.
    assert rows[I2].wasted_bytes == 100
    assert rows[I2].efficiency == pytest.approx(140 / 240)
    assert rows[I2].image_bytes == 240 and rows[I2].user_bytes == 130
    assert rows[I2].wasted_user_percent == pytest.approx(100 / 130)
    # I1 = [L1, L2]: /etc/passwd 5 twice -> waste 10; min 130, cumulative 135; user 25.
    assert rows[I1].wasted_bytes == 10
    assert rows[I1].efficiency == pytest.approx(130 / 135)
    assert rows[I1].wasted_user_percent == pytest.approx(10 / 25)
    paths = {(r.image_digest, r.path): (r["count"], r.bytes) for r in inefficient_paths(image_fs(corpus["files"], corpus["image_layers"], corpus["layers"])).collect()}
    assert paths == {(I1, "/etc/passwd"): (2, 10), (I2, "/bin/sh"): (2, 100)}


def test_hardlink_has_header_size_zero():
    # The files table gives a hardlink its target's size (40); dive sums tar header sizes, which are 0.
    # /a (40) and its hardlink /b; layer 1 rewrites /b (40): /b cumulative 0 + 40 = 40 is waste, min 0.
    result = dive_waste([[f("/a", 40), Entry("/b", "hardlink", 40, "sha256:" + "4" * 64)], [f("/b", 40)]])
    assert result.image_bytes == 80 and result.user_bytes == 40
    assert result.wasted_bytes == 40
    assert result.efficiency == pytest.approx(40 / 80)


def _tar(members: dict) -> bytes:
    import io
    import tarfile

    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.USTAR_FORMAT) as tf:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tf.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def test_empty_layer_keeps_its_index_for_user_size(spark):
    """Layer 0 an empty tar (1024 zero bytes), layer 1 a.txt (100 B) + b.txt (50 B), layer 2 a.txt (100 B).

    dive: size 100 + 50 + 100 = 250, user = 250 - layer 0's 0 = 250; /a.txt is in two layers, its
    cumulative 200 is waste; wasted/user = 200/250 = 0.8; efficiency = (100 + 50) / (200 + 50) = 0.6.
    """
    import hashlib
    import io

    from analyze.image_fs_metrics import image_fs
    from analyze.images import image_sizes
    from common.table_read import frame
    from jobs.layer_scanner import scan_layer

    blobs = [bytes(1024), _tar({"a.txt": b"a" * 100, "b.txt": b"b" * 50}), _tar({"a.txt": b"x" * 100})]
    image = "sha256:" + "9" * 64
    layers, files, refs = [], [], []
    for index, blob in enumerate(blobs):
        digest = "sha256:" + hashlib.sha256(blob).hexdigest()
        result = scan_layer(io.BytesIO(blob), digest, media_type="application/vnd.oci.image.layer.v1.tar")
        assert result.ok
        layers.append(result.layer)
        files += result.files.to_pylist()
        refs.append({"image_digest": image, "layer_index": index, "layer_digest": digest, "compressed_bytes": len(blob)})
    assert (layers[0]["entry_count"], layers[0]["flags"]) == (0, [])
    tables = {"files": frame(spark, "files", files), "layers": frame(spark, "layers", layers),
              "image_layers": frame(spark, "image_layers", refs)}
    [row] = image_fs(tables["files"], tables["image_layers"], tables["layers"]).collect()
    assert (row.layers, row.image_bytes, row.user_bytes, row.wasted_bytes) == (3, 250, 250, 200)
    assert row.wasted_user_percent == pytest.approx(0.8)
    assert row.efficiency == pytest.approx(0.6)
    images = frame(spark, "images", [{"image_digest": image, "repository": "demo/empty-base"}])
    [size] = image_sizes(images, tables["image_layers"], tables["layers"]).collect()
    assert (size.layer_count, size.file_count) == (3, 3)


def test_image_with_an_unread_layer_has_no_filesystem_row(spark):
    from analyze.image_fs_metrics import image_fs
    from common.table_read import frame

    ok, bad, image = "sha256:" + "1" * 64, "sha256:" + "2" * 64, "sha256:" + "3" * 64
    files = frame(spark, "files", [{"layer_digest": ok, "entry_index": 0, "path": "/a", "type": "reg", "size_bytes": 1}])
    layers = frame(spark, "layers", [{"layer_digest": ok, "status": "ok"}, {"layer_digest": bad, "status": "error"}])
    refs = frame(spark, "image_layers", [{"image_digest": image, "layer_index": i, "layer_digest": d} for i, d in enumerate((ok, bad))])
    assert image_fs(files, refs, layers).count() == 0
