"""Resumable listings: each fetched page of a Hub search, a Hub namespace or ``_catalog`` is checkpointed.

A listing of Docker Hub is thousands of pages, each a request against a rate-limited API; a crawl
killed at page 900 must not start again at page 1. Each page is appended (before its repositories
are handed to the crawl) to ``<records>/records/listings/<key>.jsonl`` with the position of the
next page and the listing's announced total. A rerun of the same listing in the same snapshot
replays the stored pages without requests and continues from the last position; a finished
listing is replayed whole. The crawl's own resume then skips the repositories already done. A new
snapshot lists afresh (repositories come and go). The stored totals are the repository count a
listing announced at that time: the growth curve of ``listing_totals``.
"""
from __future__ import annotations

import logging
from typing import Any, Callable, Iterable, Iterator, Optional

from common.listings import ListingCheckpoint, listing_totals  # noqa: F401  (the checkpoint format lives in common)
from crawler.targets import RepoTarget

log = logging.getLogger(__name__)

START = "start"  # the position of a listing's first page

# fetch(position) -> (targets of that page, position of the next page or None, announced total or None);
# the next position may be an exception instead: the page's targets are good, the listing stops there.
FetchPage = Callable[[Any], tuple[list[RepoTarget], Any, Optional[int]]]


def resumable(fetch: FetchPage, checkpoint: Optional[ListingCheckpoint]) -> Iterator[RepoTarget]:
    """Every page of a listing, replaying stored pages and fetching (and storing) only the rest."""
    if checkpoint is None:
        position: Any = START
        while position is not None:
            targets, position, _ = fetch(position)
            yield from targets
            if isinstance(position, Exception):
                raise position
        return
    stored = checkpoint.pages()
    for page in stored:
        yield from (RepoTarget(name, tag, metadata) for name, tag, metadata in page["repositories"])
    if stored and stored[-1]["done"]:
        return
    position = stored[-1]["next"] if stored else START
    if stored:
        log.info("listing %s: resuming after page %d", checkpoint.key, stored[-1]["page"])
    number = len(stored)
    while position is not None:
        targets, next_position, total = fetch(position)
        stop = next_position if isinstance(next_position, Exception) else None
        number += 1
        checkpoint.add(number, targets, None if stop else next_position, total)
        yield from targets
        if stop:
            raise stop
        position = next_position


def dedup(targets: Iterable[RepoTarget]) -> Iterator[RepoTarget]:
    """Each (repository, tag) once: a search sweep's queries overlap."""
    seen: set[tuple[str, Optional[str]]] = set()
    for target in targets:
        key = (target.repository, target.tag)
        if key in seen:
            continue
        seen.add(key)
        yield target
