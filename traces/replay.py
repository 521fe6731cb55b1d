"""The trace player's run: replay a trace's requests against one or more registries after a warmup.

GETs fetch the blob the warmup pushed for their URI; PUTs push a new random blob of the traced size.
Clients are routed to registries by a hash of their address (each client always to the same one).
Requests go out as fast as ``concurrency`` allows, or at the trace's own gaps divided by
``time_scale`` (``wait``); a request is on time if it started within ``on_time_slack_s`` of its
schedule. A replay is bounded by ``max_requests`` and ``max_seconds`` (what is not sent by then is
counted, not sent), and refuses registries off this machine unless ``allow_remote``.
"""
from __future__ import annotations

import hashlib
import json
import logging
import random
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from typing import Iterable, Optional

import requests

from traces.client import RegistryCallFailed, RegistryClient, check_loopback
from traces.warmup import REPLAY_REPOSITORY, replayable

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ReplayOptions:
    """Pace, concurrency and bounds of one replay."""

    concurrency: int = 8
    wait: bool = False
    time_scale: float = 1.0
    max_requests: int = 10_000
    max_seconds: float = 300.0
    on_time_slack_s: float = 0.1
    allow_remote: bool = False


@dataclass(frozen=True)
class Planned:
    """One request to replay: when (seconds after the first), what, and where."""

    index: int
    delay_s: float
    method: str
    uri: str
    registry: str
    digest: Optional[str]  # GET: the warmed-up blob
    size_bytes: int


@dataclass(frozen=True)
class Outcome:
    """What one replayed request did."""

    index: int
    method: str
    uri: str
    registry: str
    digest: Optional[str]
    status: Optional[int]
    body_bytes: int
    expected_bytes: int
    start_s: float  # seconds after the replay began
    latency_s: float
    on_time: Optional[bool]
    error: Optional[str]


def route(client: str, registries: list[str]) -> str:
    """The registry a client's requests go to: a stable hash of its address."""
    return registries[int.from_bytes(hashlib.sha256(client.encode()).digest()[:8], "big") % len(registries)]


def plan(records: Iterable[object], warm: dict, registries: list[str], max_requests: int) -> tuple[list[Planned], int]:
    """The requests to send, and how many replayable GETs had no warmed-up blob (skipped)."""
    reqs = replayable(records, max_requests)
    blobs, out, missing = warm["blobs"], [], 0
    t0 = reqs[0].ts_s if reqs else 0.0
    for r in reqs:
        target = route(r.client, registries)
        if r.method == "GET":
            if r.uri not in blobs:
                missing += 1
                continue
            b = blobs[r.uri]
            out.append(Planned(len(out), r.ts_s - t0, "GET", r.uri, target, b["digest"], b["size_bytes"]))
        else:
            out.append(Planned(len(out), r.ts_s - t0, "PUT", r.uri, target, None, r.response_bytes))
    return out, missing


def _send(p: Planned, client: RegistryClient, repository: str, begin: float, options: ReplayOptions) -> Outcome:
    start = time.monotonic()
    status, body, error, digest = None, 0, None, p.digest
    try:
        if p.method == "GET":
            status, body = client.get_blob(repository, p.digest)
            if status != 200:
                error = f"HTTP {status}"
            elif body != p.size_bytes:
                error = "short body"
        else:
            data = random.Random(f"{p.index}:{p.uri}").randbytes(p.size_bytes)
            digest, status, body = client.push_blob(repository, data), 201, p.size_bytes
    except requests.RequestException as exc:
        error = type(exc).__name__
    except RegistryCallFailed as exc:
        error = str(exc)
    end = time.monotonic()
    on_time = (start - begin - p.delay_s / options.time_scale) <= options.on_time_slack_s if options.wait else None
    return Outcome(p.index, p.method, p.uri, p.registry, digest, status, body, p.size_bytes, start - begin, end - start,
                   on_time, error)


def run(planned: list[Planned], repository: str = REPLAY_REPOSITORY, options: Optional[ReplayOptions] = None) -> tuple[list[Outcome], int]:
    """Send the planned requests; returns the outcomes (in index order) and how many were not sent in time."""
    o = options or ReplayOptions()
    for url in sorted({p.registry for p in planned}):
        check_loopback(url, o.allow_remote)
    clients = {url: RegistryClient(url) for url in {p.registry for p in planned}}
    slots = threading.BoundedSemaphore(o.concurrency * 2)  # a bounded queue in front of the workers
    futures, not_sent = [], 0
    begin = time.monotonic()
    with ThreadPoolExecutor(max_workers=o.concurrency) as pool:
        for i, p in enumerate(planned[: o.max_requests]):
            if o.wait:
                pause = begin + p.delay_s / o.time_scale - time.monotonic()
                if pause > 0:
                    time.sleep(min(pause, max(0.0, begin + o.max_seconds - time.monotonic())))
            if time.monotonic() - begin > o.max_seconds:
                not_sent = len(planned[: o.max_requests]) - i
                break
            slots.acquire()
            fut = pool.submit(_send, p, clients[p.registry], repository, begin, o)
            fut.add_done_callback(lambda _: slots.release())
            futures.append(fut)
        outcomes = [f.result() for f in futures]
    return outcomes, not_sent + max(0, len(planned) - o.max_requests)


def summarize(outcomes: list[Outcome], not_sent: int, missing: int) -> dict:
    """Throughput, latency percentiles, errors and on-time share of a replay."""
    ok = [x for x in outcomes if x.error is None]
    lat = sorted(x.latency_s for x in ok)

    def pct(q: float) -> Optional[float]:
        return lat[max(0, -(-int(q * 100) * len(lat) // 100) - 1)] if lat else None

    span = (max(x.start_s + x.latency_s for x in outcomes) - min(x.start_s for x in outcomes)) if outcomes else 0.0
    errors: dict[str, int] = {}
    for x in outcomes:
        if x.error:
            errors[x.error] = errors.get(x.error, 0) + 1
    timed = [x.on_time for x in outcomes if x.on_time is not None]
    body = sum(x.body_bytes for x in ok)
    return {
        "requests": len(outcomes), "ok": len(ok), "failed": len(outcomes) - len(ok), "not_sent": not_sent,
        "no_warmup_blob": missing, "errors": errors, "duration_s": span, "body_bytes": body,
        "requests_per_s": len(ok) / span if span > 0 else None, "bytes_per_s": body / span if span > 0 else None,
        "latency_mean_s": sum(lat) / len(lat) if lat else None,
        "latency_p50_s": pct(0.5), "latency_p90_s": pct(0.9), "latency_p99_s": pct(0.99),
        "on_time_share": sum(timed) / len(timed) if timed else None,
    }


def write_outcomes(outcomes: list[Outcome], path: str) -> None:
    """One JSON line per replayed request."""
    with open(path, "w") as fh:
        for x in outcomes:
            fh.write(json.dumps(asdict(x)) + "\n")
