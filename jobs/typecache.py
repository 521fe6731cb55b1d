"""A node-local typing cache shared by every Python worker on a machine, and by later runs.

Each Spark Python worker has its own in-memory cache, so content that appears in layers scanned by
two workers at once used to be typed by both: the two largest layers of an image set often start
with the same base files and run side by side, in lockstep (the benchmark saw 12,300 to 17,800
libmagic answers for 9,658 unique contents on 2 cores). So a worker *claims* a digest before typing
it: the first claim wins, and a worker that finds another's claim defers that file's typing to the
end of its batch, by when the answer is there (``jobs.layer_scanner``). Every content is then typed once
per machine, give or take a claimant that is still busy when the batch ends.

libmagic's answer depends only on the content head and the libmagic version, so a digest -> answer
table keyed by that version can be shared freely: SQLite in WAL mode serves concurrent readers and
writers across processes (~25 us per new digest for claim and answer), and losing it (crash, tmp
cleaned) only costs time, never a result; hence ``synchronous=OFF``. A claim left by a killed worker
is just a row without an answer: whoever needs it next types it.
"""
from __future__ import annotations

import logging
import os
import random
import sqlite3
import tempfile
import time
from typing import Optional, Union

from common.settings import Settings

log = logging.getLogger(__name__)

OPEN_ATTEMPTS = 50
BUSY_FIRST_WAIT_S = 50e-6
BUSY_GIVE_UP_S = 30.0  # locked this long: drop the cache for this worker (costs time, never the scan)

CLAIMED = "claimed"  # the caller now owns the digest: type it and ``put`` the answer
BUSY = "busy"  # another worker claimed it and has not answered yet
Claim = Union[tuple[str, str], str]  # an answer (description, mime), CLAIMED or BUSY


def default_cache_dir() -> Optional[str]:
    """``$HUBSCOPE_TYPE_CACHE``, or a per-user folder in the machine's temp dir; None when disabled."""
    configured = Settings.load().type_cache  # a folder, or "off"
    if configured and configured.lower() == "off":
        return None
    return configured or os.path.join(tempfile.gettempdir(), f"hubscope-typecache-{os.getuid()}")


class SharedTypeCache:
    """digest -> (description, mime) in one SQLite file per libmagic version; a NULL answer is a claim.

    A cache that stops working (locked past the timeout, disk full) is dropped for the rest of the
    process: it costs time, never the scan.
    """

    def __init__(self, directory: str, magic_version: str) -> None:
        os.makedirs(directory, exist_ok=True)
        self.path = os.path.join(directory, f"libmagic-{magic_version}.sqlite")
        self._db: Optional[sqlite3.Connection] = self._open()

    def _open(self) -> sqlite3.Connection:
        # Workers that start together open a new file together, and switching it to WAL fails at once
        # with "database is locked" for all but one of them (SQLite's busy timeout does not cover it;
        # 85 of 400 concurrent first opens did). Retry with jitter until the file is set up.
        for attempt in range(OPEN_ATTEMPTS):
            db = sqlite3.connect(self.path, timeout=30, isolation_level=None, check_same_thread=False)
            try:
                if db.execute("PRAGMA journal_mode").fetchone()[0].lower() != "wal":
                    db.execute("PRAGMA journal_mode=WAL")
                db.execute("PRAGMA synchronous=OFF")
                db.execute("CREATE TABLE IF NOT EXISTS typing (digest TEXT PRIMARY KEY, description TEXT, mime TEXT)")
                db.execute("PRAGMA busy_timeout = 0")  # waits are ours: see _execute
                return db
            except sqlite3.OperationalError as exc:
                db.close()
                if "locked" not in str(exc) or attempt == OPEN_ATTEMPTS - 1:
                    raise
                time.sleep(random.uniform(0.005, 0.02) * (attempt + 1))
        raise AssertionError("unreachable")

    def _execute(self, sql: str, args: tuple) -> sqlite3.Cursor:
        """Run one statement, retrying while another worker holds the write lock.

        Writers hold it for ~10 us, but SQLite's own busy handler sleeps 1 ms at the first collision
        and more after: with two workers claiming ~15,000 digests each per benchmark scan that idled
        each for ~0.3 s (timed around claim/put). Here the wait starts at 50 us and doubles.
        """
        delay, waited = BUSY_FIRST_WAIT_S, 0.0
        while True:
            try:
                return self._db.execute(sql, args)
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc) or waited > BUSY_GIVE_UP_S:
                    raise
            time.sleep(delay)
            waited += delay
            delay = min(delay * 2, 0.05)

    def _broken(self, exc: sqlite3.Error) -> None:
        log.warning("type cache %s disabled for this worker: %s", self.path, exc)
        self._db = None

    def _row(self, digest: str) -> Optional[tuple]:
        """(description, mime) as stored: None if unknown, (None, None) if only claimed."""
        return self._execute("SELECT description, mime FROM typing WHERE digest = ?", (digest,)).fetchone()

    def get(self, digest: str) -> Optional[tuple[str, str]]:
        """The answer, or None (unknown or only claimed)."""
        if self._db is None:
            return None
        try:
            row = self._row(digest)
        except sqlite3.Error as exc:
            self._broken(exc)
            return None
        return (row[0], row[1]) if row and row[0] is not None else None

    def claim(self, digest: str) -> Claim:
        """The answer if known; else CLAIMED if this call took the digest, BUSY if another worker holds it."""
        if self._db is None:
            return CLAIMED
        try:
            row = self._row(digest)
            if row is None:
                if self._execute("INSERT OR IGNORE INTO typing VALUES (?, NULL, NULL)", (digest,)).rowcount == 1:
                    return CLAIMED
                row = self._row(digest)
        except sqlite3.Error as exc:
            self._broken(exc)
            return CLAIMED
        return (row[0], row[1]) if row and row[0] is not None else BUSY

    def put(self, digest: str, description: str, mime: str) -> None:
        """Publish an answer at once (claimed here, or typed here because its claimant was too slow)."""
        if self._db is None:
            return
        try:
            self._execute(
                "INSERT INTO typing VALUES (?, ?, ?) ON CONFLICT (digest) DO UPDATE SET description = excluded.description, "
                "mime = excluded.mime", (digest, description, mime))
        except sqlite3.Error as exc:
            self._broken(exc)


def open_shared_cache(magic_version: str, directory: Optional[str] = None) -> Optional[SharedTypeCache]:
    """The machine's shared cache, or None if disabled or unusable (the scan then types as before)."""
    if directory is None:
        directory = default_cache_dir()
    elif directory.lower() == "off":
        directory = None
    if directory is None:
        return None
    try:
        return SharedTypeCache(directory, magic_version)
    except (OSError, sqlite3.Error) as exc:
        log.warning("no shared type cache in %s: %s", directory, exc)
        return None
