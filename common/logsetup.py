"""The one logging setup: only entry points (the ``hubscope`` command, spark-submit and ``python -m`` mains) call it.

Library modules only ``logging.getLogger(__name__)``; hubscope's own packages get ``ours`` (progress
lines show by default), everything else (py4j, urllib3, botocore ...) ``theirs``.
"""
from __future__ import annotations

import logging

PACKAGES = ("common", "crawler", "traces", "jobs", "analyze", "hubscope")
FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def levels(verbose: int = 0, quiet: bool = False) -> tuple[int, int]:
    """``(ours, theirs)`` for ``-v`` counts and ``-q``: -v shows hubscope's debug lines, -vv the libraries' too."""
    ours = logging.WARNING if quiet else logging.INFO if verbose == 0 else logging.DEBUG
    theirs = logging.WARNING if verbose < 2 else logging.DEBUG
    return ours, theirs


def configure_logging(ours: int | str = logging.INFO, theirs: int | str = logging.WARNING) -> None:
    """Log to stderr: hubscope's packages at ``ours``, the root (libraries) at ``theirs``."""
    logging.basicConfig(level=theirs, format=FORMAT, datefmt="%H:%M:%S")
    for package in PACKAGES:
        logging.getLogger(package).setLevel(ours)
