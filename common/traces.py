"""The registry trace format contract: one request record, parsed from either input shape.

Two shapes are read (Anwar et al., FAST 2018, and the registry operator's own logs):
- the published IBM traces: a file holding one JSON array of records with ``timestamp``
  (``%Y-%m-%dT%H:%M:%S.%fZ``), ``http.request.method``, ``http.request.uri``, ``http.response.written``,
  ``http.request.duration`` (seconds), ``http.request.remoteaddr``, ``http.response.status``,
  ``http.request.useragent``;
- the distribution registry's JSON log (``log: {formatter: json}``): one JSON object a line, the
  requests being the ``response completed`` lines with ``time`` (RFC 3339, nanoseconds) and
  ``http.response.duration`` as a Go duration (``"5.25ms"``).
A line or record that is neither is a :class:`BadRecord` with a reason; it is counted, never fatal.
"""
from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import IO, Iterator, Optional, Union

from common.errors import TraceError

# The columns of a parsed trace, in order; ``bad_reason`` is set only on rows for skipped input.
TRACE_COLUMNS: tuple[tuple[str, str], ...] = (
    ("registry", "string"),  # which trace: the file name's prefix (``prod-dal09``) or given
    ("ts_s", "double"),  # request time, seconds since the epoch (UTC)
    ("method", "string"),
    ("uri", "string"),
    ("kind", "string"),  # manifest | blob | upload | other
    ("repository", "string"),
    ("target", "string"),  # manifest reference or blob digest (anonymised in the published traces)
    ("status", "int"),
    ("response_bytes", "long"),  # http.response.written; None when absent
    ("duration_s", "double"),  # None when absent
    ("client", "string"),  # remote address without the port
    ("user_agent", "string"),
    ("bad_reason", "string"),
)
KINDS = ("manifest", "blob", "upload", "other")
ALL = "all"  # the registry name under which trace results cover every trace together

_MANIFEST = re.compile(r"^/?v2/(?P<repo>.+)/manifests/(?P<ref>[^/?]+)")
_UPLOAD = re.compile(r"^/?v2/(?P<repo>.+)/blobs/uploads(?:/|$)")
_BLOB = re.compile(r"^/?v2/(?P<repo>.+)/blobs/(?P<digest>[^/?]+)")
_GO_DURATION = re.compile(r"(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)")
_GO_UNITS = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}


@dataclass(frozen=True)
class TraceRecord:
    """One request of a trace."""

    registry: str
    ts_s: float
    method: str
    uri: str
    kind: str
    repository: Optional[str]
    target: Optional[str]
    status: int
    response_bytes: Optional[int]
    duration_s: Optional[float]
    client: str
    user_agent: Optional[str]


@dataclass(frozen=True)
class BadRecord:
    """Input that is not a request record, and why (counted by reason, never fatal)."""

    registry: str
    reason: str


def classify_uri(uri: str) -> tuple[str, Optional[str], Optional[str]]:
    """``(kind, repository, target)`` of a registry API path; the published traces drop the leading slash."""
    path = uri.split("?", 1)[0]
    m = _MANIFEST.match(path)
    if m:
        return "manifest", m.group("repo"), m.group("ref")
    m = _UPLOAD.match(path)
    if m:
        return "upload", m.group("repo"), None
    m = _BLOB.match(uri)
    if m:
        return "blob", m.group("repo"), m.group("digest")
    return "other", None, None


def parse_time(value: object) -> float:
    """Seconds since the epoch from the published ``...T..:..:..(.ffffff)Z`` or an RFC 3339 time with nanoseconds."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    if not isinstance(value, str) or "T" not in value:
        raise ValueError(f"not a timestamp: {value!r}")
    text = value.strip()
    text = text[:-1] + "+00:00" if text.endswith("Z") else text
    m = re.match(r"^(.*T\d\d:\d\d:\d\d)(?:\.(\d+))?(.*)$", text)
    if not m:
        raise ValueError(f"not a timestamp: {value!r}")
    base, frac, zone = m.group(1), m.group(2) or "0", m.group(3) or "+00:00"
    when = datetime.fromisoformat(base + zone)
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    return when.timestamp() + float("0." + frac)


def parse_duration(value: object) -> Optional[float]:
    """Seconds from a number (published traces) or a Go duration string (``"1m2.5s"``, ``"5.25ms"``)."""
    if value is None:
        return None
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    if isinstance(value, str):
        parts = _GO_DURATION.findall(value)
        if parts and "".join(n + u for n, u in parts) == value.strip():
            return sum(float(n) * _GO_UNITS[u] for n, u in parts)
    raise ValueError(f"not a duration: {value!r}")


def _int(value: object, name: str) -> Optional[int]:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise ValueError(f"{name} is not a number: {value!r}")
    try:
        return int(value)
    except ValueError:
        raise ValueError(f"{name} is not a number: {value!r}") from None


def _host(address: str) -> str:
    """``1.2.3.4:5678`` -> ``1.2.3.4``, ``[::1]:5678`` -> ``::1``; anonymised addresses stay as they are."""
    if address.startswith("["):
        return address[1:].split("]", 1)[0]
    return address.rsplit(":", 1)[0] if address.count(":") == 1 else address


def parse_record(obj: object, registry: str) -> Union[TraceRecord, BadRecord]:
    """A :class:`TraceRecord` from one JSON object of either shape, or a :class:`BadRecord` saying why not."""
    if not isinstance(obj, dict):
        return BadRecord(registry, "not a JSON object")
    method, uri = obj.get("http.request.method"), obj.get("http.request.uri")
    if not isinstance(method, str) or not isinstance(uri, str):
        return BadRecord(registry, "no request method or uri")
    try:
        ts_s = parse_time(obj.get("timestamp", obj.get("time")))
        status = _int(obj.get("http.response.status"), "status")
        written = _int(obj.get("http.response.written"), "written")
        duration = parse_duration(obj.get("http.request.duration", obj.get("http.response.duration")))
    except (ValueError, OverflowError) as exc:
        return BadRecord(registry, f"bad field: {str(exc).split(':')[0]}")
    if status is None:
        return BadRecord(registry, "no response status")
    kind, repository, target = classify_uri(uri)
    client = _host(str(obj.get("http.request.remoteaddr") or ""))
    agent = obj.get("http.request.useragent")
    return TraceRecord(registry, ts_s, method.upper(), uri, kind, repository, target, status, written, duration, client,
                       agent if isinstance(agent, str) else None)


def registry_name(path: str) -> str:
    """The trace's registry from its file name: ``prod-dal09-logstash-2017.06.20-0.json`` -> ``prod-dal09``."""
    base = os.path.basename(path)
    m = re.match(r"^(.+?)-logstash-", base)
    if m:
        return m.group(1)
    return re.sub(r"\.(json|jsonl|log)(\.\w+)?$", "", base)


def iter_records(fh: IO[str], registry: str) -> Iterator[Union[TraceRecord, BadRecord]]:
    """Records of one open trace file: a JSON array (published traces) or JSON lines (registry log)."""
    head = fh.read(1)
    while head and head.isspace():
        head = fh.read(1)
    if head == "[":
        try:
            items = json.loads(head + fh.read())
        except json.JSONDecodeError:
            yield BadRecord(registry, "truncated or invalid JSON array")
            return
        for obj in items:
            yield parse_record(obj, registry)
        return
    first = True
    for line in fh:
        if first:
            line, first = head + line, False
        line = line.strip()
        if not line:
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError:
            yield BadRecord(registry, "not JSON")
            continue
        yield parse_record(obj, registry)


def read_trace(path: str, registry: Optional[str] = None) -> Iterator[Union[TraceRecord, BadRecord]]:
    """Records of the trace file at ``path`` (``.gz`` read transparently); the registry defaults to the file's."""
    import gzip

    name = registry or registry_name(path)
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rt", encoding="utf-8", errors="replace") as fh:
        yield from iter_records(fh, name)


def trace_files(paths: list[str]) -> list[str]:
    """Every trace file named or inside the named folders, sorted (hidden files skipped)."""
    found = []
    for p in paths:
        if os.path.isdir(p):
            for root, _, files in os.walk(p):
                found += [os.path.join(root, f) for f in files if not f.startswith(".")]
        elif os.path.isfile(p):
            found.append(p)
        else:
            raise TraceError(f"no trace file or folder {p}")
    return sorted(found)
