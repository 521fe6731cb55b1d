"""The Docker daemon source against a real dockerd (vfs storage, no iptables, no bridge) started here."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
import time

import pytest
from click.testing import CliRunner

from crawler.crawl_command import crawl as crawl_command
from crawler.local_import import LocalImporter
from common.records import RecordLog, latest_records
from common.stores import open_store

from crawler_images import assert_store_verifies


@pytest.fixture(scope="module")
def dockerd(corpus):
    """A private dockerd on a unix socket in a short temp dir, with the fixture archive loaded."""
    if shutil.which("dockerd") is None:
        pytest.fail("dockerd not found: apt-get install docker.io")
    import docker

    work = tempfile.mkdtemp(prefix="hsd-", dir="/tmp")  # unix socket paths must stay short
    socket_url = f"unix://{work}/docker.sock"
    config = {"storage-driver": "vfs", "iptables": False, "ip6tables": False, "bridge": "none",
              "data-root": f"{work}/root", "exec-root": f"{work}/exec", "pidfile": f"{work}/dockerd.pid",
              "hosts": [socket_url]}
    with open(f"{work}/daemon.json", "w") as fh:
        json.dump(config, fh)
    log = open(f"{work}/dockerd.log", "wb")
    process = subprocess.Popen(["dockerd", "--config-file", f"{work}/daemon.json"], stdout=log,
                               stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 60
    while True:
        try:
            client = docker.DockerClient(base_url=socket_url)  # asks the daemon for its API version
            client.ping()
            break
        except Exception:
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                pytest.fail(f"dockerd did not start; see {work}/dockerd.log")
            time.sleep(0.25)
    with open(corpus.archive_path, "rb") as fh:
        client.images.load(fh.read())
    client.images.get("demo/archive:v1").tag("demo/archive", "second")
    yield socket_url, client
    client.close()
    process.terminate()
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
    log.close()
    shutil.rmtree(work, ignore_errors=True)


def test_daemon_images_into_store_and_records(dockerd, tmp_path):
    socket_url, client = dockerd
    importer = LocalImporter(open_store(str(tmp_path)), RecordLog(str(tmp_path)))
    result = importer.import_docker_daemon(socket_url)
    records = {(r.repository, r.tag): r for r in result.records}
    assert set(records) == {("demo/archive", "v1"), ("demo/archive", "second")}
    record = records[("demo/archive", "v1")]
    assert record.status == "ok" and record.source == "docker-daemon" and record.platform == "linux/amd64"
    image = client.images.get("demo/archive:v1")
    assert record.config_digest == image.id  # the image id is the config digest
    diff_ids = image.attrs["RootFS"]["Layers"]
    assert [layer.digest for layer in record.layers] == diff_ids  # saved layers are the uncompressed tars
    assert len(assert_store_verifies(str(tmp_path))) == 2 + len(diff_ids)  # 2 tags, one set of blobs
    assert records[("demo/archive", "second")].manifest_digest == record.manifest_digest


def test_cli_docker_daemon_selected_image(dockerd, tmp_path):
    socket_url, _ = dockerd
    result = CliRunner().invoke(crawl_command, ["--store", str(tmp_path), "--docker-daemon", "--docker-host",
                                                socket_url, "--daemon-image", "demo/archive:second"])
    assert result.exit_code == 0, result.output
    [record] = latest_records(str(tmp_path)).values()
    assert (record.repository, record.tag, record.status) == ("demo/archive", "second", "ok")


def test_daemon_unknown_image_is_a_recorded_error(dockerd, tmp_path):
    socket_url, _ = dockerd
    importer = LocalImporter(open_store(str(tmp_path)), RecordLog(str(tmp_path)))
    [record] = importer.import_docker_daemon(socket_url, ["demo/nope:v9"]).records
    assert record.status == "error" and record.error_class == "ImageNotFound"
    assert os.listdir(tmp_path / "blobs" / "sha256") == []
