"""Sizes a registry gets wrong, against the real registry (manifests pushed with wrong sizes) and through a
rewriting proxy: each is named at once with both numbers, per descriptor, in bounded time, and the
store keeps only verified blobs."""
from __future__ import annotations

import dataclasses
import time

import pytest

from crawler.crawl import CrawlOptions, RepoTarget, run_crawl
from common.records import latest_records

from crawler_hostile import (OCI_CONFIG, OCI_LAYER_GZIP, Canned, descriptor, image_config,
                             layer_tar_gz, manifest_response, oci_manifest, on_path, push_blob, put_manifest)
from crawler_images import assert_store_verifies, real_files
from crawler_testkit import FAST_RETRY, fast_options

NAMED_AT_ONCE_S = 5.0  # the bound: a size mismatch is recorded in under 5 s, not minutes


@pytest.fixture(scope="module")
def sized(registry):
    """One real layer and config, and manifests naming them with right and wrong sizes."""
    layer = layer_tar_gz(real_files(["/etc"], 300_000, "etc"))
    config = image_config([layer])
    wrong = {"good": len(layer), "larger": len(layer) + 1000, "smaller": len(layer) - 10, "zero": 0}
    for name, size in wrong.items():
        repo = f"sizes/{name}"
        push_blob(registry.host, repo, layer)
        push_blob(registry.host, repo, config)
        put_manifest(registry.host, repo, "latest",
                     oci_manifest(descriptor(OCI_CONFIG, config), [descriptor(OCI_LAYER_GZIP, layer, size)]))
    return {"layer": layer, "config": config, "sizes": wrong}


def crawl(url, store, *repos, **options):
    started = time.monotonic()
    summary = run_crawl(url, str(store), [RepoTarget(r) for r in repos], options=fast_options(**options))
    return summary, time.monotonic() - started


def by_repo(store):
    return {r.repository: r for r in latest_records(str(store)).values()}


def layer_hex(sized):
    from crawler_hostile import digest_of

    return digest_of(sized["layer"]).split(":")[1]


@pytest.mark.parametrize("name", ["larger", "smaller", "zero"])
def test_wrong_declared_size_is_named_at_once(registry, sized, tmp_path, name):
    summary, elapsed = crawl(registry.url, tmp_path, f"sizes/{name}")
    record = by_repo(tmp_path)[f"sizes/{name}"]
    declared, actual = sized["sizes"][name], len(sized["layer"])
    assert (record.status, record.error_class) == ("error", "size_mismatch")
    assert f"declares {declared} bytes" in record.error_message and f"serves {actual} bytes" in record.error_message
    assert elapsed < NAMED_AT_ONCE_S
    assert layer_hex(sized) not in assert_store_verifies(str(tmp_path))


def test_shared_blob_each_descriptor_has_its_own_verdict(registry, sized, tmp_path):
    """good and larger name the same layer: at any concurrency and whoever downloads first, good is ok
    with the true size and larger is size_mismatch; also when the blob is already in the store."""
    for run in range(3):
        store = tmp_path / f"run{run}"
        crawl(registry.url, store, "sizes/larger", "sizes/good", "sizes/zero", "sizes/smaller", concurrency=4)
        records = by_repo(store)
        assert records["sizes/good"].status == "ok", records["sizes/good"].error_message
        assert records["sizes/good"].compressed_bytes == len(sized["layer"])
        assert {records[f"sizes/{n}"].error_class for n in ("larger", "zero", "smaller")} == {"size_mismatch"}
        assert layer_hex(sized) in assert_store_verifies(str(store))
    store = tmp_path / "present"
    crawl(registry.url, store, "sizes/good")
    crawl(registry.url, store, "sizes/larger", "sizes/zero")  # blob already present: still checked per descriptor
    records = by_repo(store)
    assert records["sizes/larger"].error_class == records["sizes/zero"].error_class == "size_mismatch"
    assert f"serves {len(sized['layer'])} bytes" in records["sizes/larger"].error_message


def test_416_after_a_break_is_a_size_mismatch_even_if_its_body_stalls(registry, sized, rewrite, tmp_path):
    """The first response announces the declared (too large) size and breaks off after the real bytes;
    the resume's Range lies past the blob's end: the real registry answers 416, and the proxy stalls
    that answer's body. Named from the headers, never read."""
    layer, declared = sized["layer"], sized["sizes"]["larger"]

    def first(method, path, headers):
        if method == "GET" and path.endswith(layer_hex(sized)) and "Range" not in headers:
            return Canned(200, {"Content-Type": "application/octet-stream"}, layer, content_length=declared)
        return None

    def stalled_416(method, path, headers):
        if method == "GET" and path.endswith(layer_hex(sized)) and "Range" in headers:
            import requests

            real = requests.get(f"http://{rewrite.upstream}{path}", headers={"Range": headers["Range"]}, timeout=10,
                                stream=True)  # its body is announced but never sent: never read it
            real.close()
            assert real.status_code == 416  # the real registry's answer to a range past the blob's end
            return Canned(416, {"Content-Range": real.headers.get("Content-Range", f"bytes */{len(layer)}")},
                          b"", stall_s=30, content_length=200)
        return None

    rewrite.rules += [first, stalled_416]
    summary, elapsed = crawl(rewrite.url, tmp_path, "sizes/larger")
    record = by_repo(tmp_path)["sizes/larger"]
    assert (record.status, record.error_class) == ("error", "size_mismatch")
    assert f"declares {declared} bytes" in record.error_message and "416" in record.error_message
    assert f"serves {len(layer)} bytes" in record.error_message
    assert elapsed < NAMED_AT_ONCE_S
    assert len([p for p in rewrite.paths(layer_hex(sized))]) == 2  # one GET, one resume, no loop
    assert layer_hex(sized) not in assert_store_verifies(str(tmp_path))


def test_size_mismatch_behind_a_proxy_that_stalls_after_headers(registry, sized, rewrite, tmp_path):
    rewrite.rules.append(on_path(layer_hex(sized), Canned(200, {"Content-Type": "application/octet-stream"},
                                                         sized["layer"], stall_s=30)))
    summary, elapsed = crawl(rewrite.url, tmp_path, "sizes/larger")
    assert by_repo(tmp_path)["sizes/larger"].error_class == "size_mismatch"
    assert elapsed < NAMED_AT_ONCE_S


def test_chunked_body_that_ends_short_is_a_size_mismatch(registry, sized, rewrite, tmp_path):
    """No Content-Length to judge by: the body ends cleanly before the declared size."""
    rewrite.rules.append(on_path(layer_hex(sized), Canned(200, {"Content-Type": "application/octet-stream"},
                                                         sized["layer"], content_length=-1)))
    summary, elapsed = crawl(rewrite.url, tmp_path, "sizes/larger")
    record = by_repo(tmp_path)["sizes/larger"]
    assert record.error_class == "size_mismatch" and f"serves {len(sized['layer'])} bytes" in record.error_message
    assert elapsed < NAMED_AT_ONCE_S and len(rewrite.paths(layer_hex(sized))) == 1


@pytest.mark.parametrize("content_type,page,expected", [
    ("text/html; charset=utf-8", b"<html><body>Sign in to continue</body></html>", "bad_content_type"),
    ("application/json", b'{"errors":[{"code":"DENIED"}]}', "bad_content_type"),
])
def test_error_page_served_with_200_is_named_after_one_attempt(registry, sized, rewrite, tmp_path, content_type,
                                                               page, expected):
    rewrite.rules.append(on_path(layer_hex(sized), Canned(200, {"Content-Type": content_type}, page)))
    summary, elapsed = crawl(rewrite.url, tmp_path, "sizes/good")
    record = by_repo(tmp_path)["sizes/good"]
    assert (record.status, record.error_class) == ("error", expected)
    assert elapsed < NAMED_AT_ONCE_S and len(rewrite.paths(layer_hex(sized))) == 1
    assert layer_hex(sized) not in assert_store_verifies(str(tmp_path))


def test_wrong_bytes_of_the_right_size_are_a_digest_mismatch(registry, sized, rewrite, tmp_path):
    wrong = bytes(len(sized["layer"]))
    rewrite.rules.append(on_path(layer_hex(sized), Canned(200, {"Content-Type": "application/octet-stream"}, wrong)))
    summary, elapsed = crawl(rewrite.url, tmp_path, "sizes/good")
    assert by_repo(tmp_path)["sizes/good"].error_class == "digest_mismatch"
    assert elapsed < NAMED_AT_ONCE_S and len(rewrite.paths(layer_hex(sized))) == 2  # one refetch from zero
    assert layer_hex(sized) not in assert_store_verifies(str(tmp_path))


def test_total_time_per_blob_is_capped(registry, sized, rewrite, tmp_path):
    """A real stall (right headers, then nothing) is a network break; resumes stop at the blob's time limit."""
    rewrite.rules.append(on_path(layer_hex(sized), Canned(200, {"Content-Type": "application/octet-stream"},
                                                         sized["layer"], stall_s=30)))
    policy = dataclasses.replace(FAST_RETRY, read_timeout_s=0.5, blob_time_base_s=2.0, max_attempts=1)
    started = time.monotonic()
    run_crawl(rewrite.url, str(tmp_path), [RepoTarget("sizes/good")], options=CrawlOptions(retry=policy))
    elapsed = time.monotonic() - started
    record = by_repo(tmp_path)["sizes/good"]
    assert record.error_class == "blob_time_limit", record.error_message
    assert elapsed < 2.0 + len(sized["layer"]) / policy.blob_min_rate_bytes_s + NAMED_AT_ONCE_S
    assert layer_hex(sized) not in assert_store_verifies(str(tmp_path))


@pytest.mark.parametrize("size,what", [("123", "a string"), (-1, "negative"), (12.5, "a fraction"), (True, "a bool")])
def test_descriptor_size_of_the_wrong_type_is_a_manifest_error(registry, sized, rewrite, tmp_path, size, what):
    manifest = oci_manifest(descriptor(OCI_CONFIG, sized["config"]), [descriptor(OCI_LAYER_GZIP, sized["layer"], size)])
    import json

    rewrite.rules.append(on_path("/sizes/good/manifests/latest", manifest_response(json.dumps(manifest).encode())))
    crawl(rewrite.url, tmp_path, "sizes/good")
    record = by_repo(tmp_path)["sizes/good"]
    assert (record.status, record.error_class) == ("error", "manifest_error"), what
    assert assert_store_verifies(str(tmp_path)) == set()


def test_descriptor_media_type_is_checked_against_the_stored_blob(registry, sized, tmp_path):
    """A manifest whose config descriptor names the layer blob: that image is media_type_mismatch; the image
    that uses the same blob as a layer is ok, in the same crawl."""
    layer = sized["layer"]
    push_blob(registry.host, "sizes/mtype", layer)
    put_manifest(registry.host, "sizes/mtype", "latest",
                 oci_manifest(descriptor(OCI_CONFIG, layer), [descriptor(OCI_LAYER_GZIP, layer)]))
    crawl(registry.url, tmp_path, "sizes/mtype", "sizes/good", concurrency=4)
    records = by_repo(tmp_path)
    assert records["sizes/mtype"].error_class == "media_type_mismatch"
    assert records["sizes/good"].status == "ok"
