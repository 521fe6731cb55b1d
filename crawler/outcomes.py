"""Per-item crawl failures with a stable ``error_class`` for the records (see the README's error class table).

A record's ``error_class`` is the exception's ``error_class`` attribute when it has one, else its
class name (``ConnectionError``, ``RetriesExhausted``...): the classes here are the outcomes the
crawler can name exactly, so a reader of the records never has to parse a message to tell them apart.
"""
from __future__ import annotations

from typing import Optional

from common.errors import CrawlError


class CrawlItemError(CrawlError):
    """One item (image, tag, repository, archive) failed for a reason the crawler names."""

    error_class = "crawl_error"


class SizeMismatch(CrawlItemError):
    """The registry serves a different number of bytes than the descriptor declares (both numbers kept)."""

    error_class = "size_mismatch"

    def __init__(self, what: str, declared_bytes: Optional[int], served_bytes: Optional[int], how: str = "") -> None:
        served = "an unknown number of" if served_bytes is None else str(served_bytes)
        super().__init__(f"{what}: descriptor declares {declared_bytes} bytes, registry serves {served} bytes"
                         + (f" ({how})" if how else ""))
        self.declared_bytes, self.served_bytes = declared_bytes, served_bytes


class BadContentType(CrawlItemError):
    """An HTML or JSON page (an error page, a login wall) served with 200 where a blob was expected."""

    error_class = "bad_content_type"


class InvalidName(CrawlItemError, ValueError):
    """A repository, tag or digest that the distribution grammar rejects; it never enters a URL."""

    error_class = "invalid_name"


class TooLarge(CrawlItemError):
    """A manifest, error body or listing over its named size cap (refused while streaming)."""

    error_class = "too_large"


class NotAnImage(CrawlItemError):
    """An OCI artifact or attestation: recorded with its media types, never downloaded or scanned."""

    error_class = "not_an_image"


class MediaTypeMismatch(CrawlItemError):
    """A stored blob is not what this descriptor's media type says (e.g. a config that is not a JSON object)."""

    error_class = "media_type_mismatch"


class BlobTimeLimit(CrawlItemError):
    """One blob took longer than the policy's total time per blob, resumes included."""

    error_class = "blob_time_limit"


class ImageError(CrawlItemError):
    """A local archive that cannot be read as images (a link cycle, a link out of the archive)."""

    error_class = "image_error"


def error_class_of(error: BaseException) -> str:
    """The record's ``error_class`` for ``error``: its named class, else the exception's type name."""
    return getattr(error, "error_class", None) or type(error).__name__
