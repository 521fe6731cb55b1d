"""Crawl orchestration: repositories -> tags -> platforms -> verified blobs in the store, one record per image.

Python API::

    from crawler.crawl import run_crawl, CrawlOptions, RepoTarget
    summary = run_crawl("http://127.0.0.1:5000", "/data/store", [RepoTarget("demo/app")],
                        options=CrawlOptions(tags="all", platforms=None, concurrency=8))
    print(summary.line())

A rerun of the same crawl does only what is missing: a tag whose manifest digest (asked with a
HEAD, which Docker Hub does not count as a pull) matches an earlier ``ok`` record whose blobs are
all present is skipped, and blobs already in the store are never downloaded again. Every failure
is recorded beside its item (error class + message) and the crawl goes on.
"""
from __future__ import annotations

import dataclasses
import json
import logging
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Iterable, Optional, Sequence, Union

from crawler.auth import CredentialSource
from crawler.blobs import BlobLedger
from crawler.outcomes import MediaTypeMismatch, NotAnImage, TooLarge
from crawler.http import HttpClient, RetryPolicy
from crawler.manifest import (ImageIndex, ImageManifest, ManifestError, Platform, schema1_payload,
                              schema1_platform, select_platforms)
from common.records import CrawlRecord, RecordLog, latest_records
from crawler.reference import check_manifest_reference, check_repository, is_docker_hub
from crawler.image_record import image_record, platform_of_config
from crawler.redact import redact
from crawler.registry import RegistryClient
from crawler.resume import still_done
from common.storage import BlobStore, StoreConfig
from common.stores import open_store
from crawler.crawl_summary import CrawlSummary, Progress, Tally
from crawler.targets import RepoTarget, parse_target  # noqa: F401  (parse_target: part of this module's API)
from crawler.ratelimit import Budget
from crawler.shards import Shard

log = logging.getLogger(__name__)

DEFAULT_PLATFORMS = (Platform("linux", "amd64"),)
MAX_CONFIG_BYTES = 16 << 20  # an image config is KBs (a long history: a few MB); it is read whole to get the platform


@dataclass(frozen=True)
class CrawlOptions:
    """What to fetch and how hard to push the registry."""

    tags: str = "latest"  # "latest" | "all" | "<N>" (the N most recently created images)
    platforms: Optional[tuple[Platform, ...]] = DEFAULT_PLATFORMS  # None = every platform
    concurrency: int = 4  # at most this many blob downloads, and this many manifest requests, in flight
    resume: bool = True  # skip items already ok with all their blobs present
    retry: RetryPolicy = RetryPolicy()
    # how "most recent" is decided for tags=N: "hub" = Docker Hub's tag listing (last_updated, no pulls),
    # "config" = the image config's created time (costs a manifest + config fetch per tag),
    # "auto" = hub for Docker Hub, config elsewhere
    recent_by: str = "auto"
    hub_api: str = "https://hub.docker.com"
    snapshot: Optional[str] = None  # the snapshot this run's records belong to (default: the UTC date)
    shard: Optional[Shard] = None  # take only this shard's share of the repositories
    max_wait_s: Optional[float] = None  # total wait for rate-limit windows before items are recorded rate_limited

    def __post_init__(self) -> None:
        if self.tags not in ("latest", "all") and not (self.tags.isdigit() and int(self.tags) > 0):
            raise ValueError(f"tags must be 'latest', 'all' or a positive number, not {self.tags!r}")
        if self.concurrency < 1:
            raise ValueError("concurrency must be at least 1")
        if self.recent_by not in ("auto", "hub", "config"):
            raise ValueError(f"recent_by must be auto, hub or config, not {self.recent_by!r}")


def _shown(name: str) -> str:
    """A name for a log line: quoted when a registry sent control characters (no forged log lines)."""
    return name if name.isprintable() else repr(name)


class Crawler:
    """One crawl run against one registry; ``run`` it with targets."""

    def __init__(self, client: RegistryClient, store: BlobStore, record_log: RecordLog, options: CrawlOptions,
                 records_root: Optional[str] = None, progress: bool = False) -> None:
        self.client, self.store, self.log, self.options = client, store, record_log, options
        self.registry = client.host
        self.ledger = BlobLedger(store)
        self.tally = Tally()
        self.progress = Progress(progress)
        self._log_lock = threading.Lock()
        self._blob_pool = ThreadPoolExecutor(options.concurrency, thread_name_prefix="blob")
        self._previous = self._load_previous(records_root) if options.resume and records_root else {}

    def _load_previous(self, root: str) -> dict[tuple[str, str], list[CrawlRecord]]:
        by_tag: dict[tuple[str, str], list[CrawlRecord]] = {}
        for record in latest_records(root).values():
            if record.registry == self.registry and record.source == "registry":
                by_tag.setdefault((record.repository, record.tag), []).append(record)
        return by_tag

    def _append(self, record: CrawlRecord) -> None:
        with self._log_lock:
            self.log.append(record)
        self.tally.add(record.status)
        self.progress.add_image()
        if record.status == "not_an_image":
            log.info("%s/%s:%s is not an image: %s", record.registry, _shown(record.repository), _shown(record.tag),
                     record.error_message)
        if record.status == "error":
            log.warning("%s/%s:%s %s: %s: %s", record.registry, _shown(record.repository), _shown(record.tag),
                        record.platform or "", record.error_class, record.error_message)

    # -- run --------------------------------------------------------------------------------------
    def run(self, targets: Iterable[RepoTarget]) -> CrawlSummary:
        """Crawl every target, ``concurrency`` repositories at a time; returns the summary."""
        listing_errors: list[str] = []
        try:
            with ThreadPoolExecutor(self.options.concurrency, thread_name_prefix="repo") as pool:
                futures = []
                try:
                    for target in targets:
                        if self.options.shard and not self.options.shard.owns(target.repository):
                            continue
                        futures.append(pool.submit(self._crawl_repository, target))
                except Exception as exc:  # a listing API failed part-way: crawl what it gave us
                    log.error("repository listing failed: %s: %s", type(exc).__name__, exc)
                    listing_errors.append(f"{type(exc).__name__}: {exc}")
                for future in futures:
                    future.result()
        finally:
            self._blob_pool.shutdown(wait=True)
            self.progress.close()
        counts = self.ledger.counts()
        return CrawlSummary(self.tally.ok, self.tally.error, self.tally.skipped, counts.downloaded,
                            counts.downloaded_bytes, counts.present, self.log.path, tuple(listing_errors),
                            self.tally.not_an_image)

    def _error(self, target: RepoTarget, tag: str, exc: BaseException, started: float, **kw) -> None:
        """Record a failure; before the platform is known, a single requested platform keys the record,
        so a later success for that platform supersedes it in ``latest_records``."""
        if kw.get("platform") is None and self.options.platforms and len(self.options.platforms) == 1:
            kw["platform"] = str(self.options.platforms[0])
        self._append(image_record(registry=self.registry, repository=target.repository, tag=tag, source="registry",
                                  image=kw.pop("image", None), started_at=started, error=exc,
                                  metadata=target.metadata, **kw))

    def _crawl_repository(self, target: RepoTarget) -> None:
        started = time.time()
        try:
            check_repository(target.repository)  # a name from a listing is data until it is validated
            tags = self._tags(target)
        except Exception as exc:  # one repository's failure is recorded; the crawl goes on
            self._error(target, target.tag or "", exc, started)
            return
        for tag in tags:
            try:
                self._crawl_tag(target, tag)
            except Exception as exc:
                self._error(target, tag, exc, time.time())

    # -- tags -------------------------------------------------------------------------------------
    def _tags(self, target: RepoTarget) -> list[str]:
        if target.tag:
            return [target.tag]
        if self.options.tags == "latest":
            return ["latest"]
        if self.options.tags == "all":
            return self.client.tags(target.repository)
        n = int(self.options.tags)
        by_hub = self.options.recent_by == "hub" or (self.options.recent_by == "auto" and is_docker_hub(self.registry))
        if by_hub:
            from crawler.repo_listing import hub_recent_tags

            return hub_recent_tags(target.repository, n, self.client.http, self.options.hub_api)
        return self._most_recent(target.repository, self.client.tags(target.repository), n)

    def _most_recent(self, repository: str, tags: Sequence[str], n: int) -> list[str]:
        """Rank tags by their image's config ``created`` (the registry API has no tag dates)."""
        if len(tags) <= n:
            return list(tags)
        created: dict[str, str] = {}
        for tag in tags:
            try:
                manifest = self.client.get_manifest(repository, tag).manifest
                if isinstance(manifest, ImageIndex):
                    chosen = select_platforms(manifest, None)
                    if not chosen:
                        continue
                    manifest = self.client.get_manifest(repository, str(chosen[0].digest)).manifest
                if isinstance(manifest, ImageManifest) and manifest.config and not manifest.not_an_image():
                    self._ensure_config(repository, manifest)
                    created[tag] = json.loads(self.store.read_bytes(manifest.config.digest)).get("created") or ""
            except Exception as exc:
                log.info("cannot date %s:%s (%s); ranking it last", repository, tag, exc)
        return sorted(tags, key=lambda t: (created.get(t, ""), t), reverse=True)[:n]

    # -- one tag ----------------------------------------------------------------------------------
    def _already_done(self, target: RepoTarget, tag: str) -> bool:
        """True when the tag still points where an earlier crawl found it (``crawler.resume.still_done``);
        an artifact recorded not_an_image is done too. A record of this snapshot skips the tag; one of an
        earlier snapshot is carried into this snapshot (a new record, no download): the HEAD proved the
        tag still names that digest."""
        ok = [r for r in self._previous.get((target.repository, tag), []) if r.status in ("ok", "not_an_image")]
        if not ok:
            return False
        try:
            current = self.client.head_manifest(target.repository, tag)
        except Exception as exc:
            log.info("HEAD %s:%s failed (%s); fetching", target.repository, tag, exc)
            return False
        snapshot = self.log.snapshot
        done = still_done([r for r in ok if r.snapshot_name == snapshot], current, self.store, self.options.platforms)
        if done:
            self.tally.add("skipped", len(done))
            return True
        newest: dict[str, CrawlRecord] = {}
        for record in ok:  # the newest record per platform among earlier snapshots
            if record.item_key not in newest or record.finished_at >= newest[record.item_key].finished_at:
                newest[record.item_key] = record
        done = still_done(list(newest.values()), current, self.store, self.options.platforms)
        if not done:
            return False
        now = time.time()
        for record in done:
            with self._log_lock:
                self.log.append(dataclasses.replace(record, snapshot=snapshot, shard=self.log.shard,
                                                    started_at=now, finished_at=time.time()))
            self.progress.add_image()
        self.tally.add("skipped", len(done))
        return True

    def _crawl_tag(self, target: RepoTarget, tag: str) -> None:
        check_manifest_reference(tag)  # tags come from the registry's tag list: validated before any URL
        if self.options.resume and self._already_done(target, tag):
            log.info("%s:%s already crawled; skipping", target.repository, tag)
            return
        started = time.time()
        fetched = self.client.get_manifest(target.repository, tag)
        top = fetched.manifest
        if isinstance(top, ImageManifest):
            self._crawl_image(target, tag, top, None, None, started, fetched.ratelimit)
            return
        self.ledger.put_bytes(top.digest, top.raw)
        chosen = select_platforms(top, self.options.platforms)
        if not chosen:
            wanted = ", ".join(map(str, self.options.platforms or ()))
            available = ", ".join(str(d.platform) for d in top.manifests)
            raise LookupError(f"no manifest for {wanted} in {top.media_type} {top.digest} (has: {available})")
        for desc in chosen:
            platform = str(desc.platform) if desc.platform else None
            started = time.time()
            try:
                child = self.client.get_manifest(target.repository, str(desc.digest))
                if not isinstance(child.manifest, ImageManifest):
                    raise ManifestError(f"index entry {desc.digest} is a {child.manifest.media_type}, not an image")
                self._crawl_image(target, tag, child.manifest, top, platform, started, child.ratelimit)
            except Exception as exc:
                self._error(target, tag, exc, started, platform=platform, index=top)

    def _fetch(self, repository: str, desc) -> int:
        self.client.fetch_blob(repository, desc, self.store, progress=self.progress.add_bytes)
        return desc.size_bytes or self.store.size(desc.digest) or 0

    def _ensure(self, repository: str, desc) -> None:
        """The blob in the store, and this descriptor's own size checked against it."""
        self.ledger.ensure(desc.digest, lambda: self._fetch(repository, desc), desc.size_bytes)

    def _ensure_config(self, repository: str, image: ImageManifest) -> bytes:
        """The config blob, fetched and checked: within ``MAX_CONFIG_BYTES`` and a JSON object."""
        config = image.config
        if config.size_bytes is not None and config.size_bytes > MAX_CONFIG_BYTES:
            raise TooLarge(f"config {config.digest} declares {config.size_bytes} bytes, "
                           f"over the {MAX_CONFIG_BYTES}-byte cap")
        self._ensure(repository, config)
        stored_bytes = self.store.size(config.digest) or 0
        if stored_bytes > MAX_CONFIG_BYTES:  # a descriptor without a size: judged by the verified blob
            raise TooLarge(f"config {config.digest} is {stored_bytes} bytes, over the {MAX_CONFIG_BYTES}-byte cap")
        raw = self.store.read_bytes(config.digest)
        try:
            doc = json.loads(raw)
        except ValueError:
            doc = None
        if not isinstance(doc, dict):
            raise MediaTypeMismatch(f"config {config.digest} ({config.media_type}) is not a JSON object")
        return raw

    def _crawl_image(self, target: RepoTarget, tag: str, image: ImageManifest, index: Optional[ImageIndex],
                     platform: Optional[str], started: float, ratelimit) -> None:
        error: Optional[BaseException] = None
        try:
            reason = image.not_an_image()
            if reason:  # an artifact or attestation: recorded with its media types, nothing downloaded
                raise NotAnImage(f"{image.media_type} {image.digest} is not an image: {reason}")
            config = (self._blob_pool.submit(self._ensure_config, target.repository, image)
                      if image.config is not None else None)
            futures = [self._blob_pool.submit(self._ensure, target.repository, d)
                       for d in image.layers if not d.foreign]
            for future in ([config] if config else []) + futures:
                try:
                    future.result()
                except Exception as exc:  # keep waiting for the others; report the first failure
                    error = error or exc
            if error is None:  # the manifest goes in last, so a failed image leaves only verified blobs it needs
                self.ledger.put_bytes(image.digest, schema1_payload(image.raw) if image.config is None else image.raw)
            if config is not None and platform is None and config.exception() is None:
                platform = platform_of_config(config.result())
            if image.config is None and error is None:  # schema1: platform from the manifest, sizes from the store
                platform = platform or schema1_platform(image.raw)
                image = dataclasses.replace(image, layers=tuple(
                    dataclasses.replace(d, size_bytes=self.store.size(d.digest)) for d in image.layers))
        except Exception as exc:
            error = exc
        self._append(image_record(registry=self.registry, repository=target.repository, tag=tag, source="registry",
                                  image=image, started_at=started, platform=platform, index=index, error=error,
                                  ratelimit=ratelimit, metadata=target.metadata))


def run_crawl(registry_url: str, store: Union[BlobStore, StoreConfig, str], targets: Iterable[RepoTarget],
              *, records_root: Optional[str] = None, options: CrawlOptions = CrawlOptions(),
              credentials: Optional[CredentialSource] = None, progress: bool = False,
              run_id: Optional[str] = None) -> CrawlSummary:
    """Crawl ``targets`` from the registry at ``registry_url`` into ``store``; records go to ``records_root``.

    ``records_root`` defaults to the store's folder for a local store and is required for S3.
    Returns the summary; per-image failures are in the records, not raised.
    """
    if not isinstance(store, (StoreConfig, str)):
        blob_store = store
    else:
        blob_store = open_store(store)
    if records_root is None:
        if blob_store.config.url.startswith("s3://"):
            raise ValueError("an S3 store needs records_root (a local folder for the crawl records)")
        records_root = blob_store.config.url
    budget = Budget(options.max_wait_s)
    client = RegistryClient(registry_url, HttpClient(options.retry, pool_size=max(4, options.concurrency * 2),
                                                     budget=budget),
                            credentials)
    crawler = Crawler(client, blob_store, RecordLog(records_root, run_id, options.snapshot, options.shard and str(options.shard)),
                      options, records_root, progress)
    budget.on_wait = crawler.progress.countdown  # the wait for a rate-limit window shows on the bar
    return crawler.run(targets)
