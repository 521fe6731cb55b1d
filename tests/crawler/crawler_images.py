"""Test images built from real files of this machine (never random bytes), written with hubscope.demo.oci_layout."""
from __future__ import annotations

import hashlib
import json
import os
import subprocess
from dataclasses import dataclass, field
from typing import Optional

from hubscope.demo.samplefiles import collect_files
from hubscope.demo.oci_layout import OciLayout, docker_archive


def real_files(directories: list[str], limit_bytes: int, prefix: str) -> dict[str, bytes]:
    """Real files under ``directories`` re-rooted under ``prefix``; fails if there are none."""
    files = collect_files(directories, limit_bytes, prefix)
    if not files:
        raise RuntimeError(f"no readable files under {directories}")
    return files


def blob_digests(store_dir: str) -> set[str]:
    """Names of the blob files in a local store."""
    directory = os.path.join(store_dir, "blobs", "sha256")
    return set(os.listdir(directory)) if os.path.isdir(directory) else set()


def assert_store_verifies(store_dir: str) -> set[str]:
    """Every blob in the store hashes to its name; returns the set of hex digests."""
    names = blob_digests(store_dir)
    for name in names:
        with open(os.path.join(store_dir, "blobs", "sha256", name), "rb") as fh:
            actual = hashlib.sha256(fh.read()).hexdigest()
        assert actual == name, f"blob {name} in the store hashes to {actual}"
    return names


def registry_digest(host: str, ref: str, creds: Optional[str] = None) -> str:
    """The manifest digest as skopeo sees it (sha256 of the raw bytes skopeo got), independent of our client."""
    cmd = ["skopeo", "inspect", "--raw", "--tls-verify=false"] + (["--creds", creds] if creds else []) + [f"docker://{host}/{ref}"]
    raw = subprocess.run(cmd, capture_output=True, check=True).stdout
    return "sha256:" + hashlib.sha256(raw).hexdigest()


@dataclass
class Corpus:
    """The fixture images: an OCI layout (refs below) and what was pushed where."""

    layout_dir: str
    archive_path: str
    descriptors: dict[str, dict] = field(default_factory=dict)  # layout ref -> descriptor
    layers: dict[str, dict] = field(default_factory=dict)  # logical layer name -> descriptor

    def manifest(self, ref: str) -> dict:
        digest = self.descriptors[ref]["digest"].split(":", 1)[1]
        with open(os.path.join(self.layout_dir, "blobs", "sha256", digest)) as fh:
            return json.load(fh)


def build_corpus(workdir: str) -> Corpus:
    """Images sharing a base layer, a multi-arch index with an attestation entry, dated tags, a big layer."""
    base = real_files(["/usr/share/common-licenses", "/usr/share/doc/bash", "/etc/ssl/certs"], 600_000, "")
    app1 = real_files(["/usr/share/doc/coreutils", "/usr/share/doc/apt"], 200_000, "app1/")
    app2 = real_files(["/usr/share/doc/tar", "/usr/share/doc/grep", "/usr/share/doc/sed"], 200_000, "app2/")
    arm = real_files(["/usr/share/doc/gzip", "/usr/share/doc/perl-base"], 150_000, "arm/")
    big = real_files(["/usr/lib/x86_64-linux-gnu", "/usr/lib/python3"], 12_000_000, "big/")
    layout = OciLayout(os.path.join(workdir, "layout"))
    corpus = Corpus(layout.root, os.path.join(workdir, "archive.tar"))

    def tag(ref: str, desc: dict) -> None:
        layout.tag(desc, ref)
        corpus.descriptors[ref] = desc

    tag("oci", layout.image([base, app1]))
    tag("schema2", layout.image([base, app2]))
    amd64 = layout.image([base, app1])
    arm64 = layout.image([base, arm], arch="arm64")
    arm64["platform"]["variant"] = "v8"
    attestation = layout.image([{"statement.json": b'{"_type": "https://in-toto.io/Statement/v0.1"}'}],
                               arch="unknown", os_name="unknown")
    attestation["platform"] = {"architecture": "unknown", "os": "unknown"}
    attestation["annotations"] = {"vnd.docker.reference.type": "attestation-manifest",
                                  "vnd.docker.reference.digest": amd64["digest"]}
    tag("multi", layout.multiarch([amd64, arm64, attestation]))
    tag("list", layout.multiarch([amd64, arm64]))
    for year in (2020, 2023, 2024, 2025):
        extra = {f"release/{year}.txt": f"release notes of {year}\n".encode() + app2[sorted(app2)[year % len(app2)]]}
        tag(f"y{year}", layout.image([base, extra], created=f"{year}-06-01T00:00:00Z"))
    tag("big", layout.image([base, big], compress=lambda raw: __import__("gzip").compress(raw, 1, mtime=0)))
    layout.save()
    corpus.layers = {"base": corpus.manifest("oci")["layers"][0], "app1": corpus.manifest("oci")["layers"][1],
                     "big": corpus.manifest("big")["layers"][1]}
    docker_archive(corpus.archive_path, "demo/archive:v1", [base, app2])
    return corpus
