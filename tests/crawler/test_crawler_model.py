"""Pure pieces: reference normalisation, manifest parsing from raw bytes, the retry policy."""
from __future__ import annotations

import base64
import json

import pytest

from common import mediatypes as mt
from common.digest import Digest
from crawler.http import RetryPolicy, parse_ratelimit, parse_retry_after
from crawler.manifest import (ImageIndex, ImageManifest, ManifestError, Platform, parse_manifest, schema1_digest,
                              select_platforms)
from crawler.reference import InvalidReference, normalize_registry, parse_reference

D1, D2, D3 = ("sha256:" + c * 64 for c in "123")


@pytest.mark.parametrize("text, registry, repository, tag", [
    ("nginx", "registry-1.docker.io", "library/nginx", None),
    ("docker.io/nginx:1.27", "registry-1.docker.io", "library/nginx", "1.27"),
    ("index.docker.io/bitnami/redis:7", "registry-1.docker.io", "bitnami/redis", "7"),
    ("127.0.0.1:5000/demo/app:v1", "127.0.0.1:5000", "demo/app", "v1"),
    ("localhost/app", "localhost", "app", None),
    ("quay.io/prometheus/node-exporter", "quay.io", "prometheus/node-exporter", None),
])
def test_parse_reference_normalises_docker_hub(text, registry, repository, tag):
    ref = parse_reference(text)
    assert (ref.registry, ref.repository, ref.tag) == (registry, repository, tag)


def test_reference_with_digest_and_invalid_names():
    ref = parse_reference(f"alpine@{D1}")
    assert ref.reference == D1 and ref.repository == "library/alpine"
    assert parse_reference("alpine").reference == "latest"
    assert normalize_registry("https://docker.io/") == "registry-1.docker.io"
    for bad in ("UPPER/case", "a//b", "ok:bad tag"):
        with pytest.raises(InvalidReference):
            parse_reference(bad)


def test_digest_comes_from_raw_bytes_not_reserialised_json():
    doc = {"schemaVersion": 2, "mediaType": mt.DOCKER_MANIFEST,
           "config": {"mediaType": mt.DOCKER_CONFIG, "digest": D1, "size": 10},
           "layers": [{"mediaType": mt.DOCKER_LAYER_GZIP, "digest": D2, "size": 20}]}
    pretty = json.dumps(doc, indent=3).encode()
    compact = json.dumps(doc, separators=(",", ":")).encode()
    a, b = parse_manifest(pretty), parse_manifest(compact)
    assert isinstance(a, ImageManifest) and a.raw == pretty
    assert a.digest == Digest.of_bytes(pretty) != b.digest == Digest.of_bytes(compact)
    assert a.config.digest == Digest.parse(D1) and [l.size_bytes for l in a.layers] == [20]


def test_oci_without_media_type_uses_content_type():
    doc = {"schemaVersion": 2, "manifests": [{"mediaType": mt.OCI_MANIFEST, "digest": D1, "size": 5,
                                               "platform": {"os": "linux", "architecture": "amd64"}}]}
    parsed = parse_manifest(json.dumps(doc).encode(), f"{mt.OCI_INDEX}; charset=utf-8")
    assert isinstance(parsed, ImageIndex) and parsed.media_type == mt.OCI_INDEX


def test_select_platforms_skips_attestations_and_matches_variants():
    entries = [
        {"mediaType": mt.OCI_MANIFEST, "digest": D1, "size": 1, "platform": {"os": "linux", "architecture": "amd64"}},
        {"mediaType": mt.OCI_MANIFEST, "digest": D2, "size": 1,
         "platform": {"os": "linux", "architecture": "arm", "variant": "v7"}},
        {"mediaType": mt.OCI_MANIFEST, "digest": D3, "size": 1, "platform": {"os": "unknown", "architecture": "unknown"},
         "annotations": {"vnd.docker.reference.type": "attestation-manifest"}},
    ]
    index = parse_manifest(json.dumps({"schemaVersion": 2, "mediaType": mt.OCI_INDEX, "manifests": entries}).encode())
    assert [str(d.digest) for d in select_platforms(index, None)] == [D1, D2]
    assert [str(d.digest) for d in select_platforms(index, [Platform.parse("linux/arm")])] == [D2]
    assert select_platforms(index, [Platform.parse("linux/arm/v6")]) == []
    assert [str(d.digest) for d in select_platforms(index, [Platform.parse("linux/amd64")])] == [D1]


def test_foreign_layers_are_flagged():
    doc = {"schemaVersion": 2, "mediaType": mt.DOCKER_MANIFEST,
           "config": {"mediaType": mt.DOCKER_CONFIG, "digest": D1, "size": 10},
           "layers": [{"mediaType": mt.DOCKER_FOREIGN_LAYER, "digest": D2, "size": 99,
                       "urls": ["https://mcr.microsoft.com/l"]},
                      {"mediaType": mt.OCI_LAYER_NONDIST_GZIP, "digest": D3, "size": 5},
                      {"mediaType": mt.DOCKER_LAYER_GZIP, "digest": D1, "size": 5}]}
    image = parse_manifest(json.dumps(doc).encode())
    assert [l.foreign for l in image.layers] == [True, True, False]
    assert image.layers[0].urls == ("https://mcr.microsoft.com/l",)


def _b64u(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def test_schema1_signed_digest_is_of_the_payload_and_layers_are_reversed():
    payload = json.dumps({"schemaVersion": 1, "name": "demo/old", "tag": "v1", "architecture": "amd64",
                          "fsLayers": [{"blobSum": D2}, {"blobSum": D1}], "history": [{}, {}]}, indent=3).encode()
    body, tail = payload[:-2], payload[-2:]  # libtrust cuts before the closing "\n}"
    protected = _b64u(json.dumps({"formatLength": len(body), "formatTail": _b64u(tail)}).encode())
    signed = body + b',\n   "signatures": [{"header": {}, "signature": "x", "protected": "' + protected.encode() + b'"}]' + tail
    image = parse_manifest(signed, mt.DOCKER_SCHEMA1_SIGNED)
    assert image.media_type == mt.DOCKER_SCHEMA1_SIGNED and image.config is None
    assert image.digest == schema1_digest(signed) == Digest.of_bytes(payload)
    assert [str(l.digest) for l in image.layers] == [D1, D2]  # base first


def test_garbage_is_a_manifest_error():
    for raw in (b"<html>rate limited</html>", b"[]", b'{"schemaVersion": 2}'):
        with pytest.raises(ManifestError):
            parse_manifest(raw)


def test_backoff_grows_exponentially_with_bounded_jitter():
    policy = RetryPolicy(backoff_base_s=1, backoff_max_s=8, jitter=0.5)
    assert [policy.backoff_s(n, rng=lambda: 0.5) for n in range(1, 6)] == [1, 2, 4, 8, 8]
    assert policy.backoff_s(3, rng=lambda: 0.0) == 2 and policy.backoff_s(3, rng=lambda: 1.0) == 6
    assert {408, 429, 500, 502, 503, 504} <= policy.retry_statuses and 404 not in policy.retry_statuses


def test_retry_after_and_ratelimit_parsing():
    assert parse_retry_after("7") == 7.0
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", now=1445412470.0) == 10.0
    assert parse_retry_after("soon") is None and parse_retry_after(None) is None
    assert parse_ratelimit("97;w=21600") == 97 and parse_ratelimit(None) is None


def test_parse_target_accepts_the_registry_prefix_only():
    from crawler.crawl import parse_target

    assert parse_target("docker.io/nginx:1.27", "registry-1.docker.io") == parse_target("nginx:1.27", "docker.io")
    assert parse_target("nginx", "registry-1.docker.io").repository == "library/nginx"
    assert parse_target(f"127.0.0.1:5000/demo/app@{D1}", "127.0.0.1:5000").tag == D1
    with pytest.raises(ValueError, match="names registry quay.io"):
        parse_target("quay.io/x/y", "127.0.0.1:5000")
