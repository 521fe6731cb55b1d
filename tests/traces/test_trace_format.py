"""The trace format contract: both input shapes parse to the same record; bad input is counted with a reason."""
from __future__ import annotations

import gzip
import io
import json
from collections import Counter

import pytest

from common.traces import (BadRecord, TraceRecord, classify_uri, iter_records, parse_duration, parse_record,
                           parse_time, read_trace, registry_name)
from tests.traces.trace_kit import T0_S, write_hand_trace


@pytest.mark.parametrize("uri, expected", [
    ("/v2/a/app/manifests/v1", ("manifest", "a/app", "v1")),
    ("v2/x/y/z/manifests/sha256:ab?foo=1", ("manifest", "x/y/z", "sha256:ab")),
    ("/v2/a/app/blobs/sha256:12", ("blob", "a/app", "sha256:12")),
    ("/v2/a/app/blobs/uploads/", ("upload", "a/app", None)),
    ("/v2/a/app/blobs/uploads/5f3e?_state=x&digest=sha256:1", ("upload", "a/app", None)),
    ("/v2/", ("other", None, None)),
    ("/v2/_catalog", ("other", None, None)),
])
def test_classify_uri(uri, expected):
    assert classify_uri(uri) == expected


def test_times_and_durations():
    assert parse_time("2017-06-20T00:00:01.500Z") == T0_S + 1.5
    assert parse_time("2017-06-20T00:00:01.250000123Z") == pytest.approx(T0_S + 1.250000123)
    assert parse_time("2017-06-20T02:00:00+02:00") == T0_S
    assert parse_duration(0.25) == 0.25
    assert parse_duration("5.25ms") == pytest.approx(0.00525)
    assert parse_duration("1m2.5s") == pytest.approx(62.5)
    assert parse_duration("850µs") == pytest.approx(0.00085)
    for bad in ("fast", "5 parsecs", True):
        with pytest.raises(ValueError):
            parse_duration(bad)
    with pytest.raises(ValueError):
        parse_time("yesterday")


def test_registry_name():
    assert registry_name("/x/prod-dal09-logstash-2017.06.20-0.json") == "prod-dal09"
    assert registry_name("registry.log") == "registry"
    assert registry_name("r2.json.gz") == "r2"


def test_both_shapes_give_the_same_record(tmp_path):
    r1, r2 = write_hand_trace(str(tmp_path))
    first = [r for r in read_trace(r1) if isinstance(r, TraceRecord) and r.uri.endswith("blobs/L1")][0]
    log_rec = next(r for r in read_trace(r2) if isinstance(r, TraceRecord))
    assert first == TraceRecord("r1", T0_S + 12, "GET", "v2/a/app/blobs/L1", "blob", "a/app", "L1", 200, 500_000, 0.05,
                                "c2", "docker/1.12")
    assert log_rec.registry == "r2" and log_rec.client == "10.0.0.9" and log_rec.kind == "blob"
    assert log_rec.ts_s == pytest.approx(T0_S + 50.000000123) and log_rec.duration_s == pytest.approx(0.05)


def test_bad_lines_are_counted_by_reason(tmp_path):
    _, r2 = write_hand_trace(str(tmp_path))
    records = list(read_trace(r2))
    assert sum(isinstance(r, TraceRecord) for r in records) == 2
    assert Counter(r.reason for r in records if isinstance(r, BadRecord)) == {
        "not JSON": 1, "no request method or uri": 1, "bad field: not a timestamp": 1}


def test_bad_records_inside_an_array_and_a_truncated_array():
    good = {"timestamp": "2017-06-20T00:00:00.000Z", "http.request.method": "GET", "http.request.uri": "/v2/a/blobs/b",
            "http.response.status": 200}
    items = [good, 7, {**good, "http.response.status": None}, {**good, "http.response.written": "lots"}]
    reasons = [r.reason if isinstance(r, BadRecord) else "ok" for r in iter_records(io.StringIO(json.dumps(items)), "x")]
    assert reasons == ["ok", "not a JSON object", "no response status", "bad field: written is not a number"]
    assert [r.reason for r in iter_records(io.StringIO(json.dumps(items)[:-20]), "x")] == ["truncated or invalid JSON array"]
    assert isinstance(parse_record({**good, "http.response.written": None}, "x"), TraceRecord)


def test_gzip_trace(tmp_path):
    path = tmp_path / "lon-logstash-2017.07.01-3.json.gz"
    with gzip.open(path, "wt") as fh:
        json.dump([{"timestamp": "2017-07-01T00:00:00Z", "http.request.method": "get", "http.request.uri": "v2/a/b/manifests/t",
                    "http.response.status": 200, "http.request.remoteaddr": "[::1]:443"}], fh)
    (rec,) = read_trace(str(path))
    assert (rec.registry, rec.method, rec.kind, rec.client, rec.response_bytes) == ("lon", "GET", "manifest", "::1", None)
