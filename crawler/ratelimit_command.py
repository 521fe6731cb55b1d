"""``hubscope ratelimit``: the registry's current pull budget, asked with a HEAD (which Docker Hub does not count).

In the spirit of ``regctl image ratelimit``: Docker Hub answers a manifest HEAD with the same
``ratelimit-limit`` / ``ratelimit-remaining`` headers as a GET, so the budget can be read without
spending it. ``ratelimitpreview/test`` is the repository Docker documents for this check.
"""
from __future__ import annotations

from typing import Optional

import click

from crawler.auth import default_credentials
from crawler.http import HttpClient
from crawler.ratelimit import read_budget

HUB_CHECK = "ratelimitpreview/test:latest"


def budget_line(headers) -> str:
    """One line for a response's budget headers."""
    reading = read_budget(headers)
    if reading is None:
        return "no rate-limit headers: this registry does not announce a budget (or this account is unlimited)"
    window = f"window {reading.window_s:g} s" if reading.window_s is not None else "no window given"
    return f"limit {reading.limit}, remaining {reading.remaining} ({window})"


@click.command("ratelimit", context_settings={"help_option_names": ["-h", "--help"]})
@click.argument("image", default=HUB_CHECK, metavar="[REPO:TAG]")
@click.option("--registry", default="https://registry-1.docker.io", show_default=True, envvar="HUBSCOPE_REGISTRY",
              help="Registry base URL.")
@click.option("--username", envvar="HUBSCOPE_REGISTRY_USER", default=None, help="Registry user (budgets are per account).")
@click.option("--password", envvar="HUBSCOPE_REGISTRY_PASSWORD", default=None, help="Registry password.")
@click.option("--docker-config", type=click.Path(dir_okay=False), default=None, help="Docker config.json for credentials.")
def ratelimit_command(image: str, registry: str, username: Optional[str], password: Optional[str],
                      docker_config: Optional[str]) -> None:
    """Print the pull budget: limit, what remains, and the window, from one manifest HEAD."""
    from crawler.crawl_command import _registry_url
    from crawler.registry import RegistryClient

    repository, _, tag = image.rpartition(":") if ":" in image.split("/")[-1] else (image, "", "latest")
    client = RegistryClient(_registry_url(registry), HttpClient(), default_credentials(username, password, docker_config))
    try:
        client.head_manifest(repository, tag or "latest")
    except Exception as exc:
        raise click.ClickException(f"HEAD {repository}:{tag}: {type(exc).__name__}: {exc}") from exc
    seen = client.http.ratelimit
    headers = {k: v for k, v in (("ratelimit-limit", seen.limit), ("ratelimit-remaining", seen.remaining)) if v is not None}
    click.echo(f"{client.host}: {budget_line(headers)}")
