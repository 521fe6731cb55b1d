"""A synthetic registry trace in the published format, with the published shape, from a seed.

Clearly labelled synthetic (file names ``synthetic-<name>-logstash-<day>-0.json``, user agent
``hubscope-synthetic``): it is for tests and the demo, never a stand-in for the IBM traces. The shape
follows Anwar et al. (FAST 2018): layer sizes log-normal with 65 % under 1 MB and 80 % under 10 MB
(mu = 11.875, sigma = 5.04 in ln bytes, clipped to the given bounds), Zipf-skewed repositories and
clients, pulls as a manifest GET followed by GETs of the layers the client lacks, and pushes (blob
uploads, then a manifest PUT) soon followed by a burst of pulls of the pushed image.
"""
from __future__ import annotations

import bisect
import hashlib
import itertools
import json
import math
import os
import random
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Optional

LOG_MU, LOG_SIGMA = 11.875, 5.04  # ln(bytes): P(< 1 MB) = 0.65, P(< 10 MB) = 0.80
AGENT = "hubscope-synthetic/1.0 (generated, not a real client)"


@dataclass(frozen=True)
class GeneratorOptions:
    """Shape of a synthetic trace; sizes are clipped to [min_layer_bytes, max_layer_bytes]."""

    seed: int = 0
    requests: int = 10_000
    repositories: int = 200
    clients: int = 100
    base_layers: int = 20
    duration_s: float = 86_400.0
    start: str = "2017-06-20T00:00:00"
    zipf_s: float = 1.0
    push_share: float = 0.05
    min_layer_bytes: int = 128
    max_layer_bytes: int = 2 * 10**9
    name: str = "gen"


def _digest(*parts: object) -> str:
    return "sha256:" + hashlib.sha256(":".join(map(str, parts)).encode()).hexdigest()


class _Zipf:
    """Draw ranks 0..n-1 with P(k) proportional to 1 / (k + 1)^s."""

    def __init__(self, n: int, s: float, rng: random.Random) -> None:
        self.cum = list(itertools.accumulate(1.0 / (k + 1) ** s for k in range(n)))
        self.rng = rng

    def draw(self) -> int:
        return bisect.bisect_left(self.cum, self.rng.random() * self.cum[-1])


class _World:
    """Repositories, their current image (manifest tag, layers) and layer sizes."""

    def __init__(self, o: GeneratorOptions, rng: random.Random) -> None:
        self.o, self.rng = o, rng
        self.sizes: dict[str, int] = {}
        self.bases = [self._layer("base", i) for i in range(o.base_layers)]
        base_pick = _Zipf(o.base_layers, 1.0, rng)
        self.repos = [f"u{r % max(1, o.repositories // 4)}/repo{r}" for r in range(o.repositories)]
        self.images: dict[str, tuple[str, list[str]]] = {}
        for r, repo in enumerate(self.repos):
            own = [self._layer(repo, 0, i) for i in range(rng.randint(1, 6))]
            self.images[repo] = ("v0", [self.bases[base_pick.draw()], *own])
        self.versions = {repo: 0 for repo in self.repos}

    def _layer(self, *key: object) -> str:
        digest = _digest(self.o.seed, "layer", *key)
        size = int(math.exp(self.rng.gauss(LOG_MU, LOG_SIGMA)))
        self.sizes[digest] = min(self.o.max_layer_bytes, max(self.o.min_layer_bytes, size))
        return digest

    def push(self, repo: str) -> tuple[str, list[str], list[str]]:
        """A new version of ``repo``: (tag, all layers, new layers)."""
        self.versions[repo] += 1
        v = self.versions[repo]
        _, layers = self.images[repo]
        new = [self._layer(repo, v, i) for i in range(self.rng.randint(1, 2))]
        tag, layers = f"v{v}", [*layers[:-1], *new]
        self.images[repo] = (tag, layers)
        return tag, layers, new


def _record(t: float, method: str, uri: str, status: int, written: int, client: str, rng: random.Random) -> dict:
    duration = 0.002 + written / 50e6 * math.exp(rng.gauss(0, 0.5))
    return {"timestamp": t, "http.request.method": method, "http.request.uri": uri, "http.response.status": status,
            "http.response.written": written, "http.request.duration": round(duration, 6),
            "http.request.remoteaddr": client, "http.request.useragent": AGENT, "host": "synthetic"}


def _pull(world: _World, repo: str, client: str, t: float, have: set, rng: random.Random) -> list[dict]:
    tag, layers = world.images[repo]
    if rng.random() < 0.02:  # a tag that does not exist
        return [_record(t, "GET", f"/v2/{repo}/manifests/nope", 404, 96, client, rng)]
    out = [_record(t, "GET", f"/v2/{repo}/manifests/{tag}", 200, 400 + 180 * len(layers), client, rng)]
    for layer in layers:
        if layer in have:
            continue
        t += rng.uniform(0.01, 0.3)
        out.append(_record(t, "GET", f"/v2/{repo}/blobs/{layer}", 200, world.sizes[layer], client, rng))
        have.add(layer)
    return out


def _push(world: _World, repo: str, client: str, t: float, rng: random.Random) -> tuple[list[dict], float]:
    tag, layers, new = world.push(repo)
    out = []
    for layer in new:
        upload = hashlib.sha256(f"{layer}{t}".encode()).hexdigest()[:32]
        out.append(_record(t, "HEAD", f"/v2/{repo}/blobs/{layer}", 404, 0, client, rng))
        out.append(_record(t + 0.01, "POST", f"/v2/{repo}/blobs/uploads/", 202, 0, client, rng))
        t += 0.02 + world.sizes[layer] / 30e6
        out.append(_record(t, "PUT", f"/v2/{repo}/blobs/uploads/{upload}?digest={layer}", 201, 0, client, rng))
    t += 0.05
    out.append(_record(t, "PUT", f"/v2/{repo}/manifests/{tag}", 201, 0, client, rng))
    return out, t


def generate(options: Optional[GeneratorOptions] = None) -> list[dict]:
    """About ``requests`` records (fewer when the last sessions would end past ``duration_s``), sorted by time;
    ``timestamp`` is still seconds from the start."""
    o = options or GeneratorOptions()
    rng = random.Random(o.seed)
    world = _World(o, rng)
    repo_pick, client_pick = _Zipf(o.repositories, o.zipf_s, rng), _Zipf(o.clients, o.zipf_s, rng)
    clients = [f"10.{c // 250}.{c % 250}.{(c * 7) % 250 + 1}" for c in range(o.clients)]
    have: dict[str, set] = {c: set() for c in clients}
    records: list[dict] = []
    t, sessions = 0.0, 0
    # Sessions arrive as a Poisson process in time order (so a pull sees only earlier pushes), at the
    # rate that fills the records still missing over the time left, given the records per session so far.
    while len(records) < o.requests and t < o.duration_s:
        per_session = len(records) / sessions if sessions else 4.0
        t += rng.expovariate((o.requests - len(records)) / ((o.duration_s - t) * per_session))
        sessions += 1
        repo = world.repos[repo_pick.draw()]
        client = clients[client_pick.draw()]
        if rng.random() < o.push_share:
            pushed, t_end = _push(world, repo, client, t, rng)
            records += pushed
            for _ in range(1 + int(rng.expovariate(1 / 3))):  # the burst of pulls a push sets off
                when = t_end + rng.expovariate(1 / 120)
                puller = clients[client_pick.draw()]
                records += _pull(world, repo, puller, when, have[puller], rng)
        else:
            records += _pull(world, repo, client, t, have[client], rng)
    records.sort(key=lambda r: r["timestamp"])
    return [r for r in records if r["timestamp"] < o.duration_s][: o.requests]


def write_trace(out_dir: str, options: Optional[GeneratorOptions] = None) -> list[str]:
    """Write the trace as one JSON array per day in the published naming; returns the files written."""
    o = options or GeneratorOptions()
    start = datetime.fromisoformat(o.start).replace(tzinfo=timezone.utc)
    by_day: dict[str, list[dict]] = {}
    for rec in generate(o):
        when = start + timedelta(seconds=rec["timestamp"])
        rec = {**rec, "timestamp": when.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"}
        by_day.setdefault(when.strftime("%Y.%m.%d"), []).append(rec)
    os.makedirs(out_dir, exist_ok=True)
    paths = []
    for day, recs in sorted(by_day.items()):
        path = os.path.join(out_dir, f"synthetic-{o.name}-logstash-{day}-0.json")
        with open(path, "w") as fh:
            json.dump(recs, fh)
        paths.append(path)
    return paths
