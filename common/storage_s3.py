"""S3 blob store: ``s3://bucket/prefix`` holding ``<prefix>/blobs/sha256/<hex>``.

A blob becomes visible only once verified: writes spool to a local temporary file while hashing,
and only a blob whose sha256 and size match is uploaded to its final key (an S3 PUT or multipart
upload is atomic: readers see the whole object or nothing). The store is rebuilt from its
``StoreConfig`` alone, so Spark tasks can pickle it or reopen it by URL.
"""
from __future__ import annotations

import logging
import tempfile
import threading
from typing import BinaryIO, Iterator, Optional

from common.digest import Digest
from common.storage import BLOB_DIR, StoreConfig, VerifyingWriter, put_verified

log = logging.getLogger(__name__)

SPOOL_IN_MEMORY_BYTES = 8 << 20  # small blobs (manifests, configs) never touch the local disk


def split_s3_url(url: str) -> tuple[str, str]:
    """``s3://bucket/some/prefix`` -> ``("bucket", "some/prefix")``."""
    if not url.startswith("s3://"):
        raise ValueError(f"not an s3:// URL: {url!r}")
    bucket, _, prefix = url[len("s3://"):].partition("/")
    if len(bucket) < 3:
        raise ValueError(f"bad S3 bucket name in {url!r}")
    return bucket, prefix.strip("/")


class _S3Writer(VerifyingWriter):
    def __init__(self, store: "S3BlobStore", digest: Digest, expected_size: Optional[int]) -> None:
        super().__init__(digest, expected_size)
        self.store = store
        self._spool = tempfile.SpooledTemporaryFile(max_size=SPOOL_IN_MEMORY_BYTES, prefix="hubscope-s3-")

    def _sink(self, data: bytes) -> None:
        self._spool.write(data)

    def _publish(self) -> None:
        self._spool.seek(0)
        try:
            self.store.client.upload_fileobj(self._spool, self.store.bucket, self.store.key(self.digest))
        finally:
            self._spool.close()

    def abort(self) -> None:
        if not self._spool.closed:
            self._spool.close()


class S3BlobStore:
    """Blobs in S3 (or anything speaking S3: moto, MinIO, Ceph RGW); picklable."""

    def __init__(self, config: StoreConfig) -> None:
        self.config = config
        self.bucket, self.prefix = split_s3_url(config.url)
        self._client = None
        self._lock = threading.Lock()

    def __getstate__(self) -> dict:
        return {"config": self.config}

    def __setstate__(self, state: dict) -> None:
        self.__init__(state["config"])

    @property
    def client(self):
        """A boto3 S3 client built from the config (thread-safe; created on first use)."""
        with self._lock:
            if self._client is None:
                import boto3

                self._client = boto3.client(
                    "s3",
                    endpoint_url=self.config.s3_endpoint,
                    region_name=self.config.s3_region or "us-east-1",
                    aws_access_key_id=self.config.s3_access_key,
                    aws_secret_access_key=self.config.s3_secret_key,
                )
            return self._client

    def key(self, digest: Digest) -> str:
        """The object key of a blob: ``<prefix>/blobs/sha256/<hex>``."""
        return "/".join(p for p in (self.prefix, *BLOB_DIR, digest.hex) if p)

    def ensure_bucket(self) -> None:
        """Create the bucket if it does not exist (handy for fresh test or lab endpoints)."""
        from botocore.exceptions import ClientError

        try:
            self.client.head_bucket(Bucket=self.bucket)
        except ClientError:
            self.client.create_bucket(Bucket=self.bucket)

    def size(self, digest: Digest) -> Optional[int]:
        """The stored size (HEAD object), or None when the blob is absent."""
        from botocore.exceptions import ClientError

        try:
            return self.client.head_object(Bucket=self.bucket, Key=self.key(digest))["ContentLength"]
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
                return None
            raise

    def exists(self, digest: Digest) -> bool:
        return self.size(digest) is not None

    def open_read(self, digest: Digest) -> BinaryIO:
        return self.client.get_object(Bucket=self.bucket, Key=self.key(digest))["Body"]

    def read_bytes(self, digest: Digest) -> bytes:
        body = self.open_read(digest)
        try:
            return body.read()
        finally:
            body.close()

    def writer(self, digest: Digest, expected_size: Optional[int] = None, resume: bool = False) -> _S3Writer:
        """A verifying writer (``resume`` is accepted for the protocol; S3 spools are never left behind)."""
        return _S3Writer(self, digest, expected_size)

    def put_bytes(self, digest: Digest, data: bytes) -> None:
        put_verified(self, digest, data)

    def digests(self) -> Iterator[Digest]:
        """Every blob under ``<prefix>/blobs/sha256/`` in key order."""
        base = "/".join(p for p in (self.prefix, *BLOB_DIR) if p) + "/"
        paginator = self.client.get_paginator("list_objects_v2")
        for page in paginator.paginate(Bucket=self.bucket, Prefix=base):
            for item in page.get("Contents", []):
                name = item["Key"][len(base):]
                if len(name) == 64 and "/" not in name:
                    yield Digest(name)
