"""The streaming tar reader against GNU tar's own output (sparse formats) and against ``tarfile`` on real files."""
from __future__ import annotations

import hashlib
import subprocess
import tarfile

import pytest

from jobs.tarstream import iter_entries
from jobs_layerkit import gz, rows, scan


def _sparse_file(path: str) -> bytes:
    """A 4 MiB file with two data islands; returns its logical content."""
    with open(path, "wb") as fh:
        fh.seek(1 << 20)
        fh.write(b"island one")
        fh.seek(3 << 20)
        fh.write(b"island two")
        fh.truncate(4 << 20)
    with open(path, "rb") as fh:
        return fh.read()


@pytest.mark.parametrize("flags", [
    ["--format=gnu"],
    ["--format=posix", "--sparse-version=0.0"],
    ["--format=posix", "--sparse-version=0.1"],
    ["--format=posix", "--sparse-version=1.0"],
], ids=["gnu-old", "pax-0.0", "pax-0.1", "pax-1.0"])
def test_sparse_files_hash_their_logical_content(tmp_path, flags):
    src = tmp_path / "src"
    src.mkdir()
    content = _sparse_file(str(src / "lastlog"))
    (src / "after.txt").write_bytes(b"after\n")
    out = tmp_path / "layer.tar"
    subprocess.run(["tar", "--sparse", *flags, "-cf", str(out), "-C", str(src), "lastlog", "after.txt"], check=True)
    raw = out.read_bytes()
    assert len(raw) < 1 << 20  # really stored sparse
    result = scan(gz(raw))
    assert result.ok, result.layer
    assert rows(result, "path", "type", "size_bytes", "content_sha256") == [
        ("/lastlog", "reg", 4 << 20, "sha256:" + hashlib.sha256(content).hexdigest()),
        ("/after.txt", "reg", 6, "sha256:" + hashlib.sha256(b"after\n").hexdigest()),
    ]
    assert result.layer["files_bytes"] == (4 << 20) + 6


def test_sparse_beyond_the_hash_limit_has_no_digest(tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    _sparse_file(str(src / "lastlog"))
    out = tmp_path / "layer.tar"
    subprocess.run(["tar", "--sparse", "--format=gnu", "-cf", str(out), "-C", str(src), "lastlog"], check=True)
    entries = list(iter_entries(iter([out.read_bytes()]), sparse_hash_limit=1 << 20))
    assert [(e.size, e.sha256, e.sparse) for e in entries] == [(4 << 20, None, True)]


def test_device_files_from_gnu_tar(tmp_path):
    raw = b""
    for name, kind, major, minor in (("dev/tty", tarfile.CHRTYPE, 5, 0), ("dev/loop0", tarfile.BLKTYPE, 7, 0)):
        info = tarfile.TarInfo(name)
        info.type, info.devmajor, info.devminor, info.mode = kind, major, minor, 0o620
        raw += info.tobuf(tarfile.GNU_FORMAT)
    result = scan(gz(raw + bytes(1024)))
    assert rows(result, "path", "type", "size_bytes", "mode", "content_sha256") == [
        ("/dev/tty", "char", 0, 0o620, None), ("/dev/loop0", "block", 0, 0o620, None),
    ]
    assert result.layer["device_count"] == 2


@pytest.fixture(scope="module")
def real_tar(tmp_path_factory) -> str:
    """A POSIX tar of real files made by GNU tar (docs and timezone data of this machine)."""
    path = str(tmp_path_factory.mktemp("real") / "real.tar")
    subprocess.run(["tar", "--format=posix", "-cf", path, "-C", "/usr/share", "doc/tar", "doc/gzip", "zoneinfo/Europe"],
                   check=True, stderr=subprocess.DEVNULL)
    return path


def test_chunk_boundaries_anywhere_give_the_same_entries(real_tar):
    raw = open(real_tar, "rb").read()
    whole = [(e.index, e.name, e.typeflag, e.size, e.sha256, e.linkname) for e in iter_entries(iter([raw]))]
    for step in (1, 7, 511, 513, 4096):
        pieces = (raw[i:i + step] for i in range(0, len(raw), step))
        assert [(e.index, e.name, e.typeflag, e.size, e.sha256, e.linkname) for e in iter_entries(pieces)] == whole


def test_agrees_with_tarfile_on_real_files(real_tar):
    path = real_tar
    expected = []
    with tarfile.open(path, "r:") as tf:
        for m in tf:
            digest = hashlib.sha256(tf.extractfile(m).read()).hexdigest() if m.isreg() else None
            expected.append((m.name, m.type, m.size if m.isreg() else 0, digest, m.linkname, m.uid, int(m.mtime)))
    with open(path, "rb") as fh:
        got = [(e.name.decode().rstrip("/"), e.typeflag, e.size if e.typeflag == b"0" else 0, e.sha256, e.linkname.decode(), e.uid, e.mtime)
               for e in iter_entries(iter(lambda: fh.read(65536), b""))]
    assert len(got) > 50
    assert got == expected


def test_sparse_hole_budget_is_per_layer(tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    for name in ("a", "b", "c"):
        _sparse_file(str(src / name))  # ~4 MiB of holes each
    out = tmp_path / "layer.tar"
    subprocess.run(["tar", "--sparse", "--format=gnu", "-cf", str(out), "-C", str(src), "a", "b", "c"], check=True)
    entries = list(iter_entries(iter([out.read_bytes()]), sparse_hash_limit=9 << 20))
    assert [e.sha256 is not None for e in entries] == [True, True, False]  # the third would pass 9 MiB of holes
    assert len({e.sha256 for e in entries[:2]}) == 1
