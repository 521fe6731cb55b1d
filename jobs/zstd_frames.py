"""zstd frame boundaries from the compressed bytes, so ``jobs.decompress`` can tell a complete stream from a truncated one."""
from __future__ import annotations

from typing import BinaryIO

from common.errors import LayerError

ZSTD_SKIPPABLE = 0x184D2A50  # ..5F: skippable frames (zstd:chunked puts its table of contents there)


class ZstdFrameWalker:
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
                elif magic & ~0xF == ZSTD_SKIPPABLE:
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


class WalkingReader:
    """A file-like view of the blob for ``zstandard`` that also feeds the frame walker."""

    def __init__(self, reader: BinaryIO, walker: ZstdFrameWalker) -> None:
        self.reader, self.walker = reader, walker

    def read(self, n: int) -> bytes:
        data = self.reader.read(n)
        if data:
            self.walker.feed(data)
        return data
