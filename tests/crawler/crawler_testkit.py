"""Constants and helpers the crawler tests import (conftest.py is not importable by name across test folders)."""
from __future__ import annotations

import base64
import shutil

import pytest

from crawler.crawl import CrawlOptions
from crawler.http import RetryPolicy

USER, PASSWORD = "crawler", "s3cret-pass"
CREDS = f"{USER}:{PASSWORD}"
# Quick retries so fault tests take seconds; Retry-After still wins over the short backoff.
FAST_RETRY = RetryPolicy(backoff_base_s=0.05, backoff_max_s=0.5, read_timeout_s=20)


def fast_options(**kw) -> CrawlOptions:
    return CrawlOptions(retry=FAST_RETRY, **kw)


def require(binary: str, package: str) -> None:
    if shutil.which(binary) is None:
        pytest.fail(f"{binary!r} not found: apt-get install {package}")


def basic_header(user: str = USER, password: str = PASSWORD) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()
