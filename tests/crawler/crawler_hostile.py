"""Hostile and buggy registry content for the crawler's trust tests.

Manifests the real registry accepts are pushed to it directly over the HTTP API (wrong sizes,
artifacts, attestations); what it would refuse (a size that is a string, ``layers`` that is not a
list, 200 MiB "manifests", names with ``../``) is served by ``RewriteProxy``, a loopback proxy in
front of it that answers chosen paths itself and streams everything else through unchanged.
"""
from __future__ import annotations

import gzip
import hashlib
import http.client
import io
import json
import tarfile
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler
from typing import Callable, Iterable, Optional, Union

import requests

from crawler_services import _Server

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
OCI_LAYER_GZIP = "application/vnd.oci.image.layer.v1.tar+gzip"


def digest_of(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def push_blob(host: str, repository: str, data: bytes) -> str:
    """Monolithic upload (POST then PUT ?digest=) to the real registry; returns the digest."""
    digest = digest_of(data)
    started = requests.post(f"http://{host}/v2/{repository}/blobs/uploads/", timeout=30)
    assert started.status_code == 202, started.text
    location = requests.compat.urljoin(f"http://{host}", started.headers["Location"])
    done = requests.put(location, params={"digest": digest}, data=data,
                        headers={"Content-Type": "application/octet-stream"}, timeout=30)
    assert done.status_code == 201, done.text
    return digest


def put_manifest(host: str, repository: str, reference: str, manifest: Union[dict, bytes],
                 media_type: str = OCI_MANIFEST) -> str:
    """PUT a manifest (dict or raw bytes) to the real registry; returns its digest."""
    raw = manifest if isinstance(manifest, bytes) else json.dumps(manifest).encode()
    response = requests.put(f"http://{host}/v2/{repository}/manifests/{reference}", data=raw,
                            headers={"Content-Type": media_type}, timeout=30)
    assert response.status_code == 201, response.text
    return digest_of(raw)


def layer_tar_gz(files: dict[str, bytes]) -> bytes:
    """A gzip'd tar of ``files`` (the bytes given; fixed mtime so the digest is stable)."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tf:
        for name, data in sorted(files.items()):
            info = tarfile.TarInfo(name)
            info.size, info.mtime = len(data), 1_600_000_000
            tf.addfile(info, io.BytesIO(data))
    return gzip.compress(buf.getvalue(), mtime=0)


def descriptor(media_type: str, data: bytes, size: object = None) -> dict:
    return {"mediaType": media_type, "digest": digest_of(data), "size": len(data) if size is None else size}


def image_config(layers: list[bytes]) -> bytes:
    diff_ids = [digest_of(gzip.decompress(layer)) for layer in layers]
    return json.dumps({"architecture": "amd64", "os": "linux", "rootfs": {"type": "layers", "diff_ids": diff_ids},
                       "config": {}}).encode()


def oci_manifest(config: dict, layers: list[dict], **extra) -> dict:
    return {"schemaVersion": 2, "mediaType": OCI_MANIFEST, "config": config, "layers": layers, **extra}


@dataclass
class Canned:
    """A response the proxy sends itself: ``body`` bytes or chunks; ``stall_s`` waits after the headers;
    ``content_length`` None = the body's length, -1 = none (chunked), else announced as given."""

    status: int = 200
    headers: Optional[dict] = None
    body: Union[bytes, Callable[[], Iterable[bytes]]] = b""
    stall_s: float = 0.0
    content_length: Optional[int] = None


Rule = Callable[[str, str, dict], Optional[Canned]]  # (method, path, request headers) -> Canned or None (forward)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_owner: "RewriteProxy"

    def log_message(self, *args) -> None:
        pass

    def do_GET(self) -> None:
        self._handle()

    def do_HEAD(self) -> None:
        self._handle()

    def _handle(self) -> None:
        owner = self.server_owner
        headers = {k: v for k, v in self.headers.items()}
        with owner.lock:
            owner.seen.append((self.command, self.path, headers.get("Range")))
        canned = None
        for rule in list(owner.rules):
            canned = rule(self.command, self.path, headers)
            if canned is not None:
                break
        if canned is None:
            self._forward(headers)
        else:
            self._send(canned)

    def _send(self, canned: Canned) -> None:
        chunks = [canned.body] if isinstance(canned.body, bytes) else canned.body()
        self.send_response(canned.status)
        for k, v in (canned.headers or {}).items():
            self.send_header(k, v)
        length = len(canned.body) if canned.content_length is None and isinstance(canned.body, bytes) \
            else canned.content_length
        chunked = length is None or length < 0
        if chunked:
            self.send_header("Transfer-Encoding", "chunked")
        else:
            self.send_header("Content-Length", str(length))
        self.end_headers()
        self.wfile.flush()
        if canned.stall_s:
            time.sleep(canned.stall_s)
        if self.command == "HEAD":
            return
        try:
            for chunk in chunks:
                if not chunk:
                    continue
                self.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk) if chunked else chunk)
            if chunked:
                self.wfile.write(b"0\r\n\r\n")
            self.wfile.flush()
        except (BrokenPipeError, ConnectionResetError):  # the crawler stopped reading: what it should do
            pass
        self.close_connection = True

    def _forward(self, headers: dict) -> None:
        owner = self.server_owner
        conn = http.client.HTTPConnection(owner.upstream, timeout=60)
        out = {k: v for k, v in headers.items() if k.lower() in ("accept", "range", "authorization")}
        conn.request(self.command, self.path, headers=out)
        response = conn.getresponse()
        self.send_response(response.status)
        for k, v in response.getheaders():
            if k.lower() not in ("connection", "keep-alive", "transfer-encoding"):
                self.send_header(k, v)
        self.end_headers()
        if self.command != "HEAD":
            while chunk := response.read(1 << 16):
                self.wfile.write(chunk)
        conn.close()


class RewriteProxy(_Server):
    """Forwards to ``upstream`` (host:port) except where a rule answers; logs (method, path, Range)."""

    handler_cls = _Handler

    def __init__(self, upstream: str) -> None:
        self.upstream = upstream
        self.rules: list[Rule] = []
        self.seen: list[tuple[str, str, Optional[str]]] = []
        self.lock = threading.Lock()

    @property
    def host(self) -> str:
        return f"127.0.0.1:{self.port}"

    def paths(self, contains: str = "") -> list[str]:
        with self.lock:
            return [path for _, path, _ in self.seen if contains in path]


def on_path(suffix: str, canned: Union[Canned, Callable[[], Canned]], method: str = "GET", times: int = -1) -> Rule:
    """A rule answering requests whose path ends with ``suffix`` (``times`` of them; -1 = always)."""
    left = [times]

    def rule(req_method: str, path: str, headers: dict) -> Optional[Canned]:
        if req_method != method or not path.split("?")[0].endswith(suffix) or left[0] == 0:
            return None
        left[0] -= 1
        return canned() if callable(canned) else canned

    return rule


def manifest_response(raw: bytes, media_type: str = OCI_MANIFEST) -> Canned:
    return Canned(200, {"Content-Type": media_type, "Docker-Content-Digest": digest_of(raw)}, raw)
