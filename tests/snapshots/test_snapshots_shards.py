"""Shards: three crawl processes split one ``_catalog`` of a real registry into one moto S3 store; the scan sees all."""
from __future__ import annotations

import collections
import os
import subprocess
import sys

import boto3
import pyarrow.parquet as pq

from common.records import read_records
from crawler.shards import Shard, normalise_repository, shard_credentials, shard_of
from hubscope.demo.localregistry import LocalRegistry
from jobs.scan import run_scan
from snapshots_kit import build_images, push

REPOS = [f"shard/r{i}" for i in range(9)]
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def test_shards_are_stable_even_and_normalised():
    assert Shard.parse("2/3") == Shard(2, 3) and str(Shard(2, 3)) == "2/3"
    names = [f"ns{i % 97}/repo-{i}" for i in range(9000)]
    counts = collections.Counter(shard_of(n, 3) for n in names)
    assert set(counts) == {0, 1, 2} and all(2700 <= c <= 3300 for c in counts.values())  # 3000 +- 10 %
    # the same repository in any spelling is in the same shard; sha256, so the same on every host and run
    assert normalise_repository("docker.io/Nginx") == normalise_repository("library/nginx") == "library/nginx"
    assert shard_of("docker.io/nginx", 7) == shard_of("library/nginx", 7)
    assert shard_of("library/nginx", 7) == int.from_bytes(__import__("hashlib").sha256(b"library/nginx").digest()[:8], "big") % 7
    env = {"HUBSCOPE_REGISTRY_USER_1": "second", "HUBSCOPE_REGISTRY_PASSWORD_1": "pw1"}
    assert shard_credentials(Shard(1, 3), env) == ("second", "pw1")
    assert shard_credentials(Shard(0, 3), env) == (None, None)  # falls back to the general credentials


def test_three_shards_in_parallel_into_one_s3_store(tmp_path, moto_s3, spark):
    images = build_images(str(tmp_path / "layout"))
    names = list(images.descriptors)
    store, records = "s3://hubscope-shards/hub", str(tmp_path / "records")
    # one bucket made up front: three processes racing to create it is not what this test is about
    boto3.client("s3", endpoint_url=moto_s3, region_name="us-east-1").create_bucket(Bucket="hubscope-shards")
    env = {**os.environ, "PYTHONPATH": ROOT, "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}
    with LocalRegistry(str(tmp_path / "registry")) as registry:
        push(images, registry.host, {f"{repo}:latest": names[i % len(names)] for i, repo in enumerate(REPOS)})
        procs = [subprocess.Popen([sys.executable, "-m", "crawler.crawl_command", "--registry", registry.url,
                                   "--store", store, "--s3-endpoint", moto_s3, "--s3-region", "us-east-1",
                                   "--records", records, "--catalog", "--shard", f"{i}/3", "--snapshot", "S",
                                   "--run-id", f"shard{i}", "--no-progress"],
                                  env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for i in range(3)]
        outputs = [p.communicate(timeout=300) for p in procs]
    for proc, (out, err) in zip(procs, outputs):
        assert proc.returncode == 0, out + err
    crawled = [r for r in read_records(records) if r.status == "ok"]
    by_repo = collections.Counter(r.repository for r in crawled)
    assert by_repo == {repo: 1 for repo in REPOS}  # every repository exactly once
    for record in crawled:
        assert record.shard == f"{shard_of(record.repository, 3)}/3" and record.snapshot == "S"
    files = sorted(n for n in os.listdir(os.path.join(records, "records")) if n.endswith(".jsonl"))
    assert files == [f"crawl-shard{i}.jsonl" for i in range(3)]

    tables = str(tmp_path / "tables")
    summary = run_scan(store, tables, records=records, s3_endpoint=moto_s3, spark=spark, magic=False)
    assert summary.error == 0 and summary.ok == 7  # the kit's seven layers, whichever shard fetched them
    assert sorted(pq.read_table(os.path.join(tables, "images")).column("repository").to_pylist()) == REPOS
