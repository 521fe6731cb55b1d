"""The final filesystem (OCI overlay semantics), its content duplicates and path-visible packages."""
from __future__ import annotations

from analyze.entries import Entry
from analyze.finalfs import final_fs, final_tree


def f(path, digest, size):
    return Entry(path, "reg", size, digest)


def test_whiteout_and_opaque_apply_to_lower_layers_only():
    base = [Entry("/o", "dir"), f("/o/old", "x", 4), f("/gone", "y", 3), Entry("/d", "dir"), f("/d/in", "z", 2)]
    upper = [Entry("/o/.wh..wh..opq", "opaque_whiteout"), f("/o/new", "x", 4), Entry("/.wh.gone", "whiteout"),
             Entry("/.wh.d", "whiteout")]
    assert sorted(final_tree([base, upper])) == ["/o", "/o/new"]


def test_duplicates_by_content_after_whiteouts():
    # Final: /a (X, 10), /b (X, 10), /c (Y, 7); /d (X) was deleted -> 3 files, 27 bytes, 2 unique (17 bytes).
    layers = [[f("/a", "X", 10), f("/d", "X", 10), f("/c", "Y", 7)], [f("/b", "X", 10), Entry("/.wh.d", "whiteout")]]
    fs = final_fs(layers)
    assert (fs.files, fs.bytes, fs.unique_files, fs.unique_bytes) == (3, 27, 2, 17)
    assert (fs.duplicate_files, fs.duplicate_bytes) == (1, 10)


def test_package_ecosystems_from_paths():
    sp = "/usr/lib/python3/dist-packages"
    layers = [[
        f(f"{sp}/requests-2.31.dist-info/METADATA", "m1", 100), f(f"{sp}/requests/api.py", "p1", 900),
        f(f"{sp}/six-1.16.egg-info/PKG-INFO", "m2", 50),
        f("/app/node_modules/left-pad/package.json", "n1", 30), f("/app/node_modules/left-pad/index.js", "n2", 70),
        f("/app/node_modules/@types/node/package.json", "n3", 40),
        f("/app/node_modules/left-pad/lib/package.json", "n4", 10),  # not a package root
        f("/var/lib/dpkg/info/libc6:amd64.list", "l1", 1), f("/var/lib/dpkg/info/bash.list", "l2", 1),
        f("/var/lib/dpkg/info/bash.md5sums", "l3", 1), f("/usr/lib/os-release", "o", 5),
    ]]
    fs = final_fs(layers)
    assert (fs.python_packages, fs.python_bytes) == (2, 1050)
    assert (fs.node_packages, fs.node_bytes) == (2, 150)
    assert fs.dpkg_packages == 2
    assert fs.has_os_release


def test_corpus_final_filesystems(spark, corpus):
    from analyze.image_fs_metrics import image_fs
    from analyze_corpus import I1, I2

    rows = {r.image_digest: r for r in image_fs(corpus["files"], corpus["image_layers"], corpus["layers"]).collect()}
    # I1: /bin/sh A100, /etc/passwd B5, /etc/hosts B5, /app/main.py C20 -> one duplicate of B (5 bytes).
    assert (rows[I1].final_files, rows[I1].final_bytes, rows[I1].duplicate_files, rows[I1].duplicate_bytes) == (4, 130, 1, 5)
    # I2: /bin/sh deleted; /lib/x.so A100, B5, B5, D30 -> 4 files, 140 bytes, one duplicate (5 bytes).
    assert (rows[I2].final_files, rows[I2].final_bytes, rows[I2].duplicate_files, rows[I2].duplicate_bytes) == (4, 140, 1, 5)


def test_ecosystems_add_up_per_image(spark):
    from analyze.content import ecosystems

    packages = spark.createDataFrame(
        [("i1", 100, 5000, None, None), ("i2", None, None, 14, 700), ("i3", None, None, None, None)],
        "image_digest string, dpkg_packages long, dpkg_bytes long, apk_packages long, apk_bytes long",
    )
    fs = spark.createDataFrame(
        [("i1", 3, 30, 0, 0), ("i2", 0, 0, 0, 0), ("i3", 2, 20, 5, 500)],
        "image_digest string, python_packages long, python_bytes long, node_packages long, node_bytes long",
    )
    got = {r.ecosystem: (r.images_with, r.packages, r.bytes) for r in ecosystems(packages, fs).collect()}
    assert got == {"dpkg": (1, 100, 5000), "apk": (1, 14, 700), "python": (2, 5, 50), "npm": (1, 5, 500)}
