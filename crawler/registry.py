"""Registry HTTP API v2 client: catalog and tags with Link pagination, manifests, streamed verified blobs.

Every name is validated before it enters a URL (``crawler.reference``), every body is read with a
named size cap while streaming, and a blob transfer is its own small state machine
(``crawler.blobfetch``): resumes only after a real network break, a size mismatch named at once.
"""
from __future__ import annotations

import json
import logging
import re
from dataclasses import dataclass
from typing import Callable, Iterator, Optional, Union
from urllib.parse import urljoin, urlsplit

import requests

from common.errors import CrawlError
from common import mediatypes as mt
from crawler.auth import AuthError, Authenticator, CredentialSource, scopes_for
from crawler.blobfetch import BlobFetch, BlobTransferError  # noqa: F401 - BlobTransferError re-exported
from common.digest import Digest
from crawler.http import HttpClient, RateLimitSeen, read_capped
from crawler.manifest import Descriptor, Manifest, parse_manifest
from crawler.redact import has_userinfo, redact
from crawler.reference import check_manifest_reference, check_repository
from common.storage import BlobStore, DigestMismatch

log = logging.getLogger(__name__)

MAX_MANIFEST_BYTES = 4 << 20  # distribution's own limit; a bigger "manifest" is an error page or abuse
MAX_ERROR_BODY_BYTES = 64 << 10  # an error body is a few hundred bytes of JSON; more is not worth reading
MAX_LISTING_PAGE_BYTES = 16 << 20  # one page of _catalog or a tag list (~500k tags of 30 bytes)
_LINK_NEXT = re.compile(r'<([^>]+)>\s*;\s*rel="?next"?')


class RegistryError(CrawlError):
    """The registry answered with an error status (message includes the registry's error code)."""

    def __init__(self, message: str, status: Optional[int] = None) -> None:
        super().__init__(message)
        self.status = status


class NotFound(RegistryError):
    """404: no such repository, tag, manifest or blob."""


@dataclass(frozen=True)
class FetchedManifest:
    """A manifest as served: parsed model, raw bytes inside it, and what the response said."""

    manifest: Manifest
    content_type: str
    ratelimit: RateLimitSeen


def next_link(response: requests.Response) -> Optional[str]:
    """The absolute URL of ``Link: <...>; rel="next"``, if any; only ever on the registry's own origin
    (a Link to another host would otherwise receive our credentials)."""
    match = _LINK_NEXT.search(response.headers.get("Link", ""))
    if not match:
        return None
    url = urljoin(response.url, match.group(1))
    here, there = urlsplit(response.url), urlsplit(url)
    if (here.scheme, here.netloc) != (there.scheme, there.netloc):
        raise RegistryError(f"pagination Link leaves the registry ({redact(there.netloc)}); not followed")
    return url


def _error_text(response: requests.Response) -> str:
    """The registry's error codes from a (capped) error body; the reason phrase if it has none or breaks."""
    try:
        errors = json.loads(read_capped(response, MAX_ERROR_BODY_BYTES, "error body")).get("errors") or []
        return redact("; ".join(f"{e.get('code')}: {e.get('message')}" for e in errors)) or response.reason
    except Exception:  # noqa: BLE001 - an unreadable error body must not become a network failure
        return response.reason or ""


class RegistryClient:
    """One registry (``http(s)://host[:port]``); thread-safe, share one per crawl."""

    def __init__(self, base_url: str, http: Optional[HttpClient] = None,
                 credentials: Optional[CredentialSource] = None) -> None:
        if has_userinfo(base_url):  # it would end up in every record, table and log line
            raise ValueError("the registry URL must not contain credentials: pass them as credentials "
                             "(--username/--password, HUBSCOPE_REGISTRY_USER/PASSWORD or the docker config)")
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
        response = self.http.request(method, url, headers=headers, stream=True)
        if response.status_code == 401 and "WWW-Authenticate" in response.headers:
            challenge = response.headers["WWW-Authenticate"]
            response.close()
            headers["Authorization"] = self.auth.respond(challenge, scope, headers.get("Authorization"))
            response = self.http.request(method, url, headers=headers, stream=True)
            if response.status_code == 401:
                text = _error_text(response)
                raise AuthError(f"{method} {redact(url)}: still unauthorized after authenticating ({text})")
        return response

    def _check(self, response: requests.Response, what: str) -> requests.Response:
        if response.status_code < 400:
            return response
        text = _error_text(response) if response.request.method != "HEAD" else response.reason
        response.close()
        cls = NotFound if response.status_code == 404 else RegistryError
        raise cls(f"{what}: HTTP {response.status_code} {text}", response.status_code)

    def _page(self, url: str, scope: str, key: str, what: str) -> tuple[list[str], Union[str, RegistryError, None]]:
        """One page's names and the next page's URL; a non-string entry is passed on as text, to be refused
        by name validation. A next-page Link to another host comes back as the error in place of the URL:
        this page's names are still good, the listing just cannot go on."""
        response = self._check(self._request("GET", url, scope), what)
        body = json.loads(read_capped(response, MAX_LISTING_PAGE_BYTES, what))
        names = body.get(key) if isinstance(body, dict) else None
        if names is not None and not isinstance(names, list):
            raise RegistryError(f"{what}: {key!r} is not a list")
        try:
            following: Union[str, RegistryError, None] = next_link(response)
        except RegistryError as exc:
            following = exc
        return [n if isinstance(n, str) else json.dumps(n) for n in names or []], following

    def _paginate(self, url: str, scope: str, key: str, what: str) -> Iterator[str]:
        """Names from every page."""
        while url:
            names, url = self._page(url, scope, key, what)
            yield from names
            if isinstance(url, RegistryError):
                raise url

    def catalog_page(self, url: Optional[str] = None,
                     page_size: int = 100) -> tuple[list[str], Union[str, RegistryError, None]]:
        """One page of ``/v2/_catalog`` (the first when ``url`` is None) and the next page's URL (a checkpoint),
        or the error that stops the listing after this page."""
        return self._page(url or f"{self.base_url}/v2/_catalog?n={page_size}", scopes_for(None), "repositories", "catalog")

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
        url = f"{self.base_url}/v2/{check_repository(repository)}/tags/list"
        return list(self._paginate(url, scopes_for(repository), "tags", f"tags of {repository}"))

    def head_manifest(self, repository: str, reference: str) -> Optional[Digest]:
        """The ``Docker-Content-Digest`` of a tag without fetching it (a HEAD is not a Docker Hub pull)."""
        url = self._manifest_url(repository, reference)
        response = self._check(self._request("HEAD", url, scopes_for(repository), {"Accept": mt.MANIFEST_ACCEPT}),
                               f"manifest {repository}:{reference}")
        response.close()
        header = response.headers.get("Docker-Content-Digest")
        return Digest.parse(header) if header else None

    def get_manifest(self, repository: str, reference: str) -> FetchedManifest:
        """GET a manifest with the full Accept list; its digest is computed from the raw bytes and checked."""
        url = self._manifest_url(repository, reference)
        response = self._check(self._request("GET", url, scopes_for(repository), {"Accept": mt.MANIFEST_ACCEPT}),
                               f"manifest {repository}:{reference}")
        raw = read_capped(response, MAX_MANIFEST_BYTES, f"manifest {repository}:{reference}")
        content_type = response.headers.get("Content-Type", "")
        manifest = parse_manifest(raw, content_type)
        expected = reference if reference.startswith("sha256:") else response.headers.get("Docker-Content-Digest")
        if expected and Digest.parse(expected) != manifest.digest:
            raise DigestMismatch(f"manifest {repository}:{reference}: registry says {expected}, bytes hash to {manifest.digest}")
        return FetchedManifest(manifest, content_type, self.http.ratelimit)

    def _manifest_url(self, repository: str, reference: str) -> str:
        return f"{self.base_url}/v2/{check_repository(repository)}/manifests/{check_manifest_reference(reference)}"

    def blob_url(self, repository: str, digest: Digest) -> str:
        """Where a blob is fetched from (``digest`` is a validated ``Digest``; the repository is checked here)."""
        return f"{self.base_url}/v2/{check_repository(repository)}/blobs/{digest}"

    def open_blob(self, repository: str, digest: Digest, headers: dict) -> requests.Response:
        """GET a blob (streamed, auth handled); the caller reads or closes it and judges its status."""
        return self._request("GET", self.blob_url(repository, digest), scopes_for(repository), headers, stream=True)

    def check_blob_response(self, response: requests.Response, what: str) -> requests.Response:
        """Raise ``NotFound``/``RegistryError`` for an error status (error body read with a cap)."""
        return self._check(response, what)

    def fetch_blob(self, repository: str, desc: Descriptor, store: BlobStore, max_resumes: Optional[int] = None,
                   progress: Optional[Callable[[int], None]] = None) -> int:
        """Stream a blob into ``store``, verified; returns the bytes received over the network.

        See ``crawler.blobfetch.BlobFetch`` for the states; never publishes an unverified blob.
        """
        return BlobFetch(self, repository, desc, store, progress, max_resumes).run()
