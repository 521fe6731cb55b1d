"""Where repositories come from: Docker Hub search v4, Docker Hub namespace listing, ``_catalog``, a text file.

Each source yields ``RepoTarget`` values; listing metadata (pull_count, star_count, last_updated,
...) travels with the target into every record of that repository (``CrawlRecord.repo_metadata``).
Docker Hub offers no way to list everything; these are the documented ways to enumerate it.
"""
from __future__ import annotations

import json
import logging
from typing import Iterator, Optional
from urllib.parse import urlencode, urljoin

from common.errors import CrawlError
from crawler.targets import RepoTarget, parse_target
from crawler.http import HttpClient, read_capped
from crawler.listings import START, ListingCheckpoint, resumable
from crawler.reference import DOCKER_HUB_REGISTRY, InvalidReference, normalize_repository
from crawler.registry import RegistryClient

log = logging.getLogger(__name__)

DOCKER_HUB_API = "https://hub.docker.com"
HUB_PAGE_SIZE = 100  # the maximum both listing APIs accept
SEARCH_METADATA_KEYS = ("star_count", "pull_count", "updated_at", "created_at", "short_description", "source", "type")
NAMESPACE_METADATA_KEYS = ("star_count", "pull_count", "last_updated", "date_registered", "description",
                           "repository_type", "is_private", "status")


class SourceError(CrawlError):
    """A listing API answered with an error."""


MAX_HUB_PAGE_BYTES = 16 << 20  # one page of 100 listing results is ~100 KB


def _get_json(http: HttpClient, url: str) -> dict:
    response = http.request("GET", url, headers={"Accept": "application/json"}, stream=True)
    if response.status_code != 200:
        response.close()
        raise SourceError(f"GET {url}: HTTP {response.status_code}")
    body = json.loads(read_capped(response, MAX_HUB_PAGE_BYTES, f"GET {url}"))
    if not isinstance(body, dict):
        raise SourceError(f"GET {url}: not a JSON object")
    return body


def _target(registry: str, name: str, metadata: dict) -> RepoTarget:
    """A listed name, normalised; an invalid one stays as written, for the crawl to record as ``invalid_name``."""
    try:
        return RepoTarget(normalize_repository(registry, name), None, metadata)
    except InvalidReference:
        return RepoTarget(name, None, metadata)


def hub_search(query: str, http: Optional[HttpClient] = None, api: str = DOCKER_HUB_API,
               limit: Optional[int] = None, registry: str = DOCKER_HUB_REGISTRY,
               checkpoint: Optional[ListingCheckpoint] = None) -> Iterator[RepoTarget]:
    """Repositories matching ``query`` via ``/api/search/v4?query=Q&size=100&from=N``, paged until exhausted.

    With a ``checkpoint`` (``crawler.listings``) a rerun resumes at the first page not yet stored.
    """
    http = http or HttpClient()

    def fetch(position):
        offset = 0 if position == START else int(position)
        url = f"{api.rstrip('/')}/api/search/v4?" + urlencode({"query": query, "size": HUB_PAGE_SIZE, "from": offset})
        body = _get_json(http, url)
        results = body.get("results") or []
        targets = []
        for item in results:
            name = item.get("slug") or item.get("name") or item.get("id")
            if name:
                targets.append(_target(registry, name if isinstance(name, str) else json.dumps(name), _search_metadata(item)))
        total = body.get("total") if isinstance(body.get("total"), int) else None
        following = offset + len(results)
        return targets, (None if not results or (total is not None and following >= total) else following), total

    seen = 0
    for target in resumable(fetch, checkpoint):
        yield target
        seen += 1
        if limit is not None and seen >= limit:
            return


def _search_metadata(item: dict) -> dict:
    """Listing metadata of one search v4 result; pull counts may sit in ``rate_plans[].repositories[]``."""
    metadata = {k: item[k] for k in SEARCH_METADATA_KEYS if k in item}
    if "pull_count" not in metadata:
        counts = [repo["pull_count"] for plan in item.get("rate_plans") or []
                  for repo in plan.get("repositories") or [] if "pull_count" in repo]
        if counts:
            metadata["pull_count"] = counts[0]
    if isinstance(item.get("publisher"), dict) and item["publisher"].get("name"):
        metadata["publisher"] = item["publisher"]["name"]
    if "updated_at" in metadata:
        metadata.setdefault("last_updated", metadata["updated_at"])  # the namespace listing's name for it
    metadata["listed_by"] = "hub-search"
    return metadata


def hub_namespace(namespace: str, http: Optional[HttpClient] = None, api: str = DOCKER_HUB_API,
                  registry: str = DOCKER_HUB_REGISTRY,
                  checkpoint: Optional[ListingCheckpoint] = None) -> Iterator[RepoTarget]:
    """Every repository of a namespace via ``/v2/repositories/NS/?page_size=100``, following ``next``."""
    http = http or HttpClient()

    def fetch(position):
        url = f"{api.rstrip('/')}/v2/repositories/{namespace}/?page_size={HUB_PAGE_SIZE}&page=1" if position == START else position
        body = _get_json(http, url)
        targets = []
        for item in body.get("results") or []:
            metadata = {k: item[k] for k in NAMESPACE_METADATA_KEYS if k in item}
            metadata["listed_by"] = "hub-namespace"
            targets.append(_target(registry, f"{item.get('namespace') or namespace}/{item['name']}", metadata))
        nxt = body.get("next")
        return targets, (urljoin(url, nxt) if nxt else None), body.get("count") if isinstance(body.get("count"), int) else None

    return resumable(fetch, checkpoint)


def hub_recent_tags(repository: str, n: int, http: Optional[HttpClient] = None, api: str = DOCKER_HUB_API) -> list[str]:
    """The ``n`` most recently updated tags from ``/v2/repositories/NS/NAME/tags?ordering=last_updated``.

    Docker Hub's own dates, at no pull cost (the registry API has no tag dates at all).
    """
    http = http or HttpClient()
    url: Optional[str] = (f"{api.rstrip('/')}/v2/repositories/{repository}/tags?"
                          + urlencode({"page_size": min(n, HUB_PAGE_SIZE), "ordering": "last_updated"}))
    tags: list[str] = []
    while url and len(tags) < n:
        body = _get_json(http, url)
        tags += [item["name"] for item in body.get("results") or [] if item.get("name")]
        nxt = body.get("next")
        url = urljoin(url, nxt) if nxt else None
    return tags[:n]


def catalog(client: RegistryClient, page_size: int = 100,
            checkpoint: Optional[ListingCheckpoint] = None) -> Iterator[RepoTarget]:
    """Every repository in the registry's ``_catalog`` (Link pagination; resumable with a ``checkpoint``)."""

    def fetch(position):
        names, following = client.catalog_page(None if position == START else position, page_size)
        return [RepoTarget(name, None, {"listed_by": "catalog"}) for name in names], following, None

    return resumable(fetch, checkpoint)


def repos_file(path: str, registry: str) -> Iterator[RepoTarget]:
    """``name[:tag]`` per line; blank lines and ``#`` comments ignored.

    An invalid line is logged with its line number and passed on as written, so the crawl records it
    as an ``invalid_name`` item (no request is made for it) and the lines after it are still crawled.
    """
    with open(path, encoding="utf-8") as fh:
        for number, line in enumerate(fh, 1):
            text = line.split("#", 1)[0].strip()
            if not text:
                continue
            try:
                yield parse_target(text, registry, {"listed_by": "file"})
            except ValueError as exc:
                log.warning("%s:%d: %s", path, number, exc)
                yield RepoTarget(text, None, {"listed_by": "file", "line": number})
