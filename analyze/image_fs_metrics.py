"""Per-image filesystem metrics at corpus scale: dive's waste and the final filesystem's duplicates.

Both metrics need one image's entries in layer and tar order, so the rows of each image are grouped
(``groupBy(image).applyInPandas``) and handed to the pure functions in ``analyze.waste`` and
``analyze.finalfs``; Spark distributes the images, the definitions stay in one testable place.

An image's layers come from ``image_layers``, never from the file rows: a layer without entries (an
empty tar) is still a layer, so layer 0 stays layer 0 for dive's user size and the layer count
holds every layer. An image with a layer the scan did not read ``ok`` gets no row: its filesystem
is not known.
"""
from __future__ import annotations

import json
import logging

import pandas as pd
from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from analyze.entries import Entry
from analyze.finalfs import final_fs
from analyze.populations import ok_layers
from analyze.waste import dive_waste

log = logging.getLogger(__name__)

TOP_PATHS = 10
IMAGE_FS_SCHEMA = (
    "image_digest string, layers int, image_bytes long, user_bytes long, wasted_bytes long, "
    "wasted_user_percent double, efficiency double, inefficient_paths long, top_paths string, "
    "final_files long, final_bytes long, final_unique_files long, final_unique_bytes long, "
    "duplicate_files long, duplicate_bytes long, python_packages long, python_bytes long, "
    "node_packages long, node_bytes long, dpkg_packages long, has_os_release boolean"
)


def _layers_of(group: pd.DataFrame) -> list[list[Entry]]:
    """Every layer of the image in order; a layer without entries has one row with a null path."""
    group = group.sort_values(["layer_index", "entry_index"])
    layers: list[list[Entry]] = []
    for _, rows in group.groupby("layer_index", sort=True):
        layers.append(
            [
                Entry(p, t, int(s) if pd.notna(s) else 0, c if isinstance(c, str) else None)
                for p, t, s, c in zip(rows["path"], rows["type"], rows["size_bytes"], rows["content_sha256"])
                if isinstance(p, str)
            ]
        )
    return layers


def image_fs_row(group: pd.DataFrame) -> pd.DataFrame:
    """One image's rows -> its one-row metrics frame (the ``applyInPandas`` function)."""
    digest = group["image_digest"].iloc[0]
    layers = _layers_of(group)
    dive = dive_waste(layers)
    fs = final_fs(layers)
    top = [{"path": w.path, "count": w.count, "bytes": w.cumulative_bytes} for w in dive.inefficient[:TOP_PATHS]]
    row = {
        "image_digest": digest,
        "layers": len(layers),
        "image_bytes": dive.image_bytes,
        "user_bytes": dive.user_bytes,
        "wasted_bytes": dive.wasted_bytes,
        "wasted_user_percent": dive.wasted_user_percent,
        "efficiency": dive.efficiency,
        "inefficient_paths": len(dive.inefficient),
        "top_paths": json.dumps(top),
        "final_files": fs.files,
        "final_bytes": fs.bytes,
        "final_unique_files": fs.unique_files,
        "final_unique_bytes": fs.unique_bytes,
        "duplicate_files": fs.duplicate_files,
        "duplicate_bytes": fs.duplicate_bytes,
        "python_packages": fs.python_packages,
        "python_bytes": fs.python_bytes,
        "node_packages": fs.node_packages,
        "node_bytes": fs.node_bytes,
        "dpkg_packages": fs.dpkg_packages,
        "has_os_release": fs.has_os_release,
    }
    return pd.DataFrame([row])


def image_fs(files: DataFrame, image_layers: DataFrame, layers: DataFrame) -> DataFrame:
    """One row per image whose every layer scanned ``ok``: dive waste, final-filesystem duplicates,
    path-visible package counts."""
    refs = image_layers.select("image_digest", "layer_index", "layer_digest")
    unread = refs.join(ok_layers(layers).select("layer_digest"), "layer_digest", "left_anti").select("image_digest")
    refs = refs.join(unread.distinct(), "image_digest", "left_anti")
    entries = refs.join(
        files.select("layer_digest", "entry_index", "path", "type", "size_bytes", "content_sha256"), "layer_digest", "left"
    )
    return entries.groupBy("image_digest").applyInPandas(image_fs_row, IMAGE_FS_SCHEMA)


def inefficient_paths(image_fs_df: DataFrame) -> DataFrame:
    """``image_digest, path, count, bytes``: each image's top inefficient paths (dive's list)."""
    parsed = image_fs_df.select(
        "image_digest", F.explode(F.from_json("top_paths", "array<struct<path:string,count:long,bytes:long>>")).alias("w")
    )
    return parsed.select("image_digest", "w.path", "w.count", "w.bytes")
