"""The fixture writer: layouts must be valid enough for skopeo, with digests computed from raw bytes."""
import gzip
import hashlib
import io
import json
import os
import tarfile

from hubscope.demo.oci_layout import OciLayout, docker_archive, tar_bytes


def test_tar_bytes_sorted_members_with_content():
    raw = tar_bytes({"b.txt": b"bb", "a/x.txt": b"x"})
    with tarfile.open(fileobj=io.BytesIO(raw)) as tf:
        assert tf.getnames() == ["a/x.txt", "b.txt"]
        assert tf.extractfile("b.txt").read() == b"bb"


def test_image_config_diff_ids_are_digests_of_uncompressed_layers(tmp_path):
    layout = OciLayout(str(tmp_path / "oci"))
    desc = layout.image([{"a": b"1"}, {"b": b"2"}])
    blobs = tmp_path / "oci" / "blobs" / "sha256"
    manifest_raw = (blobs / desc["digest"].split(":")[1]).read_bytes()
    assert hashlib.sha256(manifest_raw).hexdigest() == desc["digest"].split(":")[1]
    manifest = json.loads(manifest_raw)
    config = json.loads((blobs / manifest["config"]["digest"].split(":")[1]).read_bytes())
    for layer, diff_id in zip(manifest["layers"], config["rootfs"]["diff_ids"]):
        compressed = (blobs / layer["digest"].split(":")[1]).read_bytes()
        assert layer["size"] == len(compressed)
        assert "sha256:" + hashlib.sha256(gzip.decompress(compressed)).hexdigest() == diff_id


def test_shared_layer_is_one_blob(tmp_path):
    layout = OciLayout(str(tmp_path / "oci"))
    layout.image([{"base": b"same"}])
    layout.image([{"base": b"same"}, {"app": b"mine"}])
    # 2 distinct layers + 2 configs + 2 manifests
    assert len(os.listdir(tmp_path / "oci" / "blobs" / "sha256")) == 6


def test_docker_archive_lists_layers_and_config(tmp_path):
    path = tmp_path / "save.tar"
    docker_archive(str(path), "demo/saved:v1", [{"a.txt": b"a"}])
    with tarfile.open(path) as tf:
        manifest = json.load(tf.extractfile("manifest.json"))
        assert manifest[0]["RepoTags"] == ["demo/saved:v1"]
        assert len(manifest[0]["Layers"]) == 1
