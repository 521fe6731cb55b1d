"""Run Debian's ``docker-registry`` (distribution 2.8) as a plain process on a free loopback port.

Used by the demo and the tests: a real registry, never the system service, never its config file.
"""
from __future__ import annotations

import logging
import os
import shutil
import socket
import subprocess
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import Optional, Sequence

log = logging.getLogger(__name__)


def free_port() -> int:
    """A TCP port on 127.0.0.1 that is free right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass(frozen=True)
class TokenAuthConfig:
    """Where the registry sends clients for Bearer tokens, and the cert that signs them."""

    realm: str
    service: str
    issuer: str
    rootcertbundle: str


class LocalRegistry:
    """A distribution registry process; use as a context manager or call ``start``/``stop``."""

    def __init__(
        self,
        workdir: str,
        port: Optional[int] = None,
        htpasswd_path: Optional[str] = None,
        token: Optional[TokenAuthConfig] = None,
        binary: str = "docker-registry",
        extra_config: str = "",
    ) -> None:
        self.workdir = os.path.abspath(workdir)
        self.port = port or free_port()
        self.htpasswd_path = htpasswd_path
        self.token = token
        self.binary = binary
        self.extra_config = extra_config  # more top-level YAML, e.g. a ``validation:`` section
        self.process: Optional[subprocess.Popen] = None

    @property
    def host(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def url(self) -> str:
        return f"http://{self.host}"

    def config_text(self) -> str:
        lines = [
            "version: 0.1",
            "log: {level: warn, accesslog: {disabled: true}}",
            "storage:",
            f"  filesystem: {{rootdirectory: {os.path.join(self.workdir, 'data')}}}",
            "  delete: {enabled: true}",
            "  maintenance: {uploadpurging: {enabled: false}}",
            f"http: {{addr: {self.host}, secret: hubscope-not-secret}}",
        ]
        if self.htpasswd_path:
            lines += ["auth:", "  htpasswd:", "    realm: hubscope-basic", f"    path: {self.htpasswd_path}"]
        elif self.token:
            lines += [
                "auth:",
                "  token:",
                f"    realm: {self.token.realm}",
                f"    service: {self.token.service}",
                f"    issuer: {self.token.issuer}",
                f"    rootcertbundle: {self.token.rootcertbundle}",
            ]
        return "\n".join(lines) + "\n" + self.extra_config

    def start(self, timeout_s: float = 30.0) -> "LocalRegistry":
        if shutil.which(self.binary) is None:
            raise RuntimeError(
                f"{self.binary!r} not found: install Debian's docker-registry package (apt-get install docker-registry)"
            )
        os.makedirs(os.path.join(self.workdir, "data"), exist_ok=True)
        config_path = os.path.join(self.workdir, "config.yml")
        with open(config_path, "w") as fh:
            fh.write(self.config_text())
        self._log = open(os.path.join(self.workdir, "registry.log"), "ab")
        self.process = subprocess.Popen([self.binary, "serve", config_path], stdout=self._log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"registry exited with {self.process.returncode}; see {self._log.name}")
            try:
                urllib.request.urlopen(self.url + "/v2/", timeout=1).close()
                break
            except urllib.error.HTTPError:  # 401 with auth on: it is up
                break
            except OSError:
                time.sleep(0.1)
        else:
            self.stop()
            raise RuntimeError(f"registry on {self.host} not ready after {timeout_s:.0f} s")
        log.info("registry ready on %s", self.url)
        return self

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None
        if getattr(self, "_log", None):
            self._log.close()

    def __enter__(self) -> "LocalRegistry":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


def skopeo_copy(src: str, dest: str, extra: Sequence[str] = (), timeout_s: float = 300) -> None:
    """Push or pull with skopeo over plain HTTP (TLS verification off on both sides: loopback only)."""
    cmd = ["skopeo", "copy", "--quiet", "--src-tls-verify=false", "--dest-tls-verify=false", *extra, src, dest]
    result = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout_s)
    if result.returncode != 0:
        raise RuntimeError(f"skopeo copy {src} -> {dest} failed: {result.stderr.strip()}")
