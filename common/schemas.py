"""The table contract: every Parquet table hubscope writes, defined once, versioned.

Changelog
- 1: images, image_layers, layers, files.
- 2: ``layers.flags``: what is odd but readable about an ``ok`` layer (``jobs.layer_scanner.LAYER_FLAGS``).
- 3: ``images.snapshot``: the crawl snapshot an image row belongs to; ``images`` has one row per
  (snapshot, registry, repository, tag, platform), so a tag's digest in every snapshot is kept.
- 4: ``images.pull_count_text`` (Docker Hub search gives pull counts as text such as "1M+"; pull_count
  is then its lower bound); last_updated also from search results' updated_at.

Digests are ``sha256:<hex>`` strings; sizes are ``*_bytes`` (int64); times are UTC timestamps in
microseconds. Readers check ``SCHEMA_VERSION`` in the Parquet key-value metadata.
"""
from __future__ import annotations

import pyarrow as pa

SCHEMA_VERSION = "4"
METADATA = {b"hubscope.schema_version": SCHEMA_VERSION.encode()}

TS = pa.timestamp("us", tz="UTC")
STRING_LIST = pa.list_(pa.field("element", pa.string()))  # Parquet's name for list items: reads back equal

# Entry types in the files table (tar member kinds, with overlayfs whiteouts told apart).
ENTRY_TYPES = ("reg", "dir", "symlink", "hardlink", "char", "block", "fifo", "whiteout", "opaque_whiteout", "other")

IMAGES = pa.schema(
    [
        pa.field("image_digest", pa.string(), nullable=False),  # manifest digest
        pa.field("registry", pa.string()),
        pa.field("repository", pa.string(), nullable=False),
        pa.field("tag", pa.string()),
        pa.field("platform", pa.string()),  # os/architecture[/variant]
        pa.field("os", pa.string()),
        pa.field("architecture", pa.string()),
        pa.field("manifest_media_type", pa.string()),
        pa.field("index_digest", pa.string()),
        pa.field("config_digest", pa.string()),
        pa.field("created", TS),
        pa.field("layer_count", pa.int32()),
        pa.field("empty_layer_count", pa.int32()),  # history entries without a blob
        pa.field("compressed_bytes", pa.int64()),  # sum of the manifest's layer sizes
        pa.field("source", pa.string()),
        pa.field("crawled_at", TS),
        pa.field("pull_count", pa.int64()),  # exact, or the lower bound of pull_count_text ("1M+" -> 1000000)
        pa.field("pull_count_text", pa.string()),  # as the listing gave it, when not a plain number
        pa.field("star_count", pa.int64()),
        pa.field("last_updated", pa.string()),
        pa.field("snapshot", pa.string()),  # crawl snapshot (common.records); every snapshot's rows are kept
    ],
    metadata=METADATA,
)

IMAGE_LAYERS = pa.schema(
    [
        pa.field("image_digest", pa.string(), nullable=False),
        pa.field("layer_index", pa.int32(), nullable=False),  # 0 = base layer
        pa.field("layer_digest", pa.string(), nullable=False),
        pa.field("diff_id", pa.string()),  # from the image config: digest of the uncompressed tar
        pa.field("media_type", pa.string()),
        pa.field("compressed_bytes", pa.int64()),
        pa.field("created_by", pa.string()),
        pa.field("foreign", pa.bool_()),
    ],
    metadata=METADATA,
)

LAYERS = pa.schema(
    [
        pa.field("layer_digest", pa.string(), nullable=False),
        pa.field("media_type", pa.string()),
        pa.field("compression", pa.string()),  # gzip | zstd | none | unknown, sniffed from the bytes
        pa.field("compressed_bytes", pa.int64()),
        pa.field("uncompressed_bytes", pa.int64()),  # length of the tar stream
        pa.field("diff_id", pa.string()),  # computed while streaming
        pa.field("files_bytes", pa.int64()),  # sum of regular file sizes
        pa.field("compression_ratio", pa.float64()),  # uncompressed / compressed
        pa.field("entry_count", pa.int64()),
        pa.field("file_count", pa.int64()),  # regular files
        pa.field("dir_count", pa.int64()),
        pa.field("symlink_count", pa.int64()),
        pa.field("hardlink_count", pa.int64()),
        pa.field("device_count", pa.int64()),  # char, block, fifo
        pa.field("whiteout_count", pa.int64()),  # including opaque whiteouts
        pa.field("opaque_whiteout_count", pa.int64()),
        pa.field("depth_max", pa.int32()),
        pa.field("depth_median", pa.float64()),
        pa.field("status", pa.string(), nullable=False),  # ok | error
        pa.field("flags", STRING_LIST),  # sorted; empty for a clean ok layer, null for an error
        pa.field("error_class", pa.string()),
        pa.field("error_message", pa.string()),
        pa.field("scanned_at", TS),
        pa.field("scanner_version", pa.string()),
    ],
    metadata=METADATA,
)

FILES = pa.schema(
    [
        pa.field("layer_digest", pa.string(), nullable=False),
        pa.field("entry_index", pa.int64(), nullable=False),  # position of the member in the tar
        pa.field("path", pa.string(), nullable=False),  # normalised, leading "/", readable form
        pa.field("path_raw", pa.binary()),  # original name bytes when not valid UTF-8, else null
        pa.field("path_hostile", pa.bool_()),  # "..", absolute or over-long name in the tar
        pa.field("type", pa.string(), nullable=False),  # one of ENTRY_TYPES
        pa.field("size_bytes", pa.int64()),
        pa.field("mode", pa.int32()),
        pa.field("uid", pa.int64()),
        pa.field("gid", pa.int64()),
        pa.field("mtime", pa.int64()),  # seconds since the epoch
        pa.field("link_target", pa.string()),
        pa.field("content_sha256", pa.string()),  # regular files and hardlinks to them
        pa.field("magic_description", pa.string()),
        pa.field("magic_mime", pa.string()),
        pa.field("type_class", pa.string()),  # the reference study's taxonomy
        pa.field("type_fine", pa.string()),  # a finer label within the class
        pa.field("depth", pa.int32()),  # number of path components
        pa.field("extension", pa.string()),
    ],
    metadata=METADATA,
)

TABLES: dict[str, pa.Schema] = {
    "images": IMAGES,
    "image_layers": IMAGE_LAYERS,
    "layers": LAYERS,
    "files": FILES,
}


def spark_ddl(name: str) -> str:
    """The table's schema as a Spark DDL string, for ``mapInArrow`` and typed reads."""
    return ", ".join(f"`{f.name}` {_SPARK_TYPES[f.type]}" for f in TABLES[name])


_SPARK_TYPES = {
    pa.string(): "string",
    pa.binary(): "binary",
    pa.bool_(): "boolean",
    pa.int32(): "int",
    pa.int64(): "bigint",
    pa.float64(): "double",
    TS: "timestamp",
    STRING_LIST: "array<string>",
}


def empty_table(name: str) -> pa.Table:
    """A zero-row table with the contract's schema."""
    return TABLES[name].empty_table()
