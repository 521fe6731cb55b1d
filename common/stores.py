"""Open a blob store by URL: the one place that knows every store kind.

Apart from ``common.storage`` (the protocol and the local store) so that ``common.storage_s3``,
which builds on the storage module, is imported only here and no import cycle forms.
"""
from __future__ import annotations

from common.storage import BlobStore, LocalBlobStore, StoreConfig


def open_store(config: StoreConfig | str) -> BlobStore:
    """Open the store a URL names: ``s3://bucket/prefix`` or a local path."""
    if isinstance(config, str):
        config = StoreConfig(url=config)
    if config.url.startswith("s3://"):
        from common.storage_s3 import S3BlobStore  # boto3 only when asked for

        return S3BlobStore(config)
    return LocalBlobStore(config)
