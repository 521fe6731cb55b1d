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

IN_CHUNK = 1 << 17  # compressed bytes per read: ISA-L is fastest around 128 KiB
OUT_CHUNK = 1 << 21  # most tar bytes produced per step, whatever the compression ratio
GZIP_MAGIC = b"\x1f\x8b"
ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"
MAX_GZIP_HEADER_BYTES = 1 << 20  # a member header (FNAME/FCOMMENT/FEXTRA) longer than this is hostile
_ZSTD_SKIPPABLE = 0x184D2A50  # ..5F: skippable frames (zstd:chunked puts its table of contents there)


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
    if head[:4] == ZSTD_MAGIC or (len(head) >= 4 and int.from_bytes(head[:4], "little") & ~0xF == _ZSTD_SKIPPABLE):
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


class _ZstdFrameWalker:
    """Follows zstd frame and block headers in the compressed bytes to tell a complete stream from a truncated one.

    ``zstandard``'s stream reader returns a short result without complaint when the input stops
    mid-frame; walking the headers (cheap: ~8 block headers per MB) gives us the frame boundaries.
    """

    def __init__(self) -> None:
        self.buf = b""
        self.skip = 0  # bytes of block payload / skippable frame still to pass over
        self.state = "magic"  # magic | frame_header | block | checksum
        self.frames = 0
        self._checksum = False

    @property
    def at_boundary(self) -> bool:
        return self.state == "magic" and self.skip == 0 and not self.buf

    def feed(self, data: bytes) -> None:
        if self.skip:
            if len(data) <= self.skip:
                self.skip -= len(data)
                return
            data = data[self.skip:]
            self.skip = 0
        buf = self.buf + data if self.buf else data
        pos = 0
        n = len(buf)
        while pos < n:
            if self.skip:
                step = min(self.skip, n - pos)
                pos += step
                self.skip -= step
                continue
            state = self.state
            if state == "magic":
                if n - pos < 4:
                    break
                magic = int.from_bytes(buf[pos:pos + 4], "little")
                if magic == 0xFD2FB528:
                    pos += 4
                    self.state = "frame_header"
                elif magic & ~0xF == _ZSTD_SKIPPABLE:
                    if n - pos < 8:
                        break
                    self.skip = int.from_bytes(buf[pos + 4:pos + 8], "little")
                    pos += 8
                    self.frames += 1
                else:
                    raise LayerError("zstd_trailing_garbage", f"bytes after zstd frame {self.frames} are not a zstd frame")
            elif state == "frame_header":
                fhd = buf[pos]
                fcs_flag, single, dict_flag = fhd >> 6, (fhd >> 5) & 1, fhd & 3
                self._checksum = bool((fhd >> 2) & 1)
                size = 1 + (0 if single else 1) + (0, 1, 2, 4)[dict_flag] + ((1 if single else 0), 2, 4, 8)[fcs_flag]
                if n - pos < size:
                    break
                pos += size
                self.state = "block"
            elif state == "block":
                if n - pos < 3:
                    break
                header = int.from_bytes(buf[pos:pos + 3], "little")
                pos += 3
                last, btype, bsize = header & 1, (header >> 1) & 3, header >> 3
                if btype == 3:
                    raise LayerError("zstd_corrupt", "reserved zstd block type")
                self.skip = 1 if btype == 1 else bsize
                if last:
                    self.state = "checksum" if self._checksum else "magic"
                    if not self._checksum:
                        self.frames += 1
            else:  # checksum
                self.skip = 4
                self.state = "magic"
                self.frames += 1
        self.buf = buf[pos:]


class _WalkingReader:
    """A file-like view of the blob for ``zstandard`` that also feeds the frame walker."""

    def __init__(self, reader: HashingReader, walker: _ZstdFrameWalker) -> None:
        self.reader, self.walker = reader, walker

    def read(self, n: int = IN_CHUNK) -> bytes:
        data = self.reader.read(n)
        if data:
            self.walker.feed(data)
        return data


def _unzstd(reader: HashingReader) -> Iterator[bytes]:
    walker = _ZstdFrameWalker()
    walking = _WalkingReader(reader, walker)
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
