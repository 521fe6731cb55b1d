"""A tiny blob store and matching tables for the content pass, built with ``hubscope.demo.oci_layout``.

    P1 (debian base): /etc/os-release (debian 12), /var/lib/dpkg/status (2 installed of 3 stanzas,
                      Installed-Size 10 + 20 KiB), /data/big (40,000 seeded random bytes)
    P2:               /app/copy (= big), /app/edited (big with one byte changed at 20,000)
    P3 (alpine base): /etc/os-release (alpine 3.19.0), /lib/apk/db/installed (2 packages, I: 100 + 200)
    X = [P1, P2] (5,000 pulls), Y = [P3] (50 pulls), Z = [P1] (no Hub metadata)
"""
from __future__ import annotations

import gzip
import hashlib
import random

from common.digest import Digest
from common.storage import LocalBlobStore, StoreConfig
from hubscope.demo.oci_layout import sha256_digest, tar_bytes

OS_DEBIAN = b'PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\nID=debian\nVERSION_ID="12"\n'
OS_ALPINE = b"NAME=\"Alpine Linux\"\nID=alpine\nVERSION_ID=3.19.0\n"
DPKG = (b"Package: libc6\nStatus: install ok installed\nInstalled-Size: 10\n\n"
        b"Package: bash\nStatus: install ok installed\nInstalled-Size: 20\nDescription: shell\n more text\n\n"
        b"Package: old\nStatus: deinstall ok config-files\nInstalled-Size: 99\n")
APK = b"C:Q1abc=\nP:musl\nV:1.2\nI:100\n\nC:Q1def=\nP:busybox\nV:1.36\nI:200\n"
BIG = random.Random(7).randbytes(40_000)
EDITED = BIG[:20_000] + bytes([BIG[20_000] ^ 0xFF]) + BIG[20_001:]

TREES = {
    "P1": {"etc/os-release": OS_DEBIAN, "var/lib/dpkg/status": DPKG, "data/big": BIG},
    "P2": {"app/copy": BIG, "app/edited": EDITED},
    "P3": {"etc/os-release": OS_ALPINE, "lib/apk/db/installed": APK},
}
IMAGES = {"X": ["P1", "P2"], "Y": ["P3"], "Z": ["P1"]}
PULLS = {"X": 5000, "Y": 50, "Z": None}  # Z was crawled without Hub metadata


def build(root: str) -> dict:
    """Write the blobs into a LocalBlobStore at ``root``; returns names, digests, raw tars and the table rows."""
    store = LocalBlobStore(StoreConfig(url=root))
    tars, digests, blobs = {}, {}, {}
    for name, tree in TREES.items():
        tars[name] = tar_bytes(tree)
        blobs[name] = gzip.compress(tars[name], compresslevel=6, mtime=0)
        digests[name] = sha256_digest(blobs[name])
        store.put_bytes(Digest.parse(digests[name]), blobs[name])
    files, layers = [], []
    for name, tree in TREES.items():
        for i, (path, data) in enumerate(sorted(tree.items())):
            files.append({"layer_digest": digests[name], "entry_index": i, "path": "/" + path, "type": "reg",
                          "size_bytes": len(data), "content_sha256": "sha256:" + hashlib.sha256(data).hexdigest()})
        layers.append({"layer_digest": digests[name], "diff_id": sha256_digest(tars[name]), "status": "ok",
                       "compressed_bytes": len(blobs[name]), "uncompressed_bytes": len(tars[name]),
                       "files_bytes": sum(map(len, tree.values())), "file_count": len(tree)})
    images, image_layers = [], []
    for img, names in IMAGES.items():
        image_digest = "sha256:" + hashlib.sha256(img.encode()).hexdigest()
        images.append({"image_digest": image_digest, "repository": f"demo/{img.lower()}", "tag": "latest",
                       "pull_count": PULLS[img], "star_count": None if PULLS[img] is None else PULLS[img] // 100})
        for i, n in enumerate(names):
            image_layers.append({"image_digest": image_digest, "layer_index": i, "layer_digest": digests[n],
                                 "compressed_bytes": len(blobs[n])})
    return {"digests": digests, "tars": tars, "blobs": blobs,
            "tables": {"images": images, "image_layers": image_layers, "layers": layers, "files": files},
            "image_digest": {img: "sha256:" + hashlib.sha256(img.encode()).hexdigest() for img in IMAGES}}
