"""Resumable listings: a listing killed mid-way resumes from its checkpoint (pages counted), sweeps dedup."""
from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import pytest

from crawler import repo_listing as sources
from crawler.crawl_command import _targets
from crawler.http import HttpClient
from common.listings import ListingCheckpoint, listing_totals
from crawler.registry import RegistryClient
from hubscope.demo.localregistry import LocalRegistry
from snapshots_kit import build_images, push

SEARCH = {"a": [f"team{i % 7}/app{i}" for i in range(250)], "b": [f"team{i % 7}/app{i}" for i in range(200, 320)]}


class HubPages:
    """Docker Hub's search v4 and namespace listing as paged JSON; counts the pages it serves."""

    def __init__(self) -> None:
        self.pages: list[str] = []
        hub = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:
                pass

            def do_GET(self) -> None:
                url = urlsplit(self.path)
                q = {k: v[0] for k, v in parse_qs(url.query).items()}
                hub.pages.append(self.path)
                if url.path == "/api/search/v4":
                    names, start, size = SEARCH[q["query"]], int(q["from"]), int(q["size"])
                    body = {"total": len(names), "results": [{"slug": n, "star_count": 1} for n in names[start:start + size]]}
                else:  # /v2/repositories/NS/?page_size=100&page=K
                    names = [f"app{i}" for i in range(230)]
                    page, size = int(q["page"]), int(q["page_size"])
                    chunk = names[(page - 1) * size: page * size]
                    nxt = f"{url.path}?page_size={size}&page={page + 1}" if page * size < len(names) else None
                    body = {"count": len(names), "next": nxt, "results": [{"name": n, "namespace": "team"} for n in chunk]}
                data = json.dumps(body).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def hub():
    server = HubPages()
    yield server
    server.stop()


def _take(iterator, n):
    out = [next(iterator) for _ in range(n)]
    iterator.close()  # the listing is killed here
    return out


def test_search_killed_mid_way_resumes_from_its_checkpoint(hub, tmp_path):
    checkpoint = lambda: ListingCheckpoint(str(tmp_path), "hub-search a", "S1")  # noqa: E731
    first = _take(sources.hub_search("a", HttpClient(), hub.url, registry="docker.io", checkpoint=checkpoint()), 150)
    assert len(hub.pages) == 2  # pages 1 and 2 fetched (100 + 100 results), the kill came in page 2
    again = list(sources.hub_search("a", HttpClient(), hub.url, registry="docker.io", checkpoint=checkpoint()))
    assert len(hub.pages) == 3  # only page 3 was asked again
    assert [t.repository for t in again] == SEARCH["a"] and [t.repository for t in first] == SEARCH["a"][:150]
    assert again[0].metadata["star_count"] == 1  # listing metadata survives the checkpoint
    list(sources.hub_search("a", HttpClient(), hub.url, registry="docker.io", checkpoint=checkpoint()))
    assert len(hub.pages) == 3  # a finished listing is replayed without requests
    list(sources.hub_search("a", HttpClient(), hub.url, registry="docker.io",
                            checkpoint=ListingCheckpoint(str(tmp_path), "hub-search a", "S2")))
    assert len(hub.pages) == 6  # a new snapshot lists afresh


def test_namespace_resumes_and_totals_make_the_count_curve(hub, tmp_path):
    checkpoint = lambda: ListingCheckpoint(str(tmp_path), "hub-namespace team", "S1")  # noqa: E731
    _take(sources.hub_namespace("team", HttpClient(), hub.url, registry="docker.io", checkpoint=checkpoint()), 5)
    assert len(hub.pages) == 1
    names = [t.repository for t in sources.hub_namespace("team", HttpClient(), hub.url, registry="docker.io",
                                                         checkpoint=checkpoint())]
    assert len(hub.pages) == 3 and names == [f"team/app{i}" for i in range(230)]
    assert [(r["snapshot"], r["total"]) for r in listing_totals(str(tmp_path))] == [("S1", 230)] * 3


def test_search_sweep_dedups_repositories(hub, tmp_path):
    targets = list(_targets("https://registry-1.docker.io", "registry-1.docker.io", [], (), False, ("a", "b"), (),
                            None, hub.url, None, str(tmp_path), "S1", None))
    names = [t.repository for t in targets]
    assert len(names) == 320 and len(set(names)) == 320  # 250 + 120 listed, the 50 in both crawled once
    assert len(hub.pages) == 3 + 2


class CountingHttp(HttpClient):
    def __init__(self) -> None:
        super().__init__()
        self.catalog_pages = 0

    def request(self, method, url, headers=None, stream=False):
        self.catalog_pages += "/_catalog" in url
        return super().request(method, url, headers, stream)


def test_catalog_killed_mid_way_resumes(tmp_path):
    images = build_images(str(tmp_path / "layout"))
    repos = [f"cat/r{i}" for i in range(5)]
    with LocalRegistry(str(tmp_path / "registry")) as registry:
        push(images, registry.host, {f"{r}:latest": "base" for r in repos})
        checkpoint = lambda: ListingCheckpoint(str(tmp_path), "catalog", "S1")  # noqa: E731
        http = CountingHttp()
        client = RegistryClient(registry.url, http)
        _take(sources.catalog(client, page_size=2, checkpoint=checkpoint()), 3)  # pages 1-2 of 3 (2 + 2 + 1)
        assert http.catalog_pages == 2
        names = [t.repository for t in sources.catalog(client, page_size=2, checkpoint=checkpoint())]
    assert http.catalog_pages == 3 and names == repos


def test_repository_count_curve_figure(hub, tmp_path):
    import pandas as pd

    from analyze.churn_report import CHURN_FIGURES
    from analyze.figures import render_figures

    for snapshot in ("S1", "S2"):
        list(sources.hub_search("b", HttpClient(), hub.url, registry="docker.io",
                                checkpoint=ListingCheckpoint(str(tmp_path), "hub-search b", snapshot)))
    totals = listing_totals(str(tmp_path))
    assert [(r["snapshot"], r["total"]) for r in totals] == [("S1", 120), ("S1", 120), ("S2", 120), ("S2", 120)]
    figures = render_figures({"repository_counts": pd.DataFrame(totals)}, str(tmp_path / "figures"), CHURN_FIGURES)
    assert list(figures) == ["repository_counts"]
