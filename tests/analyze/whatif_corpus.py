"""A hand-built corpus for the registry what-if, whose every mode is worked out by hand in test_whatif.

Contents A (4000 bytes), B (2000), C (1000), D (1000). Layers (compressed / tar / regular-file bytes,
so the header skeleton is tar - files = 100 each):

    L1: /a/ dir, /a/x A, /a/y B, /a/z hardlink to /a/x   3000 / 6100 / 6000
    L2: /a/x A, /c C                                     2500 / 5100 / 5000
    L3: /b B, /d D                                       1500 / 3100 / 3000
    L4: failed scan (status error), no file rows

    I1 = [L1, L2] 90 pulls;  I2 = [L1, L3] 10 pulls;  I3 = [L4] 5 pulls.
"""
from __future__ import annotations

A, B, C, D = ("sha256:" + c * 64 for c in "abcd")
L1, L2, L3, L4 = ("sha256:" + c * 64 for c in "1234")
I1, I2, I3 = ("sha256:" + c * 64 for c in "789")
SIZE = {A: 4000, B: 2000, C: 1000, D: 1000}


def _reg(layer, index, path, digest):
    return {"layer_digest": layer, "entry_index": index, "path": path, "type": "reg", "size_bytes": SIZE[digest],
            "content_sha256": digest}


def whatif_rows() -> dict[str, list[dict]]:
    files = [
        {"layer_digest": L1, "entry_index": 0, "path": "/a", "type": "dir", "size_bytes": 0},
        _reg(L1, 1, "/a/x", A), _reg(L1, 2, "/a/y", B),
        {"layer_digest": L1, "entry_index": 3, "path": "/a/z", "type": "hardlink", "size_bytes": 0,
         "content_sha256": A, "link_target": "/a/x"},
        _reg(L2, 0, "/a/x", A), _reg(L2, 1, "/c", C),
        _reg(L3, 0, "/b", B), _reg(L3, 1, "/d", D),
    ]

    def layer(d, comp, tar, files_bytes, status="ok"):
        return {"layer_digest": d, "compressed_bytes": comp, "uncompressed_bytes": tar, "files_bytes": files_bytes,
                "status": status, "compression": "gzip"}

    layers = [layer(L1, 3000, 6100, 6000), layer(L2, 2500, 5100, 5000), layer(L3, 1500, 3100, 3000),
              {"layer_digest": L4, "status": "error", "error_class": "truncated"}]
    images = [{"image_digest": I1, "repository": "w/one", "pull_count": 90},
              {"image_digest": I2, "repository": "w/two", "pull_count": 10},
              {"image_digest": I3, "repository": "w/broken", "pull_count": 5}]
    image_layers = [{"image_digest": img, "layer_index": i, "layer_digest": d}
                    for img, ds in ((I1, (L1, L2)), (I2, (L1, L3)), (I3, (L4,))) for i, d in enumerate(ds)]
    return {"images": images, "image_layers": image_layers, "layers": layers, "files": files}
