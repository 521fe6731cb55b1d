"""The S3 blob store against a moto server on loopback: verified-only visibility, pickling, a crawl into S3."""
from __future__ import annotations

import pickle
import uuid

import boto3
import pytest
from click.testing import CliRunner

from crawler.crawl_command import crawl as crawl_command
from common.digest import Digest
from common.records import latest_records
from common.storage import DigestMismatch, StoreConfig
from common.stores import open_store
from common.storage_s3 import S3BlobStore


def s3_config(endpoint: str, prefix: str = "store") -> StoreConfig:
    return StoreConfig(f"s3://hubscope-{uuid.uuid4().hex[:8]}/{prefix}", s3_endpoint=endpoint, s3_region="us-east-1",
                       s3_access_key="testing", s3_secret_key="testing")


@pytest.fixture
def s3_store(moto_s3):
    store = open_store(s3_config(moto_s3))
    assert isinstance(store, S3BlobStore)
    store.ensure_bucket()
    return store


def keys(store: S3BlobStore) -> list[str]:
    listing = store.client.list_objects_v2(Bucket=store.bucket)
    return [item["Key"] for item in listing.get("Contents", [])]


def test_put_read_size_and_layout(s3_store):
    data = b"the GNU General Public License text, more or less\n" * 100
    digest = Digest.of_bytes(data)
    assert not s3_store.exists(digest) and s3_store.size(digest) is None
    s3_store.put_bytes(digest, data)
    assert s3_store.exists(digest) and s3_store.size(digest) == len(data)
    assert s3_store.read_bytes(digest) == data
    assert keys(s3_store) == [f"store/blobs/sha256/{digest.hex}"]
    assert list(s3_store.digests()) == [digest]


def test_unverified_blob_never_becomes_visible(s3_store):
    data = b"real bytes"
    wrong = Digest.of_bytes(b"other bytes")
    writer = s3_store.writer(wrong, len(data))
    writer.write(data)
    with pytest.raises(DigestMismatch):
        writer.commit()
    overflow = s3_store.writer(Digest.of_bytes(data), 3)
    with pytest.raises(DigestMismatch):
        overflow.write(data)
    assert keys(s3_store) == [] and not s3_store.exists(wrong)


def test_streamed_writer_larger_than_memory_spool(s3_store):
    chunk = open("/usr/share/common-licenses/GPL-3", "rb").read()
    data = chunk * (9 * (1 << 20) // len(chunk) + 1)  # > 8 MiB: spools to disk, uploads multipart
    digest = Digest.of_bytes(data)
    writer = s3_store.writer(digest, len(data))
    for i in range(0, len(data), 1 << 20):
        writer.write(data[i:i + (1 << 20)])
    writer.commit()
    assert s3_store.size(digest) == len(data)
    assert Digest.of_bytes(s3_store.read_bytes(digest)) == digest


def test_store_pickles_and_reopens_from_config(s3_store):
    data = b"picklable"
    digest = Digest.of_bytes(data)
    s3_store.put_bytes(digest, data)
    clone = pickle.loads(pickle.dumps(s3_store))
    assert clone.config == s3_store.config and clone.read_bytes(digest) == data
    assert open_store(s3_store.config).read_bytes(digest) == data


def test_cli_crawl_into_s3_with_local_records(pushed, moto_s3, tmp_path):
    config = s3_config(moto_s3, prefix="crawl")
    args = ["--registry", pushed.url, "--store", config.url, "--records", str(tmp_path), "--s3-endpoint", moto_s3,
            "--s3-access-key", "testing", "--s3-secret-key", "testing", "--s3-region", "us-east-1",
            "demo/oci", "demo/schema2"]
    result = CliRunner().invoke(crawl_command, args)
    assert result.exit_code == 0, result.output
    assert "2 ok, 0 errors" in result.output
    store = open_store(config)
    stored = {str(d) for d in store.digests()}
    records = latest_records(str(tmp_path)).values()
    expected = {d for r in records for d in [r.manifest_digest, r.config_digest] + [l.digest for l in r.layers]}
    assert stored == expected
    for digest in store.digests():
        assert Digest.of_bytes(store.read_bytes(digest)) == digest
    again = CliRunner().invoke(crawl_command, args)
    assert "2 already done" in again.output and "0 blobs (0.0 MB) downloaded" in again.output


def test_cli_s3_store_requires_records_dir(moto_s3):
    result = CliRunner().invoke(crawl_command, ["--store", "s3://bucket/x", "--s3-endpoint", moto_s3, "demo/oci"])
    assert result.exit_code == 2 and "--records" in result.output


def test_boto3_sees_no_temporary_objects(s3_store):
    # the writer spools locally: an aborted write leaves nothing in the bucket
    writer = s3_store.writer(Digest.of_bytes(b"x" * 10), 10)
    writer.write(b"x" * 5)
    writer.abort()
    client = boto3.client("s3", endpoint_url=s3_store.config.s3_endpoint, region_name="us-east-1",
                          aws_access_key_id="testing", aws_secret_access_key="testing")
    assert client.list_objects_v2(Bucket=s3_store.bucket).get("KeyCount") == 0
