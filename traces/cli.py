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
