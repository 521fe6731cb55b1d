"""``--json`` output: one JSON document on stdout per command, with a versioned schema name.

``schema`` is ``hubscope.<command>/v<N>``; N changes only when a field is removed or changes
meaning (adding fields keeps it), so scripts can check it once.
"""
from __future__ import annotations

import json
from typing import Any

VERSIONS = {"crawl": 1, "scan": 1, "stats": 1, "inspect": 1}


def schema_name(command: str) -> str:
    """``hubscope.crawl/v1``."""
    return f"hubscope.{command}/v{VERSIONS[command]}"


def document(command: str, body: dict[str, Any]) -> str:
    """The one JSON document a ``--json`` run prints: ``schema`` first, then ``body``."""
    return json.dumps({"schema": schema_name(command), **body}, indent=2, sort_keys=False, default=str)
