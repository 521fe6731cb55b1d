"""``hubscope demo``: the whole chain on an embedded default, started and stopped by itself.

Starts a distribution registry on a free loopback port, builds the sample images from Debian
packages, pushes them with skopeo (OCI and Docker schema2), crawls, scans, computes statistics and
writes the report, then prints the report's path.
"""
from __future__ import annotations

import logging
import os
import time
from typing import Optional

import click

from hubscope.demo.localregistry import LocalRegistry, skopeo_copy
from hubscope.demo.sample_images import SAMPLE_IMAGES, layout_ref, write_sample_layout

log = logging.getLogger(__name__)


def _stage(name: str) -> None:
    log.info("==> %s", name)  # a progress line: shown by default, hidden by -q


def push_samples(registry_host: str, layout_dir: str, cache_dir: str) -> list[str]:
    """Build the sample layout and push every image; returns the ``repository:tag`` references pushed."""
    write_sample_layout(layout_dir, cache_dir)
    pushed = []
    for image in SAMPLE_IMAGES:
        extra = ["--format", "v2s2"] if image.docker_format else []
        skopeo_copy(f"oci:{layout_dir}:{layout_ref(image)}", f"docker://{registry_host}/{image.repository}:{image.tag}", extra)
        pushed.append(f"{image.repository}:{image.tag}")
    return pushed


def run_demo(workdir: str, master: str = "local[2]", deb_cache: Optional[str] = None) -> str:
    """Run every stage into ``workdir``; returns the path of the HTML report."""
    from analyze.report import render_report
    from crawler.crawl_command import crawl
    from jobs.scan import scan_command
    from jobs.stats import stats_command

    workdir = os.path.abspath(workdir)
    deb_cache = deb_cache or os.path.join(workdir, "debs")
    store, tables = os.path.join(workdir, "store"), os.path.join(workdir, "tables")
    results, report = os.path.join(workdir, "results"), os.path.join(workdir, "report")
    started = time.monotonic()
    with LocalRegistry(os.path.join(workdir, "registry")) as registry:
        _stage(f"registry on {registry.url}; building sample images from Debian packages")
        refs = push_samples(registry.host, os.path.join(workdir, "layout"), deb_cache)
        _stage(f"pushed {len(refs)} images; crawling")
        crawl.main(["--registry", registry.url, "--store", store, "--tags", "all", *sorted({r.split(':')[0] for r in refs})],
                   standalone_mode=False)
    _stage("scanning layers")
    scan_command.main(["--store", store, "--tables", tables, "--master", master], standalone_mode=False)
    _stage("computing statistics")
    stats_command.main(["--tables", tables, "--out", results, "--store", store], standalone_mode=False)
    _stage("writing the report")
    html = render_report(results, report)
    _stage(f"done in {time.monotonic() - started:.0f} s")
    return html


@click.command("demo")
@click.option("--workdir", default="hubscope-demo", show_default=True, type=click.Path(file_okay=False),
              help="Folder for the registry data, store, tables, results and report.")
@click.option("--master", default="local[2]", show_default=True, help="Spark master for the scan and stats jobs.")
@click.option("--deb-cache", default=None, type=click.Path(file_okay=False),
              help="Where downloaded .deb files are kept between runs (default: <workdir>/debs).")
def demo_command(workdir: str, master: str, deb_cache: Optional[str]) -> None:
    """Run the whole pipeline on sample images built from Debian packages, and print the report's path."""
    html = run_demo(workdir, master=master, deb_cache=deb_cache)
    click.echo(html)
