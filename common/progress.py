"""One progress display for the long stages (scan, stats): items done, bytes, rate and ETA.

On a terminal (and unless ``-q``) a tqdm bar on stderr, as the crawl has; elsewhere (CI logs, files)
a log line at most every ``every_s`` seconds with the same numbers, so a log never fills with bar
redraws.
"""
from __future__ import annotations

import logging
import sys
import time
from typing import Optional

from common.units import human_bytes

log = logging.getLogger(__name__)


def eta_s(done: float, total: float, elapsed_s: float) -> Optional[float]:
    """Seconds left at the rate so far; None before anything is done."""
    if done <= 0 or total <= 0 or elapsed_s <= 0:
        return None
    return max(0.0, (total - done) * elapsed_s / done)


class StageProgress:
    """Progress of ``total_items`` items (layers, results), optionally weighted by ``total_bytes``."""

    def __init__(self, desc: str, total_items: int, item_name: str, total_bytes: Optional[int] = None,
                 bar: Optional[bool] = None, every_s: float = 5.0, logger: logging.Logger = log) -> None:
        self.desc, self.item_name, self.every_s, self.log = desc, item_name, every_s, logger
        self.total_items, self.total_bytes = total_items, total_bytes
        self.items = self.bytes = 0
        self.started = self.last_line = time.monotonic()
        show = (sys.stderr.isatty() and logger.isEnabledFor(logging.INFO)) if bar is None else bar
        self._bar = None
        if show:
            from tqdm import tqdm

            if total_bytes:
                self._bar = tqdm(total=total_bytes, unit="B", unit_scale=True, unit_divisor=1024, desc=desc,
                                 dynamic_ncols=True)
            else:
                self._bar = tqdm(total=total_items, unit=f" {item_name}", desc=desc, dynamic_ncols=True)

    def update(self, items: int, done_bytes: int = 0) -> None:
        """Set the totals done so far (absolute, so a poller can call it with what it read)."""
        grew_bytes, grew_items = done_bytes - self.bytes, items - self.items
        self.items, self.bytes = items, done_bytes
        if self._bar is not None:
            self._bar.update(grew_bytes if self.total_bytes else grew_items)
            if self.total_bytes:
                self._bar.set_postfix_str(f"{items}/{self.total_items} {self.item_name}", refresh=False)
        elif time.monotonic() - self.last_line >= self.every_s:
            self.last_line = time.monotonic()
            self.log.info("%s", self.line())

    def line(self) -> str:
        """``scan: 12/40 layers, 1.2 GiB of 3.4 GiB, 85.0 MiB/s, ETA 27 s``."""
        elapsed = time.monotonic() - self.started
        parts = [f"{self.desc}: {self.items}/{self.total_items} {self.item_name}"]
        done, total = (self.bytes, self.total_bytes) if self.total_bytes else (self.items, self.total_items)
        if self.total_bytes:
            parts.append(f"{human_bytes(self.bytes)} of {human_bytes(self.total_bytes)}")
            if elapsed > 0:
                parts.append(f"{human_bytes(self.bytes / elapsed)}/s")
        left = eta_s(done, total, elapsed)
        parts.append(f"ETA {left:.0f} s" if left is not None else "ETA unknown")
        return ", ".join(parts)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
