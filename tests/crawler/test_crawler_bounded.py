"""Bounded reads: 200 MiB "manifests", error bodies and tag lists (with and without Content-Length) are refused
while streaming; the crawl runs in a child process whose peak RSS is measured, so no other test counts."""
from __future__ import annotations

import json
import subprocess
import sys
import textwrap

from common.records import latest_records

from crawler_hostile import Canned, on_path
from crawler_images import assert_store_verifies

HUGE_BYTES = 200 << 20
PEAK_RSS_LIMIT_BYTES = 100 * 10**6  # the bound (the old crawler peaked at 444 MB for one, 809 MB for two)

CHILD = textwrap.dedent("""
    import json, sys
    from crawler.crawl import CrawlOptions, RepoTarget, run_crawl

    def high_water_kib():  # VmHWM: this process's own peak (ru_maxrss after exec can carry the parent's)
        with open("/proc/self/status") as fh:
            return next(int(line.split()[1]) for line in fh if line.startswith("VmHWM:"))

    url, store = sys.argv[1], sys.argv[2]
    before = high_water_kib()
    targets = [RepoTarget("demo/oci", "latest"), RepoTarget("demo/schema2", "latest"),
               RepoTarget("demo/multi", "latest"), RepoTarget("demo/tagged")]
    summary = run_crawl(url, store, targets, options=CrawlOptions(tags="all", concurrency=4))
    peak = high_water_kib()
    print(json.dumps({"before_kib": before, "peak_kib": peak, "errors": summary.images_error}))
""")


def huge(head: bytes):
    def chunks():
        yield head
        filler = b" " * (1 << 20)
        for _ in range(HUGE_BYTES >> 20):
            yield filler
    return chunks


def test_oversized_bodies_are_refused_within_100_mb(rewrite, tmp_path):
    manifest_head = b'{"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json", "layers": ['
    json_type = {"Content-Type": "application/vnd.oci.image.manifest.v1+json"}
    rewrite.rules += [
        on_path("/v2/demo/oci/manifests/latest", Canned(200, json_type, huge(manifest_head), content_length=-1)),
        on_path("/v2/demo/schema2/manifests/latest",
                Canned(200, json_type, huge(manifest_head), content_length=HUGE_BYTES + len(manifest_head))),
        on_path("/v2/demo/multi/manifests/latest",
                Canned(404, {"Content-Type": "application/json"}, huge(b'{"errors": ['), content_length=-1)),
        on_path("/v2/demo/tagged/tags/list",
                Canned(200, {"Content-Type": "application/json"}, huge(b'{"tags": ['), content_length=-1)),
    ]
    out = subprocess.run([sys.executable, "-c", CHILD, rewrite.url, str(tmp_path)], capture_output=True, text=True,
                         timeout=300)
    assert out.returncode == 0, out.stderr
    measured = json.loads(out.stdout.strip().splitlines()[-1])
    print(f"child RSS: {measured['before_kib'] / 1024:.0f} MiB after imports, peak {measured['peak_kib'] / 1024:.0f} MiB")
    assert measured["peak_kib"] * 1024 < PEAK_RSS_LIMIT_BYTES
    records = {r.repository: r for r in latest_records(str(tmp_path)).values()}
    assert (records["demo/oci"].error_class, records["demo/schema2"].error_class) == ("too_large", "too_large")
    assert "Content-Length" in records["demo/schema2"].error_message  # refused before a byte was read
    assert records["demo/multi"].error_class == "NotFound"  # the error body was capped, not read whole
    assert records["demo/tagged"].error_class == "too_large"
    assert assert_store_verifies(str(tmp_path)) == set()  # nothing of the refused items was stored
