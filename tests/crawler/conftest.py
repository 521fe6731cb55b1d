"""Crawler test services, started once per session on free loopback ports and stopped at the end.

Registries are real (Debian's docker-registry): anonymous (from tests/conftest.py), htpasswd
basic auth, and token auth backed by an RS256 token server; images are pushed with skopeo. A
fault proxy fronts the anonymous registry; moto serves S3; the Docker Hub listing APIs (unreachable
here) are the only stand-in.
"""
from __future__ import annotations

import subprocess

import pytest

from hubscope.demo.localregistry import LocalRegistry, TokenAuthConfig, skopeo_copy

from crawler_images import build_corpus
from crawler_hostile import RewriteProxy
from crawler_services import FaultProxy, HubStandIn, TokenServer
from crawler_testkit import CREDS, PASSWORD, USER, require

PUSHES = [  # (layout ref, repository:tag, extra skopeo args)
    ("oci", "demo/oci:latest", []),
    ("schema2", "demo/schema2:latest", ["--format", "v2s2"]),
    ("multi", "demo/multi:latest", ["--all"]),
    ("list", "demo/multi:list", ["--all", "--format", "v2s2"]),
    ("y2020", "demo/tagged:y2020", []),
    ("y2023", "demo/tagged:y2023", []),
    ("y2024", "demo/tagged:y2024", []),
    ("y2025", "demo/tagged:y2025", []),
    ("big", "demo/big:latest", []),
]


def push_corpus(corpus, host: str, creds: str | None = None, refs=None) -> None:
    extra_creds = ["--dest-creds", creds] if creds else []
    for ref, target, extra in PUSHES:
        if refs is None or ref in refs:
            skopeo_copy(f"oci:{corpus.layout_dir}:{ref}", f"docker://{host}/{target}", [*extra, *extra_creds])
    if refs is None or "archive" in refs:
        skopeo_copy(f"docker-archive:{corpus.archive_path}", f"docker://{host}/demo/archive:v1", extra_creds)


@pytest.fixture(scope="session")
def corpus(tmp_path_factory):
    require("skopeo", "skopeo")
    return build_corpus(str(tmp_path_factory.mktemp("corpus")))


@pytest.fixture(scope="session")
def pushed(registry, corpus):
    """The anonymous session registry with every fixture image pushed."""
    push_corpus(corpus, registry.host)
    return registry


@pytest.fixture(scope="session")
def basic_registry(tmp_path_factory, corpus):
    """A registry with htpasswd (bcrypt) basic auth, holding demo/oci and demo/schema2."""
    require("htpasswd", "apache2-utils")
    work = tmp_path_factory.mktemp("basic")
    htpasswd = work / "htpasswd"
    entry = subprocess.run(["htpasswd", "-Bbn", USER, PASSWORD], capture_output=True, text=True, check=True).stdout
    htpasswd.write_text(entry)
    reg = LocalRegistry(str(work), htpasswd_path=str(htpasswd)).start()
    push_corpus(corpus, reg.host, CREDS, refs={"oci", "schema2"})
    yield reg
    reg.stop()


@pytest.fixture(scope="session")
def token_registry(tmp_path_factory, corpus):
    """(registry, token server): token auth with RS256 JWTs; demo/private needs credentials to pull."""
    work = tmp_path_factory.mktemp("token")
    server = TokenServer(str(work), {USER: PASSWORD}, private=frozenset({"demo/private"})).start()
    config = TokenAuthConfig(realm=f"{server.url}/token", service=server.service, issuer=server.issuer,
                             rootcertbundle=server.cert_path)
    reg = LocalRegistry(str(work), token=config).start()
    push_corpus(corpus, reg.host, CREDS, refs={"oci", "schema2"})
    skopeo_copy(f"oci:{corpus.layout_dir}:oci", f"docker://{reg.host}/demo/private:latest", ["--dest-creds", CREDS])
    yield reg, server
    reg.stop()
    server.stop()


@pytest.fixture(scope="session")
def _fault_proxy(pushed):
    proxy = FaultProxy(pushed.host).start()
    yield proxy
    proxy.stop()


@pytest.fixture
def proxy(_fault_proxy):
    """The fault proxy in front of the anonymous registry, with no faults queued and an empty log."""
    _fault_proxy.reset()
    yield _fault_proxy
    _fault_proxy.reset()


@pytest.fixture(scope="session")
def _rewrite_proxy(pushed):
    proxy = RewriteProxy(pushed.host).start()
    yield proxy
    proxy.stop()


@pytest.fixture
def rewrite(_rewrite_proxy):
    """The rewriting proxy in front of the anonymous registry (every fixture image pushed), no rules, empty log."""
    _rewrite_proxy.rules.clear()
    _rewrite_proxy.seen.clear()
    yield _rewrite_proxy
    _rewrite_proxy.rules.clear()


@pytest.fixture(scope="session")
def hub(pushed):
    """Docker Hub search v4 / namespace listing stand-in naming repositories that exist in ``pushed``."""
    search = [
        {"id": "1", "name": "demo/oci", "slug": "demo/oci", "type": "image", "star_count": 7, "pull_count": "1M+",
         "updated_at": "2025-01-02T03:04:05Z", "short_description": "OCI fixture"},
        {"id": "2", "name": "demo/schema2", "slug": "demo/schema2", "type": "image", "star_count": 3,
         "pull_count": "10K+", "updated_at": "2025-02-02T03:04:05Z", "short_description": "schema2 fixture"},
    ]
    search += [{"id": str(10 + i), "name": f"demo/filler{i:03d}", "slug": f"demo/filler{i:03d}", "type": "image",
                "star_count": 0, "pull_count": "0"} for i in range(150)]
    names = ["oci", "schema2", "multi", "archive"]
    namespace = [{"name": n, "namespace": "demo", "repository_type": "image", "status": 1, "is_private": False,
                  "star_count": 10 * i, "pull_count": 1000 * (i + 1), "last_updated": f"2025-0{i + 1}-01T00:00:00Z",
                  "description": f"{n} fixture"} for i, n in enumerate(names)]
    # Hub's dates say y2020 was re-pushed last: "most recent" by Hub differs from "newest image"
    updated = {"y2020": "2025-09-01T00:00:00Z", "y2023": "2025-05-01T00:00:00Z", "y2024": "2024-07-01T00:00:00Z",
               "y2025": "2025-01-01T00:00:00Z"}
    tags = {"demo/tagged": [{"name": n, "last_updated": d, "full_size": 1000, "tag_status": "active"}
                            for n, d in sorted(updated.items())]}
    server = HubStandIn(search, {"demo": namespace}, tags).start()
    yield server
    server.stop()
