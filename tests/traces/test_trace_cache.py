"""Cache and prefetch what-ifs on tiny request sequences, every hit traced by hand in the comments."""
from __future__ import annotations

from analyze.trace_cache import lru, prefetch, two_level

# layer, size_bytes
GETS = [("A", 1), ("B", 1), ("A", 1), ("C", 2), ("B", 1), ("A", 1)]


def test_lru_by_hand():
    # capacity 2: A m [A]; B m [A B]; A hit [B A]; C(2) m -> evicts B, A [C]; B m -> evicts C [B]; A m [B A]
    small = lru(GETS, 2)
    assert (small.requests, small.hits, small.request_bytes, small.hit_bytes) == (6, 1, 7, 1)
    assert small.hit_ratio == 1 / 6 and small.byte_hit_ratio == 1 / 7
    # capacity 4: A m, B m, A hit, C m [B A C] (4 bytes), B hit, A hit
    assert lru(GETS, 4).hits == 3
    # an object larger than the cache is never kept: capacity 1, C passes through and evicts nothing
    assert lru([("A", 1), ("C", 2), ("A", 1)], 1).hits == 1
    assert lru([], 10).hit_ratio is None


def test_two_level_by_hand():
    # memory 1, SSD 2 (exclusive): A m mem[A]; B m mem[B] ssd[A]; A ssd hit mem[A] ssd[B];
    # C(2) m: too big for memory, to the SSD: ssd[B C] is 3 bytes, B falls out -> ssd[C];
    # B m mem[B] ssd[C A] 3 bytes, C falls out -> ssd[A]; A ssd hit
    r = two_level(GETS, 1, 2)
    assert (r.requests, r.memory_hits, r.ssd_hits, r.hit_ratio) == (6, 0, 2, 2 / 6)
    # memory big enough for everything: the three repeats hit memory
    big = two_level(GETS, 10, 10)
    assert (big.memory_hits, big.ssd_hits) == (3, 0)


# (ts_s, kind, repository, target, size_bytes)
EVENTS = [
    (0, "manifest", "r", "v1", 100),  # nothing known of r yet
    (1, "blob", "r", "L1", 10),
    (2, "blob", "r", "L2", 20),
    (100, "manifest", "r", "v1", 100),  # prefetch L1 + L2 (30 bytes)
    (101, "blob", "r", "L1", 10),  # held: a hit
    (300, "blob", "r", "L2", 20),
    (400, "manifest", "r", "v1", 100),  # prefetch what is not held
    (405, "blob", "s", "L9", 5),  # another repository: never prefetched
]


def test_prefetch_by_hand():
    # ttl 60: L2's copy expired at 160 before its GET at 300 (a miss); at 400 L1 and L2 are fetched again
    short = prefetch(EVENTS, 60)
    assert (short.layer_gets, short.prefetch_hits, short.prefetched_bytes, short.extra_bytes) == (5, 1, 60, 50)
    # ttl 600: L1 and L2 both hit; at 400 both are fetched again (taken out by their hits) and never used
    long = prefetch(EVENTS, 600)
    assert (long.prefetch_hits, long.prefetched_bytes, long.extra_bytes, long.hit_ratio) == (2, 60, 30, 2 / 5)


def test_prefetch_holds_a_layer_once():
    # two manifest GETs in a row: the second finds L1 still held and fetches nothing more
    events = [(0, "blob", "r", "L1", 10), (1, "manifest", "r", "t", 1), (2, "manifest", "r", "t", 1), (3, "blob", "r", "L1", 10)]
    r = prefetch(events, 60)
    assert (r.prefetch_hits, r.prefetched_bytes, r.extra_bytes) == (1, 10, 0)
