"""The trace player against the real distribution registry: warmup + run through the CLI, then the registry's
own JSON log (read with hubscope's trace parser) shows every replayed request served with the right size."""
from __future__ import annotations

import json
import os
from collections import Counter

import pytest
from click.testing import CliRunner

from common.traces import TraceRecord, read_trace, trace_files
from hubscope.demo.localregistry import LocalRegistry
from hubscope.cli import main
from traces.client import RegistryClient, RemoteRegistryRefused, check_loopback
from traces.generate import GeneratorOptions, write_trace
from traces.replay import Planned, ReplayOptions, plan, route, run, summarize
from traces.warmup import REPLAY_REPOSITORY, WarmupOptions, replayable, warmup

QUIET_LOG = "log: {level: warn, accesslog: {disabled: true}}"


class LoggingRegistry(LocalRegistry):
    """The registry with its JSON log on (one ``response completed`` line per request, in registry.log)."""

    def config_text(self) -> str:
        text = super().config_text()
        assert QUIET_LOG in text
        return text.replace(QUIET_LOG, "log: {level: info, formatter: json, accesslog: {disabled: true}}")


@pytest.fixture
def logged_registry(tmp_path):
    reg = LoggingRegistry(str(tmp_path / "registry")).start()
    yield reg
    reg.stop()


@pytest.fixture(scope="module")
def trace_dir(tmp_path_factory):
    folder = tmp_path_factory.mktemp("trace")
    write_trace(str(folder), GeneratorOptions(seed=11, requests=400, repositories=20, clients=12, max_layer_bytes=40_000,
                                              duration_s=600))
    return str(folder)


def _served(reg: LocalRegistry) -> list[TraceRecord]:
    """The registry's blob GETs of the replay repository, from its own log."""
    recs = read_trace(os.path.join(reg.workdir, "registry.log"))
    return [r for r in recs if isinstance(r, TraceRecord) and r.method == "GET" and r.kind == "blob"
            and r.repository == REPLAY_REPOSITORY]


def test_warmup_and_replay_every_request_served_with_its_size(logged_registry, trace_dir, tmp_path):
    records = [r for f in trace_files([trace_dir]) for r in read_trace(f)]
    gets = [r for r in replayable(records, 10_000) if r.method == "GET"]
    sizes = {r.uri: r.response_bytes for r in gets}
    runner, map_path, out = CliRunner(), str(tmp_path / "map.json"), str(tmp_path / "replay.jsonl")
    result = runner.invoke(main, ["trace", "replay", "warmup", "--trace", trace_dir, "--registry", logged_registry.url,
                                  "--map", map_path, "--content", "random"])
    assert result.exit_code == 0, result.output
    warm = json.load(open(map_path))
    assert set(warm["blobs"]) == set(sizes) and not warm["skipped"]
    assert all(warm["blobs"][u]["size_bytes"] == s for u, s in sizes.items())
    assert not _served(logged_registry)  # warmup pushes (HEAD, POST, PUT), never GETs

    result = runner.invoke(main, ["trace", "replay", "run", "--trace", trace_dir, "--map", map_path, "--concurrency", "4",
                                  "--out", out])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.output)
    assert summary["requests"] == len(gets) and summary["ok"] == len(gets) and summary["failed"] == 0
    assert summary["not_sent"] == 0 and summary["body_bytes"] == sum(r.response_bytes for r in gets)
    assert summary["latency_p50_s"] <= summary["latency_p99_s"] and summary["requests_per_s"] > 0
    replayed = [json.loads(line) for line in open(out)]
    assert len(replayed) == len(gets)

    served = _served(logged_registry)
    want = Counter((warm["blobs"][r.uri]["digest"], r.response_bytes) for r in gets)
    assert Counter((r.target, r.response_bytes) for r in served if r.status == 200) == want
    assert all(r.status == 200 for r in served) and len(served) == len(gets)


def test_two_registries_routing_puts_and_bounds(tmp_path, trace_dir):
    a, b = LoggingRegistry(str(tmp_path / "a")).start(), LoggingRegistry(str(tmp_path / "b")).start()
    try:
        records = [r for f in trace_files([trace_dir]) for r in read_trace(f)]
        put = TraceRecord("x", records[-1].ts_s + 1, "PUT", "/v2/u/r/blobs/uploads/1", "blob", "u/r", None, 201, 3000, 0.01,
                          "10.9.9.9", None)
        warm = warmup(records + [put], [a.url, b.url], WarmupOptions(content="zeros", threads=2))
        planned, missing = plan(records + [put], warm, [a.url, b.url], 10_000)
        assert missing == 0 and planned[-1].method == "PUT"
        outcomes, not_sent = run(planned, options=ReplayOptions(concurrency=3, wait=True, time_scale=600))
        summary = summarize(outcomes, not_sent, missing)
        assert summary["ok"] == len(planned) and 0 <= summary["on_time_share"] <= 1
        # every client's GETs went to the registry its address hashes to, and each registry logged exactly those
        for reg in (a, b):
            mine = Counter(p.digest for p in planned if p.registry == reg.url and p.method == "GET")
            assert Counter(r.target for r in _served(reg)) == mine
        assert {route(r.client, [a.url, b.url]) for r in records if r.client == records[0].client} == {planned[0].registry}
        # the PUT pushed a new blob of its size to its client's registry
        (pushed,) = [x for x in outcomes if x.method == "PUT"]
        assert pushed.error is None and RegistryClient(pushed.registry).has_blob(REPLAY_REPOSITORY, pushed.digest)
        # bounds: a count bound sends that many; a time bound of zero sends nothing and counts the rest
        few, left = run(planned, options=ReplayOptions(max_requests=5))
        assert len(few) == 5 and left == len(planned) - 5
        none, left = run(planned, options=ReplayOptions(max_seconds=0))
        assert none == [] and left == len(planned)
    finally:
        a.stop()
        b.stop()


def test_a_missing_blob_is_a_recorded_failure(logged_registry):
    p = Planned(0, 0.0, "GET", "/v2/x/blobs/y", logged_registry.url, "sha256:" + "0" * 64, 10)
    (outcome,), _ = run([p])
    assert outcome.error == "HTTP 404" and summarize([outcome], 0, 0)["errors"] == {"HTTP 404": 1}


def test_only_loopback_unless_allowed(trace_dir, tmp_path):
    check_loopback("http://127.0.0.1:5000")
    check_loopback("http://localhost:5000")
    check_loopback("http://[::1]:5000")
    with pytest.raises(RemoteRegistryRefused):
        check_loopback("http://192.0.2.10:5000")  # TEST-NET-1: never contacted
    check_loopback("http://192.0.2.10:5000", allow_remote=True)
    with pytest.raises(ValueError):
        check_loopback("127.0.0.1:5000")
    result = CliRunner().invoke(main, ["trace", "replay", "warmup", "--trace", trace_dir, "--registry", "http://192.0.2.10:5000",
                                       "--map", str(tmp_path / "m.json")])
    assert result.exit_code == 2 and "--allow-remote" in result.output and not (tmp_path / "m.json").exists()


def test_realblobs_warmup_pushes_the_stores_blob_of_the_nearest_size(logged_registry, tmp_path):
    import hashlib

    root = tmp_path / "store" / "blobs" / "sha256"
    root.mkdir(parents=True)
    store = {}
    for size in (100, 1000, 5000):
        data = os.urandom(size)
        hexdigest = hashlib.sha256(data).hexdigest()
        (root / hexdigest).write_bytes(data)
        store[size] = "sha256:" + hexdigest

    def get(uri: str, size: int) -> TraceRecord:
        return TraceRecord("x", 1.0, "GET", uri, "blob", "u/r", uri[-1], 200, size, 0.01, "c", None)

    records = [get("/v2/u/r/blobs/a", 120), get("/v2/u/r/blobs/b", 2900), get("/v2/u/r/blobs/c", 3100), get("/v2/u/r/blobs/d", 10**6)]
    warm = warmup(records, [logged_registry.url], WarmupOptions(content="realblobs", blob_store=str(tmp_path / "store")))
    # nearest sizes: 120 -> 100, 2900 -> 1000 (1900 away, 5000 is 2100), 3100 -> 5000, 10^6 -> 5000
    assert {u[-1]: b["digest"] for u, b in warm["blobs"].items()} == {"a": store[100], "b": store[1000], "c": store[5000],
                                                                      "d": store[5000]}
    client = RegistryClient(logged_registry.url)
    assert all(client.get_blob(REPLAY_REPOSITORY, d) == (200, s) for s, d in store.items())


def test_oversized_targets_are_skipped_and_listed_and_a_stage_error_exits_1(logged_registry, tmp_path, trace_dir):
    small = TraceRecord("x", 1.0, "GET", "/v2/u/r/blobs/s", "blob", "u/r", "s", 200, 100, 0.01, "c", None)
    big = TraceRecord("x", 2.0, "GET", "/v2/u/r/blobs/b", "blob", "u/r", "b", 200, 10_000, 0.01, "c", None)
    warm = warmup([small, big], [logged_registry.url], WarmupOptions(max_blob_bytes=1000))
    assert list(warm["blobs"]) == ["/v2/u/r/blobs/s"] and warm["skipped"] == {"/v2/u/r/blobs/b": "larger than 1000 bytes"}
    empty = tmp_path / "store" / "blobs" / "sha256"
    empty.mkdir(parents=True)
    result = CliRunner().invoke(main, ["trace", "replay", "warmup", "--trace", trace_dir, "--registry", logged_registry.url,
                                       "--map", str(tmp_path / "m.json"), "--content", "realblobs", "--blob-store",
                                       str(tmp_path / "store")])
    assert result.exit_code == 1 and "no blobs under" in result.output
