"""``hubscope trace generate`` and ``hubscope trace replay warmup|run``: the click commands of this stage."""
from __future__ import annotations

import logging

import click

log = logging.getLogger(__name__)


@click.command("generate")
@click.option("--out", "out_dir", required=True, type=click.Path(file_okay=False), help="Folder for the trace files.")
@click.option("--requests", default=10_000, show_default=True, type=click.IntRange(min=1), help="Requests to generate (about).")
@click.option("--seed", default=0, show_default=True, type=int, help="Same seed, same trace.")
@click.option("--repositories", default=200, show_default=True, type=click.IntRange(min=1))
@click.option("--clients", default=100, show_default=True, type=click.IntRange(min=1))
@click.option("--days", default=1.0, show_default=True, type=click.FloatRange(min=0.001), help="Time the trace spans.")
@click.option("--max-layer-bytes", default=2 * 10**9, show_default=True, type=click.IntRange(min=1),
              help="Clip layer sizes (keep small to replay on a laptop; the published shape needs the default).")
@click.option("--name", default="gen", show_default=True, help="Registry name in the file names (synthetic-NAME-logstash-...).")
def generate_command(out_dir, requests, seed, repositories, clients, days, max_layer_bytes, name) -> None:
    """Write a SYNTHETIC trace in the published format and shape (sizes, skew, PUT->GET) from a seed."""
    from traces.generate import GeneratorOptions, write_trace

    options = GeneratorOptions(seed=seed, requests=requests, repositories=repositories, clients=clients,
                               duration_s=days * 86400, max_layer_bytes=max(max_layer_bytes, 1),
                               min_layer_bytes=min(128, max_layer_bytes), name=name)
    for path in write_trace(out_dir, options):
        click.echo(path)


def _records(paths: tuple[str, ...]) -> list:
    from common.traces import read_trace, trace_files

    files = trace_files(list(paths))
    if not files:
        raise click.UsageError(f"no trace files in {', '.join(paths)}")
    return [rec for f in files for rec in read_trace(f)]


def _guard(registries: tuple[str, ...], allow_remote: bool) -> None:
    from traces.client import check_loopback

    for url in registries:
        try:
            check_loopback(url, allow_remote)
        except ValueError as exc:
            raise click.UsageError(str(exc))


_trace_option = click.option("--trace", "paths", required=True, multiple=True, type=click.Path(exists=True),
                             help="Trace file or folder (repeatable).")
_registry_option = click.option("--registry", "registries", multiple=True,
                                help="Registry URL, e.g. http://127.0.0.1:5000 (repeatable; loopback only unless --allow-remote).")
_remote_option = click.option("--allow-remote", is_flag=True, help="Allow registries that are not on this machine.")


@click.group("replay")
def replay_group() -> None:
    """The trace player: warmup (push a blob per GET target), then run (replay the requests)."""


@replay_group.command("warmup")
@_trace_option
@_registry_option
@click.option("--map", "map_path", required=True, type=click.Path(dir_okay=False), help="Where to write the URI -> digest map.")
@click.option("--content", type=click.Choice(["random", "zeros", "realblobs"]), default="random", show_default=True,
              help="Blob bytes: seeded random, zeros, or real layers of about the traced size from --blob-store.")
@click.option("--blob-store", type=click.Path(exists=True, file_okay=False), help="A local hubscope store for --content realblobs.")
@click.option("--max-requests", default=100_000, show_default=True, type=click.IntRange(min=1), help="Trace requests read (the first).")
@click.option("--max-seconds", default=600.0, show_default=True, type=click.FloatRange(min=0), help="Stop pushing after this long.")
@click.option("--max-blob-bytes", default=256 * 1024 * 1024, show_default=True, type=click.IntRange(min=1),
              help="Skip (and list) targets larger than this.")
@click.option("--threads", default=4, show_default=True, type=click.IntRange(1, 64))
@_remote_option
def warmup_command(paths, registries, map_path, content, blob_store, max_requests, max_seconds, max_blob_bytes, threads,
                   allow_remote) -> None:
    """Push one blob of the traced size for each distinct GET target to every registry; write the map."""
    from traces.warmup import WarmupOptions, warmup, write_map

    if not registries:
        raise click.UsageError("give at least one --registry")
    if content == "realblobs" and not blob_store:
        raise click.UsageError("--content realblobs needs --blob-store")
    _guard(registries, allow_remote)
    options = WarmupOptions(content=content, blob_store=blob_store, max_requests=max_requests, max_seconds=max_seconds,
                            max_blob_bytes=max_blob_bytes, threads=threads, allow_remote=allow_remote)
    warm = warmup(_records(paths), list(registries), options)
    write_map(warm, map_path)
    click.echo(f"{len(warm['blobs'])} blobs pushed, {len(warm['skipped'])} skipped; map in {map_path}")


@replay_group.command("run")
@_trace_option
@_registry_option
@click.option("--map", "map_path", required=True, type=click.Path(exists=True, dir_okay=False), help="The map warmup wrote.")
@click.option("--concurrency", default=8, show_default=True, type=click.IntRange(1, 256), help="Requests in flight at most.")
@click.option("--wait/--fast", default=False, show_default=True, help="Keep the trace's gaps (scaled) or go as fast as possible.")
@click.option("--time-scale", default=1.0, show_default=True, type=click.FloatRange(min=0.001), help="With --wait: gaps divided by this.")
@click.option("--max-requests", default=10_000, show_default=True, type=click.IntRange(min=1), help="Requests replayed at most.")
@click.option("--max-seconds", default=300.0, show_default=True, type=click.FloatRange(min=0), help="Stop sending after this long.")
@click.option("--out", "out_path", type=click.Path(dir_okay=False), help="Write one JSON line per request here.")
@_remote_option
def run_command(paths, registries, map_path, concurrency, wait, time_scale, max_requests, max_seconds, out_path, allow_remote) -> None:
    """Replay the trace against the registries (default: the warmup's); print throughput, latency, errors as JSON."""
    import json

    from traces.replay import ReplayOptions, plan, run, summarize, write_outcomes
    from traces.warmup import read_map

    warm = read_map(map_path)
    registries = tuple(registries) or tuple(warm["registries"])
    _guard(registries, allow_remote)
    planned, missing = plan(_records(paths), warm, list(registries), max_requests)
    options = ReplayOptions(concurrency=concurrency, wait=wait, time_scale=time_scale, max_requests=max_requests,
                            max_seconds=max_seconds, allow_remote=allow_remote)
    outcomes, not_sent = run(planned, warm["repository"], options)
    if out_path:
        write_outcomes(outcomes, out_path)
    click.echo(json.dumps(summarize(outcomes, not_sent, missing), indent=1, sort_keys=True))
