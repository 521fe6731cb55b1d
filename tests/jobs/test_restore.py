"""The restore calibration on real Debian-package layers: rebuilt from a file-deduplicated store on disk,
byte-identical to the original tar (sha256 = diff_id) and, gzipped as the layout writes blobs, to the blob."""
from __future__ import annotations

import gzip
import hashlib
import io
import os
import tarfile

import pandas as pd
import pytest

from jobs.restore import FileStore, GzipSink, calibrate, rates, tar_entries
from hubscope.demo.sample_images import download_packages, layer_tar
from jobs.layer_scanner import scan_layer


def _sha(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def _extra() -> list:
    """What package trees lack: a hardlink, a PAX long name, a non-ASCII name, an empty file."""
    def member(name, data=b"", type=tarfile.REGTYPE, linkname=""):
        info = tarfile.TarInfo(name)
        info.type, info.linkname, info.size, info.mtime, info.mode = type, linkname, len(data), 1700000000, 0o644
        return info, data if type == tarfile.REGTYPE else None

    return [member("opt/app/" + "deep/" * 30 + "config.json", b'{"a": 1}\n'),
            member("opt/app/caf\u00e9.txt", "na\u00efve\n".encode()),
            member("opt/app/empty"),
            member("opt/app/os-release-link", type=tarfile.LNKTYPE, linkname="usr/lib/os-release")]


@pytest.fixture(scope="module")
def deb_layers(tmp_path_factory):
    """Two real layers sharing base-files (its contents dedup across them), gzipped as the OCI layout does."""
    debs = download_packages(["base-files", "tzdata", "python3-six", "libpcre2-8-0"], str(tmp_path_factory.mktemp("debs")))
    tars = [layer_tar([debs["base-files"], debs["tzdata"]]),
            layer_tar([debs["base-files"], debs["python3-six"], debs["libpcre2-8-0"]], extra=_extra())]
    blobs = {}
    layers, files = [], []
    for tar in tars:
        blob = gzip.compress(tar, compresslevel=6, mtime=0)
        digest = _sha(blob)
        blobs[digest] = blob
        layers.append({"layer_digest": digest, "diff_id": _sha(tar)})
        result = scan_layer(io.BytesIO(blob), digest, diff_id=_sha(tar))  # the scan's own files rows
        files.append(result.files.to_pandas())
    return layers, blobs, pd.concat(files, ignore_index=True), tars


def test_rebuild_is_byte_identical_and_the_table_alone_is_not(deb_layers, tmp_path):
    layers, blobs, files, tars = deb_layers
    out = calibrate(layers, lambda d: (lambda: io.BytesIO(blobs[d])), str(tmp_path / "store"), files)
    assert "error" not in out
    for row in out.to_dict("records"):
        assert row["entries_match"] and row["diff_id_match"]  # same entries, same order, same bytes: sha256 = diff_id
        assert row["blob_digest_match"]  # gzip level 6, mtime 0, as the blob was written
        # from the files table alone: the same entries (names, types, sizes, modes, owners, times, links, bytes) ...
        assert row["table_entries_match"]
        # ... but not the same tar: the table keeps no user/group names ("root" in .deb trees) nor PAX records
        assert not row["diff_id_from_table"]
        assert row["rebuild_tar_cpu_s"] > 0 and row["rebuild_gzip_cpu_s"] > 0
    # each content is stored once: base-files is in both layers, so the second layer adds fewer contents than files
    second = out.iloc[1]
    assert second["new_contents"] < second["files"]
    stored = sum(len(fs) for _, _, fs in os.walk(tmp_path / "store" / "files"))
    assert stored == files[files["type"] == "reg"].query("size_bytes > 0")["content_sha256"].nunique()
    got = rates(out)
    assert got["layers"] == 2 and got["tar_bytes"] == sum(len(t) for t in tars)
    assert got["rebuild_tar_mbps"] > 0 and got["rebuild_gzip_mbps"] > 0


def test_rebuild_writes_the_original_member_order(deb_layers, tmp_path):
    layers, blobs, files, tars = deb_layers
    store = FileStore(str(tmp_path / "fs"))
    store.put_layer(layers[1]["layer_digest"], tars[1])
    buf = io.BytesIO()
    assert store.rebuild(layers[1]["layer_digest"], buf.write) == len(tars[1])
    entries = tar_entries(buf.getvalue())
    names = [e[0] for e in entries]
    assert names[-4:] == ["opt/app/" + "deep/" * 30 + "config.json", "opt/app/caf\u00e9.txt", "opt/app/empty",
                          "opt/app/os-release-link"]
    assert entries == tar_entries(tars[1])


def test_gzip_sink_matches_gzip_compress():
    data = b"".join(f"line {i}\n".encode() for i in range(20000))
    sink = GzipSink(keep=True)
    for i in range(0, len(data), 4099):  # chunking does not change zlib's stream
        sink.write(data[i:i + 4099])
    assert sink.close() == _sha(gzip.compress(data, compresslevel=6, mtime=0))


def test_unreadable_layer_is_a_row_with_its_error(tmp_path):
    bad = {"layer_digest": "sha256:" + "1" * 64, "diff_id": None}
    out = calibrate([bad], lambda d: (lambda: io.BytesIO(b"\x1f\x8b not really gzip")), str(tmp_path / "s"))
    assert out.loc[0, "error"].startswith("LayerError") and rates(out)["layers"] == 0
