"""Credentials out of every output: URL userinfo and ``Authorization`` values are masked in messages.

Records, tables, logs and error messages carry URLs and exception texts that came from the HTTP
stack or from a registry; whatever they contain, a password or token never reaches a file or stderr.
"""
from __future__ import annotations

import re
from urllib.parse import urlsplit

MASK = "<redacted>"
_USERINFO = re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://)[^/@\s]*@")
# "Basic <base64>" / "Bearer <token>", but not a challenge's "Bearer realm=..."
_AUTH_VALUE = re.compile(r"(?i)\b(basic|bearer)(\s+)(?![a-z]+=)[A-Za-z0-9._~+/-]+=*")


def redact(text: object) -> str:
    """``text`` with URL userinfo and Basic/Bearer credentials replaced by ``<redacted>``."""
    text = _USERINFO.sub(lambda m: f"{m.group(1)}{MASK}@", str(text))
    return _AUTH_VALUE.sub(lambda m: f"{m.group(1)}{m.group(2)}{MASK}", text)


def has_userinfo(url: str) -> bool:
    """True when ``url`` carries ``user[:password]@`` before its host."""
    return "@" in urlsplit(url if "://" in url else f"//{url}").netloc
