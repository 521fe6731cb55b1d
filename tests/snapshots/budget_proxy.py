"""A loopback proxy in front of a real registry that enforces a manifest budget the way Docker Hub does.

Every manifest GET counts (HEADs and blobs do not); each window of ``window_s`` seconds allows
``limit`` of them. Manifest responses carry ``ratelimit-limit: N;w=W`` and
``ratelimit-remaining: K;w=W``; a GET over budget gets 429 ``toomanyrequests`` with ``Retry-After``
(seconds until the window turns).
"""
from __future__ import annotations

import math
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import requests


class BudgetProxy:
    def __init__(self, upstream: str, limit: int, window_s: float) -> None:
        self.upstream, self.limit, self.window_s = upstream, limit, window_s
        self.lock = threading.Lock()
        self.window_start = None
        self.used = 0
        self.served = 0  # manifest GETs answered 200
        self.refused = 0  # manifest GETs answered 429
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:
                pass

            def do_GET(self) -> None:
                proxy.handle(self, "GET")

            def do_HEAD(self) -> None:
                proxy.handle(self, "HEAD")

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def start(self) -> "BudgetProxy":
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def new_window(self, limit: int | None = None) -> None:
        """Start a fresh window now (as if the old one had passed), optionally with another budget."""
        with self.lock:
            self.window_start, self.used = time.monotonic(), 0
            self.limit = limit if limit is not None else self.limit

    def _charge(self) -> tuple[bool, int, float]:
        """(allowed, remaining after this request, seconds until the window turns)."""
        with self.lock:
            now = time.monotonic()
            if self.window_start is None or now - self.window_start >= self.window_s:
                self.window_start, self.used = now, 0
            left_s = self.window_s - (now - self.window_start)
            if self.used >= self.limit:
                self.refused += 1
                return False, 0, left_s
            self.used += 1
            self.served += 1
            return True, self.limit - self.used, left_s

    def _remaining(self) -> int:
        with self.lock:
            fresh = self.window_start is None or time.monotonic() - self.window_start >= self.window_s
            return self.limit if fresh else self.limit - self.used

    def handle(self, request: BaseHTTPRequestHandler, method: str) -> None:
        manifest = "/manifests/" in request.path
        budget = {}
        if manifest and method == "GET":
            allowed, remaining, left_s = self._charge()
            if not allowed:
                body = b'{"errors":[{"code":"TOOMANYREQUESTS","message":"You have reached your pull rate limit."}]}'
                request.send_response(429)
                request.send_header("Retry-After", str(max(1, math.ceil(left_s))))
                request.send_header("ratelimit-limit", f"{self.limit};w={self.window_s:g}")
                request.send_header("ratelimit-remaining", f"0;w={self.window_s:g}")
                request.send_header("Content-Length", str(len(body)))
                request.end_headers()
                request.wfile.write(body)
                return
            budget = {"ratelimit-limit": f"{self.limit};w={self.window_s:g}",
                      "ratelimit-remaining": f"{remaining};w={self.window_s:g}"}
        elif manifest:
            budget = {"ratelimit-limit": f"{self.limit};w={self.window_s:g}",
                      "ratelimit-remaining": f"{self._remaining()};w={self.window_s:g}"}
        headers = {k: v for k, v in request.headers.items() if k.lower() not in ("host", "connection")}
        upstream = requests.request(method, self.upstream + request.path, headers=headers, allow_redirects=False,
                                    timeout=30)
        request.send_response(upstream.status_code)
        for key, value in upstream.headers.items():
            if key.lower() not in ("connection", "transfer-encoding", "content-encoding"):
                request.send_header(key, value)
        for key, value in budget.items():
            request.send_header(key, value)
        request.end_headers()
        if method == "GET":
            request.wfile.write(upstream.content)
