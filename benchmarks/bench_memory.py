"""Peak memory of a scan task on one big layer: the Python worker must stay bounded whatever the layer size.

Builds a single gzip layer of ``--gib`` GiB uncompressed from real files (the Debian packages of the
sample images, repeated under different directories so every path is distinct), then scans it in a
fresh Python process exactly as a Spark task does (``jobs.layer_scanner.scan_layer`` with file typing) and
reports that process's peak RSS. Baseline in the same script: the peak RSS of a process that only
decompresses and hashes the same blob (``isal`` + ``hashlib``), the floor of any streaming scan.
Target (issue 6): < 1 GB RSS per Python worker on a 5 GB layer.
"""
from __future__ import annotations

import argparse
import hashlib
import io
import json
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
from typing import Optional

from isal import igzip

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))

# VmHWM is this process image's own peak; ru_maxrss would include the parent's RSS inherited at fork.
_PEAK_RSS = r"""
def peak_rss_kib():
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
"""

_SCAN_CHILD = _PEAK_RSS + r"""
import json, sys, time
from jobs.filetype import FileTyper
from jobs.layer_scanner import scan_layer
path, digest, magic = sys.argv[1], sys.argv[2], sys.argv[3] == "1"
start = time.monotonic()
with open(path, "rb") as fh:
    result = scan_layer(fh, digest, typer=FileTyper() if magic else None)
print(json.dumps({"status": result.layer["status"], "error": result.layer.get("error_message"),
                  "files": result.files.num_rows if result.files is not None else 0,
                  "uncompressed": result.layer["uncompressed_bytes"], "seconds": time.monotonic() - start,
                  "maxrss_kib": peak_rss_kib()}))
"""

_HASH_CHILD = _PEAK_RSS + r"""
import hashlib, json, sys, time
from isal import igzip
start = time.monotonic(); h = hashlib.sha256(); n = 0
with igzip.open(sys.argv[1], "rb") as fh:
    while chunk := fh.read(1 << 20):
        h.update(chunk); n += len(chunk)
print(json.dumps({"uncompressed": n, "seconds": time.monotonic() - start, "maxrss_kib": peak_rss_kib()}))
"""


def real_members(deb_cache: str) -> list[tuple[tarfile.TarInfo, Optional[bytes]]]:
    """Members of the sample images' Debian packages (real binaries, text, data)."""
    from hubscope.demo.sample_images import PACKAGE_GROUPS, deb_members, download_packages

    debs = download_packages([p for group in PACKAGE_GROUPS.values() for p in group], deb_cache)
    return [m for path in debs.values() for m in deb_members(path)]


def write_big_layer(path: str, target_bytes: int, members) -> tuple[str, int]:
    """Write a gzip layer of about ``target_bytes`` uncompressed; returns (digest, uncompressed bytes)."""
    digest = hashlib.sha256()

    class _Hashing(io.RawIOBase):
        def __init__(self, raw):
            self.raw = raw

        def writable(self) -> bool:
            return True

        def write(self, data) -> int:
            digest.update(data)
            return self.raw.write(data)

    with open(path, "wb") as raw:
        with igzip.IGzipFile(fileobj=_Hashing(raw), mode="wb", compresslevel=1) as gz:
            with tarfile.open(fileobj=gz, mode="w|", format=tarfile.PAX_FORMAT) as tar:
                copy = 0
                while gz.tell() < target_bytes:
                    for info, content in members:
                        clone = tarfile.TarInfo(f"copy{copy:04d}/{info.name}")
                        clone.type, clone.size, clone.mode = info.type, info.size, info.mode
                        clone.linkname = f"copy{copy:04d}/{info.linkname}" if info.islnk() else info.linkname
                        tar.addfile(clone, io.BytesIO(content) if content is not None else None)
                    copy += 1
            uncompressed = gz.tell()
    return "sha256:" + digest.hexdigest(), uncompressed


def run_child(code: str, *args: str) -> dict:
    out = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, check=True,
                         env={**os.environ, "PYTHONPATH": os.path.dirname(HERE)})
    return json.loads(out.stdout.strip().splitlines()[-1])


def main(argv: Optional[list[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--gib", type=float, default=5.0, help="uncompressed layer size in GiB (default 5)")
    parser.add_argument("--tiny", action="store_true", help="smoke run: a 64 MiB layer")
    parser.add_argument("--workdir", default=None, help="scratch folder (default: a temporary one, removed)")
    parser.add_argument("--deb-cache", default=os.path.join(HERE, "out", "debs"), help="cache of downloaded .deb files")
    args = parser.parse_args(argv)
    target = int((1 / 16 if args.tiny else args.gib) * (1 << 30))
    workdir = args.workdir or tempfile.mkdtemp(prefix="hubscope-bench-mem-")
    try:
        layer = os.path.join(workdir, "big-layer.tar.gz")
        t0 = time.monotonic()
        digest, size = write_big_layer(layer, target, real_members(args.deb_cache))
        print(f"memory: built a {size / 1e9:.2f} GB layer ({os.path.getsize(layer) / 1e9:.2f} GB gzip) in {time.monotonic() - t0:.0f} s")
        base = run_child(_HASH_CHILD, layer)
        scan = run_child(_SCAN_CHILD, layer, digest, "1")
        if scan["status"] != "ok":
            print(f"memory: scan failed: {scan['error']}")
            return 1
        scan_mb, base_mb = scan["maxrss_kib"] / 1024, base["maxrss_kib"] / 1024
        print(f"memory: baseline igzip+sha256 process peak RSS {base_mb:.0f} MiB ({base['seconds']:.1f} s)")
        print(f"memory: scan task peak RSS {scan_mb:.0f} MiB on {scan['uncompressed'] / 1e9:.2f} GB, "
              f"{scan['files']} files ({scan['seconds']:.1f} s, {scan['uncompressed'] / 1e6 / scan['seconds']:.0f} MB/s)")
        print(f"memory: ratio scan/baseline RSS = {scan_mb / base_mb:.2f}x; target < 1024 MiB: "
              f"{'met' if scan_mb < 1024 else 'NOT met'}")
        return 0
    finally:
        if not args.workdir:
            shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
