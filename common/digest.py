"""Content digests: a typed value inside Python, a ``sha256:<hex>`` string only at the JSON/Parquet boundary."""
from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

from common.errors import HubscopeError

_HEX64 = re.compile(r"[0-9a-f]{64}")  # used with fullmatch: "$" would accept a trailing newline


class DigestError(HubscopeError, ValueError):
    """A digest string that is not ``sha256:<64 lowercase hex>``."""

    error_class = "invalid_name"


@dataclass(frozen=True, order=True)
class Digest:
    """A sha256 content digest; other algorithms are rejected because registries we crawl only use sha256."""

    hex: str
    algorithm: str = "sha256"

    def __post_init__(self) -> None:
        if self.algorithm != "sha256" or not (isinstance(self.hex, str) and _HEX64.fullmatch(self.hex)):
            raise DigestError(f"not a sha256 digest: {self.algorithm}:{self.hex!r}")

    @classmethod
    def parse(cls, text: str) -> "Digest":
        if not isinstance(text, str):
            raise DigestError(f"digest is not a string: {text!r}")
        algorithm, sep, hexpart = text.partition(":")
        if not sep:
            raise DigestError(f"digest without algorithm: {text!r}")
        return cls(hex=hexpart, algorithm=algorithm)

    @classmethod
    def of_bytes(cls, data: bytes) -> "Digest":
        return cls(hashlib.sha256(data).hexdigest())

    def __str__(self) -> str:
        return f"{self.algorithm}:{self.hex}"
