"""HTTP with a declared retry policy, polite rate-limit handling and host-safe redirects.

The policy is a value (like go-containerregistry's ``remote/options.go``): which failures are
retried, how long to back off, and when to slow down, each with the reason beside it.
"""
from __future__ import annotations

import email.utils
import logging
import random
import threading
import time
from dataclasses import dataclass
from typing import Callable, Mapping, Optional
from urllib.parse import urljoin, urlsplit

import requests

from common.errors import CrawlError
from crawler.outcomes import TooLarge
from crawler.redact import redact

log = logging.getLogger(__name__)

READ_CHUNK_BYTES = 64 << 10


@dataclass(frozen=True)
class RetryPolicy:
    """When and how long to retry one HTTP request."""

    max_attempts: int = 6
    # 408: the server gave up waiting for us; 429: rate limited (Docker Hub "toomanyrequests");
    # 5xx: registries and their CDNs fail transiently under load. 501 is a real "not implemented".
    retry_statuses: frozenset[int] = frozenset({408, 429, 500, 502, 503, 504})
    backoff_base_s: float = 0.5  # first wait; doubles per attempt
    backoff_max_s: float = 60.0  # never wait longer than this between attempts
    jitter: float = 0.5  # +-50 % so parallel workers do not retry in lockstep
    max_retry_after_s: float = 900.0  # a Retry-After above this is an outage, not a pause
    # Docker Hub sends "ratelimit-remaining: N;w=21600"; below this many we pace requests.
    slowdown_below_remaining: int = 5
    slowdown_s: float = 2.0
    connect_timeout_s: float = 10.0
    read_timeout_s: float = 60.0
    # One blob may take at most base + size / min rate in total, resumes and backoff included, so a
    # registry that stalls or trickles costs a bounded time instead of minutes on every rerun.
    blob_time_base_s: float = 120.0
    blob_min_rate_bytes_s: int = 100_000
    max_blob_resumes: int = 8  # resumes after real network breaks (a break that made no progress counts too)

    def blob_time_limit_s(self, size_bytes: Optional[int]) -> float:
        """Total time allowed for one blob of ``size_bytes`` (unknown size: the base alone)."""
        return self.blob_time_base_s + (size_bytes or 0) / self.blob_min_rate_bytes_s

    def backoff_s(self, attempt: int, rng: Callable[[], float] = random.random) -> float:
        """Wait before retry number ``attempt`` (1-based): exponential, capped, with jitter."""
        base = min(self.backoff_max_s, self.backoff_base_s * (2 ** (attempt - 1)))
        return max(0.0, base * (1 + self.jitter * (2 * rng() - 1)))


def parse_retry_after(value: Optional[str], now: Optional[float] = None) -> Optional[float]:
    """Seconds to wait from a ``Retry-After`` header (delta-seconds or an HTTP date)."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value).timestamp()
    except (TypeError, ValueError):
        return None
    return max(0.0, when - (now if now is not None else time.time()))


def parse_ratelimit(value: Optional[str]) -> Optional[int]:
    """The count from ``ratelimit-remaining: 97;w=21600``."""
    if not value:
        return None
    head = value.split(";")[0].strip()
    return int(head) if head.isdigit() else None


def read_capped(response: requests.Response, cap_bytes: int, what: str) -> bytes:
    """The body of a streamed response, refused with ``TooLarge`` as soon as it passes ``cap_bytes``.

    ``Content-Length`` is checked before anything is read, so an announced 200 MiB "manifest" costs
    no memory; a body without it is counted while streaming and dropped at the cap.
    """
    declared = response.headers.get("Content-Length", "")
    if declared.strip().isdigit() and int(declared) > cap_bytes:
        response.close()
        raise TooLarge(f"{what}: Content-Length {int(declared)} is over the {cap_bytes}-byte cap")
    chunks, total = [], 0
    try:
        for chunk in response.iter_content(READ_CHUNK_BYTES):
            total += len(chunk)
            if total > cap_bytes:
                raise TooLarge(f"{what}: body is over the {cap_bytes}-byte cap")
            chunks.append(chunk)
    finally:
        response.close()
    return b"".join(chunks)


class RetriesExhausted(CrawlError):
    """The last response still had a retryable status after every attempt."""

    def __init__(self, response: requests.Response, attempts: int) -> None:
        super().__init__(f"HTTP {response.status_code} from {response.request.method} {redact(response.url)} "
                         f"after {attempts} attempts")
        self.response = response


@dataclass(frozen=True)
class RateLimitSeen:
    """The rate-limit headers of the latest response that carried them."""

    limit: Optional[str] = None
    remaining: Optional[str] = None


class HttpClient:
    """A ``requests`` session per thread, retries per ``RetryPolicy``, redirects handled here.

    Redirects are followed by hand so that ``Authorization`` only goes to the host it was meant
    for: registries redirect blobs to CDN hosts with signed URLs that reject extra credentials.
    """

    MAX_REDIRECTS = 10

    def __init__(self, policy: RetryPolicy = RetryPolicy(), sleep: Callable[[float], None] = time.sleep,
                 pool_size: int = 16, user_agent: str = "hubscope-crawler/0.1", budget=None) -> None:
        self.budget = budget  # crawler.ratelimit.Budget: manifest GETs wait out a spent budget (None: no waiting)
        self.policy = policy
        self.sleep = sleep
        self.pool_size = pool_size
        self.user_agent = user_agent
        self._local = threading.local()
        self._lock = threading.Lock()
        self.ratelimit = RateLimitSeen()
        self._pause_until = 0.0  # monotonic time before which no request is sent (after a 429)

    @property
    def session(self) -> requests.Session:
        """This thread's session (sessions are not shared across threads)."""
        session = getattr(self._local, "session", None)
        if session is None:
            session = requests.Session()
            adapter = requests.adapters.HTTPAdapter(pool_connections=4, pool_maxsize=self.pool_size, max_retries=0)
            session.mount("http://", adapter)
            session.mount("https://", adapter)
            session.headers["User-Agent"] = self.user_agent
            self._local.session = session
        return session

    def _wait_for_pause(self) -> None:
        with self._lock:
            delay = self._pause_until - time.monotonic()
        if delay > 0:
            self.sleep(delay)

    def _observe(self, response: requests.Response) -> None:
        limit = response.headers.get("ratelimit-limit")
        remaining = response.headers.get("ratelimit-remaining")
        if limit is None and remaining is None:
            return
        with self._lock:
            self.ratelimit = RateLimitSeen(limit, remaining)
        left = parse_ratelimit(remaining)
        if left is not None and left < self.policy.slowdown_below_remaining and self.budget is None:
            pause = self.policy.slowdown_s * (self.policy.slowdown_below_remaining - left)
            log.warning("rate limit nearly used up (remaining %s); pausing %.1f s", remaining, pause)
            self.sleep(pause)

    def _send_once(self, method: str, url: str, headers: Mapping[str, str], stream: bool) -> requests.Response:
        """One logical request: follow redirects, dropping Authorization when the host changes."""
        origin = urlsplit(url).netloc
        hdrs = dict(headers)
        for _ in range(self.MAX_REDIRECTS + 1):
            response = self.session.request(
                method, url, headers=hdrs, stream=stream, allow_redirects=False,
                timeout=(self.policy.connect_timeout_s, self.policy.read_timeout_s),
            )
            if response.status_code not in (301, 302, 303, 307, 308) or "Location" not in response.headers:
                return response
            response.close()
            url = urljoin(url, response.headers["Location"])
            if urlsplit(url).netloc != origin:
                hdrs.pop("Authorization", None)
            if response.status_code == 303:
                method = "GET"
            log.debug("redirect to %s", redact(url))
        raise requests.TooManyRedirects(f"more than {self.MAX_REDIRECTS} redirects from {origin}")

    def request(self, method: str, url: str, headers: Optional[Mapping[str, str]] = None,
                stream: bool = False) -> requests.Response:
        """Send with retries on connection errors and retryable statuses; other responses are returned as is."""
        headers = headers or {}
        counted = self.budget is not None and method == "GET" and "/manifests/" in url  # what a pull budget counts
        for attempt in range(1, self.policy.max_attempts + 1):
            last = attempt == self.policy.max_attempts
            if counted:
                self.budget.wait()
            self._wait_for_pause()
            try:
                response = self._send_once(method, url, headers, stream)
            except (requests.ConnectionError, requests.Timeout) as exc:
                if last:
                    raise
                wait = self.policy.backoff_s(attempt)
                log.info("%s %s: %s; retry %d in %.1f s", method, redact(url), type(exc).__name__, attempt, wait)
                self.sleep(wait)
                continue
            self._observe(response)
            if counted:
                self.budget.observe(response.headers, response.status_code,
                                    parse_retry_after(response.headers.get("Retry-After")))
            if response.status_code not in self.policy.retry_statuses:
                return response
            if last:
                raise RetriesExhausted(response, attempt)
            retry_after = parse_retry_after(response.headers.get("Retry-After"))
            wait = self.policy.backoff_s(attempt)
            if retry_after is not None:
                if retry_after > self.policy.max_retry_after_s:
                    raise RetriesExhausted(response, attempt)
                wait = max(wait, retry_after)
            response.close()
            log.info("%s %s: HTTP %d; retry %d in %.1f s", method, redact(url), response.status_code, attempt, wait)
            if response.status_code == 429 and counted:
                continue  # the budget waits for the window (with a countdown) before the retry
            if response.status_code == 429:  # rate limited: every worker of this client pauses, not just us
                with self._lock:
                    self._pause_until = max(self._pause_until, time.monotonic() + wait)
            else:
                self.sleep(wait)
        raise AssertionError("unreachable")
