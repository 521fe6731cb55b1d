"""What a crawl reports: the summary value, the progress bar on stderr, thread-safe image counts."""
from __future__ import annotations

import threading
from dataclasses import dataclass


@dataclass(frozen=True)
class CrawlSummary:
    """Counts for one crawl run."""

    images_ok: int
    images_error: int
    images_skipped: int
    blobs_downloaded: int
    bytes_downloaded: int
    blobs_present: int
    records_path: str
    listing_errors: tuple[str, ...] = ()  # a repository source that failed part-way (what was listed was crawled)
    images_not_an_image: int = 0  # artifacts and attestations: recorded, never downloaded or scanned

    @classmethod
    def combine(cls, summaries: list["CrawlSummary"]) -> "CrawlSummary":
        """One summary for several parts of a run (local sources, then the registry)."""
        return cls(
            sum(s.images_ok for s in summaries), sum(s.images_error for s in summaries),
            sum(s.images_skipped for s in summaries), sum(s.blobs_downloaded for s in summaries),
            sum(s.bytes_downloaded for s in summaries), sum(s.blobs_present for s in summaries),
            summaries[-1].records_path if summaries else "",
            tuple(e for s in summaries for e in s.listing_errors),
            sum(s.images_not_an_image for s in summaries),
        )

    @property
    def images(self) -> int:
        """Every item this run accounted for: ok, failed, already done or not an image."""
        return self.images_ok + self.images_error + self.images_skipped + self.images_not_an_image

    def line(self) -> str:
        """``crawled 12 images: 11 ok, 1 error; 34 blobs (123.4 MB) downloaded, 5 already present``."""
        skipped = f", {self.images_skipped} already done" if self.images_skipped else ""
        if self.images_not_an_image:
            skipped += f", {self.images_not_an_image} not images"
        errors = f"{self.images_error} error" + ("s" if self.images_error != 1 else "")
        return (
            f"crawled {self.images} images: {self.images_ok} ok, {errors}{skipped}; "
            f"{self.blobs_downloaded} blobs ({self.bytes_downloaded / 1e6:.1f} MB) downloaded, "
            f"{self.blobs_present} already present"
        )


class Progress:
    """Optional tqdm bar (stderr): bytes with rate, images in the postfix; silent when disabled."""

    def __init__(self, enabled: bool) -> None:
        self._bar = None
        self._lock = threading.Lock()
        self.images = 0
        if enabled:
            from tqdm import tqdm

            self._bar = tqdm(unit="B", unit_scale=True, unit_divisor=1024, desc="crawl", dynamic_ncols=True)

    def add_bytes(self, n: int) -> None:
        """Count bytes received (drives the rate shown)."""
        if self._bar is not None:
            self._bar.update(n)

    def add_image(self) -> None:
        """Count one finished image."""
        with self._lock:
            self.images += 1
            if self._bar is not None:
                self._bar.set_postfix(images=self.images, refresh=False)

    def countdown(self, seconds_left: float) -> None:
        """Show the wait for a rate-limit window on the bar (0: the wait is over)."""
        if self._bar is not None:
            self._bar.set_description(f"crawl (rate limit: {seconds_left:.0f} s)" if seconds_left > 0 else "crawl")

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()


class Tally:
    """Thread-safe ok / error / skipped / not_an_image counts."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.ok = self.error = self.skipped = self.not_an_image = 0

    def add(self, status: str, n: int = 1) -> None:
        """Count ``n`` items with ``status`` (ok, error, skipped or not_an_image)."""
        with self._lock:
            setattr(self, status, getattr(self, status) + n)
