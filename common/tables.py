"""Atomic, incremental table output: generations of Parquet parts behind one symlink swapped by rename.

Layout under ``<tables>``::

    current -> .generations/<id>          the committed generation (a relative symlink)
    images, image_layers, layers, files -> current/<name>   (fixed symlinks, made once)
    .generations/<id>/<name>/part-*.parquet
    .generations/<id>/_COMMITTED.json     what the run wrote, for humans and checks

Readers open ``<tables>/<name>`` with Spark or pyarrow and always see one complete generation:
a run writes a new generation beside the old one and commits by renaming a new ``current``
symlink over the old one (``rename(2)`` is atomic), so a run killed at any point leaves the previous
tables intact and its half-written generation is removed by the next run. Unchanged parts of
the previous generation are hard-linked, not copied. One run at a time: ``<tables>/.lock``.
"""
from __future__ import annotations

import datetime as dt
import fcntl
import json
import logging
import os
import shutil
import uuid
from typing import Optional

import pyarrow as pa
import pyarrow.parquet as pq

from common import schemas

log = logging.getLogger(__name__)

GENERATIONS = ".generations"
CURRENT = "current"
KEEP_GENERATIONS = 2  # the committed one and its predecessor, for readers still open on it


class TableSet:
    """The committed tables under one directory, and the generation a run is writing."""

    def __init__(self, root: str) -> None:
        self.root = os.path.abspath(root)
        os.makedirs(os.path.join(self.root, GENERATIONS), exist_ok=True)
        self._lock_fh = open(os.path.join(self.root, ".lock"), "w")
        try:
            fcntl.flock(self._lock_fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            self._lock_fh.close()
            raise RuntimeError(f"another scan is writing {self.root}") from None
        for name in schemas.TABLES:
            link = os.path.join(self.root, name)
            if os.path.lexists(link) and not os.path.islink(link):
                raise RuntimeError(f"{link} exists and is not hubscope's table link; refusing to touch it")
        self.committed = self._current()
        self._remove_stale()
        # Microseconds in the name: generations must sort in commit order even when runs share a second.
        self.generation = f"g{dt.datetime.now(dt.timezone.utc).strftime('%Y%m%dT%H%M%S%f')}-{uuid.uuid4().hex[:8]}"
        self.staging = os.path.join(self.root, GENERATIONS, self.generation)
        for name in schemas.TABLES:
            os.makedirs(os.path.join(self.staging, name))

    def _current(self) -> Optional[str]:
        link = os.path.join(self.root, CURRENT)
        return os.path.realpath(link) if os.path.islink(link) else None

    def _remove_stale(self) -> None:
        """Drop generations no one committed (a killed run) and all but the newest committed ones."""
        base = os.path.join(self.root, GENERATIONS)
        names = sorted(os.listdir(base))
        committed = [n for n in names if os.path.exists(os.path.join(base, n, "_COMMITTED.json"))]
        keep = set(committed[-KEEP_GENERATIONS:])
        if self.committed:
            keep.add(os.path.basename(self.committed))
        for name in names:
            if name not in keep:
                shutil.rmtree(os.path.join(base, name), ignore_errors=True)

    def committed_table(self, name: str) -> Optional[pa.Table]:
        """A table of the committed generation, or None on a first run."""
        if not self.committed:
            return None
        return pq.read_table(os.path.join(self.committed, name), schema=schemas.TABLES[name])

    def committed_parts(self, name: str) -> list[str]:
        if not self.committed:
            return []
        directory = os.path.join(self.committed, name)
        return sorted(os.path.join(directory, p) for p in os.listdir(directory) if p.endswith(".parquet"))

    def staging_dir(self, name: str) -> str:
        return os.path.join(self.staging, name)

    def write(self, name: str, table: pa.Table, part: str = "part-00000.parquet") -> None:
        """Write a whole table (small ones: images, image_layers, layers) into the new generation."""
        pq.write_table(table.cast(schemas.TABLES[name]), os.path.join(self.staging, name, part))

    def carry(self, name: str, parts: list[str]) -> None:
        """Bring committed part files into the new generation (hard links; a copy across filesystems)."""
        for src in parts:
            dst = os.path.join(self.staging, name, os.path.basename(src))
            try:
                os.link(src, dst)
            except OSError:
                shutil.copy2(src, dst)

    def commit(self, summary: dict) -> None:
        """Publish the new generation: one atomic symlink rename switches every table at once."""
        for name in schemas.TABLES:
            directory = os.path.join(self.staging, name)
            if not any(p.endswith(".parquet") for p in os.listdir(directory)):
                pq.write_table(schemas.empty_table(name), os.path.join(directory, "part-empty.parquet"))
        _fsync_tree(self.staging)
        with open(os.path.join(self.staging, "_COMMITTED.json"), "w") as fh:
            json.dump(summary, fh, indent=1, sort_keys=True, default=str)
            fh.flush()
            os.fsync(fh.fileno())
        tmp_link = os.path.join(self.root, f".{CURRENT}.{uuid.uuid4().hex[:8]}")
        os.symlink(os.path.join(GENERATIONS, self.generation), tmp_link)
        os.replace(tmp_link, os.path.join(self.root, CURRENT))
        for name in schemas.TABLES:
            link = os.path.join(self.root, name)
            if not os.path.lexists(link):
                os.symlink(os.path.join(CURRENT, name), link)
        self.committed = self.staging
        self._remove_stale()
        log.info("committed generation %s in %s", self.generation, self.root)

    def abort(self) -> None:
        shutil.rmtree(self.staging, ignore_errors=True)

    def close(self) -> None:
        self._lock_fh.close()


def _fsync_tree(path: str) -> None:
    for directory, _, files in os.walk(path):
        for name in files:
            fd = os.open(os.path.join(directory, name), os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
