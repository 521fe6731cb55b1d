"""Where the typed scan's time goes: libmagic's cost per unique content, and what flags or a shorter head would save.

The issue asks for typing made cheaper "without changing any result". This measures, on the
unique content heads of ``bench_scan``'s realistic corpus (real Debian packages), libmagic as the
scan calls it (two cookies, description and MIME, on the first ``jobs.filetype.HEAD_BYTES`` bytes),
then each ``MAGIC_NO_CHECK_*`` flag and shorter heads: CPU time as a ratio of that baseline run in
this script, and how many of the answers changed. A flag that changes no answer here may still
change answers on kinds of file this corpus lacks (JSON, CSV, tar, SIMH tapes...), so only flags
that are no-ops by libmagic's code may be used; a flag that saves time but changes answers here
cannot be used at all.

    python benchmarks/bench_typing.py [--tiny]
"""
from __future__ import annotations

import argparse
import collections
import hashlib
import io
import os
import sys
import tarfile
import time
from typing import Optional

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))
sys.path.insert(0, HERE)

from jobs.filetype import HEAD_BYTES  # noqa: E402

MAGIC_MIME_TYPE = 0x10
NO_CHECK = {  # magic.h (file 5.44)
    "COMPRESS": 0x1000, "TAR": 0x2000, "SOFT": 0x4000, "APPTYPE": 0x8000, "ELF": 0x10000, "TEXT": 0x20000,
    "CDF": 0x40000, "CSV": 0x80000, "TOKENS": 0x100000, "ENCODING": 0x200000, "JSON": 0x400000, "SIMH": 0x800000,
}


def unique_heads(raws: dict[str, bytes]) -> tuple[list[bytes], int]:
    """The head of every distinct regular-file content in the tars, and how many regular files there were."""
    heads, files = {}, 0
    for raw in raws.values():
        with tarfile.open(fileobj=io.BytesIO(raw)) as tf:
            for member in tf:
                if member.isreg():
                    data = tf.extractfile(member).read()
                    files += 1
                    heads.setdefault(hashlib.sha256(data).digest(), data[:HEAD_BYTES])
    return list(heads.values()), files


def type_all(heads: list[bytes], flags: int, cut: Optional[int] = None) -> tuple[list[tuple[str, str]], float]:
    """(description, MIME) per head with these libmagic flags, and the CPU seconds it took."""
    import magic

    describe, mime = magic.magic_open(flags), magic.magic_open(flags | MAGIC_MIME_TYPE)
    magic.magic_load(describe, None)
    magic.magic_load(mime, None)
    started = time.process_time()
    answers = [(magic.magic_buffer(describe, h[:cut]), magic.magic_buffer(mime, h[:cut])) for h in heads]
    spent = time.process_time() - started
    answers = [(d.decode("utf-8", "replace"), m.decode("utf-8", "replace")) for d, m in answers]
    magic.magic_close(describe)
    magic.magic_close(mime)
    return answers, spent


def main(argv: Optional[list[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tiny", action="store_true", help="a few small packages: checks that the benchmark runs")
    parser.add_argument("--cache", default=os.path.join(HERE, "out", "bench-scan-cache"), help="where .deb files are kept")
    args = parser.parse_args(argv)
    import bench_scan as bs  # its corpus recipes; benchmarks/ is on sys.path (below)

    groups, layers = (bs.TINY_GROUPS, bs.TINY_LAYERS) if args.tiny else (bs.GROUPS, bs.LAYERS)
    heads, files = unique_heads(bs.realistic_layers(groups, layers, 1e9 if args.tiny else 1200, args.cache))
    base, base_cpu = type_all(heads, 0)
    per_call = base_cpu / (2 * len(heads)) * 1e3
    print(f"typing: {len(heads)} unique contents among {files} regular files; libmagic as the scan calls it "
          f"({HEAD_BYTES}-byte heads, description + MIME): {base_cpu:.2f} CPU-s, {per_call:.3f} ms per call")
    by_kind = collections.Counter(m.split("/")[0] if not m.startswith("application/") else m for _, m in base)
    print("typing: contents by MIME: " + ", ".join(f"{k} {n}" for k, n in by_kind.most_common(6)))
    print(f"{'variant':28s} {'CPU s':>7s} {'vs baseline':>11s} {'answers changed':>16s}")
    for name, flag in NO_CHECK.items():
        answers, cpu = type_all(heads, flag)
        changed = sum(a != b for a, b in zip(answers, base))
        print(f"{'MAGIC_NO_CHECK_' + name:28s} {cpu:7.2f} {cpu / base_cpu:10.2f}x {changed:16d}", flush=True)
    for cut in (1024, 512):
        answers, cpu = type_all(heads, 0, cut)
        changed = sum(a != b for a, b in zip(answers, base))
        print(f"{f'{cut}-byte head':28s} {cpu:7.2f} {cpu / base_cpu:10.2f}x {changed:16d}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
