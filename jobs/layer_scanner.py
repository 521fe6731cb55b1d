"""Scan one layer blob into its ``files`` rows and its ``layers`` row: pure Python, no Spark, one pass.

The blob is read once: its sha256 (the layer digest), the decompressed tar's sha256 (the diff_id) and
every regular file's sha256 are computed in the same stream, nothing is written to disk, and memory is
bounded by the chunk size plus one row per entry. A layer is all or nothing: its file rows exist only
if the whole stream decoded, parsed, drained and verified; otherwise the result is a single ``layers``
row with ``status = "error"`` and an ``error_class`` from ``common.errors``.

Decisions recorded here because analyses depend on them:
- ``path`` is ``"/"`` + the name's components without ``""`` and ``"."``; ``".."`` is kept literally
  (never resolved) and marks the row ``path_hostile``, as do absolute names, names over 4096 bytes
  and components over 255 bytes. Non-UTF-8 names are shown with ``\\xNN`` escapes and their exact
  bytes kept in ``path_raw``.
- A symlink whose relative target climbs above the root is also ``path_hostile``, as is a hardlink
  whose target name is hostile; absolute symlink targets resolve inside the image root and are not.
- Sparse files have their logical size and the digest of their logical content (holes as zeros), so
  they dedup with the same file stored densely; once a layer's holes pass
  ``ScanOptions.sparse_hash_limit`` bytes the digest is null rather than hashing gigabytes of zeros.
- ``mode`` keeps the permission bits (``& 0o7777``): Go writers add file-type bits, others do not.
- Whiteouts are members whose base name starts with ``.wh.`` (``.wh..wh..opq`` = opaque); their
  ``path`` is the member's own path and they have no content digest. A whiteout that names nothing
  (``.wh.``, ``.wh..``, ``.wh...``) flags the layer ``whiteout_bad_name``; one carrying data bytes
  flags it ``whiteout_with_data``.
- A member named ``/`` or ``./`` (kaniko writes one) is the root directory, not a hostile path.
- Layer ``flags`` name what is odd but readable (see ``LAYER_FLAGS``); such a layer stays ``ok``.
- A hardlink takes the digest, size and typing of the member it names (an earlier regular file or
  hardlink in the same layer). A hardlink to a missing target is still data: ``content_sha256``
  null, ``size_bytes`` from its header (0), and the layer stays ``ok``.
- ``link_target`` is the normalised member path for hardlinks and the literal text for symlinks.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import logging
import statistics
from array import array
from dataclasses import dataclass
from typing import BinaryIO, Optional

import pyarrow as pa

from common import schemas
from jobs.decompress import HashingReader, sniff_compression, tar_chunks
from common.errors import LayerError
from jobs.filetype import HEAD_BYTES, FileTyper
from jobs.member_paths import extension_of, normalize_path, symlink_escapes
from jobs.tarstream import iter_entries

log = logging.getLogger(__name__)

SCANNER_VERSION = "2"  # 2: readable oddities are flags, not errors (issue 11)
INT64_MAX = (1 << 63) - 1

# Oddities of a readable layer, in the layers table's ``flags`` column.
LAYER_FLAGS = {
    "data_after_eoa": "bytes after the tar's end-of-archive marker (eStargz's TOC); not files",
    "missing_eoa": "the tar ends on a member boundary without the end-of-archive marker",
    "empty_blob": "a zero-byte blob labelled as a plain tar: an empty layer",
    "gzip_zero_padding": "zero bytes after the last gzip member",
    "whiteout_bad_name": "a whiteout whose name after .wh. is empty, . or ..",
    "whiteout_with_data": "a whiteout member with data bytes",
}
_BAD_WHITEOUTS = frozenset((".wh.", ".wh..", ".wh..."))

_ENTRY_TYPES = {
    b"0": "reg", b"\0": "reg", b"7": "reg", b"S": "reg",
    b"1": "hardlink", b"2": "symlink", b"3": "char", b"4": "block", b"5": "dir", b"6": "fifo", b"D": "dir",
}


@dataclass(frozen=True)
class ScanOptions:
    """Bounds and knobs of a scan; the defaults are what the Spark job uses."""

    max_uncompressed_bytes: Optional[int] = None  # None = no limit; a bomb then costs time, not memory
    sparse_hash_limit: int = 1 << 30  # hole bytes hashed per layer
    type_head_bytes: int = HEAD_BYTES  # leading content bytes libmagic sees (see README: typing head)


@dataclass
class LayerResult:
    """The outcome of scanning one layer: its ``layers`` row and, if ok, its ``files`` rows."""

    layer: dict
    files: Optional[pa.Table]

    @property
    def ok(self) -> bool:
        return self.layer["status"] == "ok"


def _int64(value: int) -> Optional[int]:
    return value if -INT64_MAX - 1 <= value <= INT64_MAX else None


def _now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


def error_row(
    layer_digest: str, error: LayerError, media_type: Optional[str] = None, compression: Optional[str] = None,
    compressed_bytes: Optional[int] = None,
) -> dict:
    """The single ``layers`` row of a layer that failed."""
    row = {field.name: None for field in schemas.LAYERS}
    row.update(
        layer_digest=layer_digest, media_type=media_type, compression=compression, compressed_bytes=compressed_bytes,
        status="error", error_class=error.error_class, error_message=error.message[:2000],
        scanned_at=_now(), scanner_version=SCANNER_VERSION,
    )
    return row


class _Rows:
    """File rows of one layer as tuples (one append per entry), plus the layer's counters.

    Every ``BATCH_ROWS`` rows the tuples become an Arrow record batch: a layer with millions of
    entries then costs ~150 bytes per row in Arrow buffers instead of ~19 Python objects per row.
    Rows whose content another worker was typing (``FileTyper.type_of(defer=True)``) get their
    typing just before that, when the other worker has long answered.
    """

    BATCH_ROWS = 1 << 16
    _NAMES = schemas.FILES.names[1:]  # every column but layer_digest, which is constant per layer

    def __init__(self, layer_digest: str, typer: Optional[FileTyper] = None) -> None:
        self.layer_digest = layer_digest
        self.typer = typer
        self.pending: list[tuple] = []
        self.deferred: list[tuple[int, str]] = []  # (index in pending, digest) awaiting typing
        self.heads: dict[str, bytes] = {}  # digest -> head of every deferred content of the layer
        self.batches: list[pa.RecordBatch] = []
        self.counts = dict.fromkeys(schemas.ENTRY_TYPES, 0)
        self.files_bytes = 0
        self.depths = array("i")

    def defer(self, digest: str, head: Optional[bytes]) -> None:
        """Type the row about to be appended later (``head`` is None for a hardlink to a deferred file)."""
        self.deferred.append((len(self.pending), digest))
        if head is not None:
            self.heads[digest] = head

    def _resolve(self) -> None:
        for index, digest in self.deferred:
            typing = self.typer.type_of(digest, self.heads[digest])
            row = self.pending[index]
            self.pending[index] = row[:_TYPING_AT] + typing + row[_TYPING_AT + len(typing):]
        self.deferred = []  # heads stay: a later hardlink may still point at one of these contents

    def flush(self) -> None:
        if not self.pending:
            return
        if self.deferred:
            self._resolve()
        columns = zip(*self.pending)
        arrays = [pa.array([self.layer_digest] * len(self.pending), pa.string())]
        arrays += [pa.array(values, schemas.FILES.field(name).type) for name, values in zip(self._NAMES, columns)]
        self.batches.append(pa.RecordBatch.from_arrays(arrays, schema=schemas.FILES))
        self.pending = []

    def table(self) -> pa.Table:
        self.flush()
        return pa.Table.from_batches(self.batches, schema=schemas.FILES)


_NOT_EXTENDED = frozenset(("dir", "whiteout", "opaque_whiteout"))
_TYPING_AT = schemas.FILES.names.index("magic_description") - 1  # in a row tuple (no layer_digest)
_DEFERRED = tuple([None] * 4)  # typing placeholder, built at run time: only its identity marks a deferred content


def _collect(entries, layer_digest: str, typer: Optional[FileTyper], flags: set) -> _Rows:
    rows = _Rows(layer_digest, typer)
    pending = rows.pending
    counts = rows.counts
    depths = rows.depths
    batch_rows = rows.BATCH_ROWS
    regular: dict[str, tuple] = {}  # normalised path -> (digest, size, typing) for hardlinks
    untyped = (None, None, None, None)
    for e in entries:
        np_ = normalize_path(e.name)
        kind = _ENTRY_TYPES.get(e.typeflag, "other")
        components = np_.components
        base = components[-1] if components else ""
        if kind != "dir" and base.startswith(".wh."):
            kind = "opaque_whiteout" if base == ".wh..wh..opq" else "whiteout"
            if base in _BAD_WHITEOUTS:
                flags.add("whiteout_bad_name")
            if e.size:
                flags.add("whiteout_with_data")
        hostile = np_.hostile
        digest = None
        size = e.size
        typing = untyped
        link = None
        if kind == "reg":
            if e.sha256 is not None:
                digest = "sha256:" + e.sha256
                if typer is not None and e.head is not None:
                    typing = typer.type_of(digest, e.head, defer=True) or _DEFERRED
                    if typing is _DEFERRED:
                        rows.defer(digest, e.head)
            regular[np_.path] = (digest, size, typing)
            rows.files_bytes += size
        elif kind == "hardlink":
            target = normalize_path(e.linkname)
            link = target.path
            hostile = hostile or target.hostile
            found = regular.get(link)
            if found is not None:
                digest, size, typing = found
                regular[np_.path] = found
                if typing is _DEFERRED:
                    rows.defer(digest, None)
        elif kind == "symlink":
            link = e.linkname.decode("utf-8", "backslashreplace")
            hostile = hostile or symlink_escapes(components, link)
        elif e.linkname:
            link = e.linkname.decode("utf-8", "backslashreplace")
        counts[kind] += 1
        depth = len(components)
        depths.append(depth)
        pending.append((
            e.index, np_.path, np_.raw, hostile, kind, _int64(size), e.mode & 0o7777, _int64(e.uid), _int64(e.gid),
            _int64(e.mtime), link, digest, *typing, depth, None if kind in _NOT_EXTENDED else extension_of(base),
        ))
        if len(pending) >= batch_rows:
            rows.flush()
            pending = rows.pending
    return rows


def _counted(chunks, tar_hash, sizes: list, limit: Optional[int]):
    """Pass chunks through while hashing them (the diff_id) and enforcing the size bound."""
    total = 0
    for chunk in chunks:
        tar_hash.update(chunk)
        total += len(chunk)
        if limit is not None and total > limit:
            raise LayerError("limit_exceeded", f"more than {limit} uncompressed bytes")
        sizes[0] = total
        yield chunk


def scan_layer(
    stream: BinaryIO,
    layer_digest: str,
    *,
    media_type: Optional[str] = None,
    diff_id: Optional[str] = None,
    typer: Optional[FileTyper] = None,
    options: ScanOptions = ScanOptions(),
) -> LayerResult:
    """Scan the blob in ``stream`` (read to its end, not closed) that should hash to ``layer_digest``."""
    reader = HashingReader(stream)
    compression = None
    try:
        compression = sniff_compression(reader.peek(512))
        flags: set = set()
        if compression == "unknown" and reader.bytes_read == 0:
            if not _plain_tar(media_type):  # labelled compressed: a compressed stream has at least a header
                raise LayerError("empty_blob", "the blob has no bytes")
            compression = "none"
            flags.add("empty_blob")  # Go's archive/tar reads zero bytes as an empty archive
        tar_hash = hashlib.sha256()
        tar_size = [0]
        chunks = _counted(tar_chunks(reader, compression, flags), tar_hash, tar_size, options.max_uncompressed_bytes)
        entries = iter_entries(
            chunks, head_bytes=typer.head_bytes if typer else 0, sparse_hash_limit=options.sparse_hash_limit, flags=flags
        )
        rows = _collect(entries, layer_digest, typer, flags)
        reader.drain()
        _verify(reader, layer_digest, tar_hash, diff_id)
    except LayerError as exc:
        error = exc
        if exc.error_class not in ("digest_mismatch", "diff_id_mismatch", "read_error"):
            try:
                reader.drain()
                if "sha256:" + reader.hexdigest() != layer_digest:
                    # A wrong blob explains any format error: report the root cause.
                    error = LayerError("digest_mismatch", f"blob is sha256:{reader.hexdigest()}; {exc.error_class}: {exc.message}")
            except LayerError:
                pass
        return LayerResult(error_row(layer_digest, error, media_type, compression, reader.bytes_read), None)
    except Exception as exc:  # a bug must not take the batch down; the layer says what happened
        log.exception("scanner bug on %s", layer_digest)
        error = LayerError("internal_error", f"{type(exc).__name__}: {exc}")
        return LayerResult(error_row(layer_digest, error, media_type, compression, reader.bytes_read), None)
    row = _layer_row(layer_digest, media_type, compression, reader.bytes_read, tar_size[0], tar_hash, rows)
    row["flags"] = sorted(flags)
    return LayerResult(row, rows.table())


def _plain_tar(media_type: Optional[str]) -> bool:
    """True for the plain-tar layer media types (OCI ``...layer.v1.tar``, Docker's ``...image.rootfs.diff.tar``)."""
    return bool(media_type) and media_type.endswith(".tar")


def _verify(reader: HashingReader, layer_digest: str, tar_hash, diff_id: Optional[str]) -> None:
    actual = "sha256:" + reader.hexdigest()
    if actual != layer_digest:
        raise LayerError("digest_mismatch", f"blob is {actual}")
    if diff_id and diff_id != "sha256:" + tar_hash.hexdigest():
        raise LayerError("diff_id_mismatch", f"uncompressed tar is sha256:{tar_hash.hexdigest()}, config says {diff_id}")


def _layer_row(layer_digest, media_type, compression, compressed, uncompressed, tar_hash, rows: _Rows) -> dict:
    counts = rows.counts
    depths = rows.depths
    return {
        "layer_digest": layer_digest,
        "media_type": media_type,
        "compression": compression,
        "compressed_bytes": compressed,
        "uncompressed_bytes": uncompressed,
        "diff_id": "sha256:" + tar_hash.hexdigest(),
        "files_bytes": rows.files_bytes,
        "compression_ratio": uncompressed / compressed if compressed else None,
        "entry_count": len(depths),
        "file_count": counts["reg"],
        "dir_count": counts["dir"],
        "symlink_count": counts["symlink"],
        "hardlink_count": counts["hardlink"],
        "device_count": counts["char"] + counts["block"] + counts["fifo"],
        "whiteout_count": counts["whiteout"] + counts["opaque_whiteout"],
        "opaque_whiteout_count": counts["opaque_whiteout"],
        "depth_max": max(depths) if depths else None,
        "depth_median": float(statistics.median(depths)) if depths else None,
        "status": "ok",
        "error_class": None,
        "error_message": None,
        "scanned_at": _now(),
        "scanner_version": SCANNER_VERSION,
    }


def layers_table(rows: list[dict]) -> pa.Table:
    """``layers`` rows as a table with the contract's schema."""
    return pa.Table.from_pylist(rows, schema=schemas.LAYERS)
