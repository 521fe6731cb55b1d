"""Cache and prefetch what-ifs over a trace's requests, in time order (pure Python: a cache is sequential).

Anwar et al. found layer access skewed enough for a cache in front of the registry's storage to pay,
and a two-level cache (memory, then SSD) that needs no invalidation because layers are
content-addressed; and that a manifest GET predicts GETs of the image's layers (prefetching pays).
These functions replay a request sequence through such caches and count what they would have served.
"""
from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass
from typing import Iterable, Optional


def _ratio(part: int, whole: int) -> Optional[float]:
    return part / whole if whole else None


@dataclass(frozen=True)
class CacheResult:
    """What an LRU cache of ``capacity_bytes`` served of ``requests`` blob GETs."""

    capacity_bytes: int
    requests: int
    hits: int
    request_bytes: int
    hit_bytes: int

    @property
    def hit_ratio(self) -> Optional[float]:
        return _ratio(self.hits, self.requests)

    @property
    def byte_hit_ratio(self) -> Optional[float]:
        return _ratio(self.hit_bytes, self.request_bytes)


class _Lru:
    """An LRU set of sized keys; ``put`` returns what it evicted (oldest first)."""

    def __init__(self, capacity_bytes: int) -> None:
        self.capacity_bytes, self.used_bytes = capacity_bytes, 0
        self.items: OrderedDict[str, int] = OrderedDict()

    def touch(self, key: str) -> bool:
        if key in self.items:
            self.items.move_to_end(key)
            return True
        return False

    def pop(self, key: str) -> int:
        size = self.items.pop(key)
        self.used_bytes -= size
        return size

    def put(self, key: str, size: int) -> list[tuple[str, int]]:
        if size > self.capacity_bytes:
            return [(key, size)]  # never fits: passes straight through
        self.items[key] = size
        self.used_bytes += size
        evicted = []
        while self.used_bytes > self.capacity_bytes:
            old, old_size = self.items.popitem(last=False)
            self.used_bytes -= old_size
            evicted.append((old, old_size))
        return evicted


def lru(gets: Iterable[tuple[str, int]], capacity_bytes: int) -> CacheResult:
    """Replay ``(layer, size_bytes)`` GETs through one LRU cache; an object larger than the cache is never kept."""
    cache, n, hits, total, hit_bytes = _Lru(capacity_bytes), 0, 0, 0, 0
    for key, size in gets:
        n, total = n + 1, total + size
        if cache.touch(key):
            hits, hit_bytes = hits + 1, hit_bytes + size
        else:
            cache.put(key, size)
    return CacheResult(capacity_bytes, n, hits, total, hit_bytes)


@dataclass(frozen=True)
class TwoLevelResult:
    """Hits of an exclusive memory + SSD cache (memory evictions move to the SSD, SSD hits move up)."""

    memory_bytes: int
    ssd_bytes: int
    requests: int
    memory_hits: int
    ssd_hits: int

    @property
    def hit_ratio(self) -> Optional[float]:
        return _ratio(self.memory_hits + self.ssd_hits, self.requests)


def two_level(gets: Iterable[tuple[str, int]], memory_bytes: int, ssd_bytes: int) -> TwoLevelResult:
    """Replay GETs through memory LRU over SSD LRU; a miss goes to memory, and what memory evicts to the SSD."""
    mem, ssd = _Lru(memory_bytes), _Lru(ssd_bytes)
    n = mem_hits = ssd_hits = 0
    for key, size in gets:
        n += 1
        if mem.touch(key):
            mem_hits += 1
            continue
        if key in ssd.items:
            ssd_hits += 1
            ssd.pop(key)
        for old, old_size in mem.put(key, size):
            ssd.put(old, old_size)  # what falls out of the SSD is gone
    return TwoLevelResult(memory_bytes, ssd_bytes, n, mem_hits, ssd_hits)


@dataclass(frozen=True)
class PrefetchResult:
    """The prefetch-on-manifest-GET policy: layer GETs it served and bytes it fetched for nothing."""

    ttl_s: float
    layer_gets: int
    prefetch_hits: int
    prefetched_bytes: int
    extra_bytes: int  # prefetched, never asked for before they expired

    @property
    def hit_ratio(self) -> Optional[float]:
        return _ratio(self.prefetch_hits, self.layer_gets)


def prefetch(events: Iterable[tuple[float, str, str, str, int]], ttl_s: float) -> PrefetchResult:
    """Replay ``(ts_s, kind, repository, target, size_bytes)`` successful GETs, oldest first.

    On a manifest GET of a repository, every layer seen GET from that repository before and not held
    yet is fetched into a buffer for ``ttl_s`` seconds; a layer GET finding its layer there is a hit
    (and takes it out). Layers of a repository are learnt from its earlier layer GETs, as a registry
    without the manifests' contents (anonymised traces) would have to.
    """
    known: dict[str, dict[str, int]] = {}
    held: dict[str, tuple[float, int]] = {}  # layer -> (expiry, size)
    layer_gets = hits = fetched = used = 0
    for ts, kind, repo, target, size in events:
        if kind == "manifest":
            for layer, layer_size in known.get(repo, {}).items():
                if layer in held and held[layer][0] >= ts:
                    held[layer] = (ts + ttl_s, layer_size)  # still held: keep it longer, fetch nothing
                    continue
                held[layer] = (ts + ttl_s, layer_size)
                fetched += layer_size
        elif kind == "blob":
            layer_gets += 1
            entry = held.pop(target, None)
            if entry is not None and entry[0] >= ts:
                hits, used = hits + 1, used + entry[1]
            known.setdefault(repo, {})[target] = size
    return PrefetchResult(ttl_s, layer_gets, hits, fetched, fetched - used)
