"""Loopback services for the crawler tests: RS256 token server, fault-injecting proxy, Docker Hub listing stand-in.

Only the Hub stand-in is a fake (Docker Hub is unreachable here); it serves the documented response
shapes of search v4 and the namespace listing. Everything else fronts or serves real registries.
"""
from __future__ import annotations

import base64
import datetime
import http.client
import json
import socket
import struct
import threading
import time
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Optional
from urllib.parse import parse_qs, urlsplit



class _QuietServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address) -> None:  # clients we reset on purpose are not news
        pass


class _Server:
    """A ThreadingHTTPServer on a free loopback port, run in a daemon thread."""

    handler_cls: type

    def start(self, host: str = "127.0.0.1") -> "_Server":
        owner = self

        class Handler(self.handler_cls):  # type: ignore[misc, valid-type]
            server_owner = owner

        self.httpd = _QuietServer((host, 0), Handler)
        self.port = self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()
        return self

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


# --------------------------------------------------------------------------------------------- tokens
def make_cert(directory: str) -> tuple[str, object, str]:
    """A self-signed RSA certificate for the token issuer: (cert path, private key, DER base64)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.x509.oid import NameOID

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "hubscope-token-issuer")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(days=1))
            .not_valid_after(now + datetime.timedelta(days=30)).sign(key, hashes.SHA256()))
    path = f"{directory}/token-cert.pem"
    with open(path, "wb") as fh:
        fh.write(cert.public_bytes(serialization.Encoding.PEM))
    return path, key, base64.b64encode(cert.public_bytes(serialization.Encoding.DER)).decode()


class _TokenHandler(BaseHTTPRequestHandler):
    server_owner: "TokenServer"

    def log_message(self, *args) -> None:
        pass

    def do_GET(self) -> None:
        owner = self.server_owner
        query = parse_qs(urlsplit(self.path).query)
        subject = ""
        auth = self.headers.get("Authorization", "")
        if auth.startswith("Basic "):
            user, _, password = base64.b64decode(auth[6:]).decode().partition(":")
            if owner.users.get(user) != password:
                self.send_response(401)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            subject = user
        scopes = query.get("scope", [])
        with owner.lock:
            owner.requests.append((subject, tuple(scopes)))
        access = []
        for scope in scopes:
            kind, _, rest = scope.partition(":")
            name, _, actions = rest.rpartition(":")
            allowed = [a for a in actions.split(",") if subject or (a == "pull" and name not in owner.private)]
            access.append({"type": kind, "name": name, "actions": allowed})
        token = owner.token(subject, access)
        body = json.dumps({"token": token, "access_token": token, "expires_in": owner.expires_in,
                           "issued_at": datetime.datetime.now(datetime.timezone.utc).isoformat()}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


class TokenServer(_Server):
    """Issues RS256 JWTs the distribution registry accepts (x5c = the self-signed issuer cert)."""

    handler_cls = _TokenHandler
    issuer, service = "hubscope-issuer", "hubscope-registry"

    def __init__(self, directory: str, users: dict[str, str], private: frozenset = frozenset(),
                 expires_in: int = 300) -> None:
        self.cert_path, self.key, self.cert_b64 = make_cert(directory)
        self.users, self.private, self.expires_in = users, private, expires_in
        self.lock = threading.Lock()
        self.requests: list[tuple[str, tuple[str, ...]]] = []

    def token(self, subject: str, access: list) -> str:
        from cryptography.hazmat.primitives import hashes
        from cryptography.hazmat.primitives.asymmetric import padding

        def b64u(data: bytes) -> str:
            return base64.urlsafe_b64encode(data).rstrip(b"=").decode()

        now = int(time.time())
        header = {"typ": "JWT", "alg": "RS256", "x5c": [self.cert_b64]}
        claims = {"iss": self.issuer, "sub": subject, "aud": self.service, "exp": now + self.expires_in,
                  "nbf": now - 10, "iat": now, "jti": uuid.uuid4().hex, "access": access}
        signing_input = b64u(json.dumps(header).encode()) + "." + b64u(json.dumps(claims).encode())
        return signing_input + "." + b64u(self.key.sign(signing_input.encode(), padding.PKCS1v15(), hashes.SHA256()))


# --------------------------------------------------------------------------------------------- faults
@dataclass
class Fault:
    """One injected failure for requests whose path contains ``match`` (``times`` of them; -1 = always)."""

    kind: str  # status | reset | truncate | corrupt | slow | redirect | norange
    match: str = "/blobs/"
    times: int = 1
    status: int = 503
    retry_after: Optional[str] = None
    headers: dict = field(default_factory=dict)
    rate_bytes_s: int = 256 * 1024  # for slow
    location: str = ""  # for redirect: base URL of the other host


@dataclass(frozen=True)
class Seen:
    """A request the proxy received and what it did."""

    method: str
    path: str
    range: Optional[str]
    authorization: Optional[str]
    action: str
    at: float
    accept: Optional[str] = None


_COPY_HEADERS = ("Content-Type", "Docker-Content-Digest", "Content-Range", "Accept-Ranges", "Link", "WWW-Authenticate",
                 "Docker-Distribution-Api-Version", "Etag", "Location")


class _ProxyHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_owner: "FaultProxy"

    def log_message(self, *args) -> None:
        pass

    def do_HEAD(self) -> None:
        self._handle()

    def do_GET(self) -> None:
        self._handle()

    def _handle(self) -> None:
        owner = self.server_owner
        fault = owner.take(self.path)
        action = fault.kind if fault else "pass"
        owner.record(Seen(self.command, self.path, self.headers.get("Range"), self.headers.get("Authorization"),
                          action, time.time(), self.headers.get("Accept")))
        if fault and fault.kind == "status":
            body = json.dumps({"errors": [{"code": "TOOMANYREQUESTS" if fault.status == 429 else "UNAVAILABLE",
                                           "message": "injected by the test proxy"}]}).encode()
            self.send_response(fault.status)
            if fault.retry_after is not None:
                self.send_header("Retry-After", fault.retry_after)
            for k, v in fault.headers.items():
                self.send_header(k, v)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            return
        if fault and fault.kind == "redirect":
            self.send_response(307)
            self.send_header("Location", fault.location + self.path)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        request_headers = self.headers
        if fault and fault.kind == "norange":  # a server (or CDN) that ignores Range: 200 with everything
            request_headers = {k: v for k, v in self.headers.items() if k.lower() != "range"}
        status, headers, body = owner.forward(self.command, self.path, request_headers)
        if fault and fault.kind == "corrupt" and body:
            middle = len(body) // 2
            body = body[:middle] + bytes([body[middle] ^ 0xFF]) + body[middle + 1:]
        self.send_response(status)
        for k, v in headers.items():
            self.send_header(k, v)
        for k, v in owner.extra_headers.items():
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command == "HEAD":
            return
        if fault and fault.kind in ("reset", "truncate"):
            self.wfile.write(body[: len(body) // 2])
            self.wfile.flush()
            self.close_connection = True
            if fault.kind == "reset":  # RST instead of FIN, once the client has read the first half
                time.sleep(0.3)
                self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.connection.close()
            return
        if fault and fault.kind == "slow":
            step = max(1, fault.rate_bytes_s // 20)
            for i in range(0, len(body), step):
                self.wfile.write(body[i:i + step])
                self.wfile.flush()
                time.sleep(0.05)
            return
        self.wfile.write(body)


class FaultProxy(_Server):
    """Forwards to ``upstream`` (host:port) and injects the queued faults; logs every request."""

    handler_cls = _ProxyHandler

    def __init__(self, upstream: str, upstream_auth: Optional[str] = None) -> None:
        self.upstream, self.upstream_auth = upstream, upstream_auth
        self.lock = threading.Lock()
        self.faults: list[Fault] = []
        self.seen: list[Seen] = []
        self.extra_headers: dict[str, str] = {}

    def reset(self) -> None:
        with self.lock:
            self.faults, self.seen, self.extra_headers = [], [], {}

    def add(self, *faults: Fault) -> None:
        with self.lock:
            self.faults.extend(faults)

    def take(self, path: str) -> Optional[Fault]:
        with self.lock:
            for fault in self.faults:
                if fault.match in path and fault.times != 0:
                    fault.times -= 1 if fault.times > 0 else 0
                    return fault
        return None

    def record(self, seen: Seen) -> None:
        with self.lock:
            self.seen.append(seen)

    def forward(self, method: str, path: str, headers) -> tuple[int, dict, bytes]:
        conn = http.client.HTTPConnection(self.upstream, timeout=60)
        out = {k: v for k, v in headers.items() if k.lower() in ("accept", "range", "authorization")}
        if self.upstream_auth:
            out["Authorization"] = self.upstream_auth
        conn.request(method, path, headers=out)
        response = conn.getresponse()
        body = response.read()
        kept = {k: response.getheader(k) for k in _COPY_HEADERS if response.getheader(k)}
        conn.close()
        return response.status, kept, body


# --------------------------------------------------------------------------------------------- Hub
class _HubHandler(BaseHTTPRequestHandler):
    server_owner: "HubStandIn"

    def log_message(self, *args) -> None:
        pass

    def _json(self, body: dict, status: int = 200) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:
        owner = self.server_owner
        url = urlsplit(self.path)
        query = {k: v[0] for k, v in parse_qs(url.query).items()}
        with owner.lock:
            owner.requests.append(self.path)
        if url.path == "/api/search/v4":
            size, start = min(int(query.get("size", 25)), 100), int(query.get("from", 0))
            hits = [r for r in owner.search_results if query.get("query", "") in r["name"]]
            self._json({"total": len(hits), "results": hits[start:start + size]})
            return
        parts = url.path.strip("/").split("/")
        if len(parts) == 5 and parts[:2] == ["v2", "repositories"] and parts[4] == "tags":
            tags = owner.tags.get(f"{parts[2]}/{parts[3]}")
            if tags is None:
                self._json({"message": "object not found", "errinfo": {}}, 404)
                return
            if query.get("ordering") == "last_updated":
                tags = sorted(tags, key=lambda t: t["last_updated"], reverse=True)
            page, size = int(query.get("page", 1)), min(int(query.get("page_size", 10)), 100)
            more = page * size < len(tags)
            nxt = (f"http://127.0.0.1:{owner.port}{url.path}?page={page + 1}&page_size={size}"
                   f"&ordering={query.get('ordering', '')}")
            self._json({"count": len(tags), "next": nxt if more else None, "previous": None,
                        "results": tags[(page - 1) * size: page * size]})
            return
        if len(parts) == 3 and parts[:2] == ["v2", "repositories"]:
            namespace = parts[2]
            page, size = int(query.get("page", 1)), min(int(query.get("page_size", 10)), 100)
            repos = owner.namespaces.get(namespace)
            if repos is None:
                self._json({"message": "object not found", "errinfo": {}}, 404)
                return
            chunk = repos[(page - 1) * size: page * size]
            more = page * size < len(repos)
            nxt = f"http://127.0.0.1:{owner.port}/v2/repositories/{namespace}/?page={page + 1}&page_size={size}"
            self._json({"count": len(repos), "next": nxt if more else None,
                        "previous": None, "results": chunk})
            return
        self._json({"message": "not found"}, 404)


class HubStandIn(_Server):
    """Serves ``/api/search/v4``, ``/v2/repositories/<ns>/`` and ``.../<ns>/<name>/tags`` in Docker Hub's shapes."""

    handler_cls = _HubHandler

    def __init__(self, search_results: list[dict], namespaces: dict[str, list[dict]],
                 tags: Optional[dict[str, list[dict]]] = None) -> None:
        self.search_results, self.namespaces, self.tags = search_results, namespaces, tags or {}
        self.lock = threading.Lock()
        self.requests: list[str] = []
