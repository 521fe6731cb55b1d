"""Content-addressed blob storage: ``<root>/blobs/sha256/<hex>``, each blob written once, verified, atomically.

One ``BlobStore`` protocol, a local folder (default) and S3 (``common.storage_s3``). Stores are
re-created from their URL inside Spark tasks, so everything needed to open one is in ``StoreConfig``.
"""
from __future__ import annotations

import fcntl
import hashlib
import os
import tempfile
import uuid
from dataclasses import dataclass
from typing import BinaryIO, Iterator, Optional, Protocol

from common.errors import StoreError
from common.digest import Digest

BLOB_DIR = ("blobs", "sha256")
TEMP_DIR = "tmp"  # in-flight writes; never counted as blobs
CHUNK = 1 << 20


class DigestMismatch(StoreError):
    """Bytes written for a blob did not hash to its digest (or had the wrong size)."""

    error_class = "digest_mismatch"


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
    """Where blobs live. Implementations: ``LocalBlobStore``, ``common.storage_s3.S3BlobStore``."""

    config: StoreConfig

    def exists(self, digest: Digest) -> bool: ...
    def size(self, digest: Digest) -> Optional[int]: ...
    def open_read(self, digest: Digest) -> BinaryIO: ...
    def read_bytes(self, digest: Digest) -> bytes: ...
    def writer(self, digest: Digest, expected_size: Optional[int] = None, resume: bool = False) -> BlobWriter: ...
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
    """Writes ``tmp/<hex>-<random>.part`` under an exclusive ``flock``, renamed into place once verified.

    The lock marks the part file as live: when its process dies the kernel drops the lock, and a
    later writer for the same digest with ``resume=True`` may adopt the file, rehash it and go on
    from where it stopped (a ranged request).
    """

    def __init__(self, store: "LocalBlobStore", digest: Digest, expected_size: Optional[int],
                 resume: bool = False) -> None:
        super().__init__(digest, expected_size)
        self.store = store
        self.resumed_from = 0
        tmp_dir = os.path.join(store.root, TEMP_DIR)
        os.makedirs(tmp_dir, exist_ok=True)
        if resume and self._adopt(tmp_dir):
            return
        # created as .new and locked before it is renamed to .part, so no one can adopt it meanwhile
        fd, new_path = tempfile.mkstemp(prefix=f"{digest.hex}-", suffix=".new", dir=tmp_dir)
        fcntl.flock(fd, fcntl.LOCK_EX)
        self.temp_path = new_path[: -len(".new")] + ".part"
        os.rename(new_path, self.temp_path)
        self._fh = os.fdopen(fd, "wb")

    def _adopt(self, tmp_dir: str) -> bool:
        for name in sorted(os.listdir(tmp_dir)):
            if not (name.startswith(f"{self.digest.hex}-") and name.endswith(".part")):
                continue
            path = os.path.join(tmp_dir, name)
            try:
                fh = open(path, "r+b")
            except FileNotFoundError:
                continue
            try:
                fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
                if os.stat(path).st_ino != os.fstat(fh.fileno()).st_ino:
                    raise FileNotFoundError(path)  # published or replaced before we locked it
            except (BlockingIOError, FileNotFoundError):  # a live writer holds it, or it is gone
                fh.close()
                continue
            while chunk := fh.read(CHUNK):
                self._hash.update(chunk)
                self.written += len(chunk)
            if self.expected_size is not None and self.written > self.expected_size:
                fh.close()
                os.unlink(path)
                self._hash, self.written = hashlib.sha256(), 0
                continue
            self._fh, self.temp_path, self.resumed_from = fh, path, self.written
            return True
        return False

    def _sink(self, data: bytes) -> None:
        self._fh.write(data)

    def _publish(self) -> None:
        self._fh.flush()
        final = self.store.path(self.digest)
        os.makedirs(os.path.dirname(final), exist_ok=True)
        os.replace(self.temp_path, final)  # atomic on one filesystem: readers see all or nothing
        self._fh.close()  # only now drop the lock

    def abort(self) -> None:
        if os.path.exists(self.temp_path):  # unlink while still holding the lock
            os.unlink(self.temp_path)
        if not self._fh.closed:
            self._fh.close()


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

    def writer(self, digest: Digest, expected_size: Optional[int] = None, resume: bool = False) -> _LocalWriter:
        """A verifying writer; ``resume`` adopts a part file a dead process left for this digest."""
        return _LocalWriter(self, digest, expected_size, resume)

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


def new_run_id() -> str:
    return uuid.uuid4().hex[:12]
