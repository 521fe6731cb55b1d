"""What a larger typing head costs, and how far each head size moves the class shares from a full read.

The scan types a file by giving libmagic the first ``jobs.filetype.HEAD_BYTES`` of its content. On
the Debian-package corpus of ``bench_scan`` (real .deb files), every distinct regular-file content is
typed here as the scan types it (two cookies: description and MIME) on heads of each size in
``HEADS`` and on a full read (the content up to libmagic's own read limit, ``FULL_BYTES``). Class
shares weigh every file of every unique layer (the study's population) by count and by bytes.
Printed per head size: libmagic CPU seconds and the ratio to the 2 KiB head, answers and classes
that differ from the full read, and the largest class-share difference in points; then the smallest
head whose shares are all within ``TOLERANCE_POINTS`` of the full read (the default's criterion).

    python benchmarks/bench_typing_head.py [--tiny]
"""
from __future__ import annotations

import argparse
import collections
import hashlib
import os
import sys
import time
from typing import Optional

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))
sys.path.insert(0, HERE)

from jobs.taxonomy import classify  # noqa: E402

HEADS = (2048, 8192, 16384, 65536, 262144)
FULL_BYTES = 1 << 20  # libmagic's read limit for a file (bytes_max) in the versions this runs with
TOLERANCE_POINTS = 0.5


def corpus_contents(groups: dict, layers: tuple, cache: str):
    """``(digest, content, weight)`` for each regular file of each package group, weight = the number of
    layer recipes holding the group (a file appears once in each such unique layer)."""
    from hubscope.demo.sample_images import deb_members, download_packages

    weight = collections.Counter(part for _, parts in layers for part in parts)
    debs = download_packages([p for pkgs in groups.values() for p in pkgs], os.path.join(cache, "debs"))
    for group, packages in groups.items():
        if not weight[group]:
            continue
        seen = set()
        for package in packages:
            for info, data in deb_members(debs[package]):
                if info.isreg() and info.name not in seen:
                    seen.add(info.name)
                    yield hashlib.sha256(data).digest(), data, weight[group]


class Typist:
    """libmagic as the scan calls it, timed per head size."""

    def __init__(self) -> None:
        import magic

        self.describe, self.mime = magic.Magic(), magic.Magic(mime=True)
        self.cpu = collections.Counter()

    def classes(self, data: bytes, sizes: tuple[int, ...]) -> dict[int, tuple]:
        out = {}
        for size in sizes:
            head = data[:size]
            started = time.process_time()
            answer = (self.describe.from_buffer(head), self.mime.from_buffer(head))
            self.cpu[size] += time.process_time() - started
            out[size] = (answer, classify(*answer)[0])
        return out


def shares(weights: dict[bytes, tuple[int, int]], classes: dict[bytes, str]) -> dict[str, tuple[float, float]]:
    """Class -> (share of files, share of bytes), in percent."""
    files, sizes = collections.Counter(), collections.Counter()
    for digest, (count, size) in weights.items():
        files[classes[digest]] += count
        sizes[classes[digest]] += count * size
    total_files, total_bytes = sum(files.values()) or 1, sum(sizes.values()) or 1
    return {c: (100 * files[c] / total_files, 100 * sizes[c] / total_bytes) for c in files | sizes}


def measure(contents, heads: tuple[int, ...] = HEADS) -> dict:
    """Per head size: CPU seconds, answers/classes that differ from the full read, worst share difference."""
    typist = Typist()
    sizes = heads + (FULL_BYTES,)
    weights: dict[bytes, list[int]] = {}
    answers: dict[int, dict[bytes, tuple]] = {s: {} for s in sizes}
    for digest, data, weight in contents:
        if digest in weights:
            weights[digest][0] += weight
            continue
        weights[digest] = [weight, len(data)]
        for size, typed in typist.classes(data, sizes).items():
            answers[size][digest] = typed
    full_classes = {d: a[1] for d, a in answers[FULL_BYTES].items()}
    full = shares(weights, full_classes)
    rows = {}
    for size in sizes:
        classes = {d: a[1] for d, a in answers[size].items()}
        got = shares(weights, classes)
        worst = max((abs(got.get(c, (0, 0))[k] - full.get(c, (0, 0))[k]), c, "files bytes".split()[k])
                    for c in set(got) | set(full) for k in (0, 1))
        rows[size] = {
            "cpu_s": typist.cpu[size],
            "answers_changed": sum(answers[size][d][0] != answers[FULL_BYTES][d][0] for d in weights),
            "classes_changed": sum(classes[d] != full_classes[d] for d in weights),
            "worst_points": worst[0], "worst_class": f"{worst[1]} ({worst[2]})",
        }
    return {"contents": len(weights), "files": sum(w for w, _ in weights.values()), "rows": rows, "full_shares": full}


def choose(result: dict, tolerance: float = TOLERANCE_POINTS) -> Optional[int]:
    """The smallest head size whose class shares are all within ``tolerance`` points of the full read."""
    fitting = [size for size, row in result["rows"].items() if size != FULL_BYTES and row["worst_points"] <= tolerance]
    return min(fitting) if fitting else None


def main(argv: Optional[list[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tiny", action="store_true", help="a few small packages: checks that the benchmark runs")
    parser.add_argument("--cache", default=os.path.join(HERE, "out", "bench-scan-cache"), help="where .deb files are kept")
    args = parser.parse_args(argv)
    import bench_scan as bs

    groups, layers = (bs.TINY_GROUPS, bs.TINY_LAYERS) if args.tiny else (bs.GROUPS, bs.LAYERS)
    result = measure(corpus_contents(groups, layers, args.cache))
    rows = result["rows"]
    base = rows[HEADS[0]]["cpu_s"] or 1e-9
    print(f"typing head: {result['contents']} distinct contents, {result['files']} files in unique layers")
    print(f"{'head bytes':>10s} {'CPU s':>7s} {'vs 2 KiB':>8s} {'answers != full':>15s} {'classes != full':>15s} "
          f"{'worst share diff':>16s}")
    for size, row in rows.items():
        label = f"{size}" if size != FULL_BYTES else f"full {size}"
        print(f"{label:>10s} {row['cpu_s']:7.2f} {row['cpu_s'] / base:7.2f}x {row['answers_changed']:15d} "
              f"{row['classes_changed']:15d} {row['worst_points']:9.2f} pts {row['worst_class']}", flush=True)
    print("typing head: full-read class shares (files %, bytes %): " + ", ".join(
        f"{c} {f:.1f}/{b:.1f}" for c, (f, b) in sorted(result["full_shares"].items(), key=lambda kv: -kv[1][1])))
    chosen = choose(result)
    print(f"typing head: smallest head within {TOLERANCE_POINTS} points of a full read: {chosen}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
