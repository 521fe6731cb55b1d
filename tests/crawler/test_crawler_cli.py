"""``hubscope crawl`` end to end through click, and the HTTP layer's politeness against the real registry."""
from __future__ import annotations

import json
import re
import subprocess
import sys

from click.testing import CliRunner

from crawler.crawl_command import crawl as crawl_command
from crawler.http import HttpClient, RetriesExhausted, RetryPolicy
from hubscope.demo.localregistry import free_port
from common.records import latest_records

from crawler_services import Fault

import pytest

SUMMARY = re.compile(r"crawled (\d+) images: (\d+) ok, (\d+) errors?(?:, \d+ already done)?; "
                     r"(\d+) blobs \(([\d.]+) MB\) downloaded, (\d+) already present")


def run(*args):
    return CliRunner().invoke(crawl_command, list(args))


def test_partial_failure_exits_zero_with_summary(pushed, tmp_path):
    result = run("--registry", pushed.url, "--store", str(tmp_path), "demo/oci", "demo/schema2:nope", "--concurrency", "2")
    assert result.exit_code == 0, result.output
    images, ok, errors, blobs, mb, present = SUMMARY.search(result.output).groups()
    assert (images, ok, errors, present) == ("2", "1", "1", "0") and int(blobs) == 4 and float(mb) > 0.5
    statuses = {r.tag: r.status for r in latest_records(str(tmp_path)).values()}
    assert statuses == {"latest": "ok", "nope": "error"}


def test_json_output_is_one_versioned_document(pushed, tmp_path):
    result = CliRunner().invoke(crawl_command, ["--registry", pushed.url, "--store", str(tmp_path), "demo/oci",
                                                "demo/schema2:nope", "--json"])
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert doc["schema"] == "hubscope.crawl/v1" and doc["registry"] == pushed.url
    assert (doc["images"], doc["images_ok"], doc["images_error"], doc["blobs_present"]) == (2, 1, 1, 0)
    assert doc["records_path"].startswith(str(tmp_path))


def test_second_run_reports_blobs_already_present(pushed, tmp_path):
    run("--registry", pushed.url, "--store", str(tmp_path), "demo/oci")
    result = run("--registry", pushed.url, "--store", str(tmp_path), "demo/schema2")
    images, ok, errors, blobs, mb, present = SUMMARY.search(result.output).groups()
    assert (ok, present) == ("1", "1")  # the shared base layer


def test_refused_connection_fails_at_once_with_a_hint(tmp_path):
    port = free_port()  # nothing listens there
    result = run("--registry", f"http://127.0.0.1:{port}", "--store", str(tmp_path), "demo/oci")
    assert result.exit_code == 1
    assert f"cannot connect to http://127.0.0.1:{port}: connection refused" in result.output
    assert "check --registry" in result.output
    assert latest_records(str(tmp_path)) == {}  # failed before any request: nothing was retried or recorded


def test_registry_without_a_scheme_is_a_usage_error_with_the_fix(tmp_path):
    result = run("--registry", "127.0.0.1:5055", "--store", str(tmp_path / "store"), "demo/oci")
    assert result.exit_code == 2
    assert "use http://127.0.0.1:5055 for a plain-HTTP registry" in result.output
    assert not (tmp_path / "store").exists()  # checked before the store is created
    assert run("--registry", "ftp://x", "--store", str(tmp_path), "demo/oci").exit_code == 2


@pytest.mark.parametrize("args, message", [
    ([], "nothing to crawl"),
    (["--platform", "linux/amd64", "--all-platforms", "x"], "exclude each other"),
    (["--tags", "newest", "x"], "positive number"),
    (["--platform", "amd64", "x"], "os/arch"),
    (["Not/Valid"], "invalid repository name"),
])
def test_usage_errors_exit_2(tmp_path, args, message):
    result = run("--registry", "http://127.0.0.1:1", "--store", str(tmp_path), *args)
    assert result.exit_code == 2 and message in result.output


def test_progress_bar_goes_to_stderr(pushed, tmp_path):
    result = subprocess.run([sys.executable, "-m", "crawler.crawl_command", "--registry", pushed.url, "--store", str(tmp_path),
                             "--progress", "demo/schema2"], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert "crawl:" in result.stderr and "images=1" in result.stderr
    assert result.stdout.startswith("crawled 1 images: 1 ok")


def test_hubscope_group_exposes_crawl(pushed, tmp_path):
    from hubscope.cli import main

    result = CliRunner().invoke(main, ["crawl", "--registry", pushed.url, "--store", str(tmp_path), "demo/oci"])
    assert result.exit_code == 0, result.output
    assert "1 ok" in result.output


def test_slows_down_as_ratelimit_remaining_nears_zero(proxy):
    slept = []
    client = HttpClient(RetryPolicy(slowdown_below_remaining=5, slowdown_s=2.0), sleep=slept.append)
    proxy.extra_headers.update({"ratelimit-limit": "100;w=21600", "ratelimit-remaining": "50;w=21600"})
    client.request("GET", f"{proxy.url}/v2/demo/oci/tags/list")
    assert slept == [] and client.ratelimit.remaining == "50;w=21600"
    proxy.extra_headers["ratelimit-remaining"] = "2;w=21600"
    client.request("GET", f"{proxy.url}/v2/demo/oci/tags/list")
    assert slept == [6.0]  # (5 - 2) x 2 s: the closer to zero, the slower


def test_not_found_is_not_retried_and_exhaustion_is_reported(proxy):
    slept = []
    client = HttpClient(RetryPolicy(max_attempts=3, backoff_base_s=0.01), sleep=slept.append)
    assert client.request("GET", f"{proxy.url}/v2/demo/none/tags/list").status_code == 404
    assert len(proxy.seen) == 1 and slept == []
    proxy.add(Fault("status", match="/tags/", status=502, times=-1))
    with pytest.raises(RetriesExhausted, match="HTTP 502 .* after 3 attempts"):
        client.request("GET", f"{proxy.url}/v2/demo/oci/tags/list")
    assert len(slept) == 2


def test_a_429_pauses_every_worker_of_the_client(proxy):
    import threading
    import time

    client = HttpClient(RetryPolicy(backoff_base_s=0.01))
    proxy.add(Fault("status", match="/manifests/", status=429, retry_after="1", times=1))
    first = threading.Thread(target=client.request, args=("GET", f"{proxy.url}/v2/demo/oci/manifests/latest"),
                             kwargs={"headers": {"Accept": "application/vnd.oci.image.manifest.v1+json"}})
    first.start()
    while not proxy.seen:
        time.sleep(0.01)
    client.request("GET", f"{proxy.url}/v2/demo/oci/tags/list")  # another worker, another URL
    first.join()
    limited = proxy.seen[0]
    other = next(s for s in proxy.seen if "/tags/" in s.path)
    assert limited.action == "status" and other.at - limited.at >= 0.9


def test_concurrent_401s_fetch_one_token(token_registry):
    from concurrent.futures import ThreadPoolExecutor

    from crawler.registry import RegistryClient

    registry, server = token_registry
    client = RegistryClient(registry.url)
    before = len(server.requests)
    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(lambda _: client.tags("demo/schema2"), range(8)))
    assert results == [["latest"]] * 8
    assert len(server.requests) - before == 1
