"""The layer scanner on layers built in code: exact rows for every entry type, exact errors for every bad case."""
from __future__ import annotations

import hashlib
import tarfile
import tracemalloc

import zstandard

from common import schemas
from jobs.layer_scanner import ScanOptions
from jobs_layerkit import gz, member, rows, scan, sha, tar_of

HELLO = b"hello\n"
RUN_SH = b"#!/bin/sh\necho hi\n"


def test_regular_file_gives_exactly_one_row_and_layer_row():
    raw = tar_of([member("etc/hello.txt", HELLO, mode=0o640, uid=1000, gid=1001)])
    blob = gz(raw)
    result = scan(blob)
    assert result.ok
    assert result.files.schema == schemas.FILES
    assert result.files.to_pylist() == [{
        "layer_digest": sha(blob), "entry_index": 0, "path": "/etc/hello.txt", "path_raw": None,
        "path_hostile": False, "type": "reg", "size_bytes": 6, "mode": 0o640, "uid": 1000, "gid": 1001,
        "mtime": 1700000000, "link_target": None,
        "content_sha256": "sha256:5891b5b522d5df086d0ff0b110fbd9d21bb4fc7163af34d08286a2e846f6be03",
        "magic_description": None, "magic_mime": None, "type_class": None, "type_fine": None,
        "depth": 2, "extension": "txt",
    }]
    layer = dict(result.layer)
    assert layer.pop("scanned_at") is not None
    assert layer == {
        "layer_digest": sha(blob), "media_type": None, "compression": "gzip", "compressed_bytes": len(blob),
        "uncompressed_bytes": 10240, "diff_id": sha(raw), "files_bytes": 6,
        "compression_ratio": 10240 / len(blob), "entry_count": 1, "file_count": 1, "dir_count": 0,
        "symlink_count": 0, "hardlink_count": 0, "device_count": 0, "whiteout_count": 0,
        "opaque_whiteout_count": 0, "depth_max": 2, "depth_median": 2.0, "status": "ok",
        "error_class": None, "error_message": None, "scanner_version": "2", "flags": [],
    }
    assert len(raw) == 10240  # tarfile pads to one 10 KiB record


def _every_type_members():
    return [
        member("app/", type=tarfile.DIRTYPE, mode=0o755),
        member("app/run.sh", RUN_SH, mode=0o755),
        member("app/run-again.sh", type=tarfile.LNKTYPE, linkname="app/run.sh"),
        member("app/current", type=tarfile.SYMTYPE, linkname="run.sh", mode=0o777),
        member("dev/null", type=tarfile.CHRTYPE, devmajor=1, devminor=3, mode=0o666),
        member("dev/sda", type=tarfile.BLKTYPE, devmajor=8, devminor=0, mode=0o660),
        member("run/pipe", type=tarfile.FIFOTYPE),
        member("app/.wh.old.txt", b""),
        member("etc/.wh..wh..opq", b""),
    ]


def test_every_entry_type_has_its_row():
    result = scan(gz(tar_of(_every_type_members())))
    run = sha(RUN_SH)
    assert rows(result, "entry_index", "path", "type", "size_bytes", "mode", "link_target", "content_sha256", "depth", "extension") == [
        (0, "/app", "dir", 0, 0o755, None, None, 1, None),
        (1, "/app/run.sh", "reg", 18, 0o755, None, run, 2, "sh"),
        (2, "/app/run-again.sh", "hardlink", 18, 0o644, "/app/run.sh", run, 2, "sh"),
        (3, "/app/current", "symlink", 0, 0o777, "run.sh", None, 2, None),
        (4, "/dev/null", "char", 0, 0o666, None, None, 2, None),
        (5, "/dev/sda", "block", 0, 0o660, None, None, 2, None),
        (6, "/run/pipe", "fifo", 0, 0o644, None, None, 2, None),
        (7, "/app/.wh.old.txt", "whiteout", 0, 0o644, None, None, 2, None),
        (8, "/etc/.wh..wh..opq", "opaque_whiteout", 0, 0o644, None, None, 2, None),
    ]
    layer = result.layer
    assert (layer["entry_count"], layer["file_count"], layer["dir_count"], layer["symlink_count"], layer["hardlink_count"],
            layer["device_count"], layer["whiteout_count"], layer["opaque_whiteout_count"]) == (9, 1, 1, 1, 1, 3, 2, 1)
    assert (layer["files_bytes"], layer["depth_max"], layer["depth_median"]) == (18, 2, 2.0)
    assert not any(rows(result, "path_hostile")[i][0] for i in range(9))


def test_hardlink_to_missing_target_is_data_without_digest():
    result = scan(gz(tar_of([member("bin/sh", type=tarfile.LNKTYPE, linkname="bin/bash")])))
    assert result.ok
    assert rows(result, "path", "type", "size_bytes", "link_target", "content_sha256") == [
        ("/bin/sh", "hardlink", 0, "/bin/bash", None)
    ]
    assert result.layer["hardlink_count"] == 1 and result.layer["file_count"] == 0


def test_hardlink_chain_and_forward_reference():
    members = [
        member("b", type=tarfile.LNKTYPE, linkname="a"),  # forward: a comes later, so missing here
        member("a", HELLO),
        member("c", type=tarfile.LNKTYPE, linkname="a"),
        member("d", type=tarfile.LNKTYPE, linkname="./c"),  # a hardlink to a hardlink
    ]
    result = scan(gz(tar_of(members)))
    assert rows(result, "path", "content_sha256", "size_bytes") == [
        ("/b", None, 0), ("/a", sha(HELLO), 6), ("/c", sha(HELLO), 6), ("/d", sha(HELLO), 6),
    ]


# --- compression layer: gzip, zstd, plain tar -------------------------------------------------------

def _small_tar() -> bytes:
    return tar_of([member("a.txt", HELLO), member("b/c.bin", bytes(range(256)) * 40)])


def test_truncated_gzip_is_an_error_without_rows():
    blob = gz(_small_tar())[:-20]
    result = scan(blob)
    assert result.files is None
    assert (result.layer["status"], result.layer["error_class"]) == ("error", "gzip_truncated")
    assert result.layer["compressed_bytes"] == len(blob)


def test_bad_crc_is_an_error():
    blob = bytearray(gz(_small_tar()))
    blob[-8] ^= 0x01  # CRC32 trailer
    result = scan(bytes(blob))
    assert (result.layer["status"], result.layer["error_class"]) == ("error", "gzip_bad_crc")


def test_trailing_garbage_is_an_error_but_zero_padding_is_a_flag():
    blob = gz(_small_tar())
    assert scan(blob + b"garbage").layer["error_class"] == "gzip_trailing_garbage"
    assert scan(blob + b"\x1f").layer["error_class"] == "gzip_trailing_garbage"
    assert scan(blob).layer["flags"] == []
    padded = scan(blob + bytes(100))
    assert padded.ok and padded.layer["compressed_bytes"] == len(blob) + 100
    assert padded.layer["flags"] == ["gzip_zero_padding"]
    assert rows(padded, "path") == [("/a.txt",), ("/b/c.bin",)]


def test_wrong_gzip_length_with_the_right_crc_has_its_own_class():
    raw = _small_tar()
    blob = bytearray(gz(raw))
    assert int.from_bytes(blob[-4:], "little") == len(raw)
    blob[-4:] = (len(raw) + 1).to_bytes(4, "little")  # ISIZE off by one, CRC32 untouched
    result = scan(bytes(blob))
    assert (result.layer["status"], result.layer["error_class"], result.files) == ("error", "gzip_bad_isize", None)
    assert f"{len(raw)} bytes" in result.layer["error_message"]


def test_multi_member_gzip_reads_every_member():
    raw = _small_tar()
    single = scan(gz(raw))
    for cut in (1, 512, 700, len(raw) // 2, len(raw) - 1):
        multi = scan(gz(raw[:cut]) + gz(raw[cut:]))
        assert multi.ok, multi.layer
        assert rows(multi, "path", "content_sha256") == rows(single, "path", "content_sha256")
        assert multi.layer["diff_id"] == sha(raw)


def test_estargz_style_one_member_per_file():
    raw = _small_tar()
    pieces = [raw[i:i + 512] for i in range(0, len(raw), 512)]
    result = scan(b"".join(gz(p) for p in pieces))
    assert result.ok and result.layer["entry_count"] == 2


def test_corrupt_tar_header_mid_archive():
    raw = bytearray(tar_of([member("a.txt", HELLO), member("b.txt", HELLO), member("c.txt", HELLO)]))
    raw[1024 + 10] ^= 0xFF  # second member's header (header 512 + data block 512), inside its name
    result = scan(gz(bytes(raw)))
    assert (result.layer["error_class"], result.files) == ("tar_header_corrupt", None)
    assert "checksum" in result.layer["error_message"]


def test_digest_mismatch():
    blob = gz(_small_tar())
    result = scan(blob, digest=sha(b"something else"))
    assert result.layer["error_class"] == "digest_mismatch"
    assert sha(blob) in result.layer["error_message"]


def test_digest_mismatch_explains_a_format_error():
    result = scan(gz(_small_tar())[:-20], digest=sha(b"other"))
    assert result.layer["error_class"] == "digest_mismatch"
    assert "gzip_truncated" in result.layer["error_message"]


def test_diff_id_verified():
    raw = _small_tar()
    assert scan(gz(raw), diff_id=sha(raw)).ok
    bad = scan(gz(raw), diff_id=sha(b"not this tar"))
    assert (bad.layer["error_class"], bad.files) == ("diff_id_mismatch", None)


def test_zstd_layers():
    raw = _small_tar()
    blob = zstandard.ZstdCompressor(write_checksum=True).compress(raw)
    ok = scan(blob)
    assert ok.ok and ok.layer["compression"] == "zstd" and ok.layer["diff_id"] == sha(raw)
    assert rows(ok, "path") == [("/a.txt",), ("/b/c.bin",)]
    assert scan(blob + blob[:0]).ok
    two_frames = zstandard.ZstdCompressor().compress(raw[:1000]) + zstandard.ZstdCompressor().compress(raw[1000:])
    assert scan(two_frames).ok
    assert scan(blob[:-5]).layer["error_class"] == "zstd_truncated"
    assert scan(blob + b"garbage!").layer["error_class"] == "zstd_trailing_garbage"


def test_plain_tar_layer():
    raw = _small_tar()
    result = scan(raw)
    assert result.ok and result.layer["compression"] == "none"
    assert result.layer["compressed_bytes"] == result.layer["uncompressed_bytes"] == len(raw)


def test_unknown_format_and_empty_blob():
    assert scan(b"this is not a layer" * 100).layer["error_class"] == "unknown_format"
    assert scan(b"").layer["error_class"] == "empty_blob"
    gzip_labelled = scan(b"", media_type="application/vnd.oci.image.layer.v1.tar+gzip")
    assert (gzip_labelled.layer["status"], gzip_labelled.layer["error_class"]) == ("error", "empty_blob")


def test_zero_byte_blob_labelled_plain_tar_is_an_empty_layer():
    for media_type in ("application/vnd.oci.image.layer.v1.tar", "application/vnd.docker.image.rootfs.diff.tar"):
        result = scan(b"", media_type=media_type)
        assert result.ok, result.layer
        layer = result.layer
        assert layer["flags"] == ["empty_blob"]
        assert (layer["compression"], layer["compressed_bytes"], layer["uncompressed_bytes"]) == ("none", 0, 0)
        assert layer["diff_id"] == "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"  # sha256 of b""
        assert (layer["entry_count"], layer["files_bytes"], result.files.num_rows) == (0, 0, 0)


# --- tar structure --------------------------------------------------------------------------------

def test_tar_truncated_inside_data():
    raw = tar_of([member("a.txt", HELLO), member("big.bin", b"x" * 5000)])
    assert scan(gz(raw[:512 + 512 + 512 + 1000])).layer["error_class"] == "tar_truncated"
    assert scan(gz(raw[:512 + 300])).layer["error_class"] == "tar_truncated"
    pax_only = tar_of([member("p" * 120, HELLO)])[:1024]  # a PAX header (name > 100) and nothing it applies to
    assert scan(gz(pax_only)).layer["error_class"] == "tar_truncated"


def test_tar_without_end_of_archive_marker_on_a_member_boundary_is_ok_and_flagged():
    raw = tar_of([member("a.txt", HELLO), member("b.txt", b"b" * 600)], format=tarfile.USTAR_FORMAT)
    cut = raw[:512 + 512 + 512 + 1024]  # a.txt: header + 1 block; b.txt: header + 2 blocks; no zero blocks
    assert raw[len(cut):len(cut) + 1024] == bytes(1024)
    result = scan(gz(cut))
    assert result.ok, result.layer
    assert result.layer["flags"] == ["missing_eoa"]
    assert rows(result, "path", "size_bytes", "content_sha256") == [("/a.txt", 6, sha(HELLO)), ("/b.txt", 600, sha(b"b" * 600))]
    assert (result.layer["uncompressed_bytes"], result.layer["diff_id"], result.layer["files_bytes"]) == (2560, sha(cut), 606)
    plain = scan(cut)
    assert plain.ok and plain.layer["flags"] == ["missing_eoa"] and plain.layer["entry_count"] == 2


def test_huge_declared_size_is_a_truncated_tar_not_an_allocation():
    info, _ = member("huge.bin", b"")
    info.size = 10 << 30  # 10 GiB declared, 3 bytes present
    raw = info.tobuf(tarfile.GNU_FORMAT) + b"abc" + bytes(509) + bytes(1024)
    result = scan(gz(raw))
    assert result.layer["error_class"] == "tar_truncated"


def test_data_after_end_of_archive_is_flagged_not_files():
    raw = tar_of([member("a.txt", HELLO)])
    extra = scan(gz(raw + b"extra"))
    assert extra.ok and extra.layer["flags"] == ["data_after_eoa"] and rows(extra, "path") == [("/a.txt",)]
    assert extra.layer["diff_id"] == sha(raw + b"extra") and extra.layer["uncompressed_bytes"] == len(raw) + 5
    lone = raw[:1024] + bytes(512) + tar_of([member("b.txt", HELLO)])  # a lone zero block, then more members
    assert scan(gz(lone)).layer["error_class"] == "tar_trailing_data"  # Go's archive/tar refuses it too


def test_estargz_layer_with_toc_after_the_end_of_archive_marker():
    """Several gzip members; after the tar's zero blocks a TOC tar entry, as eStargz writes it."""
    files = [member("bin/tool", b"\x7fELF" + bytes(700)), member("etc/conf", HELLO)]
    body = tar_of(files, format=tarfile.USTAR_FORMAT)  # members + end-of-archive zero blocks (padded to 10 KiB)
    toc = tar_of([member("stargz.index.json", b'{"version":1,"entries":[]}')], format=tarfile.USTAR_FORMAT)
    first_member_end = 512 + 1024  # bin/tool: header + 2 data blocks
    blob = gz(body[:first_member_end]) + gz(body[first_member_end:]) + gz(toc)
    result = scan(blob, diff_id=sha(body + toc))
    assert result.ok, result.layer
    layer = result.layer
    assert (layer["status"], layer["flags"], layer["error_class"]) == ("ok", ["data_after_eoa"], None)
    assert rows(result, "path", "size_bytes") == [("/bin/tool", 704), ("/etc/conf", 6)]  # the TOC is no file
    assert (layer["entry_count"], layer["file_count"], layer["files_bytes"]) == (2, 2, 710)
    assert (layer["uncompressed_bytes"], layer["diff_id"]) == (len(body) + len(toc), sha(body + toc))


def test_root_entries_are_not_hostile():
    """kaniko writes a member for the root directory itself, named "/" or "./"."""
    for root in ("/", "./"):
        result = scan(gz(tar_of([member(root, type=tarfile.DIRTYPE, mode=0o755), member("./etc/a", HELLO)])))
        assert result.ok
        assert rows(result, "path", "path_hostile", "type", "depth") == [("/", False, "dir", 0), ("/etc/a", False, "reg", 2)]
        assert result.layer["flags"] == [] and result.layer["dir_count"] == 1


def test_whiteout_oddities_are_flagged():
    members = [
        member("dir/", type=tarfile.DIRTYPE),
        member(".wh..", b""),
        member("dir/.wh..", b""),
        member("dir/.wh.gone", b"data!"),  # a whiteout carrying 5 data bytes
        member("dir/.wh.fine", b""),
    ]
    result = scan(gz(tar_of(members)))
    assert result.ok, result.layer
    assert result.layer["flags"] == ["whiteout_bad_name", "whiteout_with_data"]
    assert rows(result, "path", "type", "content_sha256") == [
        ("/dir", "dir", None), ("/.wh..", "whiteout", None), ("/dir/.wh..", "whiteout", None),
        ("/dir/.wh.gone", "whiteout", None), ("/dir/.wh.fine", "whiteout", None),
    ]
    assert (result.layer["whiteout_count"], result.layer["files_bytes"]) == (4, 0)
    clean = scan(gz(tar_of([member("dir/.wh.fine", b"")])))
    assert clean.layer["flags"] == []


def test_hostile_paths_are_recorded_and_flagged():
    long_name = "d/" + "x" * 5000
    members = [
        member("../../etc/passwd", b"root\n"),
        member("/abs/file", b"abs\n"),
        member("./ok/./file", b"ok\n"),
        member(long_name, b""),
        member("a/b/escape", type=tarfile.SYMTYPE, linkname="../../../etc/shadow"),
        member("a/b/inside", type=tarfile.SYMTYPE, linkname="../../etc/motd"),
        member("a/b/absolute", type=tarfile.SYMTYPE, linkname="/etc/motd"),
        member("a/hl", type=tarfile.LNKTYPE, linkname="../outside"),
    ]
    result = scan(gz(tar_of(members)))
    assert result.ok
    assert rows(result, "path", "path_hostile", "depth") == [
        ("/../../etc/passwd", True, 4),
        ("/abs/file", True, 2),
        ("/ok/file", False, 2),
        ("/" + long_name, True, 2),
        ("/a/b/escape", True, 3),
        ("/a/b/inside", False, 3),
        ("/a/b/absolute", False, 3),
        ("/a/hl", True, 2),
    ]


def test_non_utf8_names_are_kept_losslessly():
    raw_name = b"caf\xe9/men\xfc.txt"
    info, data = member(raw_name.decode("utf-8", "surrogateescape"), HELLO)
    for fmt in (tarfile.GNU_FORMAT, tarfile.USTAR_FORMAT):
        result = scan(gz(tar_of([(info, data)], format=fmt)))
        assert rows(result, "path", "path_raw", "extension") == [("/caf\\xe9/men\\xfc.txt", raw_name, "txt")]
    utf8 = scan(gz(tar_of([member("café/ünï.txt", HELLO)])))
    assert rows(utf8, "path", "path_raw") == [("/café/ünï.txt", None)]


def test_pax_and_gnu_long_names_and_links():
    long_dir = "very/" * 40  # 200 bytes: too long for ustar's 100-byte name field
    name, target = long_dir + "file.txt", long_dir + "target-of-a-long-symlink-" + "t" * 90
    for fmt in (tarfile.PAX_FORMAT, tarfile.GNU_FORMAT):
        members = [member(name, HELLO), member(name + ".lnk", type=tarfile.SYMTYPE, linkname=target)]
        result = scan(gz(tar_of(members, format=fmt)))
        assert rows(result, "entry_index", "path", "link_target", "content_sha256") == [
            (0, "/" + name, None, sha(HELLO)),
            (1, "/" + name + ".lnk", target, None),
        ], fmt


def test_pax_overrides_numbers_and_global_headers():
    info, data = member("big-ids", HELLO, uid=3_000_000_000, gid=5, mtime=1700000000)
    info.pax_headers = {"mtime": "1700000123.75", "comment": "ignored"}
    result = scan(gz(tar_of([(info, data)], format=tarfile.PAX_FORMAT)))
    assert rows(result, "uid", "gid", "mtime") == [(3_000_000_000, 5, 1700000123)]


def test_base256_numbers_in_gnu_headers():
    info, data = member("ids", HELLO, uid=10**12, gid=2**40, mtime=-1000)
    raw = tar_of([(info, data)], format=tarfile.GNU_FORMAT)
    assert raw[108] & 0x80 and raw[116] & 0x80  # really base-256 fields
    assert rows(scan(gz(raw)), "uid", "gid", "mtime") == [(10**12, 2**40, -1000)]


def test_old_v7_directory_by_trailing_slash():
    info, _ = member("olddir/", b"")
    info.type = tarfile.AREGTYPE
    raw = info.tobuf(tarfile.USTAR_FORMAT) + bytes(1024)
    assert rows(scan(gz(raw)), "path", "type") == [("/olddir", "dir")]


def test_decompression_bomb_is_bounded_in_memory_and_can_be_capped():
    size = 256 << 20
    info, _ = member("zeros.bin", b"")
    info.size = size
    header = info.tobuf(tarfile.PAX_FORMAT)
    import zlib

    comp = zlib.compressobj(9, zlib.DEFLATED, 31)
    parts = [comp.compress(header)]
    block = bytes(1 << 20)
    for _ in range(size >> 20):
        parts.append(comp.compress(block))
    parts.append(comp.compress(bytes(1024)))
    parts.append(comp.flush())
    blob = b"".join(parts)
    assert len(blob) < size // 500  # a > 500:1 bomb
    tracemalloc.start()
    result = scan(blob)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert result.ok and rows(result, "size_bytes", "content_sha256") == [(size, "sha256:" + _sha_zeros(size))]
    assert peak < 40 << 20, peak
    capped = scan(blob, options=ScanOptions(max_uncompressed_bytes=64 << 20))
    assert capped.layer["error_class"] == "limit_exceeded"


def _sha_zeros(n: int) -> str:
    h, block = hashlib.sha256(), bytes(1 << 20)
    for _ in range(n >> 20):
        h.update(block)
    return h.hexdigest()


def test_rows_are_batched_without_changing_them(monkeypatch):
    from jobs.layer_scanner import _Rows

    raw = tar_of([member(f"d/f{i}.txt", b"%d\n" % i) for i in range(10)])
    whole = scan(gz(raw)).files
    monkeypatch.setattr(_Rows, "BATCH_ROWS", 3)
    batched = scan(gz(raw)).files
    assert batched.num_rows == 10 and len(batched.to_batches()) == 4
    assert batched.equals(whole)


def test_oversized_gnu_long_name_is_refused_not_buffered():
    info = tarfile.TarInfo("././@LongLink")
    info.type, info.size = tarfile.GNUTYPE_LONGNAME, 2 << 20  # a 2 MiB "name"
    raw = info.tobuf(tarfile.GNU_FORMAT) + b"n" * (2 << 20) + tar_of([member("x", HELLO)])
    result = scan(gz(raw))
    assert result.layer["error_class"] == "tar_header_corrupt"
    assert "metadata member of 2097152 bytes" in result.layer["error_message"]
