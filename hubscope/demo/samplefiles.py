"""Real files of this machine as image content for tests, the demo's helpers and benchmarks (never random bytes)."""
from __future__ import annotations

import os


def collect_files(directories: list[str], limit_bytes: int, prefix: str = "", skip_bytes: int = 0,
                  max_file_bytes: int = 4 << 20) -> dict[str, bytes]:
    """Regular files from a sorted walk of ``directories`` as ``{prefix + path: bytes}``, up to ``limit_bytes``.

    ``skip_bytes`` passes over that many bytes' worth of files first, so successive calls give
    disjoint slices of one tree. Symlinks, empty, unreadable and over-``max_file_bytes`` files are left out.
    """
    files: dict[str, bytes] = {}
    seen = total = 0
    for top in directories:
        for dirpath, dirnames, filenames in os.walk(top):
            dirnames.sort()
            for name in sorted(filenames):
                path = os.path.join(dirpath, name)
                if os.path.islink(path) or not os.path.isfile(path):
                    continue
                try:
                    size = os.path.getsize(path)
                    if not 0 < size <= max_file_bytes:
                        continue
                    seen += size
                    if seen <= skip_bytes:
                        continue
                    with open(path, "rb") as fh:
                        files[prefix + path.lstrip("/")] = fh.read()
                except OSError:
                    continue
                total += size
                if total >= limit_bytes:
                    return files
    return files
