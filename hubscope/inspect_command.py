"""``hubscope inspect REF|ARCHIVE|LAYOUT``: one image as a table or one JSON document, with dive-style CI gates."""
from __future__ import annotations

import json
import logging
from typing import Optional

import click

from common.units import human_bytes, percent

log = logging.getLogger(__name__)

EXIT_CHECK_FAILED = 3  # a --fail-on-* gate failed (the image was inspected; README "Exit codes")


def render_text(report: dict) -> str:
    """The report as aligned console tables."""
    img, tot, dive, dup = report["image"], report["totals"], report["dive"], report["duplicates"]
    lines = [f"image {img['repository']}:{img['tag']} ({img['source']}, {img['platform'] or 'unknown platform'})",
             f"  {img['manifest_digest']}", ""]
    if img["status"] != "ok":
        return "\n".join(lines + [f"could not fetch the image: {img['error']}"])
    lines.append(f"{'#':>2}  {'compressed':>11}  {'uncompressed':>12}  {'files':>7}  layer / command")
    for layer in report["layers"]:
        what = (layer["created_by"] or layer["digest"])[:70]
        if layer["status"] != "ok":
            what = f"ERROR {layer['error']}: {what}"
        lines.append(f"{layer['index']:>2}  {human_bytes(layer['compressed_bytes']):>11}  "
                     f"{human_bytes(layer['uncompressed_bytes']):>12}  {layer['files']:>7,}  {what}")
    lines += ["", f"total: {tot['layers']} layers, {human_bytes(tot['compressed_bytes'])} compressed, "
              f"{human_bytes(tot['uncompressed_bytes'])} uncompressed, {tot['files']:,} files "
              f"({human_bytes(tot['file_bytes'])})", "", "file types (regular files):"]
    for t in report["file_types"]:
        lines.append(f"  {t['type_class']:<12} {t['files']:>7,} files  {human_bytes(t['bytes']):>11}")
    lines += ["", f"duplicates: {dup['contents']:,} contents stored more than once; {dup['extra_copies']:,} extra copies, "
              f"{human_bytes(dup['extra_bytes'])}",
              f"dive: efficiency {percent(dive['efficiency'], 2)}, wasted {human_bytes(dive['wasted_bytes'])} "
              f"({percent(dive['wasted_user_percent'])} of the {human_bytes(dive['user_bytes'])} above the base layer)"]
    for w in dive["inefficient_paths"]:
        lines.append(f"  {w['count']:>3} layers  {human_bytes(w['cumulative_bytes']):>11}  {w['path']}")
    if report["package_ecosystems"]:
        lines += ["", "packages: " + ", ".join(f"{e['ecosystem']} {e['packages']:,} ({human_bytes(e['bytes'])})"
                                              for e in report["package_ecosystems"])]
        for p in sorted(report["packages"], key=lambda p: -(p["bytes"] or 0))[:report.get("top", 10)]:
            lines.append(f"  {human_bytes(p['bytes']):>11}  {p['ecosystem']:<6} {p['name']} {p['version'] or ''}")
    lines += ["", "largest files:"]
    for f in report["largest_files"]:
        lines.append(f"  {human_bytes(f['bytes']):>11}  layer {f['layer_index']}  {f['path']}")
    return "\n".join(lines)


@click.command("inspect", context_settings={"help_option_names": ["-h", "--help"]})
@click.argument("image", metavar="REF|ARCHIVE|LAYOUT")
@click.option("--registry", default=None, envvar="HUBSCOPE_REGISTRY",
              help="Registry base URL for a REF (e.g. http://127.0.0.1:5000); default Docker Hub.")
@click.option("--platform", default=None, metavar="OS/ARCH[/VARIANT]", help="Platform of a multi-platform image (default linux/amd64).")
@click.option("--no-magic", is_flag=True, help="Skip libmagic typing (file types then 'unknown').")
@click.option("--top", default=10, show_default=True, type=click.IntRange(min=0), help="Largest files and inefficient paths shown.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON document (schema hubscope.inspect/v1).")
@click.option("--fail-on-efficiency", type=click.FloatRange(0, 1), default=None, metavar="RATIO",
              help=f"Exit {EXIT_CHECK_FAILED} when dive's efficiency is below RATIO (dive --ci's lowestEfficiency, e.g. 0.9).")
@click.option("--fail-on-waste", type=click.IntRange(min=0), default=None, metavar="BYTES",
              help=f"Exit {EXIT_CHECK_FAILED} when dive's wasted bytes exceed BYTES (dive --ci's highestWastedBytes).")
def inspect_command(image: str, registry: Optional[str], platform: Optional[str], no_magic: bool, top: int,
                    as_json: bool, fail_on_efficiency: Optional[float], fail_on_waste: Optional[int]) -> None:
    """One image without Spark: layers, sizes, file types, duplicates, dive efficiency and waste, largest files.

    IMAGE is a reference in --registry (repo[:tag]), a `docker save` archive, or an OCI layout folder.
    """
    from crawler.crawl_command import _registry_url
    from crawler.manifest import Platform
    from hubscope.inspect_image import Source, ci_failures, inspect

    source = Source.detect(image, None)
    url = _registry_url(registry or "https://registry-1.docker.io") if source.kind == "registry" else None
    try:
        wanted = Platform.parse(platform) if platform else None
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--platform") from exc
    report = inspect(image, url, typed=not no_magic, platform=wanted, top=top)
    if report["image"]["status"] != "ok":
        raise click.ClickException(f"could not fetch {image}: {report['image']['error']}")
    failures = ci_failures(report, fail_on_efficiency, fail_on_waste)
    report["checks"] = {"failed": failures, "passed": not failures}
    click.echo(json.dumps(report, indent=2) if as_json else render_text(report))
    if failures:
        for failure in failures:
            click.echo(f"FAIL: {failure}", err=True)
        raise SystemExit(EXIT_CHECK_FAILED)
