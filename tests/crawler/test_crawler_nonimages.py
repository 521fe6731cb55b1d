"""Non-images and broken shapes: artifacts and attestations pushed to the real registry are ``not_an_image``
(media types recorded, nothing downloaded, no ``images`` row); schema errors are ``manifest_error``; a torn
record line survives a rerun; docker-save archives with links import, a link cycle fails only its archive."""
from __future__ import annotations

import io
import json
import os
import tarfile

import pytest
from click.testing import CliRunner

from crawler.crawl_command import crawl as crawl_command
from crawler.crawl import RepoTarget, run_crawl
from common.records import UnreadableLines, latest_records, read_records
from common.stores import open_store
from jobs.image_tables import build_index

from crawler_hostile import (OCI_CONFIG, OCI_LAYER_GZIP, descriptor, digest_of, image_config, layer_tar_gz,
                             manifest_response, oci_manifest, on_path, push_blob, put_manifest)
from crawler_images import assert_store_verifies, real_files
from crawler_testkit import fast_options

HELM_CONFIG = "application/vnd.cncf.helm.config.v1+json"
HELM_CHART = "application/vnd.cncf.helm.chart.content.v1.tar+gzip"
IN_TOTO = "application/vnd.in-toto+json"
OCI_EMPTY = "application/vnd.oci.empty.v1+json"


@pytest.fixture(scope="module")
def artifacts(registry):
    """A Helm chart, a BuildKit-style attestation manifest and an OCI 1.1 artifact, tagged directly."""
    chart = layer_tar_gz(real_files(["/etc/apt"], 50_000, "mychart"))
    helm_config = json.dumps({"name": "mychart", "version": "0.1.0", "apiVersion": "v2"}).encode()
    statement = json.dumps({"_type": "https://in-toto.io/Statement/v0.1", "subject": []}).encode()
    attest_config = json.dumps({"architecture": "unknown", "os": "unknown", "config": {},
                                "rootfs": {"type": "layers", "diff_ids": [digest_of(statement)]}}).encode()
    pushed = {
        "art/helm": (helm_config, chart, oci_manifest(descriptor(HELM_CONFIG, helm_config), [descriptor(HELM_CHART, chart)])),
        "art/attestation": (attest_config, statement, oci_manifest(descriptor(OCI_CONFIG, attest_config), [
            {**descriptor(IN_TOTO, statement), "annotations": {"in-toto.io/predicate-type": "https://slsa.dev/provenance/v0.2"}}])),
        "art/artifact": (b"{}", statement, oci_manifest(descriptor(OCI_EMPTY, b"{}"), [descriptor("application/vnd.example.data", statement)],
                                                       artifactType="application/vnd.example+type")),
    }
    for repo, (config, blob, manifest) in pushed.items():
        push_blob(registry.host, repo, config)
        push_blob(registry.host, repo, blob)
        put_manifest(registry.host, repo, "latest", manifest)
    return pushed


def test_artifacts_and_attestations_are_not_images(registry, artifacts, tmp_path):
    summary = run_crawl(registry.url, str(tmp_path), [RepoTarget(r) for r in artifacts], options=fast_options())
    records = {r.repository: r for r in latest_records(str(tmp_path)).values()}
    assert {r.status for r in records.values()} == {"not_an_image"} and summary.images_not_an_image == 3
    assert summary.images_ok == summary.images_error == 0
    assert HELM_CONFIG in records["art/helm"].error_message and records["art/helm"].config_media_type == HELM_CONFIG
    assert [layer.media_type for layer in records["art/helm"].layers] == [HELM_CHART]
    assert IN_TOTO in records["art/attestation"].error_message
    assert "artifactType application/vnd.example+type" in records["art/artifact"].error_message
    assert assert_store_verifies(str(tmp_path)) == set()  # nothing downloaded: no chart to scan
    rerun = run_crawl(registry.url, str(tmp_path), [RepoTarget(r) for r in artifacts], options=fast_options())
    assert rerun.images_skipped == 3  # recorded once; a rerun does not fetch them again
    index = build_index(latest_records(str(tmp_path)).values(), open_store(str(tmp_path)))
    assert (index.images.num_rows, index.image_layers.num_rows, index.layers) == (0, 0, [])


def test_schema_errors_are_manifest_errors(pushed, corpus, rewrite, tmp_path):
    manifest = corpus.manifest("oci")
    not_a_list = json.dumps({**manifest, "layers": {"0": manifest["layers"][0]}}).encode()
    rewrite.rules.append(on_path("/v2/demo/oci/manifests/latest", manifest_response(not_a_list)))
    run_crawl(rewrite.url, str(tmp_path), [RepoTarget("demo/oci")], options=fast_options())
    [record] = latest_records(str(tmp_path)).values()
    assert (record.status, record.error_class) == ("error", "manifest_error") and "not a list" in record.error_message
    assert assert_store_verifies(str(tmp_path)) == set()


def test_schema1_with_missing_blobs_stores_nothing(pushed, rewrite, tmp_path):
    missing = [digest_of(f"no such layer {i}".encode()) for i in range(2)]
    schema1 = json.dumps({"schemaVersion": 1, "name": "demo/oci", "tag": "old", "architecture": "amd64",
                          "fsLayers": [{"blobSum": d} for d in missing],
                          "history": [{"v1Compatibility": json.dumps({"os": "linux"})}] * 2}).encode()
    rewrite.rules.append(on_path("/v2/demo/oci/manifests/old",
                                 manifest_response(schema1, "application/vnd.docker.distribution.manifest.v1+json")))
    run_crawl(rewrite.url, str(tmp_path), [RepoTarget("demo/oci", "old")], options=fast_options())
    [record] = latest_records(str(tmp_path)).values()
    assert (record.status, record.error_class) == ("error", "NotFound")
    assert assert_store_verifies(str(tmp_path)) == set()  # not even the manifest


def test_a_torn_record_line_survives_a_rerun_with_the_same_run_id(pushed, tmp_path):
    run_crawl(pushed.url, str(tmp_path), [RepoTarget("demo/oci")], options=fast_options(), run_id="torn")
    [path] = [os.path.join(tmp_path, "records", n) for n in os.listdir(tmp_path / "records")]
    with open(path, "rb+") as fh:  # what a kill mid-write leaves: half a line, no newline
        size = os.path.getsize(path)
        fh.truncate(size // 2)
    summary = run_crawl(pushed.url, str(tmp_path), [RepoTarget("demo/oci"), RepoTarget("demo/schema2")],
                        options=fast_options(), run_id="torn")
    unreadable = UnreadableLines()
    records = list(read_records(str(tmp_path), unreadable))
    assert summary.images_ok == 2 and unreadable.count == 1 and unreadable.where == ["crawl-torn.jsonl:1"]
    assert sorted(r.repository for r in records) == ["demo/oci", "demo/schema2"]


def _tar(path, members: dict) -> str:
    """A tar of {name: bytes | ("symlink"|"hardlink", target)}."""
    with tarfile.open(path, "w") as tf:
        for name, value in members.items():
            info = tarfile.TarInfo(name)
            if isinstance(value, tuple):
                info.type = tarfile.SYMTYPE if value[0] == "symlink" else tarfile.LNKTYPE
                info.linkname = value[1]
                tf.addfile(info)
            else:
                info.size = len(value)
                tf.addfile(info, io.BytesIO(value))
    return str(path)


def test_docker_archives_with_links(tmp_path):
    layer = io.BytesIO()
    with tarfile.open(fileobj=layer, mode="w") as tf:
        for name, data in real_files(["/etc/apt"], 30_000, "etc/apt").items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tf.addfile(info, io.BytesIO(data))
    layer = layer.getvalue()
    config = image_config([__import__("gzip").compress(layer)])
    two = json.dumps([{"Config": "c1.json", "RepoTags": ["a/one:v1"], "Layers": ["l1/layer.tar"]},
                      {"Config": "c2.json", "RepoTags": ["a/two:v1"], "Layers": ["l2/layer.tar"]}]).encode()
    shared = _tar(tmp_path / "shared.tar", {"manifest.json": two, "c1.json": config, "c2.json": ("symlink", "c1.json"),
                                            "l1/layer.tar": layer, "l2/layer.tar": ("symlink", "../l1/layer.tar")})
    cycle = _tar(tmp_path / "cycle.tar", {"manifest.json": ("symlink", "config.json"),
                                          "config.json": ("symlink", "manifest.json")})
    one = json.dumps([{"Config": "c.json", "RepoTags": ["b/out:v1"], "Layers": ["l/layer.tar"]}]).encode()
    outside = _tar(tmp_path / "outside.tar", {"manifest.json": one, "c.json": config,
                                              "l/layer.tar": ("symlink", "../../etc/passwd")})
    plain = _tar(tmp_path / "plain.tar", {"manifest.json": one.replace(b"b/out", b"c/plain"), "c.json": config,
                                          "l/layer.tar": ("hardlink", "l0.tar"), "l0.tar": layer})
    store = tmp_path / "store"
    args = ["--store", str(store), "--no-progress"]
    for archive in (shared, cycle, outside, plain):
        args += ["--docker-archive", archive]
    result = CliRunner().invoke(crawl_command, args)
    assert result.exit_code == 0, result.output
    records = {r.repository: r for r in latest_records(str(store)).values()}
    assert {k: r.status for k, r in records.items() if r.status == "ok"} == {"a/one": "ok", "a/two": "ok", "c/plain": "ok"}
    assert records["a/two"].layers == records["a/one"].layers  # the linked layer.tar is the same layer
    assert records["cycle.tar"].error_class == "image_error" and "cycle" in records["cycle.tar"].error_message
    assert records["b/out"].error_class == "image_error" and "outside the archive" in records["b/out"].error_message
    assert digest_of(layer)[7:] in assert_store_verifies(str(store))
