"""Registry authentication: challenge-driven Bearer tokens cached per scope, Basic, and where credentials come from.

Credentials: explicit (flags), environment (``HUBSCOPE_REGISTRY_USER`` / ``HUBSCOPE_REGISTRY_PASSWORD``),
or ``~/.docker/config.json`` (``auths`` entries, ``credHelpers`` and ``credsStore`` through the
docker SDK's credential-helper client). The token flow is the Docker token spec:
401 + ``WWW-Authenticate: Bearer realm=...,service=...,scope=...`` -> ``GET realm?service&scope``
(Basic-authenticated when we have credentials) -> ``{token|access_token, expires_in, issued_at}``.
"""
from __future__ import annotations

import base64
import json
import logging
import os
import re
import threading
import time
from dataclasses import dataclass
from typing import Optional, Protocol
from urllib.parse import urlencode

from common.errors import CrawlError
from crawler.http import HttpClient, read_capped
from crawler.redact import redact
from crawler.reference import DOCKER_HUB_REGISTRY, is_docker_hub, normalize_registry

log = logging.getLogger(__name__)

ENV_USER = "HUBSCOPE_REGISTRY_USER"
ENV_PASSWORD = "HUBSCOPE_REGISTRY_PASSWORD"
DEFAULT_TOKEN_TTL_S = 60  # the token spec's default when expires_in is absent
TOKEN_EXPIRY_MARGIN_S = 10  # renew a little early so a token never expires mid-request
MAX_TOKEN_RESPONSE_BYTES = 1 << 20  # a token answer is a few KB of JSON


class AuthError(CrawlError):
    """Credentials were rejected or the token server failed."""


@dataclass(frozen=True)
class Credentials:
    """A username and a password (or identity token)."""

    username: str
    password: str

    def basic_header(self) -> str:
        """The ``Authorization: Basic ...`` value."""
        return "Basic " + base64.b64encode(f"{self.username}:{self.password}".encode()).decode()


class CredentialSource(Protocol):
    """Finds credentials for a registry host; returns None when it has none."""

    def get(self, registry: str) -> Optional[Credentials]: ...


@dataclass(frozen=True)
class StaticCredentials:
    """The same credentials for every registry (from CLI flags)."""

    credentials: Credentials

    def get(self, registry: str) -> Optional[Credentials]:
        return self.credentials


@dataclass(frozen=True)
class EnvCredentials:
    """Credentials from ``HUBSCOPE_REGISTRY_USER`` / ``HUBSCOPE_REGISTRY_PASSWORD``."""

    def get(self, registry: str) -> Optional[Credentials]:
        user, password = os.environ.get(ENV_USER), os.environ.get(ENV_PASSWORD)
        return Credentials(user, password or "") if user else None


def _config_keys(registry: str) -> list[str]:
    """Keys a ``config.json`` may use for ``registry``; Docker Hub is stored as ``https://index.docker.io/v1/``."""
    host = normalize_registry(registry)
    if is_docker_hub(host):
        return ["https://index.docker.io/v1/", "index.docker.io", "docker.io", DOCKER_HUB_REGISTRY]
    return [host, f"https://{host}", f"http://{host}", f"https://{host}/v1/", f"http://{host}/v1/"]


@dataclass(frozen=True)
class DockerConfigCredentials:
    """Credentials from a Docker ``config.json`` (default ``$DOCKER_CONFIG/config.json`` or ``~/.docker/config.json``)."""

    path: Optional[str] = None

    def config_path(self) -> str:
        if self.path:
            return self.path
        directory = os.environ.get("DOCKER_CONFIG") or os.path.join(os.path.expanduser("~"), ".docker")
        return os.path.join(directory, "config.json")

    def _load(self) -> dict:
        try:
            with open(self.config_path(), encoding="utf-8") as fh:
                return json.load(fh)
        except FileNotFoundError:
            return {}
        except ValueError as exc:
            log.warning("ignoring unreadable %s: %s", self.config_path(), exc)
            return {}

    def get(self, registry: str) -> Optional[Credentials]:
        config = self._load()
        keys = _config_keys(registry)
        helpers = config.get("credHelpers") or {}
        for key in keys:
            if key in helpers:
                return self._from_helper(helpers[key], key)
        auths = config.get("auths") or {}
        for key in keys:
            entry = auths.get(key)
            if entry and entry.get("auth"):
                user, _, password = base64.b64decode(entry["auth"]).decode().partition(":")
                return Credentials(user, password)
            if entry and entry.get("identitytoken"):
                return Credentials("<token>", entry["identitytoken"])
        if config.get("credsStore"):
            return self._from_helper(config["credsStore"], keys[0])
        return None

    @staticmethod
    def _from_helper(helper: str, server: str) -> Optional[Credentials]:
        from docker.credentials import Store
        from docker.credentials.errors import CredentialsNotFound, StoreError

        try:
            found = Store(helper).get(server)
        except CredentialsNotFound:
            return None
        except StoreError as exc:
            raise AuthError(f"credential helper docker-credential-{helper} failed: {exc}") from exc
        return Credentials(found.get("Username", ""), found.get("Secret", ""))


@dataclass(frozen=True)
class ChainCredentials:
    """The first source that has credentials wins."""

    sources: tuple

    def get(self, registry: str) -> Optional[Credentials]:
        for source in self.sources:
            found = source.get(registry)
            if found:
                return found
        return None


def default_credentials(username: Optional[str] = None, password: Optional[str] = None,
                        docker_config: Optional[str] = None) -> CredentialSource:
    """Flags, then environment, then the Docker config file."""
    sources: list = []
    if username:
        sources.append(StaticCredentials(Credentials(username, password or "")))
    sources += [EnvCredentials(), DockerConfigCredentials(docker_config)]
    return ChainCredentials(tuple(sources))


_PARAM = re.compile(r'(\w+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s,]+))')


@dataclass(frozen=True)
class Challenge:
    """A parsed ``WWW-Authenticate`` header: scheme plus parameters."""

    scheme: str
    params: tuple[tuple[str, str], ...]

    def get(self, key: str) -> Optional[str]:
        return dict(self.params).get(key)


def parse_challenge(header: str) -> Challenge:
    """``Bearer realm="...",service="...",scope="a,b"`` -> Challenge (quoted values may contain commas)."""
    scheme, _, rest = header.strip().partition(" ")
    params = tuple((m.group(1).lower(), m.group(2) if m.group(2) is not None else m.group(3)) for m in _PARAM.finditer(rest))
    return Challenge(scheme.lower(), params)


@dataclass(frozen=True)
class _Token:
    value: str
    expires_at: float


class Authenticator:
    """Holds what a registry asked for and answers with ``Authorization`` headers per scope.

    Thread-safe: crawl workers share one. Tokens are cached per (realm, service, scope) until
    they expire; Basic credentials are sent once the registry asked for them.
    """

    def __init__(self, registry: str, http: HttpClient, credentials: Optional[CredentialSource] = None,
                 clock=time.time) -> None:
        self.registry = registry
        self.http = http
        self.credentials = credentials
        self.clock = clock
        self._lock = threading.Lock()
        self._tokens: dict[tuple[str, str, str], _Token] = {}
        self._key_locks: dict[tuple[str, str, str], threading.Lock] = {}
        self._challenge: Optional[Challenge] = None
        self._creds_loaded = False
        self._creds: Optional[Credentials] = None
        self.token_requests = 0

    def _credentials(self) -> Optional[Credentials]:
        if not self._creds_loaded:
            self._creds = self.credentials.get(self.registry) if self.credentials else None
            self._creds_loaded = True
        return self._creds

    def header(self, scope: Optional[str]) -> Optional[str]:
        """The ``Authorization`` value to send for ``scope`` right now, if any (no network)."""
        with self._lock:
            challenge = self._challenge
            if challenge is None:
                return None
            if challenge.scheme == "basic":
                creds = self._credentials()
                return creds.basic_header() if creds else None
            token = self._tokens.get(self._key(challenge, scope))
            if token and token.expires_at > self.clock():
                return f"Bearer {token.value}"
            return None

    @staticmethod
    def _key(challenge: Challenge, scope: Optional[str]) -> tuple[str, str, str]:
        return (challenge.get("realm") or "", challenge.get("service") or "", scope or "")

    def respond(self, www_authenticate: str, scope: Optional[str], failed: Optional[str] = None) -> str:
        """Handle a 401 challenge; return the header to retry with, or raise ``AuthError``.

        ``failed`` is the Authorization the rejected request carried: a cached token other than
        that one (another thread just fetched it) is reused, so concurrent 401s cost one token.
        """
        challenge = parse_challenge(www_authenticate)
        with self._lock:
            self._challenge = challenge
        if challenge.scheme == "basic":
            creds = self._credentials()
            if creds is None:
                raise AuthError(f"{self.registry} requires credentials (Basic realm={challenge.get('realm')!r})")
            return creds.basic_header()
        if challenge.scheme != "bearer":
            raise AuthError(f"unsupported auth scheme {challenge.scheme!r} from {self.registry}")
        scope = scope or challenge.get("scope")
        key = self._key(challenge, scope)
        with self._lock:
            key_lock = self._key_locks.setdefault(key, threading.Lock())
        with key_lock:
            with self._lock:
                cached = self._tokens.get(key)
            if cached and cached.expires_at > self.clock() and f"Bearer {cached.value}" != failed:
                return f"Bearer {cached.value}"
            token = self._fetch_token(challenge, scope)
            with self._lock:
                self._tokens[key] = token
        return f"Bearer {token.value}"

    def _fetch_token(self, challenge: Challenge, scope: Optional[str]) -> _Token:
        realm = challenge.get("realm")
        if not realm:
            raise AuthError(f"Bearer challenge without realm from {self.registry}")
        query = [("service", challenge.get("service") or "")]
        if scope:
            query.append(("scope", scope))
        headers = {}
        creds = self._credentials()
        if creds:
            headers["Authorization"] = creds.basic_header()
        url = realm + ("&" if "?" in realm else "?") + urlencode(query)
        started = self.clock()
        with self._lock:
            self.token_requests += 1
        response = self.http.request("GET", url, headers=headers, stream=True)
        if response.status_code != 200:
            response.close()
            raise AuthError(f"token server {redact(realm)} answered HTTP {response.status_code} for scope {scope!r}")
        try:
            body = json.loads(read_capped(response, MAX_TOKEN_RESPONSE_BYTES, f"token from {redact(realm)}"))
        except ValueError as exc:
            raise AuthError(f"token server {redact(realm)} answered with something that is not JSON") from exc
        value = body.get("token") or body.get("access_token") if isinstance(body, dict) else None
        if not value:
            raise AuthError(f"token server {realm} returned no token")
        ttl = float(body.get("expires_in") or DEFAULT_TOKEN_TTL_S)
        log.debug("token for %s scope %s, ttl %.0f s", self.registry, scope, ttl)
        return _Token(value, started + max(0.0, ttl - TOKEN_EXPIRY_MARGIN_S))


def scopes_for(repository: Optional[str]) -> str:
    """The token scope for pulling ``repository``, or the catalog scope."""
    return f"repository:{repository}:pull" if repository else "registry:catalog:*"


