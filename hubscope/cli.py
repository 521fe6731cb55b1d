"""The ``hubscope`` command: one subcommand per pipeline stage, plus ``demo`` for the whole chain.

Subcommands live beside the code they drive and are imported only when used, so ``hubscope crawl``
never pays for importing pyspark. This is the one place that configures logging and turns errors
into exit codes (``common.errors``: a ``HubscopeError`` exits 1 with its message, a usage error 2,
anything else is a bug and exits 70 with its traceback).
"""
from __future__ import annotations

import importlib
import logging

import click

from common.errors import EXIT_FAILED, EXIT_INTERNAL, HubscopeError
from common.logsetup import configure_logging, levels

log = logging.getLogger(__name__)

# name -> "module:attribute" of a click command
COMMANDS = {
    "crawl": "crawler.crawl_command:crawl",
    "ratelimit": "crawler.ratelimit_command:ratelimit_command",
    "scan": "jobs.scan:scan_command",
    "stats": "jobs.stats:stats_command",
    "report": "analyze.report_command:report_command",
    "demo": "hubscope.demo.pipeline:demo_command",
    "inspect": "hubscope.inspect_command:inspect_command",
    "trace": "hubscope.cli:trace_group",
    "whatif": "jobs.whatif:whatif_command",
}
# ``hubscope trace ...``: registry workload traces (characterize, generate, replay)
TRACE_COMMANDS = {
    "stats": "jobs.trace_stats:stats_command",
    "generate": "traces.cli:generate_command",
    "replay": "traces.cli:replay_group",
}


class LazyGroup(click.Group):
    """A click group that imports each subcommand's module on first use."""

    lazy_commands = COMMANDS

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(self.lazy_commands)

    def get_command(self, ctx: click.Context, name: str):
        target = self.lazy_commands.get(name)
        if target is None:
            return None
        module_name, attribute = target.split(":")
        return getattr(importlib.import_module(module_name), attribute)


class HubscopeGroup(LazyGroup):
    """The top group: runs a stage and maps what escapes it to the documented exit codes."""

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except (click.exceptions.ClickException, click.exceptions.Exit, click.exceptions.Abort):
            raise
        except HubscopeError as exc:
            click.echo(f"error ({exc.stage}): {exc}", err=True)
            ctx.exit(EXIT_FAILED)
        except Exception:
            log.exception("internal error (a bug in hubscope; please report it with this traceback)")
            ctx.exit(EXIT_INTERNAL)


@click.group(cls=HubscopeGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("-v", "--verbose", count=True, help="More log output (-v: hubscope debug lines, -vv: libraries too).")
@click.option("-q", "--quiet", is_flag=True, help="Only warnings and errors (no progress lines).")
@click.version_option(package_name="hubscope")
def main(verbose: int, quiet: bool) -> None:
    """hubscope: characterize container images at scale.

    Stages: crawl (registry -> blob store), scan (blobs -> Parquet tables), stats (tables -> result
    tables), report (results -> figures + HTML). `hubscope demo` runs all of them on sample images.
    """
    # hubscope's own progress lines (stages, retries, scan progress) show by default; libraries stay quiet.
    configure_logging(*levels(verbose, quiet))


class _TraceGroup(LazyGroup):
    lazy_commands = TRACE_COMMANDS


@click.group("trace", cls=_TraceGroup)
def trace_group() -> None:
    """Registry workload traces: stats (Spark job), generate (a synthetic trace), replay warmup|run (the trace player)."""


if __name__ == "__main__":
    main()
