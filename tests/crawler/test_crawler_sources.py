"""Repository sources: Docker Hub search v4 and namespace listing (stand-in), _catalog pagination, text files."""
from __future__ import annotations

from click.testing import CliRunner

from crawler.crawl_command import crawl as crawl_command
from crawler.http import HttpClient
from common.records import latest_records
from crawler.registry import RegistryClient
from crawler.repo_listing import SourceError, catalog, hub_namespace, hub_search, repos_file

import pytest


def test_hub_search_pages_through_all_results(hub):
    targets = list(hub_search("demo", HttpClient(), hub.url))
    assert len(targets) == 152
    assert targets[0].repository == "demo/oci" and targets[0].metadata["star_count"] == 7
    assert targets[0].metadata["pull_count"] == "1M+" and targets[0].metadata["listed_by"] == "hub-search"
    pages = [r for r in hub.requests if r.startswith("/api/search/v4")]
    assert any("from=100" in p for p in pages) and all("size=100" in p for p in pages)


def test_hub_search_limit_and_library_normalisation(hub):
    hub.search_results.insert(0, {"id": "0", "name": "nginx", "slug": "nginx", "type": "image", "star_count": 1})
    try:
        targets = list(hub_search("n", HttpClient(), hub.url, limit=1))
    finally:
        hub.search_results.pop(0)
    assert [t.repository for t in targets] == ["library/nginx"]  # official images live under library/


def test_hub_namespace_follows_next_and_keeps_metadata(hub):
    hub.requests.clear()
    targets = list(hub_namespace("demo", HttpClient(), hub.url))
    assert [t.repository for t in targets] == ["demo/oci", "demo/schema2", "demo/multi", "demo/archive"]
    assert targets[2].metadata["pull_count"] == 3000 and targets[2].metadata["last_updated"] == "2025-03-01T00:00:00Z"
    assert hub.requests[0].endswith("page_size=100&page=1")


def test_hub_namespace_unknown_is_a_source_error(hub):
    with pytest.raises(SourceError, match="HTTP 404"):
        list(hub_namespace("nobody", HttpClient(), hub.url))


def test_cli_hub_namespace_metadata_lands_in_records(hub, pushed, tmp_path):
    result = CliRunner().invoke(crawl_command, ["--registry", pushed.url, "--store", str(tmp_path), "--hub-url",
                                                hub.url, "--hub-namespace", "demo", "--tags", "all"])
    assert result.exit_code == 0, result.output
    records = {(r.repository, r.tag): r for r in latest_records(str(tmp_path)).values()}
    assert records[("demo/multi", "latest")].repo_metadata["pull_count"] == 3000
    assert records[("demo/multi", "latest")].repo_metadata["star_count"] == 20
    assert records[("demo/archive", "v1")].repo_metadata["listed_by"] == "hub-namespace"
    assert {r.status for r in records.values()} == {"ok"}


def test_cli_hub_search_with_limit(hub, pushed, tmp_path):
    result = CliRunner().invoke(crawl_command, ["--registry", pushed.url, "--store", str(tmp_path), "--hub-url",
                                                hub.url, "--hub-search", "demo", "--hub-limit", "2"])
    assert result.exit_code == 0, result.output
    records = latest_records(str(tmp_path)).values()
    assert sorted(r.repository for r in records) == ["demo/oci", "demo/schema2"]
    assert {r.repo_metadata["updated_at"] for r in records} == {"2025-01-02T03:04:05Z", "2025-02-02T03:04:05Z"}


def test_catalog_follows_link_pagination(pushed):
    client = RegistryClient(pushed.url)
    names = [t.repository for t in catalog(client, page_size=2)]
    assert {"demo/oci", "demo/schema2", "demo/multi", "demo/tagged", "demo/big", "demo/archive"} <= set(names)
    assert names == sorted(names) and len(names) == len(set(names))


def test_catalog_needs_catalog_scope_on_token_registry(token_registry):
    registry, server = token_registry
    from crawler.auth import Credentials, StaticCredentials

    client = RegistryClient(registry.url, credentials=StaticCredentials(Credentials("crawler", "s3cret-pass")))
    assert {"demo/oci", "demo/schema2", "demo/private"} <= set(client.catalog(page_size=1))
    assert any("registry:catalog:*" in scopes for _, scopes in server.requests)


def test_repos_file_parses_tags_and_comments(tmp_path):
    path = tmp_path / "repos.txt"
    path.write_text("# fixtures\ndemo/oci\n\ndemo/multi:list  # the Docker list\nnginx:1.27\n")
    targets = list(repos_file(str(path), "registry-1.docker.io"))
    assert [(t.repository, t.tag) for t in targets] == [("demo/oci", None), ("demo/multi", "list"),
                                                        ("library/nginx", "1.27")]
    path.write_text("Not A Valid Name\ndemo/oci\n")  # an invalid line goes on as written, to be recorded invalid_name
    targets = list(repos_file(str(path), "127.0.0.1:5000"))
    assert [(t.repository, t.tag, t.metadata.get("line")) for t in targets] == [
        ("Not A Valid Name", None, 1), ("demo/oci", None, None)]


def test_cli_repos_file_and_catalog(pushed, tmp_path):
    listing = tmp_path / "repos.txt"
    listing.write_text("demo/multi:list\n")
    result = CliRunner().invoke(crawl_command, ["--registry", pushed.url, "--store", str(tmp_path / "s"),
                                                "--repos-file", str(listing), "--all-platforms"])
    assert result.exit_code == 0, result.output
    assert sorted(r.platform for r in latest_records(str(tmp_path / "s")).values()) == ["linux/amd64",
                                                                                         "linux/arm64/v8"]
    result = CliRunner().invoke(crawl_command, ["--registry", pushed.url, "--store", str(tmp_path / "c"), "--catalog"])
    assert result.exit_code == 0, result.output
    repos = {r.repository for r in latest_records(str(tmp_path / "c")).values()}
    assert {"demo/oci", "demo/schema2", "demo/multi", "demo/big"} <= repos


def test_hub_recent_tags_pages_by_last_updated(hub):
    from crawler.repo_listing import hub_recent_tags

    assert hub_recent_tags("demo/tagged", 3, HttpClient(), hub.url) == ["y2020", "y2023", "y2025"]
    assert any("ordering=last_updated" in r and "page_size=3" in r for r in hub.requests)


def test_tags_n_by_hub_dates_without_pulling_every_tag(hub, pushed, tmp_path):
    result = CliRunner().invoke(crawl_command, ["--registry", pushed.url, "--store", str(tmp_path), "--hub-url",
                                                hub.url, "--tags", "2", "--recent-by", "hub", "demo/tagged"])
    assert result.exit_code == 0, result.output
    assert sorted(r.tag for r in latest_records(str(tmp_path)).values()) == ["y2020", "y2023"]


def test_hub_search_pull_count_from_rate_plans(hub):
    hub.search_results.insert(0, {"id": "x", "name": "ubuntu", "slug": "ubuntu", "type": "image", "star_count": 9,
                                  "publisher": {"id": "docker", "name": "Docker Official Images"},
                                  "rate_plans": [{"repositories": [{"name": "ubuntu", "pull_count": "1B+"}]}]})
    try:
        [target] = hub_search("ubuntu", HttpClient(), hub.url)
    finally:
        hub.search_results.pop(0)
    assert target.repository == "library/ubuntu"
    assert (target.metadata["pull_count"], target.metadata["publisher"]) == ("1B+", "Docker Official Images")
