"""The few registry calls the trace player needs (push a blob, GET a blob), and the loopback guard.

A small client of its own rather than the crawler's: the player only pushes and GETs blobs on a
registry the user points it at, and a stage imports no other stage.
"""
from __future__ import annotations

import hashlib
import ipaddress
import socket
import threading
from typing import Optional
from urllib.parse import urlsplit

import requests

from common.errors import TraceError

CHUNK_BYTES = 1 << 16


class BadRegistryUrl(TraceError, ValueError):
    """A registry address that is not an http(s) URL with a host."""


class RemoteRegistryRefused(TraceError, ValueError):
    """A replay or warmup aimed at a registry that is not on this machine, without ``--allow-remote``."""


class RegistryCallFailed(TraceError):
    """A push the registry did not accept."""


def check_loopback(url: str, allow_remote: bool = False) -> None:
    """Refuse ``url`` unless every address its host resolves to is loopback (or ``allow_remote``).

    Replaying a trace is a load test: pointed at someone else's registry by a typo it is an attack.
    """
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise BadRegistryUrl(f"not a registry URL: {url!r} (expected http://host:port)")
    if allow_remote:
        return
    try:
        addresses = {info[4][0] for info in socket.getaddrinfo(parts.hostname, parts.port or 80)}
    except socket.gaierror as exc:
        raise RemoteRegistryRefused(f"cannot resolve {parts.hostname}: {exc}") from None
    remote = sorted(a for a in addresses if not ipaddress.ip_address(a.split("%")[0]).is_loopback)
    if remote:
        raise RemoteRegistryRefused(f"{url} resolves to {', '.join(remote)}, not loopback: pass --allow-remote to replay there")


class RegistryClient:
    """Blob push and GET against one registry (anonymous), one HTTP session per thread."""

    def __init__(self, base_url: str, timeout_s: float = 60.0) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeout_s = timeout_s
        self._local = threading.local()

    @property
    def session(self) -> requests.Session:
        if not hasattr(self._local, "session"):
            self._local.session = requests.Session()
        return self._local.session

    def has_blob(self, repository: str, digest: str) -> bool:
        resp = self.session.head(f"{self.base_url}/v2/{repository}/blobs/{digest}", timeout=self.timeout_s)
        return resp.status_code == 200

    def push_blob(self, repository: str, data: bytes, digest: Optional[str] = None) -> str:
        """Upload ``data`` monolithically (POST, then PUT with the digest) unless present; returns its digest."""
        digest = digest or "sha256:" + hashlib.sha256(data).hexdigest()
        if self.has_blob(repository, digest):
            return digest
        start = self.session.post(f"{self.base_url}/v2/{repository}/blobs/uploads/", timeout=self.timeout_s)
        if start.status_code != 202 or "Location" not in start.headers:
            raise RegistryCallFailed(f"upload start: HTTP {start.status_code}")
        location = start.headers["Location"]
        if location.startswith("/"):
            location = self.base_url + location
        sep = "&" if "?" in location else "?"
        done = self.session.put(f"{location}{sep}digest={digest}", data=data, timeout=self.timeout_s,
                                headers={"Content-Type": "application/octet-stream"})
        if done.status_code != 201:
            raise RegistryCallFailed(f"upload of {digest}: HTTP {done.status_code}")
        return digest

    def get_blob(self, repository: str, digest: str) -> tuple[int, int]:
        """GET a blob, reading the whole body; returns (status, body bytes read)."""
        with self.session.get(f"{self.base_url}/v2/{repository}/blobs/{digest}", stream=True, timeout=self.timeout_s) as resp:
            read = sum(len(chunk) for chunk in resp.iter_content(CHUNK_BYTES))
            return resp.status_code, read
