"""Blob bytes -> tar bytes: sniff the compression from the content, decompress strictly, verify as we go.

Media types lie (and Docker schema2 says ``tar.gzip`` for zstd in the wild), so the format is read from
the first bytes, as dive does. Python's ``gzip``/``tarfile`` accept a truncated or padded stream
silently; here every member of a gzip stream is decoded with ISA-L (multi-member gzip such as eStargz
is valid), and a stream that ends inside a member, fails its CRC or carries non-gzip bytes after
the last member raises a ``LayerError`` (a wrong CRC and a wrong length each with their own class). Output is produced in bounded chunks (``OUT_CHUNK``) so a
decompression bomb costs time, never memory.
"""
from __future__ import annotations

import hashlib
from typing import BinaryIO, Callable, Iterator, Optional

import zstandard
from isal import isal_zlib

from common.errors import LayerError
from jobs.zstd_frames import ZSTD_SKIPPABLE, WalkingReader, ZstdFrameWalker

IN_CHUNK = 1 << 17  # compressed bytes per read: ISA-L is fastest around 128 KiB
OUT_CHUNK = 1 << 21  # most tar bytes produced per step, whatever the compression ratio
GZIP_MAGIC = b"\x1f\x8b"
ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"
MAX_GZIP_HEADER_BYTES = 1 << 20  # a member header (FNAME/FCOMMENT/FEXTRA) longer than this is hostile


class HashingReader:
    """Wraps the blob stream and hashes exactly the bytes read, so the blob digest is checked in the same pass."""

    def __init__(self, raw: BinaryIO) -> None:
        self.raw = raw
        self.sha256 = hashlib.sha256()
        self.bytes_read = 0
        self._peeked = b""

    def read(self, n: int = IN_CHUNK) -> bytes:
        if self._peeked:
            data, self._peeked = self._peeked, b""
            return data
        return self._read_raw(n)

    def _read_raw(self, n: int) -> bytes:
        try:
            data = self.raw.read(n)
        except Exception as exc:  # a store's network or disk error: reported, not raised past the layer
            raise LayerError("read_error", f"reading the blob failed: {exc}") from exc
        if data:
            self.sha256.update(data)
            self.bytes_read += len(data)
        return data

    def peek(self, n: int) -> bytes:
        """The first ``n`` bytes (fewer at EOF) without consuming them."""
        while len(self._peeked) < n:
            data = self._read_raw(n - len(self._peeked))
            if not data:
                break
            self._peeked += data
        return self._peeked[:n]

    def drain(self) -> None:
        """Read to EOF so the digest covers the whole blob even after a format error."""
        self._peeked = b""
        while self.read(1 << 20):
            pass

    def hexdigest(self) -> str:
        return self.sha256.hexdigest()


def sniff_compression(head: bytes) -> str:
    """``gzip``, ``zstd``, ``none`` (a tar) or ``unknown``, from the first bytes of a blob."""
    if head[:2] == GZIP_MAGIC:
        return "gzip"
    if head[:4] == ZSTD_MAGIC or (len(head) >= 4 and int.from_bytes(head[:4], "little") & ~0xF == ZSTD_SKIPPABLE):
        return "zstd"
    if len(head) >= 512 and (head[257:262] == b"ustar" or _tar_checksum_ok(head[:512])):
        return "none"
    if len(head) >= 512 and head[:512].count(0) == 512:
        return "none"  # an empty tar: only end-of-archive blocks
    return "unknown"


def _tar_checksum_ok(block: bytes) -> bool:
    field = block[148:156].split(b"\0", 1)[0].strip(b" ")
    try:
        stored = int(field, 8)
    except ValueError:
        return False
    return stored == sum(block) - sum(block[148:156]) + 256


def tar_chunks(reader: HashingReader, compression: str, flags: Optional[set] = None) -> Iterator[bytes]:
    """The uncompressed tar stream of a blob as chunks of at most ``OUT_CHUNK`` bytes; raises ``LayerError``.

    Oddities that do not make the blob unreadable (zero padding after the last gzip member:
    ``gzip_zero_padding``) are added to ``flags``.
    """
    flags = set() if flags is None else flags
    if compression == "gzip":
        return _gunzip(reader.read, flags)
    if compression == "zstd":
        return _unzstd(reader)
    if compression == "none":
        return iter(lambda: reader.read(1 << 20), b"")
    raise LayerError("unknown_format", "not gzip, zstd or tar by its first bytes")


def _gzip_header_length(data: bytes) -> Optional[int]:
    """Length of the gzip member header at the start of ``data`` (RFC 1952), None if more bytes are needed."""
    if len(data) < 10:
        return None
    if data[2] != 8 or data[3] & 0xE0:
        raise LayerError("gzip_corrupt", f"gzip member header with method {data[2]} and flags {data[3]:#x}")
    flag, pos = data[3], 10
    if flag & 0x04:  # FEXTRA (eStargz keeps its footer there)
        if len(data) < pos + 2:
            return None
        pos += 2 + int.from_bytes(data[pos:pos + 2], "little")
    for bit in (0x08, 0x10):  # FNAME, FCOMMENT: zero-terminated
        if flag & bit:
            end = data.find(b"\0", pos)
            if end < 0:
                return None
            pos = end + 1
    if flag & 0x02:  # FHCRC
        pos += 2
    return pos if len(data) >= pos else None


def _gunzip(read: Callable[[int], bytes], flags: set) -> Iterator[bytes]:
    """Every member of a gzip stream, in order; zero padding after the last member is tolerated like gzip(1).

    Members are inflated raw and their trailers checked here rather than by ISA-L's gzip mode, which
    reports a wrong length (ISIZE) and a wrong CRC with the same message: the two are told apart.
    """
    members = 0
    data = b""
    while True:
        if len(data) < 2:
            more = read(IN_CHUNK)
            if more:
                data += more
                continue
            if not data:
                break
        if data[:2] != GZIP_MAGIC:
            if members and _zeros_to_eof(data, read):
                flags.add("gzip_zero_padding")
                return
            raise LayerError("gzip_trailing_garbage", f"{len(data)}+ bytes after gzip member {members} are not gzip")
        data = yield from _gzip_member(data, read, members + 1)
        members += 1
    if not members:
        raise LayerError("empty_blob", "no gzip member")


def _more(data: bytes, read: Callable[[int], bytes], member: int) -> bytes:
    more = read(IN_CHUNK)
    if not more:
        raise LayerError("gzip_truncated", f"the blob ended inside gzip member {member}")
    if len(data) > MAX_GZIP_HEADER_BYTES:
        raise LayerError("gzip_corrupt", f"gzip member {member} has a header over {MAX_GZIP_HEADER_BYTES} bytes")
    return data + more


def _gzip_member(data: bytes, read: Callable[[int], bytes], member: int):
    """Inflate one member that starts at ``data``; yields its output, returns the bytes after its trailer."""
    while (start := _gzip_header_length(data)) is None:
        data = _more(data, read, member)
    data = data[start:]
    d = isal_zlib.decompressobj(-15)
    crc = size = 0
    full = False  # the last call filled OUT_CHUNK: output may be pending without more input
    while True:
        if not data and not full:
            data = _more(b"", read, member)
        try:
            out = d.decompress(data, OUT_CHUNK)
        except isal_zlib.error as exc:
            raise LayerError("gzip_corrupt", f"invalid gzip data in member {member}: {exc}") from exc
        if out:
            crc = isal_zlib.crc32(out, crc)
            size += len(out)
            yield out
        if d.eof:
            data = d.unused_data
            break
        data = d.unconsumed_tail
        full = len(out) == OUT_CHUNK
    while len(data) < 8:
        data = _more(data, read, member)
    stored_crc, stored_size = int.from_bytes(data[:4], "little"), int.from_bytes(data[4:8], "little")
    if stored_crc != crc:
        raise LayerError("gzip_bad_crc", f"gzip member {member}: CRC32 {crc:#010x}, trailer says {stored_crc:#010x}")
    if stored_size != size & 0xFFFFFFFF:
        raise LayerError("gzip_bad_isize", f"gzip member {member}: {size} bytes (mod 2^32), trailer says {stored_size}")
    return data[8:]


def _zeros_to_eof(data: bytes, read: Callable[[int], bytes]) -> bool:
    while data:
        if data.lstrip(b"\0"):
            return False
        data = read(IN_CHUNK)
    return True


def _unzstd(reader: HashingReader) -> Iterator[bytes]:
    walker = ZstdFrameWalker()
    walking = WalkingReader(reader, walker)
    stream = zstandard.ZstdDecompressor().stream_reader(
        walking, read_size=IN_CHUNK, read_across_frames=True
    )
    while True:
        try:
            out = stream.read(OUT_CHUNK)
        except zstandard.ZstdError as exc:
            if "Unknown frame descriptor" in str(exc):
                raise LayerError("zstd_trailing_garbage", f"bytes after the last zstd frame: {exc}") from exc
            raise LayerError("zstd_corrupt", f"invalid zstd data: {exc}") from exc
        if not out:
            break
        yield out
    # With read_across_frames the reader stops only at EOF; input left over means it stopped early.
    if walking.read(IN_CHUNK):
        raise LayerError("zstd_trailing_garbage", "bytes after the end of the zstd stream")
    if not walker.at_boundary:
        raise LayerError("zstd_truncated", f"the blob ended inside zstd frame {walker.frames + 1}")
    if not walker.frames:
        raise LayerError("empty_blob", "no zstd frame")
