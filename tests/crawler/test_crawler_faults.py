"""Faults injected by a loopback proxy in front of the real registry: every case ends with intact,
verified blobs or a recorded error — never a wrong blob in the store."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

from crawler.crawl import RepoTarget, run_crawl
from common.records import latest_records

from crawler_testkit import fast_options
from crawler_images import assert_store_verifies
from crawler_services import Fault


def crawl(proxy, store_dir, repo="demo/oci", **options):
    return run_crawl(proxy.url, str(store_dir), [RepoTarget(repo)], options=fast_options(**options))


def only_record(store_dir):
    [record] = latest_records(str(store_dir)).values()
    return record


def no_temp_files(store_dir):
    tmp = os.path.join(str(store_dir), "tmp")
    return not os.path.isdir(tmp) or os.listdir(tmp) == []


def test_429_with_retry_after_is_honoured(proxy, tmp_path):
    proxy.add(Fault("status", match="/manifests/", status=429, retry_after="1", times=1))
    started = time.monotonic()
    summary = crawl(proxy, tmp_path)
    manifest_gets = [s for s in proxy.seen if "/manifests/" in s.path and s.method == "GET"]
    assert summary.images_ok == 1
    assert manifest_gets[0].action == "status" and manifest_gets[1].action == "pass"
    assert manifest_gets[1].at - manifest_gets[0].at >= 0.95  # waited Retry-After, not the 50 ms backoff
    assert time.monotonic() - started >= 1.0
    assert_store_verifies(str(tmp_path))


def test_ratelimit_headers_are_recorded(proxy, tmp_path):
    proxy.extra_headers.update({"ratelimit-limit": "100;w=21600", "ratelimit-remaining": "42;w=21600"})
    crawl(proxy, tmp_path)
    record = only_record(tmp_path)
    assert (record.ratelimit_limit, record.ratelimit_remaining) == ("100;w=21600", "42;w=21600")


def test_503_on_blobs_is_retried(proxy, tmp_path):
    proxy.add(Fault("status", match="/blobs/", status=503, times=3))
    summary = crawl(proxy, tmp_path)
    assert summary.images_ok == 1
    assert sum(s.action == "status" for s in proxy.seen) == 3
    assert_store_verifies(str(tmp_path))


def test_persistent_503_is_a_recorded_error(proxy, tmp_path):
    proxy.add(Fault("status", match="/blobs/", status=503, times=-1))
    summary = crawl(proxy, tmp_path, concurrency=1)
    record = only_record(tmp_path)
    assert summary.images_error == 1 and record.status == "error"
    assert record.error_class == "RetriesExhausted" and "HTTP 503" in record.error_message
    assert record.manifest_digest is not None  # the manifest part is still recorded
    assert_store_verifies(str(tmp_path)) and no_temp_files(tmp_path)


def test_connection_reset_mid_blob_resumes_with_closed_range(proxy, corpus, tmp_path):
    layer = corpus.layers["app1"]
    proxy.add(Fault("reset", match=layer["digest"], times=1))
    summary = crawl(proxy, tmp_path)
    requests = [s for s in proxy.seen if layer["digest"] in s.path]
    assert summary.images_ok == 1
    assert requests[0].action == "reset" and requests[0].range is None
    start, end = requests[1].range.removeprefix("bytes=").split("-")
    assert int(start) > 0 and int(end) == layer["size"] - 1  # a closed range from where it broke
    assert layer["digest"].split(":")[1] in assert_store_verifies(str(tmp_path))


def test_truncated_body_resumes(proxy, corpus, tmp_path):
    layer = corpus.layers["base"]
    proxy.add(Fault("truncate", match=layer["digest"], times=2))
    summary = crawl(proxy, tmp_path)
    ranges = [s.range for s in proxy.seen if layer["digest"] in s.path]
    assert summary.images_ok == 1 and ranges[0] is None and all(r and r.startswith("bytes=") for r in ranges[1:])
    assert layer["digest"].split(":")[1] in assert_store_verifies(str(tmp_path))


def test_corrupted_bytes_once_are_refetched(proxy, corpus, tmp_path):
    layer = corpus.layers["app1"]
    proxy.add(Fault("corrupt", match=layer["digest"], times=1))
    summary = crawl(proxy, tmp_path)
    assert summary.images_ok == 1
    assert sum(layer["digest"] in s.path for s in proxy.seen) == 2
    assert layer["digest"].split(":")[1] in assert_store_verifies(str(tmp_path))


def test_always_corrupted_blob_is_an_error_and_never_stored(proxy, corpus, tmp_path):
    layer = corpus.layers["app1"]
    proxy.add(Fault("corrupt", match=layer["digest"], times=-1))
    summary = crawl(proxy, tmp_path)
    record = only_record(tmp_path)
    assert summary.images_error == 1 and record.error_class == "digest_mismatch"
    assert "failed verification" in record.error_message
    stored = assert_store_verifies(str(tmp_path))
    assert layer["digest"].split(":")[1] not in stored
    assert corpus.layers["base"]["digest"].split(":")[1] in stored  # the other blobs completed
    assert no_temp_files(tmp_path)


def test_corrupted_manifest_is_rejected(proxy, tmp_path):
    proxy.add(Fault("corrupt", match="/manifests/latest", times=-1))
    crawl(proxy, tmp_path)
    record = only_record(tmp_path)
    assert record.status == "error"
    # a flipped byte either breaks the JSON or changes the digest: both are reported, nothing stored
    assert record.error_class in ("digest_mismatch", "manifest_error")
    assert assert_store_verifies(str(tmp_path)) == set()


def test_sigkill_mid_blob_then_rerun(proxy, corpus, tmp_path):
    store = tmp_path / "store"
    big = corpus.layers["big"]
    proxy.add(Fault("slow", match=big["digest"], times=1, rate_bytes_s=400_000))
    cmd = [sys.executable, "-m", "crawler.crawl_command", "--registry", proxy.url, "--store", str(store), "--no-progress",
           "demo/big"]
    child = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    part_seen = False
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and child.poll() is None:
        tmp = store / "tmp"
        parts = [p for p in tmp.iterdir()] if tmp.is_dir() else []
        if any(p.name.startswith(big["digest"][7:23]) and p.stat().st_size > 200_000 for p in parts):
            part_seen = True
            break
        time.sleep(0.05)
    assert part_seen, "the big blob never started streaming"
    os.kill(child.pid, signal.SIGKILL)
    child.wait()
    assert big["digest"][7:] not in assert_store_verifies(str(store))  # nothing half-written published
    assert any((store / "tmp").iterdir())  # the torn part file is left behind...

    partial = sum(p.stat().st_size for p in (store / "tmp").iterdir())
    proxy.seen.clear()
    rerun = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert rerun.returncode == 0, rerun.stderr
    assert "1 ok, 0 errors" in rerun.stdout
    # the rerun adopted the dead process's part file and asked only for the rest, with a closed range
    [resumed] = [s for s in proxy.seen if big["digest"] in s.path]
    assert resumed.range == f"bytes={partial}-{big['size'] - 1}"
    assert list((store / "tmp").iterdir()) == []
    stored = assert_store_verifies(str(store))
    record = only_record(store)
    expected = {record.manifest_digest, record.config_digest, *[layer.digest for layer in record.layers]}
    assert {d.split(":")[1] for d in expected} == stored  # ...but never counted as a blob
    from common.stores import open_store

    assert {str(d) for d in open_store(str(store)).digests()} == expected


def test_complete_part_file_of_a_dead_crawler_is_verified_without_refetching(proxy, corpus, tmp_path):
    from common.digest import Digest
    from common.storage import LocalBlobStore, StoreConfig

    layer = corpus.layers["app1"]
    data = open(f"{corpus.layout_dir}/blobs/sha256/{layer['digest'][7:]}", "rb").read()
    store = LocalBlobStore(StoreConfig(str(tmp_path)))
    dead = store.writer(Digest.parse(layer["digest"]), len(data))
    dead.write(data)  # killed after the last byte, before the rename
    dead._fh.close()
    summary = crawl(proxy, tmp_path)
    assert summary.images_ok == 1
    assert not [s for s in proxy.seen if layer["digest"] in s.path]  # not one byte fetched again
    assert layer["digest"][7:] in assert_store_verifies(str(tmp_path)) and no_temp_files(tmp_path)


def test_schema1_sized_blob_restarts_from_zero_when_broken(proxy, corpus, tmp_path):
    import dataclasses

    from common.digest import Digest
    from crawler.manifest import Descriptor
    from crawler.registry import RegistryClient
    from common.stores import open_store

    layer = corpus.layers["app1"]
    proxy.add(Fault("truncate", match=layer["digest"], times=1))
    client = RegistryClient(proxy.url)
    client.http.policy = dataclasses.replace(client.http.policy, backoff_base_s=0.01)
    desc = Descriptor("application/vnd.docker.container.image.rootfs.diff+x-gtar", Digest.parse(layer["digest"]), None)
    client.fetch_blob("demo/oci", desc, open_store(str(tmp_path)))
    ranges = [s.range for s in proxy.seen if layer["digest"] in s.path]
    assert ranges == [None, None]  # unknown size: no closed range possible, so a clean restart
    assert layer["digest"][7:] in assert_store_verifies(str(tmp_path))


def test_server_ignoring_range_restarts_cleanly(proxy, corpus, tmp_path):
    layer = corpus.layers["app1"]
    proxy.add(Fault("truncate", match=layer["digest"], times=1), Fault("norange", match=layer["digest"], times=-1))
    summary = crawl(proxy, tmp_path)
    seen = [s for s in proxy.seen if layer["digest"] in s.path]
    assert summary.images_ok == 1
    assert [s.action for s in seen] == ["truncate", "norange"] and seen[1].range.startswith("bytes=")
    assert layer["digest"][7:] in assert_store_verifies(str(tmp_path))


def test_every_manifest_request_sends_the_full_accept_list(proxy, tmp_path):
    crawl(proxy, tmp_path, repo="demo/multi")
    manifest_requests = [s for s in proxy.seen if "/manifests/" in s.path]
    assert len(manifest_requests) == 2  # the index, then the amd64 image
    for seen in manifest_requests:
        accepted = {part.split(";")[0].strip() for part in seen.accept.split(",")}
        assert {"application/vnd.oci.image.index.v1+json", "application/vnd.docker.distribution.manifest.list.v2+json",
                "application/vnd.oci.image.manifest.v1+json",
                "application/vnd.docker.distribution.manifest.v2+json"} <= accepted
