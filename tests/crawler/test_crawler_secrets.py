"""No password in any output: an authenticated crawl (Basic and token auth, real registries) at -vv, then a
scan, has every file it wrote and everything it printed searched for the password and its base64 forms."""
from __future__ import annotations

import base64
import json
import os
import subprocess
import sys

import pyarrow.parquet as pq
import pytest

from crawler.auth import Credentials, StaticCredentials
from crawler.crawl import RepoTarget, run_crawl
from common.records import latest_records

from crawler_hostile import Canned, RewriteProxy
from crawler_testkit import PASSWORD, USER, fast_options

FORMS = {  # every way the secret could appear
    "password": PASSWORD,
    "basic header": base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode(),
    "base64 password": base64.b64encode(PASSWORD.encode()).decode(),
}


def hubscope(*args: str, env: dict | None = None, timeout: float = 600) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "hubscope.cli", *args], capture_output=True, text=True, timeout=timeout,
                          env={**os.environ, **(env or {})})


def leaks(text: str) -> list[str]:
    return [name for name, secret in FORMS.items() if secret in text]


def files_leaking(root) -> list[str]:
    """Every file under ``root`` whose bytes (or, for Parquet, decoded values) hold a form of the secret."""
    found = []
    for folder, _, names in os.walk(root):
        for name in names:
            path = os.path.join(folder, name)
            with open(path, "rb") as fh:
                text = fh.read().decode("latin-1")
            if name.endswith(".parquet"):
                text += json.dumps(pq.read_table(path).to_pylist(), default=str)
            if leaks(text):
                found.append(f"{path}: {leaks(text)}")
    return found


def test_registry_url_with_userinfo_is_refused_without_echoing_it(basic_registry, tmp_path):
    url = f"http://{USER}:{PASSWORD}@{basic_registry.host}"
    out = hubscope("crawl", "--registry", url, "--store", str(tmp_path / "store"), "demo/oci")
    assert out.returncode == 2
    assert "--username" in out.stderr and "docker config" in out.stderr
    assert leaks(out.stdout + out.stderr) == []
    with pytest.raises(ValueError) as caught:
        run_crawl(url, str(tmp_path / "api"), [RepoTarget("demo/oci")], options=fast_options())
    assert leaks(str(caught.value)) == []


def test_authenticated_crawl_and_scan_never_write_the_password(basic_registry, token_registry, tmp_path):
    token_reg, _ = token_registry
    store, tables = tmp_path / "store", tmp_path / "tables"
    printed = ""
    for reg, repos in ((basic_registry, ["demo/oci", "demo/schema2"]), (token_reg, ["demo/private"])):
        out = hubscope("-vv", "crawl", "--registry", reg.url, "--store", str(store), "--username", USER,
                       "--password", PASSWORD, "--no-progress", *repos)
        assert out.returncode == 0, out.stderr
        printed += out.stdout + out.stderr
    out = hubscope("-vv", "crawl", "--registry", basic_registry.url, "--store", str(tmp_path / "wrong"),
                   "--no-progress", "demo/oci", env={"HUBSCOPE_REGISTRY_USER": USER,
                                                     "HUBSCOPE_REGISTRY_PASSWORD": PASSWORD + "-wrong"})
    printed += out.stdout + out.stderr
    assert "unauthorized" in out.stderr.lower() or "AuthError" in out.stderr
    records = latest_records(str(store)).values()
    assert sorted(r.repository for r in records if r.status == "ok") == ["demo/oci", "demo/private", "demo/schema2"]
    out = hubscope("-vv", "scan", "--store", str(store), "--tables", str(tables), "--no-magic")
    assert out.returncode == 0, out.stderr
    printed += out.stdout + out.stderr
    assert "DEBUG" in printed  # -vv really was verbose
    assert leaks(printed) == []
    assert files_leaking(store) == [] and files_leaking(tmp_path / "wrong") == []
    assert files_leaking(tables) == []
    assert {r.registry for r in records} == {basic_registry.host, token_reg.host}


def test_credentials_echoed_by_a_registry_are_redacted(basic_registry, tmp_path):
    """A registry (or proxy) that puts the request's Authorization and a URL with userinfo in its error."""
    proxy = RewriteProxy(basic_registry.host).start()
    try:
        def echo(method, path, headers):
            if "/blobs/" in path and "Authorization" in headers:
                text = f"denied for {headers['Authorization']} via http://{USER}:{PASSWORD}@mirror.example/v2/"
                body = json.dumps({"errors": [{"code": "DENIED", "message": text}]}).encode()
                return Canned(403, {"Content-Type": "application/json"}, body)
            return None

        proxy.rules.append(echo)
        run_crawl(proxy.url, str(tmp_path), [RepoTarget("demo/oci")], options=fast_options(),
                  credentials=StaticCredentials(Credentials(USER, PASSWORD)))
    finally:
        proxy.stop()
    [record] = latest_records(str(tmp_path)).values()
    assert record.status == "error" and "DENIED" in record.error_message and "<redacted>" in record.error_message
    assert leaks(record.to_json()) == [] and files_leaking(tmp_path) == []
