"""Local sources into the same store and records: docker save archives (legacy and Docker 25+), OCI layouts."""
from __future__ import annotations

import hashlib
import io
import json
import tarfile

import pytest
from click.testing import CliRunner

from crawler.crawl_command import crawl as crawl_command
from common.digest import Digest
from crawler.local_import import LocalImporter, LocalSourceError
from crawler.manifest import Platform
from common.records import RecordLog, latest_records
from common.stores import open_store
from hubscope.demo.oci_layout import OciLayout, tar_bytes

from crawler_images import assert_store_verifies, real_files


def importer(store_dir, platforms=(Platform("linux", "amd64"),)):
    return LocalImporter(open_store(str(store_dir)), RecordLog(str(store_dir)), platforms)


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def docker25_archive(path, repo_tag: str, layers: list[dict], list_in_index: bool) -> dict:
    """A Docker 25+ ``docker save``: OCI layout blobs + manifest.json; index.json lists the manifest or nothing."""
    raws = [tar_bytes(files) for files in layers]
    config = json.dumps({"architecture": "amd64", "os": "linux", "config": {},
                         "rootfs": {"type": "layers", "diff_ids": [f"sha256:{sha(r)}" for r in raws]}}).encode()
    manifest = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
                           "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                                      "digest": f"sha256:{sha(config)}", "size": len(config)},
                           "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar",
                                       "digest": f"sha256:{sha(r)}", "size": len(r)} for r in raws]}).encode()
    entries = {"oci-layout": b'{"imageLayoutVersion": "1.0.0"}'}
    for blob in [config, manifest, *raws]:
        entries[f"blobs/sha256/{sha(blob)}"] = blob
    index_manifests = []
    if list_in_index:
        index_manifests = [{"mediaType": "application/vnd.oci.image.manifest.v1+json",
                            "digest": f"sha256:{sha(manifest)}", "size": len(manifest),
                            "annotations": {"io.containerd.image.name": f"docker.io/{repo_tag}",
                                            "org.opencontainers.image.ref.name": repo_tag.rsplit(":", 1)[1]}}]
    entries["index.json"] = json.dumps({"schemaVersion": 2, "manifests": index_manifests}).encode()
    entries["manifest.json"] = json.dumps([{"Config": f"blobs/sha256/{sha(config)}", "RepoTags": [repo_tag],
                                            "Layers": [f"blobs/sha256/{sha(r)}" for r in raws]}]).encode()
    with tarfile.open(path, "w") as tf:
        for name, data in entries.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tf.addfile(info, io.BytesIO(data))
    return {"config": f"sha256:{sha(config)}", "manifest": f"sha256:{sha(manifest)}",
            "layers": [f"sha256:{sha(r)}" for r in raws]}


LAYERS = [real_files(["/usr/share/common-licenses"], 150_000, ""), real_files(["/usr/share/doc/bash"], 80_000, "app/")]


def test_legacy_docker_save_archive(corpus, tmp_path):
    result = importer(tmp_path).import_docker_archive(corpus.archive_path)
    [record] = result.records
    assert (record.status, record.source, record.repository, record.tag) == ("ok", "docker-archive", "demo/archive", "v1")
    assert record.platform == "linux/amd64" and len(record.layers) == 2
    assert all(layer.media_type == "application/vnd.docker.image.rootfs.diff.tar" for layer in record.layers)
    stored = assert_store_verifies(str(tmp_path))
    manifest = json.loads(open_store(str(tmp_path)).read_bytes(Digest.parse(record.manifest_digest)))
    assert manifest["config"]["digest"] == record.config_digest
    assert {d.split(":")[1] for d in [record.manifest_digest, record.config_digest]} <= stored


@pytest.mark.parametrize("list_in_index", [False, True], ids=["index-lists-nothing", "index-lists-manifest"])
def test_docker25_archive(tmp_path, list_in_index):
    archive = tmp_path / "save25.tar"
    expected = docker25_archive(str(archive), "demo/new:v25", LAYERS, list_in_index)
    store = tmp_path / "store"
    [record] = importer(store).import_docker_archive(str(archive)).records
    assert record.status == "ok" and record.tag == "v25"
    assert record.config_digest == expected["config"]
    assert [layer.digest for layer in record.layers] == expected["layers"]
    if list_in_index:  # the stored OCI manifest is kept byte for byte
        assert record.manifest_digest == expected["manifest"]
    else:  # manifest.json only: a schema2 manifest is synthesised over the same blobs
        assert record.manifest_media_type == "application/vnd.docker.distribution.manifest.v2+json"
    assert record.repository == "demo/new"  # docker.io/demo/new and demo/new name the same repository
    assert len(assert_store_verifies(str(store))) == 2 + len(LAYERS)


def test_oci_layout_with_index_platforms_and_attestation(corpus, tmp_path):
    result = importer(tmp_path, platforms=None).import_oci_layout(corpus.layout_dir, repository="fixtures")
    by_tag = {}
    for record in result.records:
        by_tag.setdefault(record.tag, []).append(record)
    assert sorted(r.platform for r in by_tag["multi"]) == ["linux/amd64", "linux/arm64/v8"]  # attestation skipped
    assert all(r.index_digest == corpus.descriptors["multi"]["digest"] for r in by_tag["multi"])
    assert by_tag["oci"][0].manifest_digest == corpus.descriptors["oci"]["digest"]
    assert all(r.status == "ok" and r.source == "oci-layout" for r in result.records)
    assert_store_verifies(str(tmp_path))


def test_oci_layout_foreign_layer_is_recorded_not_copied(tmp_path):
    layout = OciLayout(str(tmp_path / "layout"))
    desc = layout.image([LAYERS[0]])
    manifest = json.loads(open(f"{layout.root}/blobs/sha256/{desc['digest'][7:]}").read())
    foreign = {"mediaType": "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip",
               "digest": "sha256:" + "ab" * 32, "size": 123456, "urls": ["https://example.invalid/layer.tar.gz"]}
    manifest["layers"].insert(0, foreign)
    layout.tag(layout.blob(json.dumps(manifest).encode(), "application/vnd.oci.image.manifest.v1+json"), "win")
    layout.save()
    [record] = importer(tmp_path / "store").import_oci_layout(layout.root).records
    assert record.status == "ok"
    assert record.layers[0].foreign and record.layers[0].urls == ("https://example.invalid/layer.tar.gz",)
    assert "ab" * 32 not in assert_store_verifies(str(tmp_path / "store"))


def test_oci_layout_missing_blob_is_a_recorded_error(corpus, tmp_path):
    layout = OciLayout(str(tmp_path / "layout"))
    desc = layout.image(LAYERS)
    layout.tag(desc, "broken")
    layout.save()
    manifest = json.loads(open(f"{layout.root}/blobs/sha256/{desc['digest'][7:]}").read())
    (tmp_path / "layout" / "blobs" / "sha256" / manifest["layers"][1]["digest"][7:]).unlink()
    [record] = importer(tmp_path / "store").import_oci_layout(layout.root).records
    assert record.status == "error" and record.error_class == "FileNotFoundError"
    assert manifest["layers"][1]["digest"][7:] in record.error_message


def test_not_an_archive_is_a_clear_error(tmp_path):
    bogus = tmp_path / "bogus.tar"
    bogus.write_bytes(b"not a tar at all")
    with pytest.raises(LocalSourceError, match="not a tar archive"):
        importer(tmp_path / "store").import_docker_archive(str(bogus))


def test_cli_local_sources_share_store_and_records(corpus, pushed, tmp_path):
    archive = tmp_path / "save25.tar"
    docker25_archive(str(archive), "demo/new:v25", LAYERS, False)
    store = tmp_path / "store"
    result = CliRunner().invoke(crawl_command, ["--registry", pushed.url, "--store", str(store), "--docker-archive",
                                                corpus.archive_path, "--docker-archive", str(archive), "--oci-layout",
                                                corpus.layout_dir, "demo/schema2"])
    assert result.exit_code == 0, result.output
    records = list(latest_records(str(store)).values())
    assert {r.source for r in records} == {"docker-archive", "oci-layout", "registry"}
    assert {r.status for r in records} == {"ok"}
    assert len({r.item_key for r in records}) == len(records)
    # the registry image and the layout's "schema2" image share the base layer blob: stored once
    assert len(assert_store_verifies(str(store))) == len({d for r in records for d in
                                                           [r.manifest_digest, r.config_digest, r.index_digest]
                                                           + [l.digest for l in r.layers] if d})
