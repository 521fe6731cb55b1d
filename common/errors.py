"""hubscope's exceptions: one base, one subclass per stage, and the stable error classes of a failed layer.

Every error hubscope raises on purpose derives from ``HubscopeError``, so the ``hubscope`` command
catches that base alone and exits with the documented code (README, "Exit codes"); anything else
that escapes is a bug and exits with ``EXIT_INTERNAL`` and its traceback.

A layer's error classes are data (analyses group by them), so they are short fixed strings, listed
here once.
"""
from __future__ import annotations

EXIT_OK = 0
EXIT_FAILED = 1  # a stage could not do its work (HubscopeError), or a crawl fetched nothing
EXIT_USAGE = 2  # bad flags or inputs (click's usage errors)
EXIT_INTERNAL = 70  # an unexpected exception: a bug in hubscope (EX_SOFTWARE)
EXIT_INTERRUPTED = 130  # Ctrl-C


class HubscopeError(Exception):
    """Base of every error hubscope raises on purpose; the message says what failed and, if known, why."""

    stage = "hubscope"


class StoreError(HubscopeError):
    """The blob store: a blob that is missing, or bytes that do not match their digest."""

    stage = "store"


class CrawlError(HubscopeError):
    """The crawler: registry, authentication, listing sources, manifests, local images."""

    stage = "crawl"


class ScanError(HubscopeError):
    """The scan job (a single layer's failure is a ``LayerError`` and becomes a table row, not an exit)."""

    stage = "scan"


class StatsError(HubscopeError):
    """The stats job and the report."""

    stage = "stats"


class TraceError(HubscopeError):
    """Registry workload traces."""

    stage = "trace"

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


class LayerError(ScanError):
    """A layer that cannot be scanned; ``error_class`` is one of ``ERROR_CLASSES``."""

    def __init__(self, error_class: str, message: str) -> None:
        assert error_class in ERROR_CLASSES, error_class
        super().__init__(message)
        self.error_class = error_class
        self.message = message
