"""Sample images for the demo: real Debian files, shared base layers, pushable with skopeo."""
import io
import json
import os
import subprocess
import tarfile

import pytest

from hubscope.demo.localregistry import LocalRegistry

from hubscope.demo.sample_images import PACKAGE_GROUPS, SAMPLE_IMAGES, deb_members, download_packages, layer_tar, layout_ref


@pytest.fixture(scope="module")
def deb_cache(tmp_path_factory):
    return str(tmp_path_factory.mktemp("debs"))


def test_download_and_read_a_real_package(deb_cache):
    paths = download_packages(["base-files"], deb_cache)
    names = {info.name for info, _ in deb_members(paths["base-files"])}
    assert "etc/debian_version" in names
    assert "usr/lib/os-release" in names
    # A second call finds the cached file and downloads nothing.
    mtime = os.path.getmtime(paths["base-files"])
    assert download_packages(["base-files"], deb_cache) == paths
    assert os.path.getmtime(paths["base-files"]) == mtime


def test_layer_tar_keeps_first_copy_of_a_path(deb_cache):
    paths = download_packages(["base-files"], deb_cache)
    raw = layer_tar([paths["base-files"], paths["base-files"]])
    with tarfile.open(fileobj=io.BytesIO(raw)) as tf:
        names = tf.getnames()
    assert len(names) == len(set(names))


def test_sample_set_shares_the_base_layer():
    with_base = [image for image in SAMPLE_IMAGES if image.layers[0] == "base"]
    assert len(with_base) >= 5
    assert any(image.docker_format for image in SAMPLE_IMAGES)
    assert any(not image.docker_format for image in SAMPLE_IMAGES)
    for image in SAMPLE_IMAGES:
        for layer in image.layers:
            assert all(part in PACKAGE_GROUPS or part == "slim" for part in layer.split("+"))


@pytest.fixture()
def own_registry(tmp_path):
    """A registry of this test's own, so the pushed images never show up in other tests' catalogs."""
    with LocalRegistry(str(tmp_path / "registry")) as reg:
        yield reg


def test_push_sample_images_to_a_real_registry(own_registry, tmp_path, deb_cache):
    from hubscope.demo.pipeline import push_samples

    registry = own_registry
    refs = push_samples(registry.host, str(tmp_path / "layout"), deb_cache)
    assert len(refs) == len(SAMPLE_IMAGES)
    out = subprocess.run(
        ["skopeo", "inspect", "--tls-verify=false", "--raw", f"docker://{registry.host}/demo/python:latest"],
        capture_output=True, text=True, check=True,
    ).stdout
    assert json.loads(out)["mediaType"] == "application/vnd.docker.distribution.manifest.v2+json"
    out = subprocess.run(
        ["skopeo", "inspect", "--tls-verify=false", "--raw", f"docker://{registry.host}/demo/pyapp:latest"],
        capture_output=True, text=True, check=True,
    ).stdout
    assert json.loads(out)["mediaType"] == "application/vnd.oci.image.manifest.v1+json"
    assert layout_ref(SAMPLE_IMAGES[0]) == "demo_base-latest"
