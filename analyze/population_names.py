"""The names and labels of the populations (see ``analyze.populations``), without pyspark.

Kept apart so the report, which only prints the labels, never imports pyspark.
"""
from __future__ import annotations

LAYER_BLOBS = "layer_blobs"
UNIQUE_DIFF_IDS = "unique_diff_ids"
IMAGE_REFS = "image_refs"
POPULATIONS = (LAYER_BLOBS, UNIQUE_DIFF_IDS, IMAGE_REFS)

LABELS = {
    LAYER_BLOBS: "unique layer blobs (each layer once, as the reference study)",
    UNIQUE_DIFF_IDS: "unique uncompressed layers (one blob per diff_id)",
    IMAGE_REFS: "every layer of every image (layer sharing folded in)",
}

# short names for table cells and figure ticks (the report lists the definitions above once)
SHORT = {
    LAYER_BLOBS: "unique layers",
    UNIQUE_DIFF_IDS: "unique uncompressed layers",
    IMAGE_REFS: "every layer of every image",
}
