"""A hand-built corpus whose statistics are worked out by hand in the tests.

Three layers, two images (digests chosen so that sorting by digest is L1 < L2 < L3):

    L1 (base, used by I1 and I2): /bin/ dir, /bin/sh A (100), /etc/ dir, /etc/passwd B (5), /etc/hosts B (5)
    L2 (I1 only):                 /app/ dir, /app/main.py C (20), /etc/passwd B (5)
    L3 (I2 only):                 /app/ dir, /app/main.py D (30), /bin/.wh.sh (deletes /bin/sh), /lib/ dir, /lib/x.so A (100)

    I1 = [L1, L2], 1000 pulls, 5 stars;  I2 = [L1, L3], 10 pulls, 1 star.
Classes: A executables, B documents, C and D scripts.
"""
from __future__ import annotations


A, B, C, D = ("sha256:" + c * 64 for c in "abcd")
L1, L2, L3 = ("sha256:" + c * 64 for c in "123")
I1, I2 = "sha256:" + "e" * 64, "sha256:" + "f" * 64
CLASS = {A: ("executables", "elf-shared"), B: ("documents", "text"), C: ("scripts", "python"), D: ("scripts", "python")}


def _file(layer, index, path, type_="reg", size=0, digest=None):
    row = {"layer_digest": layer, "entry_index": index, "path": path, "type": type_, "size_bytes": size,
           "content_sha256": digest, "depth": path.count("/")}
    if digest:
        row["type_class"], row["type_fine"] = CLASS[digest]
    return row


def corpus_rows() -> dict[str, list[dict]]:
    files = [
        _file(L1, 0, "/bin", "dir"), _file(L1, 1, "/bin/sh", size=100, digest=A), _file(L1, 2, "/etc", "dir"),
        _file(L1, 3, "/etc/passwd", size=5, digest=B), _file(L1, 4, "/etc/hosts", size=5, digest=B),
        _file(L2, 0, "/app", "dir"), _file(L2, 1, "/app/main.py", size=20, digest=C), _file(L2, 2, "/etc/passwd", size=5, digest=B),
        _file(L3, 0, "/app", "dir"), _file(L3, 1, "/app/main.py", size=30, digest=D), _file(L3, 2, "/bin/.wh.sh", "whiteout"),
        _file(L3, 3, "/lib", "dir"), _file(L3, 4, "/lib/x.so", size=100, digest=A),
    ]
    layer = lambda d, comp, unc, fb, fc, dc, depth: {  # noqa: E731
        "layer_digest": d, "diff_id": d.replace("sha256:", "sha256:0"), "compression": "gzip", "compressed_bytes": comp,
        "uncompressed_bytes": unc, "files_bytes": fb, "compression_ratio": unc / comp, "file_count": fc, "dir_count": dc,
        "depth_max": depth, "status": "ok",
    }
    layers = [layer(L1, 50, 2048, 110, 3, 2, 2), layer(L2, 10, 1024, 25, 2, 1, 2), layer(L3, 40, 3072, 130, 2, 2, 2)]
    images = [
        {"image_digest": I1, "repository": "demo/one", "tag": "latest", "layer_count": 2, "compressed_bytes": 60,
         "pull_count": 1000, "star_count": 5},
        {"image_digest": I2, "repository": "demo/two", "tag": "latest", "layer_count": 2, "compressed_bytes": 90,
         "pull_count": 10, "star_count": 1},
    ]
    comp = {L1: 50, L2: 10, L3: 40}
    image_layers = [
        {"image_digest": img, "layer_index": i, "layer_digest": d, "compressed_bytes": comp[d]}
        for img, ds in ((I1, (L1, L2)), (I2, (L1, L3)))
        for i, d in enumerate(ds)
    ]
    return {"images": images, "image_layers": image_layers, "layers": layers, "files": files}
