"""Registry HTTP API v2 client: catalog and tags with Link pagination, manifests, streamed verified blobs.

Blobs are streamed into a ``BlobStore`` writer that hashes as it writes; a transfer that breaks
mid-way resumes with a closed ``Range: bytes=N-M`` (some registries answer open-ended ranges with
416), and a blob whose bytes do not verify is fetched once more from scratch, then reported.
"""
from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from typing import Callable, Iterator, Optional
from urllib.parse import urljoin

import requests
import urllib3

from common.errors import CrawlError
from common import mediatypes as mt
from crawler.auth import AuthError, Authenticator, CredentialSource, scopes_for
from common.digest import Digest
from crawler.http import HttpClient, RateLimitSeen
from crawler.manifest import Descriptor, Manifest, ManifestError, parse_manifest
from common.storage import BlobStore, DigestMismatch

log = logging.getLogger(__name__)

CHUNK = 1 << 20
MAX_MANIFEST_BYTES = 4 << 20  # distribution's own limit; a bigger "manifest" is an error page or abuse
_LINK_NEXT = re.compile(r'<([^>]+)>\s*;\s*rel="?next"?')


class RegistryError(CrawlError):
    """The registry answered with an error status (message includes the registry's error code)."""

    def __init__(self, message: str, status: Optional[int] = None) -> None:
        super().__init__(message)
        self.status = status


class NotFound(RegistryError):
    """404: no such repository, tag, manifest or blob."""


class BlobTransferError(RegistryError):
    """A blob could not be transferred intact after every resume and refetch."""


@dataclass(frozen=True)
class FetchedManifest:
    """A manifest as served: parsed model, raw bytes inside it, and what the response said."""

    manifest: Manifest
    content_type: str
    ratelimit: RateLimitSeen


def next_link(response: requests.Response) -> Optional[str]:
    """The absolute URL of ``Link: <...>; rel="next"``, if any."""
    match = _LINK_NEXT.search(response.headers.get("Link", ""))
    return urljoin(response.url, match.group(1)) if match else None


def _error_text(response: requests.Response) -> str:
    try:
        errors = response.json().get("errors") or []
        return "; ".join(f"{e.get('code')}: {e.get('message')}" for e in errors) or response.reason
    except ValueError:
        return response.reason or ""


class RegistryClient:
    """One registry (``http(s)://host[:port]``); thread-safe, share one per crawl."""

    def __init__(self, base_url: str, http: Optional[HttpClient] = None,
                 credentials: Optional[CredentialSource] = None) -> None:
        self.base_url = base_url.rstrip("/")
        self.host = self.base_url.split("://", 1)[-1]
        self.http = http or HttpClient()
        self.auth = Authenticator(self.host, self.http, credentials)

    # -- plumbing -------------------------------------------------------------------------------
    def _request(self, method: str, url: str, scope: Optional[str], headers: Optional[dict] = None,
                 stream: bool = False) -> requests.Response:
        headers = dict(headers or {})
        current = self.auth.header(scope)
        if current:
            headers["Authorization"] = current
        response = self.http.request(method, url, headers=headers, stream=stream)
        if response.status_code == 401 and "WWW-Authenticate" in response.headers:
            challenge = response.headers["WWW-Authenticate"]
            response.close()
            headers["Authorization"] = self.auth.respond(challenge, scope, headers.get("Authorization"))
            response = self.http.request(method, url, headers=headers, stream=stream)
            if response.status_code == 401:
                response.close()
                raise AuthError(f"{method} {url}: still unauthorized after authenticating ({_error_text(response)})")
        return response

    def _check(self, response: requests.Response, what: str) -> requests.Response:
        if response.status_code < 400:
            return response
        text = _error_text(response) if response.request.method != "HEAD" else response.reason
        response.close()
        cls = NotFound if response.status_code == 404 else RegistryError
        raise cls(f"{what}: HTTP {response.status_code} {text}", response.status_code)

    def _paginate(self, url: str, scope: str, key: str, what: str) -> Iterator[str]:
        while url:
            response = self._check(self._request("GET", url, scope), what)
            yield from response.json().get(key) or []
            url = next_link(response)

    # -- API ------------------------------------------------------------------------------------
    def ping(self) -> None:
        """GET /v2/ (authenticating if asked) to fail early on a wrong URL or bad credentials."""
        self._check(self._request("GET", f"{self.base_url}/v2/", None), f"{self.base_url}/v2/")

    def catalog(self, page_size: int = 100) -> Iterator[str]:
        """Every repository in ``/v2/_catalog``, following ``Link`` pagination."""
        url = f"{self.base_url}/v2/_catalog?n={page_size}"
        return self._paginate(url, scopes_for(None), "repositories", "catalog")

    def tags(self, repository: str) -> list[str]:
        """All tags of ``repository`` (registry 2.8 ignores ``n``; Link is followed when present)."""
        url = f"{self.base_url}/v2/{repository}/tags/list"
        return list(self._paginate(url, scopes_for(repository), "tags", f"tags of {repository}"))

    def head_manifest(self, repository: str, reference: str) -> Optional[Digest]:
        """The ``Docker-Content-Digest`` of a tag without fetching it (a HEAD is not a Docker Hub pull)."""
        url = f"{self.base_url}/v2/{repository}/manifests/{reference}"
        response = self._check(self._request("HEAD", url, scopes_for(repository), {"Accept": mt.MANIFEST_ACCEPT}),
                               f"manifest {repository}:{reference}")
        header = response.headers.get("Docker-Content-Digest")
        return Digest.parse(header) if header else None

    def get_manifest(self, repository: str, reference: str) -> FetchedManifest:
        """GET a manifest with the full Accept list; its digest is computed from the raw bytes and checked."""
        url = f"{self.base_url}/v2/{repository}/manifests/{reference}"
        response = self._check(self._request("GET", url, scopes_for(repository), {"Accept": mt.MANIFEST_ACCEPT}),
                               f"manifest {repository}:{reference}")
        raw = response.content
        if len(raw) > MAX_MANIFEST_BYTES:
            raise ManifestError(f"manifest {repository}:{reference} is {len(raw)} bytes, over the 4 MiB limit")
        content_type = response.headers.get("Content-Type", "")
        manifest = parse_manifest(raw, content_type)
        expected = reference if reference.startswith("sha256:") else response.headers.get("Docker-Content-Digest")
        if expected and Digest.parse(expected) != manifest.digest:
            raise DigestMismatch(f"manifest {repository}:{reference}: registry says {expected}, bytes hash to {manifest.digest}")
        return FetchedManifest(manifest, content_type, self.http.ratelimit)

    def fetch_blob(self, repository: str, desc: Descriptor, store: BlobStore, max_resumes: int = 8,
                   progress: Optional[Callable[[int], None]] = None) -> int:
        """Stream a blob into ``store``, verified; returns the bytes received over the network.

        Resumes broken transfers with closed Ranges; refetches once from zero if the bytes do not
        verify (corruption), then raises ``BlobTransferError``. Never publishes an unverified blob.
        """
        url = f"{self.base_url}/v2/{repository}/blobs/{desc.digest}"
        received = 0
        for attempt in (1, 2):
            # first attempt: continue a part file a killed crawler left behind, if there is one
            writer = store.writer(desc.digest, desc.size_bytes, resume=attempt == 1)
            resumes = 0
            try:
                while True:
                    headers = {}
                    if writer.written and desc.size_bytes is None:  # no size, no closed range: start over
                        writer.abort()
                        writer = store.writer(desc.digest, None)
                    offset = writer.written
                    if desc.size_bytes is not None and offset == desc.size_bytes:
                        break  # an adopted part file already holds every byte: just verify it
                    if offset:
                        headers["Range"] = f"bytes={offset}-{desc.size_bytes - 1}"
                    try:
                        response = self._check(self._request("GET", url, scopes_for(repository), headers, stream=True),
                                               f"blob {desc.digest} of {repository}")
                        if offset and response.status_code != 206:  # range ignored: the body starts at 0
                            log.info("blob %s: no range support (HTTP %d); restarting", desc.digest, response.status_code)
                            writer.abort()
                            writer = store.writer(desc.digest, desc.size_bytes)
                        elif offset and not response.headers.get("Content-Range", "").startswith(f"bytes {offset}-"):
                            response.close()  # a part we did not ask for: ask again from zero
                            log.info("blob %s: unexpected Content-Range %r; restarting", desc.digest,
                                     response.headers.get("Content-Range"))
                            writer.abort()
                            writer = store.writer(desc.digest, desc.size_bytes)
                            continue
                        # raw bytes (never let a Content-Encoding header make the client rewrite a blob),
                        # read1 so that whatever arrived before a reset is kept and the resume starts there
                        while chunk := response.raw.read1(CHUNK, decode_content=False):
                            writer.write(chunk)
                            received += len(chunk)
                            if progress:
                                progress(len(chunk))
                        response.close()
                        if desc.size_bytes is not None and writer.written < desc.size_bytes:
                            raise requests.ConnectionError(f"body ended at {writer.written} of {desc.size_bytes} bytes")
                        break
                    except (requests.ConnectionError, requests.Timeout, requests.exceptions.ChunkedEncodingError,
                            urllib3.exceptions.HTTPError) as exc:
                        resumes += 1
                        if resumes > max_resumes:
                            raise BlobTransferError(f"blob {desc.digest}: gave up after {max_resumes} resumes: {exc}") from exc
                        log.info("blob %s broke at %d bytes (%s); resuming", desc.digest, writer.written, exc)
                        self.http.sleep(self.http.policy.backoff_s(resumes))
                writer.commit()
                return received
            except DigestMismatch as exc:
                writer.abort()
                if attempt == 2:
                    raise BlobTransferError(f"blob {desc.digest} of {repository} failed verification twice: {exc}") from exc
                log.warning("blob %s failed verification (%s); fetching again from zero", desc.digest, exc)
            except BaseException:
                writer.abort()
                raise
        raise AssertionError("unreachable")
