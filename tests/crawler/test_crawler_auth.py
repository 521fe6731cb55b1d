"""Auth against real registries: htpasswd Basic, token auth with an RS256 token server, credential sources."""
from __future__ import annotations

import base64
import json
import os
import stat

import pytest

from click.testing import CliRunner

from crawler.auth import (Authenticator, Credentials, DockerConfigCredentials, StaticCredentials, parse_challenge,
                          scopes_for)
from crawler.crawl_command import crawl as crawl_command
from crawler.crawl import RepoTarget, run_crawl
from crawler.http import HttpClient
from common.records import latest_records

from crawler_testkit import CREDS, PASSWORD, USER, basic_header, fast_options
from crawler_images import assert_store_verifies
from crawler_services import Fault, FaultProxy


def crawl(url, store_dir, *repos, credentials=None):
    return run_crawl(url, str(store_dir), [RepoTarget(r) for r in repos], options=fast_options(),
                     credentials=credentials)


def records_by_repo(store_dir):
    return {r.repository: r for r in latest_records(str(store_dir)).values()}


def test_parse_challenge_keeps_commas_inside_quotes():
    challenge = parse_challenge('Bearer realm="https://auth.docker.io/token",service="registry.docker.io",'
                                'scope="repository:library/nginx:pull,push"')
    assert challenge.scheme == "bearer"
    assert challenge.get("realm") == "https://auth.docker.io/token"
    assert challenge.get("scope") == "repository:library/nginx:pull,push"
    assert parse_challenge('Basic realm="hubscope-basic"').get("realm") == "hubscope-basic"


def test_basic_auth_crawl_with_credentials(basic_registry, tmp_path):
    summary = crawl(basic_registry.url, tmp_path, "demo/oci", "demo/schema2",
                    credentials=StaticCredentials(Credentials(USER, PASSWORD)))
    assert (summary.images_ok, summary.images_error) == (2, 0)
    assert len(assert_store_verifies(str(tmp_path))) == summary.blobs_downloaded


def test_basic_auth_without_credentials_is_a_readable_error(basic_registry, tmp_path):
    crawl(basic_registry.url, tmp_path, "demo/oci")
    record = records_by_repo(tmp_path)["demo/oci"]
    assert record.status == "error" and record.error_class == "AuthError"
    assert "requires credentials" in record.error_message


def test_basic_auth_wrong_password_is_recorded(basic_registry, tmp_path):
    crawl(basic_registry.url, tmp_path, "demo/oci", credentials=StaticCredentials(Credentials(USER, "wrong")))
    record = records_by_repo(tmp_path)["demo/oci"]
    assert record.error_class == "AuthError" and "unauthorized" in record.error_message.lower()
    assert assert_store_verifies(str(tmp_path)) == set()


def test_token_auth_anonymous_pull_caches_one_token_per_scope(token_registry, tmp_path):
    registry, server = token_registry
    before = len(server.requests)
    summary = crawl(registry.url, tmp_path, "demo/oci", "demo/schema2")
    assert summary.images_ok == 2
    scopes = [scope for _, scopes in server.requests[before:] for scope in scopes]
    # one token per repository scope, reused for the manifest and every blob of that repository
    assert sorted(scopes) == ["repository:demo/oci:pull", "repository:demo/schema2:pull"]


def test_token_auth_private_repository_needs_credentials(token_registry, tmp_path):
    registry, server = token_registry
    crawl(registry.url, tmp_path / "anon", "demo/private")
    assert records_by_repo(tmp_path / "anon")["demo/private"].error_class == "AuthError"
    before = len(server.requests)
    summary = crawl(registry.url, tmp_path / "user", "demo/private",
                    credentials=StaticCredentials(Credentials(USER, PASSWORD)))
    assert summary.images_ok == 1
    assert server.requests[before][0] == USER  # the token server saw Basic credentials


def test_token_cache_expires(token_registry):
    registry, _ = token_registry
    now = [1000.0]
    auth = Authenticator(registry.host, HttpClient(), None, clock=lambda: now[0])
    response = HttpClient().request("GET", f"{registry.url}/v2/demo/oci/tags/list")
    assert response.status_code == 401
    header = auth.respond(response.headers["WWW-Authenticate"], scopes_for("demo/oci"))
    assert header.startswith("Bearer ") and auth.header(scopes_for("demo/oci")) == header
    assert auth.header(scopes_for("demo/schema2")) is None  # another scope needs its own token
    now[0] += 300  # expires_in=300: gone (renewed a little early)
    assert auth.header(scopes_for("demo/oci")) is None
    assert HttpClient().request("GET", f"{registry.url}/v2/demo/oci/tags/list",
                                headers={"Authorization": header}).json()["tags"] == ["latest"]


def write_config(path, doc) -> str:
    path.write_text(json.dumps(doc))
    return str(path)


def test_docker_config_auths_entry(basic_registry, tmp_path):
    auth = base64.b64encode(CREDS.encode()).decode()
    config = write_config(tmp_path / "config.json", {"auths": {basic_registry.host: {"auth": auth}}})
    assert DockerConfigCredentials(config).get(basic_registry.host) == Credentials(USER, PASSWORD)
    summary = crawl(basic_registry.url, tmp_path / "store", "demo/oci", credentials=DockerConfigCredentials(config))
    assert summary.images_ok == 1


def test_docker_hub_config_key_is_index_docker_io(tmp_path):
    auth = base64.b64encode(b"hubuser:hubpass").decode()
    config = write_config(tmp_path / "config.json", {"auths": {"https://index.docker.io/v1/": {"auth": auth}}})
    assert DockerConfigCredentials(config).get("docker.io") == Credentials("hubuser", "hubpass")
    assert DockerConfigCredentials(config).get("registry-1.docker.io") == Credentials("hubuser", "hubpass")
    assert DockerConfigCredentials(config).get("quay.io") is None


@pytest.mark.parametrize("key", ["credHelpers", "credsStore"])
def test_docker_config_credential_helper(basic_registry, tmp_path, monkeypatch, key):
    bindir = tmp_path / "bin"
    bindir.mkdir()
    helper = bindir / "docker-credential-hubscopetest"
    helper.write_text(
        "#!/bin/sh\n"
        '[ "$1" = get ] || exit 1\n'
        "read server\n"
        f'printf \'{{"ServerURL":"%s","Username":"{USER}","Secret":"{PASSWORD}"}}\' "$server"\n'
    )
    helper.chmod(helper.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setenv("PATH", f"{bindir}{os.pathsep}{os.environ['PATH']}")
    doc = {"credHelpers": {basic_registry.host: "hubscopetest"}} if key == "credHelpers" else {"credsStore": "hubscopetest"}
    config = write_config(tmp_path / "config.json", doc)
    summary = crawl(basic_registry.url, tmp_path / "store", "demo/schema2", credentials=DockerConfigCredentials(config))
    assert summary.images_ok == 1


def test_cli_credentials_from_environment(basic_registry, tmp_path, monkeypatch):
    monkeypatch.setenv("HUBSCOPE_REGISTRY_USER", USER)
    monkeypatch.setenv("HUBSCOPE_REGISTRY_PASSWORD", PASSWORD)
    result = CliRunner().invoke(crawl_command, ["--registry", basic_registry.url, "--store", str(tmp_path), "demo/oci"])
    assert result.exit_code == 0, result.output
    assert "1 ok, 0 errors" in result.output


def test_redirect_does_not_forward_authorization_to_another_host(basic_registry, tmp_path):
    cdn = FaultProxy(basic_registry.host, upstream_auth=basic_header()).start(host="127.0.0.1")
    front = FaultProxy(basic_registry.host).start()
    try:
        front.add(Fault("redirect", match="/blobs/", times=-1, location=f"http://localhost:{cdn.port}"))
        summary = crawl(front.url, tmp_path, "demo/oci", credentials=StaticCredentials(Credentials(USER, PASSWORD)))
        assert summary.images_ok == 1
        redirected = [s for s in front.seen if "/blobs/" in s.path]
        assert redirected and all(s.authorization and s.authorization.startswith("Basic ") for s in redirected)
        served = [s for s in cdn.seen if "/blobs/" in s.path]
        assert len(served) == len(redirected) and all(s.authorization is None for s in served)
        assert_store_verifies(str(tmp_path))
    finally:
        front.stop()
        cdn.stop()
