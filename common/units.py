"""Numbers for people: binary byte units and percentages, one formatter for every output.

The report, the figures and the console all say ``KiB``/``MiB`` (powers of 1024) and never print
scientific notation, so the same data never appears in two units.
"""
from __future__ import annotations

import math
from typing import Optional

UNITS = ("B", "KiB", "MiB", "GiB", "TiB", "PiB")


def human_bytes(n: Optional[float], _pos=None) -> str:
    """``1536`` -> ``1.5 KiB``; ``None``/NaN -> ``n/a`` (``_pos`` lets matplotlib use it as a tick formatter)."""
    if n is None or (isinstance(n, float) and math.isnan(n)):
        return "n/a"
    n = float(n)
    for unit in UNITS:
        if abs(n) < 1024 or unit == UNITS[-1]:
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} {UNITS[-1]}"


def percent(fraction: Optional[float], digits: int = 1) -> str:
    """``0.7143`` -> ``71.4 %``; ``None``/NaN -> ``n/a``."""
    if fraction is None or (isinstance(fraction, float) and math.isnan(fraction)):
        return "n/a"
    return f"{fraction * 100:.{digits}f} %"
