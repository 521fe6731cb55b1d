"""Content-addressed blob storage: ``<root>/blobs/sha256/<hex>``, each blob written once, verified, atomically.

One ``BlobStore`` protocol, a local folder (default) and S3 (``crawler.storage_s3``). Stores are
re-created from their URL inside Spark tasks, so everything needed to open one is in ``StoreConfig``.
"""
from __future__ import annotations

import hashlib
import os
import tempfile
import uuid
from dataclasses import dataclass
from typing import BinaryIO, Iterator, Optional, Protocol

from crawler.digest import Digest

BLOB_DIR = ("blobs", "sha256")
TEMP_DIR = "tmp"  # in-flight writes; never counted as blobs
CHUNK = 1 << 20


class DigestMismatch(Exception):
    """Bytes written for a blob did not hash to its digest (or had the wrong size)."""


@dataclass(frozen=True)
class StoreConfig:
    """How to reach a store: a URL (local path or ``s3://bucket/prefix``) and S3 connection settings."""

    url: str
    s3_endpoint: Optional[str] = None  # e.g. http://127.0.0.1:9000; None = AWS
    s3_region: Optional[str] = None
    s3_access_key: Optional[str] = None  # None = the usual AWS environment / config chain
    s3_secret_key: Optional[str] = None


class BlobWriter(Protocol):
    """An in-progress blob write: ``write`` chunks, then ``commit`` (verify + publish) or ``abort``.

    ``written`` is the byte count so far, which is where a resumed transfer continues.
    """

    written: int

    def write(self, data: bytes) -> None: ...
    def commit(self) -> None: ...
    def abort(self) -> None: ...


class BlobStore(Protocol):
    """Where blobs live. Implementations: ``LocalBlobStore``, ``crawler.storage_s3.S3BlobStore``."""

    config: StoreConfig

    def exists(self, digest: Digest) -> bool: ...
    def size(self, digest: Digest) -> Optional[int]: ...
    def open_read(self, digest: Digest) -> BinaryIO: ...
    def read_bytes(self, digest: Digest) -> bytes: ...
    def writer(self, digest: Digest, expected_size: Optional[int] = None) -> BlobWriter: ...
    def put_bytes(self, digest: Digest, data: bytes) -> None: ...
    def digests(self) -> Iterator[Digest]: ...


class VerifyingWriter:
    """Shared writer logic: hash and count while writing, refuse overflow, verify before ``_publish``.

    Subclasses provide ``_sink(data)``, ``_publish()`` (make the verified blob visible) and ``abort()``.
    """

    def __init__(self, digest: Digest, expected_size: Optional[int]) -> None:
        self.digest, self.expected_size = digest, expected_size
        self._hash = hashlib.sha256()
        self.written = 0

    def write(self, data: bytes) -> None:
        self._hash.update(data)
        self.written += len(data)
        if self.expected_size is not None and self.written > self.expected_size:
            self.abort()
            raise DigestMismatch(f"{self.digest}: more than the expected {self.expected_size} bytes")
        self._sink(data)

    def commit(self) -> None:
        actual = self._hash.hexdigest()
        if actual != self.digest.hex or (self.expected_size is not None and self.written != self.expected_size):
            self.abort()
            raise DigestMismatch(
                f"{self.digest}: got sha256:{actual} ({self.written} bytes, expected {self.expected_size})"
            )
        self._publish()

    def _sink(self, data: bytes) -> None:
        raise NotImplementedError

    def _publish(self) -> None:
        raise NotImplementedError

    def abort(self) -> None:
        raise NotImplementedError


class _LocalWriter(VerifyingWriter):
    def __init__(self, store: "LocalBlobStore", digest: Digest, expected_size: Optional[int]) -> None:
        super().__init__(digest, expected_size)
        self.store = store
        tmp_dir = os.path.join(store.root, TEMP_DIR)
        os.makedirs(tmp_dir, exist_ok=True)
        fd, self.temp_path = tempfile.mkstemp(prefix=f"{digest.hex[:16]}-", suffix=".part", dir=tmp_dir)
        self._fh = os.fdopen(fd, "wb")

    def _sink(self, data: bytes) -> None:
        self._fh.write(data)

    def _publish(self) -> None:
        self._fh.close()
        final = self.store.path(self.digest)
        os.makedirs(os.path.dirname(final), exist_ok=True)
        os.replace(self.temp_path, final)  # atomic on one filesystem: readers see all or nothing

    def abort(self) -> None:
        if not self._fh.closed:
            self._fh.close()
        if os.path.exists(self.temp_path):
            os.unlink(self.temp_path)


class LocalBlobStore:
    """A folder: ``blobs/sha256/<hex>`` for blobs, ``tmp/`` for writes in flight."""

    def __init__(self, config: StoreConfig) -> None:
        self.config = config
        self.root = os.path.abspath(config.url)
        os.makedirs(os.path.join(self.root, *BLOB_DIR), exist_ok=True)

    def path(self, digest: Digest) -> str:
        return os.path.join(self.root, *BLOB_DIR, digest.hex)

    def exists(self, digest: Digest) -> bool:
        return os.path.isfile(self.path(digest))

    def size(self, digest: Digest) -> Optional[int]:
        try:
            return os.path.getsize(self.path(digest))
        except FileNotFoundError:
            return None

    def open_read(self, digest: Digest) -> BinaryIO:
        return open(self.path(digest), "rb")

    def read_bytes(self, digest: Digest) -> bytes:
        with self.open_read(digest) as fh:
            return fh.read()

    def writer(self, digest: Digest, expected_size: Optional[int] = None) -> _LocalWriter:
        return _LocalWriter(self, digest, expected_size)

    def put_bytes(self, digest: Digest, data: bytes) -> None:
        put_verified(self, digest, data)

    def digests(self) -> Iterator[Digest]:
        directory = os.path.join(self.root, *BLOB_DIR)
        for name in sorted(os.listdir(directory)):
            if len(name) == 64:
                yield Digest(name)


def put_verified(store: BlobStore, digest: Digest, data: bytes) -> None:
    """Store ``data`` as ``digest`` through the store's verifying writer, unless it is already there."""
    if store.exists(digest):
        return
    writer = store.writer(digest, len(data))
    writer.write(data)
    writer.commit()


def open_store(config: StoreConfig | str) -> BlobStore:
    """Open the store a URL names: ``s3://bucket/prefix`` or a local path."""
    if isinstance(config, str):
        config = StoreConfig(url=config)
    if config.url.startswith("s3://"):
        from crawler.storage_s3 import S3BlobStore

        return S3BlobStore(config)
    return LocalBlobStore(config)


def new_run_id() -> str:
    return uuid.uuid4().hex[:12]
