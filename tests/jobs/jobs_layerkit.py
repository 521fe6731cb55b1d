"""Layer builders for the scan tests: tar members made in code, compressed or broken on purpose."""
from __future__ import annotations

import gzip
import hashlib
import io
import tarfile
from typing import Iterable, Optional

from jobs.layer_scanner import LayerResult, ScanOptions, scan_layer


def member(name, data: Optional[bytes] = None, type=tarfile.REGTYPE, **attrs) -> tuple:
    """A ``(TarInfo, data)`` pair; attrs are TarInfo fields (mode, uid, gid, mtime, linkname, ...)."""
    info = tarfile.TarInfo(name)
    info.type = type
    info.mode, info.mtime, info.uid, info.gid = 0o644, 1700000000, 0, 0
    for key, value in attrs.items():
        setattr(info, key, value)
    if data is not None:
        info.size = len(data)
    return info, data


def tar_of(members: Iterable[tuple], format=tarfile.PAX_FORMAT, encoding="utf-8") -> bytes:
    """Members in the given order (unlike ``tar_bytes``, which sorts)."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=format, encoding=encoding, errors="surrogateescape") as tf:
        for info, data in members:
            tf.addfile(info, io.BytesIO(data) if data is not None else None)
    return buf.getvalue()


def gz(raw: bytes) -> bytes:
    return gzip.compress(raw, compresslevel=6, mtime=0)


def sha(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def scan(blob: bytes, digest: Optional[str] = None, diff_id: Optional[str] = None, typer=None,
         options: ScanOptions = ScanOptions(), media_type: Optional[str] = None) -> LayerResult:
    """Scan ``blob`` as the layer it hashes to (or as ``digest``)."""
    return scan_layer(io.BytesIO(blob), digest or sha(blob), diff_id=diff_id, typer=typer, options=options, media_type=media_type)


def rows(result: LayerResult, *columns: str) -> list[tuple]:
    table = result.files
    return list(zip(*(table.column(c).to_pylist() for c in columns)))
