"""The content-needing analyses: a sampled second pass over layer blobs in the store.

Chunk-level dedup (FastCDC), the zstd recompression what-if, and the OS / package databases of each
image need file *contents*, which the ``files`` table does not keep. We run them as a separate,
sampled pass rather than inside the scan because (1) the scan is the throughput-critical job
(issue 6) and CDC hashing plus zstd at several levels would cost it several times its time on every
layer, while a seeded sample of a few hundred layers gives these ratios to within a percent or two;
(2) the pass can be rerun with other chunk sizes or levels without rescanning; (3) it reads only
what it needs: every layer is decompressed once, package databases are read only from the layers
the ``files`` table says hold them (usually the few base layers).

Sample: ``n`` layers with status ok, chosen by ``sha256("<seed>:<layer digest>")`` order, so the
same seed gives the same sample whatever the partitioning. CDC runs per regular file (chunks never
span two files), so chunk-, file- and layer-level dedup are measured over the same bytes: the
regular-file content of the sampled layers.
"""
from __future__ import annotations

import hashlib
import json
import logging
import posixpath
import tarfile
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, BinaryIO, Callable, Iterator, Optional

from analyze.package_dbs import PACKAGE_DB_PATHS, PARSERS
from common.errors import LayerError
from jobs.decompress import HashingReader, sniff_compression, tar_chunks

if TYPE_CHECKING:  # pyspark is imported only where the pass runs on Spark
    from pyspark.sql import DataFrame, SparkSession

log = logging.getLogger(__name__)

ROWS_SCHEMA = "kind string, layer_digest string, key string, length long, count long, value string"
READ_CHUNK = 1 << 20


@dataclass(frozen=True)
class ContentOptions:
    """What the pass computes: CDC average chunk size and the zstd levels tried."""

    chunk_avg_bytes: int = 8192
    zstd_levels: tuple[int, ...] = (3, 9)


@dataclass
class LayerContent:
    """What one layer's contents yielded."""

    sampled: bool = False
    stored_bytes: int = 0
    compression: str = "unknown"
    tar_bytes: int = 0
    file_bytes: int = 0
    zstd_bytes: dict[int, int] = field(default_factory=dict)
    chunks: dict[str, list[int]] = field(default_factory=dict)  # chunk digest -> [length, occurrences]
    packages: dict[str, dict] = field(default_factory=dict)  # os-release | dpkg | apk -> parsed


# -- reading a layer ---------------------------------------------------------------------------


class _Tee:
    """The decompressed tar stream as a file for ``tarfile``, counted and fed to zstd compressors as it is read."""

    def __init__(self, chunks: Iterator[bytes], levels: tuple[int, ...]) -> None:
        import zstandard

        self.chunks, self.bytes = chunks, 0
        self.buffer, self.offset = b"", 0
        self.compressors = {lvl: zstandard.ZstdCompressor(level=lvl).compressobj() for lvl in levels}
        self.sizes = {lvl: 0 for lvl in levels}

    def read(self, n: int = -1) -> bytes:
        want = n if n and n > 0 else READ_CHUNK
        if self.offset >= len(self.buffer):
            self.buffer, self.offset = next(self.chunks, b""), 0
        data = self.buffer[self.offset:self.offset + want]
        self.offset += len(data)
        self.bytes += len(data)
        for lvl, c in self.compressors.items():
            self.sizes[lvl] += len(c.compress(data))
        return data

    def finish(self) -> dict[int, int]:
        while self.read(READ_CHUNK):
            pass
        for lvl, c in self.compressors.items():
            self.sizes[lvl] += len(c.flush())
        return dict(self.sizes)


def analyze_layer(raw: BinaryIO, sampled: bool, want_packages: bool, options: ContentOptions) -> LayerContent:
    """One layer blob -> chunks and recompressed sizes (if ``sampled``) and parsed package databases."""
    from pyfastcdc import FastCDC

    # The scan's own strict decompression (gzip members, zstd frames, plain tar; errors as LayerError).
    reader = HashingReader(raw)
    result = LayerContent(sampled=sampled)
    result.compression = sniff_compression(reader.peek(512))
    tee = _Tee(tar_chunks(reader, result.compression), options.zstd_levels if sampled else ())
    cdc = FastCDC(options.chunk_avg_bytes)
    with tarfile.open(fileobj=tee, mode="r|") as tf:
        for member in tf:
            if not member.isreg():
                continue
            path = posixpath.normpath("/" + member.name.lstrip("/"))
            kind = PACKAGE_DB_PATHS.get(path) if want_packages else None
            data = None
            if kind:
                data = tf.extractfile(member).read()
                if kind not in result.packages or path == "/etc/os-release":
                    result.packages[kind] = PARSERS[kind](data.decode("utf-8", "replace"))
            if sampled:
                result.file_bytes += member.size
                chunks = cdc.cut_buf(data) if data is not None else cdc.cut_stream(tf.extractfile(member))
                for chunk in chunks:
                    key = hashlib.blake2b(chunk.data, digest_size=16).hexdigest()
                    slot = result.chunks.setdefault(key, [chunk.length, 0])
                    slot[1] += 1
    sizes = tee.finish()
    reader.drain()
    result.tar_bytes, result.zstd_bytes, result.stored_bytes = tee.bytes, sizes, reader.bytes_read
    return result


def layer_rows(digest: str, content: LayerContent) -> Iterator[tuple]:
    """A layer's results as rows of ``ROWS_SCHEMA`` (kind, layer_digest, key, length, count, value)."""
    yield ("size", digest, "stored", content.stored_bytes, 1, content.compression)
    if content.sampled:
        yield ("size", digest, "tar", content.tar_bytes, 1, content.compression)
        yield ("size", digest, "files", content.file_bytes, 1, content.compression)
        for level, size in sorted(content.zstd_bytes.items()):
            yield ("size", digest, f"zstd-{level}", size, 1, content.compression)
    for key, (length, count) in content.chunks.items():
        yield ("chunk", digest, key, length, count, None)
    for kind, parsed in content.packages.items():
        yield ("package", digest, kind, None, None, json.dumps(parsed, sort_keys=True))


def scan_layers(store_url: str, options: ContentOptions) -> Callable[[Iterator], Iterator]:
    """The ``mapInArrow`` function: batches of ``layer_digest, sampled, packages`` -> result rows.

    A layer that cannot be read yields one ``error`` row and the batch goes on.
    """

    def run(batches):
        import pyarrow as pa

        from common.digest import Digest
        from common.stores import open_store

        store = open_store(store_url)
        names = [f.split()[0] for f in ROWS_SCHEMA.split(", ")]
        for batch in batches:
            cols = batch.to_pydict()
            rows: list[tuple] = []
            for digest, sampled, packages in zip(cols["layer_digest"], cols["sampled"], cols["packages"]):
                try:
                    d = Digest.parse(digest)
                    with store.open_read(d) as raw:
                        content = analyze_layer(raw, bool(sampled), bool(packages), options)
                    rows.extend(layer_rows(digest, content))
                except Exception as exc:  # one bad blob must not stop the pass
                    log.warning("content pass: %s failed: %s", digest, exc)
                    error_class = exc.error_class if isinstance(exc, LayerError) else type(exc).__name__
                    rows.append(("error", digest, error_class, None, None, str(exc)[:500]))
            if rows:
                yield pa.RecordBatch.from_pydict({n: [r[i] for r in rows] for i, n in enumerate(names)})

    return run


def content_pass(
    spark: "SparkSession", tables: dict, store_url: str, sample_layers: int, seed: int, options: Optional[ContentOptions] = None
) -> "DataFrame":
    """Run the pass; returns the raw result rows (``ROWS_SCHEMA``) as a cached DataFrame."""
    from analyze.content import select_layers

    options = options or ContentOptions()
    todo = select_layers(tables["layers"], tables["files"], sample_layers, seed).cache()
    count = todo.count()
    log.info("content pass over %d layers (sample %d, seed %d) from %s", count, sample_layers, seed, store_url)
    partitions = max(1, min(count, spark.sparkContext.defaultParallelism * 4))
    rows = todo.repartition(partitions, "layer_digest").mapInArrow(scan_layers(store_url, options), ROWS_SCHEMA)
    return rows.cache()
