"""One blob transfer as a small state machine, so every way a registry can fail has exactly one outcome.

    REQUEST  GET, with a closed ``Range: bytes=N-M`` once N bytes are held (open ranges get 416 from
             some registries). Judged before a byte of body is read:
               416                                   -> size_mismatch (the blob ends before N)
               HTML page, or JSON for a layer        -> bad_content_type (an error page with 200)
               Content-Length / Content-Range total
               other than the declared size          -> size_mismatch, with both numbers
               200 to a ranged request               -> the body starts at 0: restart the writer
    STREAM   raw bytes into the verifying writer, never past the declared size (-> size_mismatch);
             a body that ends complete but short of the declared size -> size_mismatch;
             a real network break (reset, timeout, body short of its own Content-Length) -> BROKEN
    BROKEN   back to REQUEST after backoff, while resumes and the blob's time limit last
             (``RetryPolicy.max_blob_resumes``, ``blob_time_limit_s``)
    VERIFY   the writer hashes: ok -> published; mismatch -> one refetch from zero, then digest_mismatch

A 416's body is never read: distribution 2.8 announces one it does not send, and reading it used
to count as a network break, resumed eight times with backoff.
"""
from __future__ import annotations

import logging
import time
from typing import Callable, Optional

import requests
import urllib3

from common import mediatypes as mt
from common.errors import CrawlError
from crawler.outcomes import BadContentType, BlobTimeLimit, SizeMismatch
from crawler.manifest import Descriptor
from common.storage import BlobStore, BlobWriter, DigestMismatch

log = logging.getLogger(__name__)

CHUNK = 1 << 20
NETWORK_BREAKS = (requests.ConnectionError, requests.Timeout, requests.exceptions.ChunkedEncodingError,
                  urllib3.exceptions.HTTPError)
PAGE_TYPES = frozenset({"text/html", "application/xhtml+xml"})  # never a blob
JSON_TYPES = frozenset({"application/json", "application/problem+json"})  # an error page, unless it is a config


class BlobTransferError(CrawlError):
    """A blob kept breaking off mid-transfer: every resume was used up."""


def _range_total(content_range: Optional[str]) -> Optional[int]:
    """N from ``bytes a-b/N`` or ``bytes */N``; None when absent or ``*``."""
    total = (content_range or "").rpartition("/")[2].strip()
    return int(total) if total.isdigit() else None


def _length(response: requests.Response) -> Optional[int]:
    value = response.headers.get("Content-Length", "").strip()
    return int(value) if value.isdigit() else None


class BlobFetch:
    """Fetch one blob of one repository into a store; ``run`` returns the bytes received."""

    def __init__(self, client, repository: str, desc: Descriptor, store: BlobStore,
                 progress: Optional[Callable[[int], None]] = None, max_resumes: Optional[int] = None) -> None:
        self.client, self.repository, self.desc, self.store, self.progress = client, repository, desc, store, progress
        self.policy = client.http.policy
        self.max_resumes = self.policy.max_blob_resumes if max_resumes is None else max_resumes
        self.what = f"blob {desc.digest} of {repository}"
        self.size = desc.size_bytes
        self.deadline = time.monotonic() + self.policy.blob_time_limit_s(self.size)
        self.received = self.resumes = 0
        self.writer: Optional[BlobWriter] = None

    def run(self) -> int:
        """REQUEST/STREAM/BROKEN until every byte is held, then VERIFY (refetching once from zero)."""
        self.client.blob_url(self.repository, self.desc.digest)  # validates the name before anything else
        for attempt in (1, 2):
            # first attempt: continue a part file a killed crawler left behind, if there is one
            self.writer = self.store.writer(self.desc.digest, self.size, resume=attempt == 1)
            try:
                self._transfer()
                self.writer.commit()
                return self.received
            except DigestMismatch as exc:
                self.writer.abort()
                if attempt == 2:
                    raise DigestMismatch(f"{self.what} failed verification twice: {exc}") from exc
                log.warning("%s failed verification (%s); fetching again from zero", self.what, exc)
            except BaseException:
                self.writer.abort()
                raise
        raise AssertionError("unreachable")

    # -- states -------------------------------------------------------------------------------------
    def _transfer(self) -> None:
        while True:
            if self.writer.written and self.size is None:  # no size, no closed range: start over
                self._restart()
            if self.size and self.writer.written == self.size:
                return  # an adopted part file (or the last resume) holds every byte
            try:
                response = self._request()
                if response is not None:
                    self._stream(response)
                    return
            except NETWORK_BREAKS as exc:
                self._broken(exc)

    def _request(self) -> Optional[requests.Response]:
        """REQUEST: a response whose headers agree with the descriptor, or None to ask again from zero."""
        offset = self.writer.written
        headers = {"Range": f"bytes={offset}-{self.size - 1}"} if offset else {}
        response = self.client.open_blob(self.repository, self.desc.digest, headers)
        if response.status_code == 416:
            response.close()
            raise SizeMismatch(self.what, self.size, _range_total(response.headers.get("Content-Range")),
                               f"HTTP 416 for bytes from {offset}")
        self.client.check_blob_response(response, self.what)
        content_type = response.headers.get("Content-Type", "").split(";")[0].strip().lower()
        if content_type in PAGE_TYPES or (content_type in JSON_TYPES and self.desc.media_type not in mt.CONFIG_TYPES):
            response.close()
            raise BadContentType(f"{self.what}: served as {content_type} (an error page, not a blob)")
        if offset and response.status_code != 206:  # range ignored: the body starts at 0
            log.info("%s: no range support (HTTP %d); restarting", self.what, response.status_code)
            self._restart()
            offset = 0
        elif offset and not response.headers.get("Content-Range", "").startswith(f"bytes {offset}-"):
            response.close()  # a part we did not ask for: ask again from zero
            log.info("%s: unexpected Content-Range %r; restarting", self.what, response.headers.get("Content-Range"))
            self._restart()
            return None
        self._check_announced_size(response, offset)
        return response

    def _check_announced_size(self, response: requests.Response, offset: int) -> None:
        if self.size is None:
            return
        length, total = _length(response), _range_total(response.headers.get("Content-Range"))
        if response.status_code == 206 and total is not None and total != self.size:
            response.close()
            raise SizeMismatch(self.what, self.size, total, "Content-Range total")
        if length is not None and length != self.size - offset:
            response.close()
            raise SizeMismatch(self.what, self.size, offset + length, "Content-Length")

    def _stream(self, response: requests.Response) -> None:
        """STREAM: raw bytes (a Content-Encoding header must never make the client rewrite a blob); read1
        so whatever arrived before a reset is kept and the resume starts there."""
        announced, start = _length(response), self.writer.written
        try:
            while chunk := response.raw.read1(CHUNK, decode_content=False):
                if self.size is not None and self.writer.written + len(chunk) > self.size:
                    raise SizeMismatch(self.what, self.size, None, "the body runs past the declared size")
                if time.monotonic() > self.deadline:
                    raise BlobTimeLimit(f"{self.what}: over the {self.policy.blob_time_limit_s(self.size):.0f} s "
                                        f"allowed for {self.size} bytes, at {self.writer.written} bytes")
                self.writer.write(chunk)
                self.received += len(chunk)
                if self.progress:
                    self.progress(len(chunk))
        finally:
            response.close()
        got = self.writer.written - start
        if announced is not None and got < announced:  # short of its own Content-Length: the connection broke
            raise requests.ConnectionError(f"body ended at {self.writer.written} of {self.size} bytes")
        if self.size is not None and self.writer.written < self.size:
            raise SizeMismatch(self.what, self.size, self.writer.written, "the body ended there")

    def _broken(self, exc: BaseException) -> None:
        """BROKEN: wait, then resume; give up after the resume budget or the blob's time limit."""
        self.resumes += 1
        if self.resumes > self.max_resumes:
            raise BlobTransferError(f"{self.what}: gave up after {self.max_resumes} resumes: {exc}") from exc
        wait = self.policy.backoff_s(self.resumes)
        if time.monotonic() + wait > self.deadline:
            raise BlobTimeLimit(f"{self.what}: over the {self.policy.blob_time_limit_s(self.size):.0f} s allowed "
                                f"for {self.size} bytes ({self.resumes} breaks, last: {exc})") from exc
        log.info("%s broke at %d bytes (%s); resuming", self.what, self.writer.written, exc)
        self.client.http.sleep(wait)

    def _restart(self) -> None:
        self.writer.abort()
        self.writer = self.store.writer(self.desc.digest, self.size)
