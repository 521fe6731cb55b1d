"""Names are data until validated: from _catalog, tag lists, files and the command line, an invalid one is a
recorded ``invalid_name`` item and never a request (the real registry behind a rewriting proxy)."""
from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from crawler.crawl_command import crawl as crawl_command
from crawler.crawl import CrawlOptions, Crawler, RepoTarget, run_crawl
from common.records import RecordLog, latest_records
from crawler.reference import InvalidReference, check_manifest_reference, check_repository, check_tag
from crawler.registry import RegistryClient
from crawler.repo_listing import catalog, repos_file
from common.stores import open_store

from crawler_hostile import Canned, on_path
from crawler_images import assert_store_verifies
from crawler_testkit import fast_options

HOSTILE_REPOS = ["../../v2/demo/schema2", "Demo/Upper", "demo/oci\n", "demo//oci", "demo/oci?x=y", "démo/oci", {"x": 1}]
HOSTILE_TAGS = ["../../demo/schema2/manifests/latest", "v1?x=y", "v1#frag", ".hidden", "a" * 129, "v1\n", "ü"]


@pytest.mark.parametrize("name", ["demo/oci", "a", "a0/b-c/d__e/f.g", "library/ubuntu", "a" * 255])
def test_valid_repository_names(name):
    assert check_repository(name) == name


@pytest.mark.parametrize("name", HOSTILE_REPOS[:-1] + [42, None, "", "/demo", "demo/", "a" * 256, "-a", "a-"])
def test_invalid_repository_names(name):
    with pytest.raises(InvalidReference):
        check_repository(name)


@pytest.mark.parametrize("tag", ["latest", "v1.2.3", "_x", "A-b_c.d", "a" * 128])
def test_valid_tags(tag):
    assert check_tag(tag) == tag


@pytest.mark.parametrize("tag", HOSTILE_TAGS + ["", "-x"])
def test_invalid_tags(tag):
    with pytest.raises(InvalidReference):
        check_tag(tag)


@pytest.mark.parametrize("ref", ["sha256:../../..", "sha256:" + "a" * 63, "sha256:" + "A" * 64, "md5:abc",
                                 "sha256:" + "a" * 64 + "\n", "sha512:" + "a" * 64])
def test_invalid_digests(ref):
    with pytest.raises(InvalidReference):
        check_manifest_reference(ref)


def test_catalog_and_tag_list_names_are_recorded_not_requested(rewrite, tmp_path):
    rewrite.rules.append(on_path("/v2/_catalog", Canned(200, {"Content-Type": "application/json"},
                                                        json.dumps({"repositories": ["demo/oci", *HOSTILE_REPOS]}).encode())))
    tags = {"name": "demo/oci", "tags": ["latest", *HOSTILE_TAGS]}
    rewrite.rules.append(on_path("/v2/demo/oci/tags/list", Canned(200, {"Content-Type": "application/json"},
                                                                  json.dumps(tags).encode())))
    client = RegistryClient(rewrite.url)
    summary = run_crawl(rewrite.url, str(tmp_path), catalog(client), options=fast_options(tags="all"))
    records = list(latest_records(str(tmp_path)).values())
    ok = [(r.repository, r.tag) for r in records if r.status == "ok"]
    invalid = [r for r in records if r.error_class == "invalid_name"]
    assert ok == [("demo/oci", "latest")]
    assert len(invalid) == len(HOSTILE_REPOS) + len(HOSTILE_TAGS) and len(records) == 1 + len(invalid)
    assert {r.repository for r in invalid} >= {"../../v2/demo/schema2", "{\"x\": 1}"}
    assert (summary.images_ok, summary.images_error) == (1, len(invalid))
    assert len(assert_store_verifies(str(tmp_path))) == summary.blobs_downloaded  # demo/oci's blobs, verified
    requested = rewrite.paths()
    assert not any(".." in p or "x=y" in p or "schema2" in p or "Upper" in p or "%" in p for p in requested), requested


def test_pagination_link_to_another_host_is_not_followed(rewrite, tmp_path):
    body = json.dumps({"repositories": ["demo/oci"]}).encode()
    rewrite.rules.append(on_path("/v2/_catalog", Canned(200, {
        "Content-Type": "application/json", "Link": '<http://attacker.invalid/v2/_catalog?last=x>; rel="next"'}, body)))
    store = open_store(str(tmp_path))
    client = RegistryClient(rewrite.url)
    crawler = Crawler(client, store, RecordLog(str(tmp_path)), fast_options(), None)
    summary = crawler.run(catalog(client))
    assert summary.images_ok == 1
    assert len(summary.listing_errors) == 1 and "leaves the registry" in summary.listing_errors[0]


def test_cli_and_file_names_are_validated(pushed, tmp_path):
    result = CliRunner().invoke(crawl_command, ["--registry", pushed.url, "--store", str(tmp_path / "s"),
                                                "demo/oci@sha256:../../.."])
    assert result.exit_code == 2 and "invalid digest" in result.output
    listing = tmp_path / "repos.txt"
    listing.write_text("demo/oci:v1?x=y\n../../v2/demo/schema2\ndemo/oci\n")
    summary = run_crawl(pushed.url, str(tmp_path / "f"), repos_file(str(listing), pushed.host), options=fast_options())
    records = latest_records(str(tmp_path / "f")).values()
    assert sorted((r.status, r.error_class or "") for r in records) == [
        ("error", "invalid_name"), ("error", "invalid_name"), ("ok", "")]
    assert summary.images_ok == 1
