"""Restore-cost calibration: what rebuilding a layer from a file-deduplicated store costs on this machine.

A deduplicating registry (DupHunter) keeps each unique file once and rebuilds a layer when a client
GETs it. Here real layers are split into a content-addressed file store on disk
(``files/<hex[:2]>/<hex>``, each content written once) and a per-layer *header skeleton*
(``layers/<hex>.skel``: every tar byte that is not regular-file content, i.e. headers, PAX records,
padding, end blocks; ``<hex>.idx``: for each regular file, the skeleton bytes before it and its
content digest). A restore reads both back in the original order, writing the tar, and gzips it
as a registry would serve it (zlib level 6, as ``gzip.compress(data, 6, mtime=0)`` writes it). The
rates (MB of uncompressed tar per CPU second of this one process) feed the what-if's GET cost.

Checks, outside the timed part: the rebuilt tar's sha256 equals the layer's ``diff_id`` (it is
byte-identical), its entries come in the original order with identical bytes, the rebuilt gzip's
digest equals the blob's when the blob came from the same compressor, and a second rebuild from
the ``files`` table alone (no skeleton) gives the same entries but, since the table does not keep
user/group names, PAX records or the header format, not the same sha256 (``diff_id_from_table``).
"""
from __future__ import annotations

import hashlib
import io
import json
import logging
import os
import tarfile
import time
import zlib
from dataclasses import dataclass
from typing import Callable, Iterable, Optional

import pandas as pd

from jobs.decompress import HashingReader, sniff_compression, tar_chunks

log = logging.getLogger(__name__)
MB = 1_000_000
GZIP_LEVEL = 6
_READ = 1 << 20


class GzipSink:
    """Streams tar bytes into one gzip member, as ``gzip.compress(data, 6, mtime=0)`` writes it (zlib's
    header, mtime 0, OS unix); keeps only the compressed length and its sha256."""

    def __init__(self, level: int = GZIP_LEVEL, keep: bool = False) -> None:
        self._z = zlib.compressobj(level, zlib.DEFLATED, 31)
        self.sha256 = hashlib.sha256()
        self.compressed_bytes = 0
        self._keep = io.BytesIO() if keep else None

    def _emit(self, data: bytes) -> None:
        self.sha256.update(data)
        self.compressed_bytes += len(data)
        if self._keep is not None:
            self._keep.write(data)

    def write(self, data: bytes) -> None:
        self._emit(self._z.compress(data))

    def close(self) -> str:
        self._emit(self._z.flush())
        return "sha256:" + self.sha256.hexdigest()


class FileStore:
    """A file-deduplicated, content-addressed layer store on disk (see the module docstring)."""

    def __init__(self, root: str) -> None:
        self.root = root
        os.makedirs(os.path.join(root, "layers"), exist_ok=True)

    def _file(self, hex_: str) -> str:
        return os.path.join(self.root, "files", hex_[:2], hex_)

    def _layer(self, key: str, ext: str) -> str:
        return os.path.join(self.root, "layers", f"{key.split(':')[-1]}.{ext}")

    def put_layer(self, key: str, tar: bytes) -> dict:
        """Split ``tar`` into skeleton and file contents; returns counts (files, new contents, bytes)."""
        index, skeleton, pos, new = [], io.BytesIO(), 0, 0
        with tarfile.open(fileobj=io.BytesIO(tar), mode="r:") as tf:
            for m in tf:
                if not m.isreg() or m.sparse is not None or m.size == 0:
                    continue  # no content in the stream (or sparse data): it stays in the skeleton
                start, end = m.offset_data, m.offset_data + m.size
                content = tar[start:end]
                hex_ = hashlib.sha256(content).hexdigest()
                path = self._file(hex_)
                if not os.path.exists(path):
                    os.makedirs(os.path.dirname(path), exist_ok=True)
                    with open(path, "wb") as fh:
                        fh.write(content)
                    new += 1
                skeleton.write(tar[pos:start])
                index.append((start - pos, hex_))
                pos = end
        skeleton.write(tar[pos:])
        with open(self._layer(key, "skel"), "wb") as fh:
            fh.write(skeleton.getvalue())
        with open(self._layer(key, "idx"), "w") as fh:
            json.dump(index, fh)
        return {"files": len(index), "new_contents": new, "skeleton_bytes": skeleton.tell()}

    def rebuild(self, key: str, write: Callable[[bytes], None]) -> int:
        """Write the layer's tar to ``write`` in the original order; returns its length."""
        total = 0
        with open(self._layer(key, "idx")) as fh:
            index = json.load(fh)
        with open(self._layer(key, "skel"), "rb") as skel:
            for gap, hex_ in index:
                head = skel.read(gap)
                with open(self._file(hex_), "rb") as fh:
                    body = fh.read()
                write(head)
                write(body)
                total += len(head) + len(body)
            while True:
                rest = skel.read(_READ)
                if not rest:
                    return total
                write(rest)
                total += len(rest)


def read_tar(raw) -> bytes:
    """A blob stream -> its whole uncompressed tar (calibration layers are bounded in size)."""
    reader = HashingReader(raw)
    return b"".join(tar_chunks(reader, sniff_compression(reader.peek(512))))


def tar_entries(tar: bytes) -> list[tuple]:
    """(name, type, size, mode, uid, gid, mtime, linkname, content sha256) of every member, in order."""
    out = []
    with tarfile.open(fileobj=io.BytesIO(tar), mode="r:") as tf:
        for m in tf:
            body = tf.extractfile(m).read() if m.isreg() else b""
            out.append((m.name.strip("/"), m.type if m.type != tarfile.AREGTYPE else tarfile.REGTYPE, m.size, m.mode,
                        m.uid, m.gid, int(m.mtime), m.linkname, hashlib.sha256(body).hexdigest()))
    return out


_TYPES = {"reg": tarfile.REGTYPE, "dir": tarfile.DIRTYPE, "symlink": tarfile.SYMTYPE, "hardlink": tarfile.LNKTYPE,
          "char": tarfile.CHRTYPE, "block": tarfile.BLKTYPE, "fifo": tarfile.FIFOTYPE,
          "whiteout": tarfile.REGTYPE, "opaque_whiteout": tarfile.REGTYPE}


def _int(value) -> int:
    """A table field as an int; missing (None or NaN) is 0, as tarfile writes it."""
    return 0 if value is None or pd.isna(value) else int(value)


def tar_from_table(rows: pd.DataFrame, store: FileStore) -> bytes:
    """A layer rebuilt from its ``files`` rows alone (what the table keeps of each header) and the file store."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as out:
        for r in rows.sort_values("entry_index").itertuples():
            raw = r.path_raw if isinstance(r.path_raw, bytes) else None
            info = tarfile.TarInfo(raw.decode("utf-8", "surrogateescape") if raw else r.path.lstrip("/"))
            info.type = _TYPES.get(r.type, tarfile.REGTYPE)
            info.mode, info.uid, info.gid, info.mtime = _int(r.mode), _int(r.uid), _int(r.gid), _int(r.mtime)
            info.linkname = r.link_target or ""
            if r.type == "hardlink":  # the table roots hardlink targets at "/"; in a tar they are archive names
                info.linkname = info.linkname.lstrip("/")
            body = None
            if r.type == "reg" and r.size_bytes:
                with open(store._file(r.content_sha256.split(":")[-1]), "rb") as fh:
                    body = fh.read()
                info.size = len(body)
            out.addfile(info, io.BytesIO(body) if body is not None else None)
    return buf.getvalue()


@dataclass
class _Timed:
    seconds: float
    result: object


def _cpu(fn: Callable[[], object], repeats: int) -> _Timed:
    """Least CPU time of ``repeats`` runs of ``fn`` (this process, user + system)."""
    best, result = float("inf"), None
    for _ in range(max(1, repeats)):
        start = time.process_time()
        result = fn()
        best = min(best, time.process_time() - start)
    return _Timed(best, result)


def calibrate_layer(blob_open: Callable[[], object], layer: dict, table_rows: Optional[pd.DataFrame], store: FileStore,
                    repeats: int = 1) -> dict:
    """Split one layer into ``store``, rebuild it (timed, uncompressed and gzip) and check the rebuild."""
    digest = layer["layer_digest"]
    with blob_open() as raw:
        tar = read_tar(raw)
    put = store.put_layer(digest, tar)
    served = _cpu(lambda: _drain(blob_open), repeats)
    plain = _cpu(lambda: store.rebuild(digest, lambda b: None), repeats)

    def gzipped() -> str:
        sink = GzipSink()
        store.rebuild(digest, sink.write)
        return sink.close()

    packed = _cpu(gzipped, repeats)
    rebuilt = io.BytesIO()
    store.rebuild(digest, rebuilt.write)
    rebuilt_tar = rebuilt.getvalue()
    original_entries = tar_entries(tar)
    row = {
        "layer_digest": digest, "tar_bytes": len(tar), "blob_bytes": served.result, **put,
        "rebuild_tar_cpu_s": plain.seconds, "rebuild_gzip_cpu_s": packed.seconds, "serve_cpu_s": served.seconds,
        "entries": len(original_entries),
        "entries_match": tar_entries(rebuilt_tar) == original_entries,
        "diff_id_match": "sha256:" + hashlib.sha256(rebuilt_tar).hexdigest() == layer.get("diff_id"),
        "blob_digest_match": packed.result == digest,
    }
    if table_rows is not None and len(table_rows):
        try:
            from_table = tar_from_table(table_rows, store)
        except (OSError, ValueError, tarfile.TarError) as exc:  # rows that name a content the store lacks
            row["table_entries_match"], row["diff_id_from_table"] = False, False
            row["table_error"] = f"{type(exc).__name__}: {exc}"[:300]
        else:
            row["table_entries_match"] = tar_entries(from_table) == original_entries
            row["diff_id_from_table"] = "sha256:" + hashlib.sha256(from_table).hexdigest() == layer.get("diff_id")
    return row


def _drain(blob_open: Callable[[], object]) -> int:
    n = 0
    with blob_open() as raw:
        while True:
            chunk = raw.read(_READ)
            if not chunk:
                return n
            n += len(chunk)


def rates(per_layer: pd.DataFrame) -> dict:
    """Per-core MB/s over all calibrated layers (total bytes / total CPU seconds)."""
    ok = per_layer[per_layer["error"].isna()] if "error" in per_layer else per_layer
    if ok.empty:
        return {"rebuild_gzip_mbps": None, "rebuild_tar_mbps": None, "serve_mbps": None, "layers": 0, "tar_bytes": 0}
    tar, blob = float(ok["tar_bytes"].sum()), float(ok["blob_bytes"].sum())

    def mbps(num: float, col: str) -> float:
        secs = float(ok[col].sum())
        return num / MB / secs if secs > 0 else float("nan")

    return {"rebuild_gzip_mbps": mbps(tar, "rebuild_gzip_cpu_s"), "rebuild_tar_mbps": mbps(tar, "rebuild_tar_cpu_s"),
            "serve_mbps": mbps(blob, "serve_cpu_s"), "layers": int(len(ok)), "tar_bytes": int(tar)}


def calibrate(layers: Iterable[dict], open_blob: Callable[[str], Callable[[], object]], workdir: str,
              files: Optional[pd.DataFrame] = None, repeats: int = 1) -> pd.DataFrame:
    """Calibrate every layer (dicts with ``layer_digest``, ``diff_id``) into one store under ``workdir``;
    a layer that fails becomes a row with its ``error`` and the others go on."""
    store = FileStore(workdir)
    rows = []
    for layer in layers:
        digest = layer["layer_digest"]
        table_rows = files[files["layer_digest"] == digest] if files is not None else None
        try:
            rows.append(calibrate_layer(open_blob(digest), layer, table_rows, store, repeats))
        except Exception as exc:  # one unreadable layer must not end the calibration
            log.warning("restore calibration: %s failed: %s", digest, exc)
            rows.append({"layer_digest": digest, "error": f"{type(exc).__name__}: {exc}"[:300]})
        log.info("restore calibration: %s done", digest)
    return pd.DataFrame(rows)
