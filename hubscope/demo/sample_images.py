"""Sample images built from real files: Debian packages regrouped into base / runtime / app layers.

The demo and the benchmarks need layers that look like a registry's: real ELF binaries, Python
sources, timezone data, documentation; base layers shared by several images; the same files
stored again in differently cut layers (a flattened image), an overwrite and a deletion. Random
bytes would make every compression and dedup number meaningless, so nothing here is synthetic.
"""
from __future__ import annotations

import glob
import io
import logging
import os
import subprocess
import tarfile
from dataclasses import dataclass
from typing import Iterable, Sequence

from hubscope.demo.oci_layout import OciLayout

log = logging.getLogger(__name__)

# Groups of Debian (bookworm) packages; names only, dependencies are not resolved (nothing is installed).
PACKAGE_GROUPS: dict[str, tuple[str, ...]] = {
    "base": ("base-files", "libc6", "libgcc-s1", "libstdc++6", "zlib1g", "libzstd1", "liblzma5", "libbz2-1.0",
             "bash", "coreutils", "libselinux1", "libpcre2-8-0", "tzdata"),
    "python": ("python3.11-minimal", "libpython3.11-minimal", "libpython3.11-stdlib", "libexpat1", "libssl3"),
    "pyapp": ("python3-six", "python3-idna", "python3-certifi", "python3-urllib3", "python3-requests", "python3-chardet"),
    "perl": ("perl-base", "perl-modules-5.36"),
    "tools": ("curl", "libcurl4", "jq", "libjq1", "libonig5", "libnghttp2-14"),
}


@dataclass(frozen=True)
class SampleImage:
    """One image of the sample set: its repository, tag, layer groups, and how skopeo should push it."""

    repository: str
    tag: str
    layers: tuple[str, ...]  # names of layer recipes, base first
    docker_format: bool = False  # push as Docker schema2 instead of OCI


SAMPLE_IMAGES: tuple[SampleImage, ...] = (
    SampleImage("demo/base", "latest", ("base",)),
    SampleImage("demo/python", "latest", ("base", "python"), docker_format=True),
    SampleImage("demo/python", "3.11", ("base", "python")),
    SampleImage("demo/pyapp", "latest", ("base", "python", "pyapp")),
    SampleImage("demo/perl", "latest", ("base", "perl"), docker_format=True),
    SampleImage("demo/tools", "latest", ("base", "tools")),
    SampleImage("demo/tools-flat", "latest", ("base+tools",)),  # same files, cut into one layer
    SampleImage("demo/pyapp-slim", "latest", ("base", "python", "pyapp", "slim")),  # overwrite + deletions
)


def download_packages(packages: Iterable[str], cache_dir: str) -> dict[str, str]:
    """Fetch .deb files with ``apt-get download`` into ``cache_dir`` (reused across runs). Returns name -> path."""
    os.makedirs(cache_dir, exist_ok=True)
    wanted = sorted(set(packages))
    missing = [p for p in wanted if not glob.glob(os.path.join(cache_dir, f"{p}_*.deb"))]
    if missing:
        log.info("apt-get download %d packages into %s", len(missing), cache_dir)
        result = subprocess.run(["apt-get", "download", *missing], cwd=cache_dir, capture_output=True, text=True)
        if result.returncode != 0:
            raise RuntimeError(
                "apt-get download failed (run `apt-get update` first?): " + result.stderr.strip()[-2000:]
            )
    paths = {}
    for name in wanted:
        found = sorted(glob.glob(os.path.join(cache_dir, f"{name}_*.deb")))
        if not found:
            raise RuntimeError(f"package {name} was not downloaded into {cache_dir}")
        paths[name] = found[-1]
    return paths


def deb_members(deb_path: str) -> Iterable[tuple[tarfile.TarInfo, bytes | None]]:
    """The data.tar members of a .deb, as (TarInfo, content) with names made relative (no leading ./)."""
    data = subprocess.run(["dpkg-deb", "--fsys-tarfile", deb_path], check=True, capture_output=True).stdout
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:") as tf:
        for info in tf:
            name = info.name[2:] if info.name.startswith("./") else info.name
            name = name.rstrip("/")
            if not name or name == ".":
                continue
            info.name = name
            content = tf.extractfile(info).read() if info.isreg() else None
            yield info, content


def layer_tar(debs: Sequence[str], extra: Iterable[tuple[tarfile.TarInfo, bytes | None]] = ()) -> bytes:
    """One uncompressed layer tar holding every member of ``debs`` (first occurrence of a path wins) plus ``extra``."""
    buf = io.BytesIO()
    seen: set[str] = set()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as out:
        for deb in debs:
            for info, content in deb_members(deb):
                if info.name in seen:
                    continue
                seen.add(info.name)
                out.addfile(info, io.BytesIO(content) if content is not None else None)
        for info, content in extra:
            out.addfile(info, io.BytesIO(content) if content is not None else None)
    return buf.getvalue()


def _file(name: str, content: bytes, mode: int = 0o644) -> tuple[tarfile.TarInfo, bytes]:
    info = tarfile.TarInfo(name)
    info.size, info.mode, info.mtime = len(content), mode, 1700000000
    return info, content


def _slim_layer_extra(python_deb: str) -> list[tuple[tarfile.TarInfo, bytes | None]]:
    """A "clean-up" layer as real Dockerfiles write them: a ``chmod`` that copies a whole binary up
    a layer, an overwritten config file, deleted files and directories (whiteouts), an opaque directory."""
    os_release = b'PRETTY_NAME="Debian GNU/Linux 12 (bookworm) slim"\nNAME="Debian GNU/Linux"\nVERSION_ID="12"\nID=debian\n'
    extra: list[tuple[tarfile.TarInfo, bytes | None]] = []
    for info, content in deb_members(python_deb):
        if info.name == "usr/bin/python3.11":
            info.mode = 0o700  # `RUN chmod 700 /usr/bin/python3.11`: same bytes stored again
            extra.append((info, content))
    return extra + [
        _file("usr/lib/os-release", os_release),
        _file("usr/lib/python3.11/pydoc_data/.wh.topics.py", b""),  # a deleted file still costs its bytes below
        _file("usr/share/.wh.zoneinfo", b""),  # deletes a whole directory of the base layer
        _file("usr/share/doc/.wh..wh..opq", b""),  # opaque: hide everything the lower layers put here
        _file("usr/share/doc/README.slim", b"Documentation removed to save space.\n"),
    ]


def build_layers(cache_dir: str) -> dict[str, bytes]:
    """Every layer recipe used by SAMPLE_IMAGES, as uncompressed tar bytes."""
    all_packages = [p for group in PACKAGE_GROUPS.values() for p in group]
    debs = download_packages(all_packages, cache_dir)
    group_debs = {name: [debs[p] for p in pkgs] for name, pkgs in PACKAGE_GROUPS.items()}
    layers = {name: layer_tar(paths) for name, paths in group_debs.items()}
    layers["base+tools"] = layer_tar(group_debs["base"] + group_debs["tools"])
    layers["slim"] = layer_tar([], extra=_slim_layer_extra(debs["python3.11-minimal"]))
    return layers


def write_sample_layout(layout_dir: str, cache_dir: str, images: Sequence[SampleImage] = SAMPLE_IMAGES) -> OciLayout:
    """An OCI layout with every sample image tagged ``<repository>:<tag>`` (``/`` replaced by ``_``)."""
    layers = build_layers(cache_dir)
    layout = OciLayout(layout_dir)
    for image in images:
        desc = layout.image([layers[name] for name in image.layers], created_by=[f"ADD {n} layer" for n in image.layers])
        layout.tag(desc, layout_ref(image))
    layout.save()
    return layout


def layout_ref(image: SampleImage) -> str:
    return f"{image.repository.replace('/', '_')}-{image.tag}"
