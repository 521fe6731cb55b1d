"""Why a layer failed to scan: one exception type carrying a stable ``error_class`` for the layers table.

Error classes are data (analyses group by them), so they are short fixed strings, listed here once.
"""
from __future__ import annotations

ERROR_CLASSES = (
    "blob_missing",  # the store has no blob for the digest
    "read_error",  # the store failed while streaming the blob
    "empty_blob",  # zero bytes labelled compressed (or unlabelled); labelled plain tar it is an empty layer
    "unknown_format",  # neither gzip, zstd nor tar by its first bytes
    "gzip_truncated",  # the stream ended inside a gzip member
    "gzip_bad_crc",  # a member's CRC32 trailer does not match its data
    "gzip_bad_isize",  # a member's length trailer (ISIZE) does not match its data, the CRC32 does
    "gzip_corrupt",  # invalid deflate data or header
    "gzip_trailing_garbage",  # bytes after the last member that are not another member
    "zstd_truncated",
    "zstd_corrupt",
    "zstd_trailing_garbage",
    "tar_truncated",  # the tar ended inside a header, a member's data or after a metadata member
    "tar_header_corrupt",  # bad checksum, unparsable number, malformed PAX/GNU metadata
    "tar_trailing_data",  # a lone zero block followed by members (data after the marker is a flag)
    "digest_mismatch",  # sha256 of the blob is not the layer digest
    "diff_id_mismatch",  # sha256 of the uncompressed tar is not the config's diff_id
    "limit_exceeded",  # a configured bound (uncompressed bytes) was crossed
    "internal_error",  # a bug in hubscope: the message has the exception
)


class LayerError(Exception):
    """A layer that cannot be scanned; ``error_class`` is one of ``ERROR_CLASSES``."""

    def __init__(self, error_class: str, message: str) -> None:
        assert error_class in ERROR_CLASSES, error_class
        super().__init__(message)
        self.error_class = error_class
        self.message = message
