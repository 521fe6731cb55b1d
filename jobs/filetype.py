"""File typing: libmagic on a head of the content, paid once per unique digest, mapped to the study's taxonomy.

libmagic costs ~0.3 ms per call (two calls: description and MIME), which is more than hashing a
typical 2 KB file a hundred times over; but most files in a registry are copies of content seen
before, so answers are cached by content digest (process-wide, so the cache outlives a Spark task
in a reused Python worker, and machine-wide through ``jobs.typecache``). The answer for a digest
depends only on the content, so caching never changes a result. ``jobs.taxonomy.classify`` maps
libmagic's answers to the reference study's classes (``type_class``) and a finer ``type_fine``.
"""
from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Optional

from jobs.taxonomy import TYPE_CLASSES, classify  # noqa: F401 (re-exported: the typer's vocabulary)
from jobs.typecache import BUSY, CLAIMED, SharedTypeCache, open_shared_cache

# What libmagic sees of each file. The study typed whole extracted files; on the Debian-package corpus
# (benchmarks/bench_typing_head.py) a 2 KiB head moved the documents' file share 0.62 points from a
# full read, 8 KiB moves every class share at most 0.01 points for 1.28x libmagic's time.
HEAD_BYTES = 8192
CACHE_ENTRIES = 1 << 20

Typing = tuple  # (magic_description, magic_mime, type_class, type_fine)


class FileTyper:
    """libmagic description + MIME for a content head, cached by content digest (thread-safe)."""

    def __init__(self, head_bytes: int = HEAD_BYTES, cache_entries: int = CACHE_ENTRIES,
                 shared: Optional[SharedTypeCache] = None) -> None:
        import magic

        self.head_bytes = head_bytes
        self.shared = shared  # answers other processes on this machine already paid for
        self._describe = magic.Magic()
        self._mime = magic.Magic(mime=True)
        self._cache: OrderedDict[str, Typing] = OrderedDict()
        self._limit = cache_entries
        self._lock = threading.Lock()
        self.calls = 0  # libmagic answers paid here
        self.hits = 0  # answers found in a cache
        self.deferred = 0  # times a content was left for later because another worker was typing it

    def type_of(self, digest: str, head: bytes, defer: bool = False) -> Optional[Typing]:
        """Typing of the content with ``digest`` whose first bytes are ``head``.

        With ``defer``, None when another worker on this machine is typing that content right now:
        ask again later (``jobs.layer_scanner`` does, before it writes the rows). Without, always an answer.
        """
        cached = self._cache.get(digest)
        if cached is not None:
            self.hits += 1
            return cached
        with self._lock:
            known = self._claim(digest, defer)
            if known is None:
                self.deferred += 1
                return None
            if isinstance(known, tuple):
                description, mime = known
                self.hits += 1
            else:
                head = head[: self.head_bytes]
                description = self._describe.from_buffer(head)
                mime = self._mime.from_buffer(head)
                self.calls += 1
                if self.shared is not None:
                    self.shared.put(digest, description, mime)
            typing = (description, mime, *classify(description, mime))
            self._cache[digest] = typing
            if len(self._cache) > self._limit:
                self._cache.popitem(last=False)
        return typing

    def _claim(self, digest: str, defer: bool):
        """The shared answer, CLAIMED (type it here), or None (deferred: another worker has it)."""
        if self.shared is None:
            return CLAIMED
        if not defer:
            return self.shared.get(digest) or CLAIMED
        known = self.shared.claim(digest)
        return None if known == BUSY else known


_shared: Optional[FileTyper] = None
_shared_key: Optional[tuple] = None


def shared_typer(cache_dir: Optional[str] = None, head_bytes: int = HEAD_BYTES) -> FileTyper:
    """One typer per process, so its cache serves every task a reused Spark Python worker runs;
    beneath it the machine's shared cache (``jobs.typecache``, in ``cache_dir`` or its default)
    serves every worker on the node. An answer depends on the head size too, so each head size
    has its own shared cache."""
    global _shared, _shared_key
    if _shared is None or (cache_dir, head_bytes) != _shared_key:
        import magic

        version = str(magic.version()) if head_bytes == HEAD_BYTES else f"{magic.version()}-head{head_bytes}"
        _shared = FileTyper(head_bytes=head_bytes, shared=open_shared_cache(version, cache_dir))
        _shared_key = (cache_dir, head_bytes)
    return _shared
