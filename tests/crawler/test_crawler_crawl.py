"""Crawls of the real registry: every manifest type, platform selection, tag policies, dedup, resume, errors."""
from __future__ import annotations

import json

from crawler.crawl import RepoTarget, run_crawl
from crawler.manifest import Platform
from common.records import latest_records, read_records
from common.stores import open_store

from crawler_testkit import fast_options
from crawler_images import assert_store_verifies, registry_digest


def ok_records(store_dir):
    return [r for r in latest_records(str(store_dir)).values() if r.status == "ok"]


def crawl(registry, store_dir, *targets, **options):
    return run_crawl(registry.url, str(store_dir), [RepoTarget(*t) if isinstance(t, tuple) else RepoTarget(t) for t in targets],
                     options=fast_options(**options))


def test_schema2_image_record_and_blobs(pushed, tmp_path):
    summary = crawl(pushed, tmp_path, "demo/schema2")
    assert (summary.images_ok, summary.images_error) == (1, 0)
    [record] = ok_records(tmp_path)
    assert record.manifest_media_type == "application/vnd.docker.distribution.manifest.v2+json"
    assert record.manifest_digest == registry_digest(pushed.host, "demo/schema2:latest")
    assert record.platform == "linux/amd64" and record.index_digest is None
    assert [layer.media_type for layer in record.layers] == ["application/vnd.docker.image.rootfs.diff.tar.gzip"] * 2
    stored = assert_store_verifies(str(tmp_path))
    wanted = {record.manifest_digest, record.config_digest, *[layer.digest for layer in record.layers]}
    assert {d.split(":")[1] for d in wanted} == stored
    assert record.compressed_bytes == sum(layer.size_bytes for layer in record.layers)


def test_oci_image_keeps_raw_manifest_bytes(pushed, corpus, tmp_path):
    crawl(pushed, tmp_path, "demo/oci")
    [record] = ok_records(tmp_path)
    assert record.manifest_media_type == "application/vnd.oci.image.manifest.v1+json"
    assert record.manifest_digest == corpus.descriptors["oci"]["digest"]  # skopeo kept the OCI bytes
    store = open_store(str(tmp_path))
    from common.digest import Digest

    raw = store.read_bytes(Digest.parse(record.manifest_digest))
    assert json.loads(raw)["config"]["digest"] == record.config_digest
    assert [layer.digest for layer in record.layers] == [d["digest"] for d in corpus.manifest("oci")["layers"]]


def test_shared_base_layer_is_stored_once(pushed, corpus, tmp_path):
    summary = crawl(pushed, tmp_path, "demo/oci", "demo/schema2", concurrency=2)
    records = {r.repository: r for r in ok_records(tmp_path)}
    base_oci = records["demo/oci"].layers[0].digest
    base_s2 = records["demo/schema2"].layers[0].digest
    assert base_oci == base_s2 == corpus.layers["base"]["digest"]
    distinct = {d for r in records.values() for d in [r.manifest_digest, r.config_digest] + [l.digest for l in r.layers]}
    assert summary.blobs_downloaded == len(distinct) == len(assert_store_verifies(str(tmp_path)))


def test_oci_index_default_platform_and_attestation_skipped(pushed, corpus, tmp_path):
    crawl(pushed, tmp_path, "demo/multi")
    [record] = ok_records(tmp_path)
    assert record.platform == "linux/amd64"
    assert record.index_digest == corpus.descriptors["multi"]["digest"]
    assert record.index_media_type == "application/vnd.oci.image.index.v1+json"


def test_oci_index_all_platforms_skips_attestation(pushed, tmp_path):
    summary = crawl(pushed, tmp_path, "demo/multi", platforms=None)
    platforms = sorted(r.platform for r in ok_records(tmp_path))
    assert platforms == ["linux/amd64", "linux/arm64/v8"]
    assert summary.images_ok == 2 and summary.images_error == 0


def test_docker_manifest_list_selected_platform(pushed, tmp_path):
    crawl(pushed, tmp_path, ("demo/multi", "list"), platforms=(Platform("linux", "arm64", "v8"),))
    [record] = ok_records(tmp_path)
    assert record.index_media_type == "application/vnd.docker.distribution.manifest.list.v2+json"
    assert record.manifest_media_type == "application/vnd.docker.distribution.manifest.v2+json"
    assert record.platform == "linux/arm64/v8"
    assert record.index_digest == registry_digest(pushed.host, "demo/multi:list")


def test_missing_platform_is_a_recorded_error(pushed, tmp_path):
    summary = crawl(pushed, tmp_path, "demo/multi", platforms=(Platform("linux", "s390x"),))
    [record] = latest_records(str(tmp_path)).values()
    assert summary.images_error == 1 and record.status == "error"
    assert record.error_class == "LookupError" and "linux/s390x" in record.error_message


def test_docker_archive_pushed_image(pushed, tmp_path):
    crawl(pushed, tmp_path, ("demo/archive", "v1"))
    [record] = ok_records(tmp_path)
    assert record.tag == "v1" and len(record.layers) == 2
    assert record.manifest_digest == registry_digest(pushed.host, "demo/archive:v1")


def test_tags_all(pushed, tmp_path):
    crawl(pushed, tmp_path, "demo/tagged", tags="all")
    assert sorted(r.tag for r in ok_records(tmp_path)) == ["y2020", "y2023", "y2024", "y2025"]


def test_tags_n_most_recent_by_created(pushed, tmp_path):
    crawl(pushed, tmp_path, "demo/tagged", tags="2")
    assert sorted(r.tag for r in ok_records(tmp_path)) == ["y2024", "y2025"]


def test_missing_repository_recorded_and_crawl_goes_on(pushed, tmp_path):
    summary = crawl(pushed, tmp_path, "demo/does-not-exist", "demo/oci")
    records = {r.repository: r for r in latest_records(str(tmp_path)).values()}
    assert records["demo/oci"].status == "ok"
    missing = records["demo/does-not-exist"]
    assert missing.status == "error" and missing.error_class == "NotFound"
    assert "MANIFEST_UNKNOWN" in missing.error_message or "NAME_UNKNOWN" in missing.error_message
    assert (summary.images_ok, summary.images_error) == (1, 1)


def test_rerun_does_only_what_is_missing(pushed, tmp_path):
    first = crawl(pushed, tmp_path, "demo/oci", "demo/schema2")
    second = crawl(pushed, tmp_path, "demo/oci", "demo/schema2")
    assert first.images_ok == 2 and first.blobs_downloaded > 0
    assert (second.images_ok, second.images_skipped, second.blobs_downloaded) == (0, 2, 0)
    assert len(list(read_records(str(tmp_path)))) == 2  # skipped items add no records


def test_rerun_refetches_a_deleted_blob(pushed, tmp_path):
    crawl(pushed, tmp_path, "demo/oci")
    [record] = ok_records(tmp_path)
    victim = tmp_path / "blobs" / "sha256" / record.layers[1].digest.split(":")[1]
    victim.unlink()
    again = crawl(pushed, tmp_path, "demo/oci")
    assert again.images_ok == 1 and again.blobs_downloaded == 1 and victim.exists()
    assert_store_verifies(str(tmp_path))


def test_concurrent_images_share_one_download(pushed, tmp_path):
    # the same image under two tags of one repo and the index: each blob fetched once
    summary = crawl(pushed, tmp_path, ("demo/multi", "latest"), ("demo/oci", "latest"), concurrency=4)
    assert summary.images_ok == 2
    counted = summary.blobs_downloaded + summary.blobs_present
    assert counted == len(assert_store_verifies(str(tmp_path)))


FOREIGN_OK = "validation:\n  manifests:\n    urls:\n      allow: ['^https?://']\n"


def test_foreign_layer_from_registry_is_recorded_not_downloaded(corpus, tmp_path):
    from hubscope.demo.localregistry import LocalRegistry, skopeo_copy

    registry = LocalRegistry(str(tmp_path / "registry"), extra_config=FOREIGN_OK).start()
    try:
        skopeo_copy(f"oci:{corpus.layout_dir}:oci", f"docker://{registry.host}/demo/oci:latest")
        check_foreign_layer(registry, corpus, tmp_path / "store")
    finally:
        registry.stop()


def check_foreign_layer(pushed, corpus, tmp_path):
    import requests

    oci = corpus.manifest("oci")
    foreign = {"mediaType": "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip",
               "digest": "sha256:" + "cd" * 32, "size": 4096, "urls": ["https://example.invalid/base.tar.gz"]}
    manifest = {"schemaVersion": 2, "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
                "config": {**oci["config"], "mediaType": "application/vnd.docker.container.image.v1+json"},
                "layers": [foreign, {**oci["layers"][0], "mediaType": "application/vnd.docker.image.rootfs.diff.tar.gzip"}]}
    put = requests.put(f"{pushed.url}/v2/demo/oci/manifests/foreign", data=json.dumps(manifest),
                       headers={"Content-Type": manifest["mediaType"]})
    assert put.status_code == 201, put.text
    crawl(pushed, tmp_path, ("demo/oci", "foreign"))
    [record] = ok_records(tmp_path)
    assert record.layers[0].foreign and record.layers[0].urls == ("https://example.invalid/base.tar.gz",)
    assert not record.layers[1].foreign
    stored = assert_store_verifies(str(tmp_path))
    assert "cd" * 32 not in stored and oci["layers"][0]["digest"][7:] in stored


def test_rerun_fetches_platforms_newly_asked_for(pushed, tmp_path):
    crawl(pushed, tmp_path, "demo/multi")
    again = crawl(pushed, tmp_path, "demo/multi", platforms=None)
    # both platforms recorded; only arm64's manifest, config and own layer are new (the base is shared)
    assert (again.images_ok, again.images_skipped, again.blobs_downloaded) == (2, 0, 3)
    assert sorted(r.platform for r in ok_records(tmp_path)) == ["linux/amd64", "linux/arm64/v8"]
    third = crawl(pushed, tmp_path, "demo/multi", platforms=None)
    assert (third.images_ok, third.images_skipped, third.blobs_downloaded) == (0, 2, 0)


def test_rerun_retries_a_platform_that_failed(proxy, corpus, tmp_path):
    from crawler_services import Fault

    arm64 = json.loads(open(f"{corpus.layout_dir}/blobs/sha256/{corpus.descriptors['multi']['digest'][7:]}").read())
    arm64_digest = next(m["digest"] for m in arm64["manifests"] if m["platform"]["architecture"] == "arm64")
    proxy.add(Fault("status", match=f"/manifests/{arm64_digest}", status=404, times=-1))
    first = run_crawl(proxy.url, str(tmp_path), [RepoTarget("demo/multi")], options=fast_options(platforms=None))
    assert (first.images_ok, first.images_error) == (1, 1)
    proxy.reset()
    second = run_crawl(proxy.url, str(tmp_path), [RepoTarget("demo/multi")], options=fast_options(platforms=None))
    assert second.images_ok == 2  # the index is fetched again; amd64's blobs are already present
    assert {r.platform: r.status for r in latest_records(str(tmp_path)).values()} == {
        "linux/amd64": "ok", "linux/arm64/v8": "ok"}


def test_rerun_follows_a_moved_tag(pushed, corpus, tmp_path):
    from hubscope.demo.localregistry import skopeo_copy

    skopeo_copy(f"oci:{corpus.layout_dir}:y2020", f"docker://{pushed.host}/demo/moving:latest")
    crawl(pushed, tmp_path, "demo/moving")
    skopeo_copy(f"oci:{corpus.layout_dir}:y2025", f"docker://{pushed.host}/demo/moving:latest")
    again = crawl(pushed, tmp_path, "demo/moving")
    assert (again.images_ok, again.images_skipped) == (1, 0)
    [record] = ok_records(tmp_path)
    assert record.manifest_digest == corpus.descriptors["y2025"]["digest"]


def test_success_supersedes_an_earlier_missing_tag_error(pushed, corpus, tmp_path):
    from hubscope.demo.localregistry import skopeo_copy

    crawl(pushed, tmp_path, "demo/late")
    [error] = latest_records(str(tmp_path)).values()
    assert error.status == "error" and error.platform == "linux/amd64"
    skopeo_copy(f"oci:{corpus.layout_dir}:oci", f"docker://{pushed.host}/demo/late:latest")
    crawl(pushed, tmp_path, "demo/late")
    [record] = latest_records(str(tmp_path)).values()  # one item: the ok record replaced the error
    assert record.status == "ok"


SCHEMA1_OK = "compatibility:\n  schema1:\n    enabled: true\n"


def test_schema1_legacy_image(corpus, tmp_path):
    from hubscope.demo.localregistry import LocalRegistry, skopeo_copy

    registry = LocalRegistry(str(tmp_path / "registry"), extra_config=SCHEMA1_OK).start()
    try:
        skopeo_copy(f"oci:{corpus.layout_dir}:schema2", f"docker://{registry.host}/demo/old:v1", ["--format", "v2s1"])
        summary = crawl(registry, tmp_path / "store", ("demo/old", "v1"))
        import requests

        served = requests.head(f"{registry.url}/v2/demo/old/manifests/v1",
                               headers={"Accept": "application/vnd.docker.distribution.manifest.v1+prettyjws"})
    finally:
        registry.stop()
    assert summary.images_ok == 1
    [record] = ok_records(tmp_path / "store")
    assert record.manifest_media_type == "application/vnd.docker.distribution.manifest.v1+prettyjws"
    assert record.manifest_digest == served.headers["Docker-Content-Digest"]  # libtrust payload digest
    assert record.config_digest is None and record.platform == "linux/amd64"
    schema2_layers = [d["digest"] for d in corpus.manifest("schema2")["layers"]]
    assert [layer.digest for layer in record.layers] == schema2_layers  # base first, as in schema2
    assert record.compressed_bytes == sum(d["size"] for d in corpus.manifest("schema2")["layers"])
    stored = assert_store_verifies(str(tmp_path / "store"))
    assert record.manifest_digest[7:] in stored  # the signed payload, addressable by its digest
