"""Two snapshots of a real registry (Debian's docker-registry, pushes with skopeo) and what changed between them.

Files are short fixed texts so every byte count of the churn test can be written down by hand:

======  =============================================  ==========================
layer   files (bytes)                                  images
======  =============================================  ==========================
B0      os-release 120, lib/libc.so 2000               base:1, app:*, (shared base)
A1      app/main.py v1 600, app/util.py 340            app:v1, app:stable (in A)
A2      app/main.py v2 600, app/util.py 340 (= A1's)   app:v2, app:stable (in B): rebuilt on B0
O1      old/data.txt 900                               old:latest (deleted before B)
W1      srv/index.html one 390, lib/libc.so 2000       web:v1 (in A)
W2      srv/index.html two 390, srv/style.css 280      web:v1 (in B): retagged
N1      new/readme 450, new/libc.so 2000 (= libc)      new:latest (pushed before B)
======  =============================================  ==========================
"""
from __future__ import annotations

import json
import os
import urllib.request
from dataclasses import dataclass, field

from hubscope.demo.oci_layout import OciLayout
from hubscope.demo.localregistry import skopeo_copy

LIBC = b"libc " * 400  # 2000
FILES = {
    "B0": {"etc/os-release": b"ID=snapdemo\n" * 10, "lib/libc.so": LIBC},
    "A1": {"app/main.py": b"print('v1')\n" * 50, "app/util.py": b"def util(): pass\n" * 20},
    "A2": {"app/main.py": b"print('v2')\n" * 50, "app/util.py": b"def util(): pass\n" * 20},
    "O1": {"old/data.txt": b"old data\n" * 100},
    "W1": {"srv/index.html": b"<h1>one</h1>\n" * 30, "lib/libc.so": LIBC},
    "W2": {"srv/index.html": b"<h1>two</h1>\n" * 30, "srv/style.css": b"body{}\n" * 40},
    "N1": {"new/readme": b"new repo\n" * 50, "new/libc.so": LIBC},
}
IMAGES = {  # image name -> its layers, base first
    "base": ["B0"], "app1": ["B0", "A1"], "app2": ["B0", "A2"], "old": ["O1"], "web1": ["W1"], "web2": ["W2"],
    "new": ["N1"],
}
BEFORE = {"snap/base:1": "base", "snap/app:v1": "app1", "snap/app:stable": "app1", "snap/old:latest": "old",
          "snap/web:v1": "web1"}
AFTER_PUSHES = {"snap/app:v2": "app2", "snap/app:stable": "app2", "snap/web:v1": "web2", "snap/new:latest": "new"}
DELETED = "snap/old:latest"


@dataclass
class Images:
    layout: OciLayout
    descriptors: dict[str, dict] = field(default_factory=dict)  # image name -> manifest descriptor
    layer_bytes: dict[str, int] = field(default_factory=dict)  # layer name -> compressed bytes
    layer_digests: dict[str, str] = field(default_factory=dict)


def build_images(directory: str) -> Images:
    """Every image of the table above in one OCI layout, each tagged with its image name."""
    images = Images(OciLayout(directory))
    for name, layers in IMAGES.items():
        desc = images.layout.image([FILES[layer] for layer in layers], created=f"2025-01-0{len(images.descriptors) + 1}T00:00:00Z")
        manifest = json.loads(open(os.path.join(directory, "blobs", "sha256", desc["digest"].split(":")[1])).read())
        for layer, entry in zip(layers, manifest["layers"]):
            images.layer_bytes[layer], images.layer_digests[layer] = entry["size"], entry["digest"]
        images.layout.tag(desc, name)
        images.descriptors[name] = desc
    images.layout.save()
    return images


def push(images: Images, host: str, pushes: dict[str, str]) -> None:
    for target, name in pushes.items():
        skopeo_copy(f"oci:{images.layout.root}:{name}", f"docker://{host}/{target}")


def delete(images: Images, url: str, target: str, name: str) -> None:
    """DELETE the manifest a tag points at (the registry drops the tag with it)."""
    repository = target.split(":")[0]
    request = urllib.request.Request(f"{url}/v2/{repository}/manifests/{images.descriptors[name]['digest']}", method="DELETE")
    with urllib.request.urlopen(request, timeout=10) as response:
        assert response.status == 202
