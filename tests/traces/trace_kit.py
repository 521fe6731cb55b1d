"""A hand-made two-registry trace (one published-format file, one registry-log file) whose every statistic
the tests work out by hand. Times are seconds after T0 = 2017-06-20T00:00:00Z."""
from __future__ import annotations

import json
import os
from datetime import datetime, timedelta, timezone

T0 = datetime(2017, 6, 20, tzinfo=timezone.utc)
T0_S = T0.timestamp()

# (t, method, uri, status, written, client, duration_s) of registry r1
R1 = [
    (0, "PUT", "/v2/a/app/manifests/v1", 201, 0, "c1", 0.1),
    (10, "GET", "/v2/a/app/manifests/v1", 200, 1000, "c2", 0.01),
    (12, "GET", "/v2/a/app/blobs/L1", 200, 500_000, "c2", 0.05),
    (13, "GET", "/v2/a/app/blobs/L2", 200, 5_000_000, "c2", 0.5),
    (100, "GET", "/v2/a/app/manifests/v1", 200, 1000, "c3", 0.01),
    (102, "GET", "/v2/a/app/blobs/L1", 200, 500_000, "c3", 0.05),
    (3700, "GET", "/v2/b/db/manifests/latest", 200, 2000, "c3", 0.02),
    (3705, "GET", "/v2/b/db/blobs/L3", 200, 20_000_000, "c3", 2.0),
    (3800, "GET", "/v2/b/db/manifests/nope", 404, 100, "c2", 0.005),
    (4000, "GET", "/v2/a/app/blobs/L1", 200, 500_000, "c1", 0.05),
]


def published(t: float, method: str, uri: str, status: int, written: int, client: str, duration: float) -> dict:
    when = (T0 + timedelta(seconds=t)).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
    return {"timestamp": when, "http.request.method": method, "http.request.uri": uri.lstrip("/"),
            "http.response.status": status, "http.response.written": written, "http.request.duration": duration,
            "http.request.remoteaddr": client, "http.request.useragent": "docker/1.12"}


def registry_log(t: float, method: str, uri: str, status: int, written: int, client: str, duration: str) -> str:
    when = (T0 + timedelta(seconds=t)).strftime("%Y-%m-%dT%H:%M:%S.%f") + "123Z"  # nanoseconds, as Go writes them
    return json.dumps({"http.request.method": method, "http.request.uri": uri, "http.response.status": status,
                       "http.response.written": written, "http.response.duration": duration,
                       "http.request.remoteaddr": f"{client}:40000", "http.request.useragent": "containerd/1.7",
                       "level": "info", "msg": "response completed", "time": when})


def write_hand_trace(folder: str) -> list[str]:
    """r1 as a published JSON array; r2 as a registry JSON log with two requests and three bad lines."""
    os.makedirs(folder, exist_ok=True)
    r1 = os.path.join(folder, "r1-logstash-2017.06.20-0.json")
    with open(r1, "w") as fh:
        json.dump([published(*row) for row in R1], fh)
    r2 = os.path.join(folder, "r2.json")
    with open(r2, "w") as fh:
        fh.write(registry_log(50, "GET", "/v2/a/app/blobs/L1", 200, 500_000, "10.0.0.9", "50ms") + "\n")
        fh.write("127.0.0.1 - - [20/Jun/2017:00:00:50 +0000] \"GET /v2/ HTTP/1.1\" 200 2\n")  # an access-log line
        fh.write(json.dumps({"level": "info", "msg": "listening on 127.0.0.1:5000"}) + "\n")
        bad_time = json.loads(registry_log(55, "GET", "/v2/x/blobs/y", 200, 1, "10.0.0.9", "1ms"))
        bad_time["time"] = "yesterday"
        fh.write(json.dumps(bad_time) + "\n")
        fh.write(registry_log(60, "HEAD", "/v2/a/app/blobs/L1", 200, 0, "10.0.0.9", "1ms") + "\n")
    return [r1, r2]
