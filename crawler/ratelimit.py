"""Rate-limit budgets: wait out a spent budget's window instead of failing the rest of the crawl.

Docker Hub answers every manifest request with ``ratelimit-limit: 100;w=21600`` and
``ratelimit-remaining: 76;w=21600`` (the budget and what is left of it in a window of ``w``
seconds) and refuses a request over budget with 429 and ``Retry-After``. A crawl that treats the
429 as a failure loses every item until the window turns; one that retries with exponential backoff
hammers the registry for hours. A ``Budget`` is shared by every worker of a crawl: when the budget
reads zero, or a 429 arrives, every request waits until the window turns (``Retry-After`` when
given, else the window ``w``), with a countdown in the log and on the progress bar. ``max_wait_s``
bounds the total waiting of a run; past it, requests raise ``BudgetExhausted`` and their items are
recorded with the error class ``rate_limited``, which a rerun fetches again.
"""
from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from typing import Callable, Mapping, Optional

from crawler.outcomes import CrawlItemError

log = logging.getLogger(__name__)

COUNTDOWN_STEP_S = 1.0  # how often the countdown is shown while waiting


class BudgetExhausted(CrawlItemError):
    """Waiting for the budget would pass ``--max-wait``: the item is recorded ``rate_limited``."""

    error_class = "rate_limited"


@dataclass(frozen=True)
class BudgetReading:
    """One response's ``ratelimit-*`` headers: the budget, what is left, the window in seconds."""

    limit: Optional[int]
    remaining: Optional[int]
    window_s: Optional[float]


def parse_budget_header(value: Optional[str]) -> tuple[Optional[int], Optional[float]]:
    """``"76;w=21600"`` -> ``(76, 21600.0)``; missing parts are None."""
    if not value:
        return None, None
    head, *params = [p.strip() for p in value.split(";")]
    count = int(head) if head.isdigit() else None
    window = None
    for param in params:
        key, _, val = param.partition("=")
        if key.strip().lower() == "w":
            try:
                window = float(val)
            except ValueError:
                window = None
    return count, window


def read_budget(headers: Mapping[str, str]) -> Optional[BudgetReading]:
    """The reading of a response's headers, or None when it carries no ``ratelimit-*`` header."""
    limit_text, remaining_text = headers.get("ratelimit-limit"), headers.get("ratelimit-remaining")
    if limit_text is None and remaining_text is None:
        return None
    limit, window_limit = parse_budget_header(limit_text)
    remaining, window_remaining = parse_budget_header(remaining_text)
    return BudgetReading(limit, remaining, window_remaining or window_limit)


class Budget:
    """The crawl's view of the registry's budget; thread-safe, one per crawl."""

    def __init__(self, max_wait_s: Optional[float] = None, sleep: Callable[[float], None] = time.sleep,
                 clock: Callable[[], float] = time.monotonic,
                 on_wait: Optional[Callable[[float], None]] = None) -> None:
        self.max_wait_s = max_wait_s  # None: wait as long as the registry says
        self.sleep, self.clock = sleep, clock
        self.on_wait = on_wait  # called with the seconds left while waiting (the progress bar's countdown)
        self.reading: Optional[BudgetReading] = None
        self.waited_s = 0.0
        self.waits = 0
        self._resume_at = 0.0  # clock time before which no counted request is sent
        self._counted_until = 0.0  # waiting up to here is in waited_s already
        self._lock = threading.Lock()

    def observe(self, headers: Mapping[str, str], status: int, retry_after_s: Optional[float]) -> None:
        """Take a response's headers; a spent budget or a 429 sets when requests may resume."""
        reading = read_budget(headers)
        with self._lock:
            if reading is not None:
                self.reading = reading
            spent = reading is not None and reading.remaining == 0
            if status != 429 and not spent:
                return
            window = reading.window_s if reading is not None else None
            wait = retry_after_s if retry_after_s is not None else window
            if wait is None:
                return  # no idea how long: the retry policy's backoff handles it
            self._resume_at = max(self._resume_at, self.clock() + wait)

    def wait(self) -> None:
        """Before a counted request: wait until the window turns (countdown), or raise ``BudgetExhausted``.

        ``waited_s`` counts wall time once however many workers wait together.
        """
        with self._lock:
            now = self.clock()
            left = self._resume_at - now
            if left <= 0:
                return
            new_s = self._resume_at - max(now, self._counted_until)
            if self.max_wait_s is not None and self.waited_s + new_s > self.max_wait_s:
                raise BudgetExhausted(f"rate-limit budget spent; the window turns in {left:.0f} s, "
                                      f"past --max-wait {self.max_wait_s:.0f} s")
            if new_s > 0:
                self.waited_s += new_s
                self._counted_until = self._resume_at
                self.waits += 1
                log.warning("rate-limit budget spent: waiting %.0f s for the window to turn", left)
        while True:
            left = self._resume_at - self.clock()
            if left <= 0:
                break
            if self.on_wait:
                self.on_wait(left)
            log.info("rate-limit budget: %.0f s left", left)
            self.sleep(min(COUNTDOWN_STEP_S, left))
        if self.on_wait:
            self.on_wait(0.0)
