"""The ``hubscope`` command: one subcommand per pipeline stage, plus ``demo`` for the whole chain.

Subcommands live beside the code they drive and are imported only when used, so ``hubscope crawl``
never pays for importing pyspark.
"""
from __future__ import annotations

import importlib
import logging

import click

# name -> "module:attribute" of a click command
COMMANDS = {
    "crawl": "crawler.cli:crawl",
    "scan": "jobs.scan:scan_command",
    "stats": "analyze.cli:stats_command",
    "report": "analyze.cli:report_command",
    "demo": "jobs.demo:demo_command",
}


class LazyGroup(click.Group):
    """A click group that imports each subcommand's module on first use."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, name: str):
        target = COMMANDS.get(name)
        if target is None:
            return None
        module_name, attribute = target.split(":")
        return getattr(importlib.import_module(module_name), attribute)


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("-v", "--verbose", count=True, help="More log output (-v info, -vv debug).")
@click.version_option(package_name="hubscope")
def main(verbose: int) -> None:
    """hubscope: characterize container images at scale.

    Stages: crawl (registry -> blob store), scan (blobs -> Parquet tables), stats (tables -> result
    tables), report (results -> figures + HTML). `hubscope demo` runs all of them on sample images.
    """
    level = logging.WARNING if verbose == 0 else logging.INFO if verbose == 1 else logging.DEBUG
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    for noisy in ("py4j", "urllib3", "botocore", "matplotlib"):
        logging.getLogger(noisy).setLevel(max(level, logging.WARNING))


if __name__ == "__main__":
    main()
