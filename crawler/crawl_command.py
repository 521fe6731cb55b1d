"""``hubscope crawl``: registry (and local sources) -> content-addressed blob store + crawl records.

Exit code 0 when the crawl ran, even if some images failed (they are in the records and the
summary line); 1 when nothing could be done (registry unreachable, every image failed); 2 for
usage errors.
"""
from __future__ import annotations

import dataclasses
import logging
import os
import socket
import sys
import urllib.parse
from typing import Iterator, Optional

import click

from crawler.auth import default_credentials
from crawler.crawl import CrawlOptions, CrawlSummary, RepoTarget, parse_target, run_crawl
from crawler.http import HttpClient, RetryPolicy
from crawler.manifest import Platform
from common.records import RecordLog, check_snapshot_name, utc_date
from crawler.redact import has_userinfo, redact
from crawler.shards import Shard, shard_credentials
from crawler.reference import normalize_registry
from common.storage import StoreConfig, new_run_id
from common.stores import open_store

log = logging.getLogger(__name__)

SWEEP_QUERIES = tuple("abcdefghijklmnopqrstuvwxyz0123456789")


def _platform(ctx, param, values) -> tuple[Platform, ...]:
    try:
        return tuple(Platform.parse(v) for v in values)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from exc


def _tags(ctx, param, value: str) -> str:
    if value in ("latest", "all") or (value.isdigit() and int(value) > 0):
        return value
    raise click.BadParameter("use 'latest', 'all' or a positive number N (the N most recent)")


DOCKER_HUB_REGISTRY = "registry-1.docker.io"


def _snapshot(ctx, param, value: Optional[str]) -> Optional[str]:
    try:
        return check_snapshot_name(value) if value is not None else None
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from exc


def _shard(ctx, param, value: Optional[str]) -> Optional[Shard]:
    try:
        return Shard.parse(value) if value is not None else None
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from exc


def _registry_url(value: str) -> str:
    """The registry's base URL; only Docker Hub's names may omit the scheme (https is assumed)."""
    if has_userinfo(value):  # never echo the value: it holds a password
        raise click.UsageError("--registry must not contain credentials (user:password@); use --username and "
                               "--password, HUBSCOPE_REGISTRY_USER / HUBSCOPE_REGISTRY_PASSWORD, or the docker "
                               "config (--docker-config)")
    if "://" not in value:
        if normalize_registry(value) != DOCKER_HUB_REGISTRY:
            # https against a plain-HTTP registry retried for ~20 s and ended in an SSL WRONG_VERSION_NUMBER
            raise click.UsageError(f"--registry {value} has no scheme: use http://{value} for a plain-HTTP registry "
                                   f"(e.g. a local one) or https://{value}")
        value = "https://" + normalize_registry(value)
    scheme, _, host = value.partition("://")
    if scheme not in ("http", "https"):
        raise click.UsageError(f"--registry {value}: the scheme must be http:// or https://")
    return f"{scheme}://{normalize_registry(host)}"


def _check_listening(url: str) -> None:
    """One TCP connect before crawling: a refused connection fails now, not after every retry (~20 s).

    Only a refusal is final here; a name that does not resolve or a timeout goes on to the crawl's
    own retries and per-image records.
    """
    parts = urllib.parse.urlsplit(url)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        socket.create_connection((parts.hostname, port), timeout=10).close()
    except ConnectionRefusedError:
        raise click.ClickException(f"cannot connect to {url}: connection refused (is a registry listening on "
                                   f"{parts.hostname}:{port}? check --registry)") from None
    except OSError:
        pass


@click.command("crawl", context_settings={"help_option_names": ["-h", "--help"]})
@click.argument("repos", nargs=-1, metavar="[REPO[:TAG]]...")
@click.option("--registry", "registry", default="https://registry-1.docker.io", show_default=True,
              envvar="HUBSCOPE_REGISTRY", help="Registry base URL (docker.io is normalised to registry-1.docker.io).")
@click.option("--store", required=True, help="Blob store: a local folder or s3://bucket/prefix.")
@click.option("--records", "records_dir", default=None,
              help="Folder for crawl records (default: the store folder; required for S3 stores).")
@click.option("--repos-file", type=click.Path(exists=True, dir_okay=False), multiple=True,
              help="Text file of REPO[:TAG] lines (# comments allowed).")
@click.option("--catalog", is_flag=True, help="Crawl every repository listed by the registry's /v2/_catalog.")
@click.option("--hub-search", multiple=True, metavar="QUERY", help="Repositories from Docker Hub search v4.")
@click.option("--hub-sweep", is_flag=True,
              help="Search sweep: one Hub search per letter and digit (one query's results are capped); "
                   "repositories found by several queries are crawled once.")
@click.option("--hub-namespace", multiple=True, metavar="NS",
              help="Every repository of a Docker Hub namespace (keeps pull/star counts as metadata).")
@click.option("--hub-limit", type=click.IntRange(min=1), default=None, help="At most this many search results per query.")
@click.option("--hub-url", default="https://hub.docker.com", envvar="HUBSCOPE_HUB_URL", show_default=True,
              help="Docker Hub API base (search, namespace and tag listing).")
@click.option("--tags", default="latest", callback=_tags, show_default=True,
              help="Which tags: latest, all, or N (the N most recent; see --recent-by).")
@click.option("--recent-by", type=click.Choice(["auto", "hub", "config"]), default="auto", show_default=True,
              help="For --tags N: rank tags by Docker Hub's last_updated (hub) or by image creation (config); "
                   "auto = hub on Docker Hub.")
@click.option("--platform", "platforms", multiple=True, callback=_platform, metavar="OS/ARCH[/VARIANT]",
              help="Platform to fetch from multi-platform images (repeatable; default linux/amd64).")
@click.option("--all-platforms", is_flag=True, help="Fetch every platform (attestations are always skipped).")
@click.option("--concurrency", type=click.IntRange(1, 256), default=4, show_default=True,
              help="Parallel requests against the registry.")
@click.option("--attempts", type=click.IntRange(1, 50), default=RetryPolicy().max_attempts, show_default=True,
              help="Attempts per request on connection errors, 408, 429 and 5xx (backoff with jitter between).")
@click.option("--username", envvar="HUBSCOPE_REGISTRY_USER", default=None, help="Registry user (or env HUBSCOPE_REGISTRY_USER).")
@click.option("--password", envvar="HUBSCOPE_REGISTRY_PASSWORD", default=None,
              help="Registry password (or env HUBSCOPE_REGISTRY_PASSWORD).")
@click.option("--docker-config", type=click.Path(dir_okay=False), default=None,
              help="Docker config.json for credentials (default ~/.docker/config.json; credential helpers honoured).")
@click.option("--s3-endpoint", envvar="HUBSCOPE_S3_ENDPOINT", default=None, help="S3 endpoint URL (MinIO, moto, ...).")
@click.option("--s3-region", envvar="AWS_DEFAULT_REGION", default=None, help="S3 region.")
@click.option("--s3-access-key", envvar="AWS_ACCESS_KEY_ID", default=None, help="S3 access key.")
@click.option("--s3-secret-key", envvar="AWS_SECRET_ACCESS_KEY", default=None, help="S3 secret key.")
@click.option("--docker-archive", "archives", multiple=True, type=click.Path(exists=True, dir_okay=False),
              help="Import a `docker save` tarball (legacy or Docker 25+ format).")
@click.option("--oci-layout", "layouts", multiple=True, type=click.Path(exists=True, file_okay=False),
              help="Import an OCI image layout folder.")
@click.option("--docker-daemon", is_flag=True, help="Import images from the local Docker daemon (DOCKER_HOST).")
@click.option("--docker-host", default=None, help="Docker daemon URL (default: DOCKER_HOST).")
@click.option("--daemon-image", multiple=True, help="Only these daemon images (default: every tagged image).")
@click.option("--no-resume", is_flag=True, help="Fetch manifests again even for items already crawled.")
@click.option("--progress/--no-progress", default=None, help="Progress bar on stderr (default: when a terminal).")
@click.option("--run-id", default=None, help="Name of this run's record file (default: a new id).")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON document (schema hubscope.crawl/v1) instead of the summary line.")
@click.option("--max-wait", "max_wait", type=click.FloatRange(min=0), default=None, metavar="SECONDS",
              help="Wait at most this long in all for rate-limit windows (default: as long as the registry says); "
                   "past it, the remaining items are recorded rate_limited and a rerun fetches them.")
@click.option("--snapshot", default=None, callback=_snapshot, metavar="NAME",
              help="Snapshot this run belongs to (default: today's UTC date); each snapshot keeps its own tag -> digest records.")
@click.option("--shard", default=None, callback=_shard, metavar="I/N",
              help="Take only shard I of N of the repositories (stable hash of the name); "
                   "credentials from HUBSCOPE_REGISTRY_USER / HUBSCOPE_REGISTRY_PASSWORD with _I appended, when set.")
def crawl(repos, registry, store, records_dir, repos_file, catalog, hub_search, hub_namespace, hub_limit, hub_url,
          tags, recent_by, platforms, all_platforms, concurrency, attempts, username, password, docker_config, s3_endpoint, s3_region,
          s3_access_key, s3_secret_key, archives, layouts, docker_daemon, docker_host, daemon_image, no_resume,
          progress, run_id, as_json, max_wait, snapshot, shard, hub_sweep) -> None:
    """Fetch images into a verified, content-addressed blob store and append one record per image.

    Repositories come from REPO[:TAG] arguments, --repos-file, --catalog, --hub-search and
    --hub-namespace; local images from --docker-archive, --oci-layout and --docker-daemon. A rerun
    does only what is missing.
    """
    if platforms and all_platforms:
        raise click.UsageError("--platform and --all-platforms exclude each other")
    has_registry = bool(repos or repos_file or catalog or hub_search or hub_namespace or hub_sweep)
    if not has_registry and not (archives or layouts or docker_daemon):
        raise click.UsageError("nothing to crawl: give REPO[:TAG], --repos-file, --catalog, --hub-search, "
                               "--hub-namespace, --docker-archive, --oci-layout or --docker-daemon")
    url = _registry_url(registry)  # before the store is created: a typo must not leave an empty store behind
    config = StoreConfig(store, s3_endpoint=s3_endpoint, s3_region=s3_region, s3_access_key=s3_access_key,
                         s3_secret_key=s3_secret_key)
    if store.startswith("s3://") and not records_dir:
        raise click.UsageError("an s3:// store needs --records DIR (a local folder for the crawl records)")
    records_root = records_dir or store
    run_id = run_id or new_run_id()
    try:
        blob_store = open_store(config)
        if store.startswith("s3://"):
            blob_store.ensure_bucket()
    except Exception as exc:
        raise click.ClickException(f"cannot open store {store}: {type(exc).__name__}: {redact(exc)}") from exc
    host = url.split("://", 1)[1]
    try:
        pinned = [parse_target(text, host) for text in repos]
    except ValueError as exc:
        raise click.UsageError(str(exc)) from exc
    options = CrawlOptions(tags=tags, platforms=None if all_platforms else (platforms or CrawlOptions().platforms),
                           concurrency=concurrency, resume=not no_resume,
                           retry=dataclasses.replace(RetryPolicy(), max_attempts=attempts), recent_by=recent_by,
                           hub_api=hub_url, snapshot=snapshot, shard=shard, max_wait_s=max_wait)
    shard_user, shard_password = shard_credentials(shard)
    if shard_user:
        username, password = shard_user, shard_password
    credentials = default_credentials(username, password, docker_config)
    # by default on a terminal, and not under -q (which lowers hubscope's loggers to warnings)
    show_progress = (sys.stderr.isatty() and log.isEnabledFor(logging.INFO)) if progress is None else progress
    summaries: list[CrawlSummary] = []
    if archives or layouts or docker_daemon:
        summaries.append(_import_local(blob_store, records_root, run_id, options, archives,
                                       layouts, docker_daemon, docker_host, daemon_image))
    if has_registry:
        _check_listening(url)
        queries = tuple(hub_search) + (SWEEP_QUERIES if hub_sweep else ())
        targets = _targets(url, host, pinned, repos_file, catalog, queries, hub_namespace, hub_limit, hub_url,
                           credentials, records_root, snapshot or utc_date(), shard)
        try:
            summaries.append(run_crawl(url, blob_store, targets, records_root=records_root, options=options,
                                       credentials=credentials, progress=show_progress, run_id=run_id))
        except Exception as exc:
            raise click.ClickException(f"crawl of {url} failed: {type(exc).__name__}: {redact(exc)}") from exc
    total = CrawlSummary.combine(summaries)
    for problem in total.listing_errors:
        click.echo(f"warning: repository listing stopped early: {redact(problem)}", err=True)
    if as_json:
        from common.jsonout import document

        click.echo(document("crawl", {"registry": url if has_registry else None, "store": store,
                                      "images": total.images, **dataclasses.asdict(total)}))
    else:
        click.echo(total.line())
        click.echo(f"records: {total.records_path}")
    if total.images_ok + total.images_skipped == 0:
        raise SystemExit(1)  # nothing could be done


def _targets(url, host, repos, repos_files, catalog, hub_search, hub_namespace, hub_limit, hub_url,
             credentials, records_root=None, snapshot=None, shard=None) -> Iterator[RepoTarget]:
    """Every target once (a search sweep's queries overlap); listings checkpoint their pages in the records."""
    from crawler.listings import ListingCheckpoint, dedup

    return dedup(_all_targets(url, host, repos, repos_files, catalog, hub_search, hub_namespace, hub_limit, hub_url,
                              credentials, lambda key: ListingCheckpoint(records_root, f"{key} shard={shard}", snapshot)
                              if records_root else None))


def _all_targets(url, host, repos, repos_files, catalog, hub_search, hub_namespace, hub_limit, hub_url,
                 credentials, checkpoint) -> Iterator[RepoTarget]:
    from crawler import repo_listing as sources
    from crawler.registry import RegistryClient

    yield from repos
    for path in repos_files:
        yield from sources.repos_file(path, host)
    http = HttpClient()
    for query in hub_search:
        yield from sources.hub_search(query, http, hub_url, hub_limit, registry=host,
                                      checkpoint=checkpoint(f"hub-search {hub_url} {query!r} limit={hub_limit}"))
    for namespace in hub_namespace:
        yield from sources.hub_namespace(namespace, http, hub_url, registry=host,
                                         checkpoint=checkpoint(f"hub-namespace {hub_url} {namespace}"))
    if catalog:
        yield from sources.catalog(RegistryClient(url, http, credentials), checkpoint=checkpoint(f"catalog {url}"))


def _import_local(blob_store, records_root, run_id, options, archives, layouts, docker_daemon, docker_host,
                  daemon_images) -> CrawlSummary:
    from crawler.local_import import LocalImporter, LocalSourceError

    importer = LocalImporter(blob_store, RecordLog(records_root, run_id, options.snapshot),
                             options.platforms)
    records = []
    for path in archives:  # one bad archive is its own recorded error; the ones after it are still imported
        records += importer.import_docker_archive_recorded(path).records
    try:
        for path in layouts:
            records += importer.import_oci_layout(path).records
        if docker_daemon:
            records += importer.import_docker_daemon(docker_host, daemon_images).records
    except LocalSourceError as exc:
        raise click.ClickException(str(exc)) from exc
    except Exception as exc:
        raise click.ClickException(f"local import failed: {type(exc).__name__}: {redact(exc)}") from exc
    ok = sum(r.status == "ok" for r in records)
    not_images = sum(r.status == "not_an_image" for r in records)
    counts = importer.ledger.counts()
    return CrawlSummary(ok, len(records) - ok - not_images, 0, counts.downloaded, counts.downloaded_bytes,
                        counts.present, importer.log.path, (), not_images)


def main(argv: Optional[list[str]] = None) -> None:
    """Run ``crawl`` standalone (``python -m crawler.crawl_command``), with logging configured here."""
    from common.logsetup import configure_logging
    from common.settings import Settings

    level = Settings.load().log_level
    configure_logging(level, level)
    crawl.main(args=argv, prog_name="hubscope crawl")


if __name__ == "__main__":
    main()
