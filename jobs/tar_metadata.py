"""Tar metadata for ``jobs.tarstream``: PAX records applied through a table of handlers, and sparse maps.

A PAX extended header is a list of ``key=value`` records that override the ustar header's fields;
``PAX_HANDLERS`` maps each key hubscope understands to the one function that applies it to a
member's ``MemberFields`` (unknown keys are ignored, as POSIX says). Sparse files come in the old
GNU format (type ``S``, map in the header) and PAX 0.0/0.1 (map in records) and 1.0 (map at the
start of the data); each reader returns ``(offset, size)`` spans of the stored pieces.
"""
from __future__ import annotations

from typing import Callable, Optional

from common.errors import LayerError

BLOCK = 512
MAX_META_BYTES = 1 << 20  # a PAX record set or GNU long name larger than this is hostile, not a name
MAX_SPARSE_SPANS = 1 << 20  # a sparse map is metadata too: bounded like a name
_ZEROS = bytes(1 << 20)


def corrupt(message: str) -> LayerError:
    return LayerError("tar_header_corrupt", message)


def number(field: bytes) -> int:
    """A numeric header field: octal text, or GNU base-256 when the high bit of the first byte is set."""
    if field and field[0] & 0x80:
        if field[0] not in (0x80, 0xFF):
            raise corrupt(f"bad base-256 number {field!r}")
        value = int.from_bytes(field[1:], "big")
        return value - 256 ** (len(field) - 1) if field[0] == 0xFF else value
    text = field.split(b"\0", 1)[0].strip(b" ")
    if not text:
        return 0
    try:
        return int(text, 8)
    except ValueError:
        raise corrupt(f"bad octal number {field!r}") from None


class MemberFields:
    """A member's fields from its header, then overridden by its PAX records in order."""

    __slots__ = ("name", "linkname", "size", "uid", "gid", "mtime", "realsize", "sparse_spans", "sparse_major", "sparse_name")

    def __init__(self, name: bytes, linkname: bytes, size: int, uid: int, gid: int, mtime: int) -> None:
        self.name, self.linkname, self.size, self.uid, self.gid, self.mtime = name, linkname, size, uid, gid, mtime
        self.realsize: Optional[int] = None
        self.sparse_spans: Optional[list[list]] = None  # PAX 0.0/0.1 map: [offset, numbytes] pairs
        self.sparse_major: Optional[int] = None
        self.sparse_name: Optional[bytes] = None

    @property
    def sparse(self) -> bool:
        return self.realsize is not None or self.sparse_major is not None

    def apply(self, records: list[tuple[bytes, bytes]]) -> None:
        for key, value in records:
            handler = PAX_HANDLERS.get(key)
            if handler is not None:
                handler(self, value, key)
        if self.sparse_name is not None:
            self.name = self.sparse_name


def parse_pax(data: bytes) -> list[tuple[bytes, bytes]]:
    """PAX records ``"<len> <key>=<value>\\n"`` in order (order matters for PAX 0.0 sparse maps)."""
    records, pos, n = [], 0, len(data)
    while pos < n:
        if data[pos] == 0:  # some writers pad the record block with NULs
            break
        space = data.find(b" ", pos)
        if space < 0:
            raise corrupt("PAX record without a length")
        try:
            length = int(data[pos:space])
        except ValueError:
            raise corrupt(f"bad PAX record length {data[pos:space][:20]!r}") from None
        end = pos + length
        if length <= space - pos + 1 or end > n or data[end - 1] != 0x0A:
            raise corrupt("malformed PAX record")
        key, eq, value = data[space + 1 : end - 1].partition(b"=")
        if not eq:
            raise corrupt("PAX record without '='")
        records.append((key, value))
        pos = end
    return records


def _pax_int(value: bytes, key: bytes) -> int:
    try:
        return int(float(value)) if b"." in value else int(value)
    except ValueError:
        raise corrupt(f"bad PAX number for {key.decode('latin-1')}: {value[:40]!r}") from None


def _set(field: str) -> Callable[[MemberFields, bytes, bytes], None]:
    def handler(fields: MemberFields, value: bytes, key: bytes) -> None:
        setattr(fields, field, value)
    return handler


def _set_int(field: str) -> Callable[[MemberFields, bytes, bytes], None]:
    def handler(fields: MemberFields, value: bytes, key: bytes) -> None:
        setattr(fields, field, _pax_int(value, key))
    return handler


def _sparse_offset(fields: MemberFields, value: bytes, key: bytes) -> None:
    if fields.sparse_spans is None:
        fields.sparse_spans = []
    fields.sparse_spans.append([_pax_int(value, key), None])


def _sparse_numbytes(fields: MemberFields, value: bytes, key: bytes) -> None:
    if not fields.sparse_spans or fields.sparse_spans[-1][1] is not None:
        raise corrupt("PAX 0.0 sparse numbytes without offset")
    fields.sparse_spans[-1][1] = _pax_int(value, key)


def _sparse_map(fields: MemberFields, value: bytes, key: bytes) -> None:
    try:
        values = [int(v) for v in value.split(b",")] if value else []
    except ValueError:
        raise corrupt("bad GNU.sparse.map") from None
    fields.sparse_spans = [list(p) for p in zip(values[0::2], values[1::2])]


PAX_HANDLERS: dict[bytes, Callable[[MemberFields, bytes, bytes], None]] = {
    b"path": _set("name"),
    b"linkpath": _set("linkname"),
    b"size": _set_int("size"),
    b"uid": _set_int("uid"),
    b"gid": _set_int("gid"),
    b"mtime": _set_int("mtime"),
    b"GNU.sparse.size": _set_int("realsize"),  # PAX 0.0
    b"GNU.sparse.realsize": _set_int("realsize"),  # PAX 1.0
    b"GNU.sparse.name": _set("sparse_name"),
    b"GNU.sparse.major": _set_int("sparse_major"),
    b"GNU.sparse.offset": _sparse_offset,  # PAX 0.0: offset/numbytes records in turn
    b"GNU.sparse.numbytes": _sparse_numbytes,
    b"GNU.sparse.map": _sparse_map,  # PAX 0.1
}


def _hash_zeros(sink, n: int) -> None:
    while n > 0:
        take = min(n, len(_ZEROS))
        sink.update(memoryview(_ZEROS)[:take])
        n -= take


def gnu_sparse_map(header: bytes, inp) -> tuple[list[tuple[int, int]], int]:
    """Old GNU sparse (type ``S``): 4 map entries in the header, 21 more per extension block."""
    spans = []

    def entries(block: bytes, start: int, count: int) -> None:
        for i in range(count):
            field = block[start + i * 24 : start + i * 24 + 24]
            if not field[:12].strip(b"\0"):
                return
            spans.append((number(field[:12]), number(field[12:24])))

    entries(header, 386, 4)
    extended = header[482]
    while extended:
        block = inp.block()
        if block is None:
            raise LayerError("tar_truncated", "the tar ended inside a GNU sparse extension block")
        entries(block, 0, 21)
        extended = block[504]
        if len(spans) > MAX_SPARSE_SPANS:
            raise corrupt(f"GNU sparse map of more than {MAX_SPARSE_SPANS} pieces")
    return spans, number(header[483:495])


def pax10_sparse_map(inp) -> tuple[list[tuple[int, int]], int]:
    """PAX sparse 1.0: the map is decimal lines at the start of the data, padded to 512 bytes."""
    text = b""
    consumed = 0
    numbers: list[int] = []
    count = None
    while count is None or len(numbers) < 1 + 2 * count:
        block = inp.block()
        if block is None:
            raise LayerError("tar_truncated", "the tar ended inside a PAX 1.0 sparse map")
        consumed += BLOCK
        if consumed > MAX_META_BYTES:
            raise corrupt("PAX 1.0 sparse map too large")
        text += block
        *lines, text = text.split(b"\n")
        for line in lines:
            try:
                numbers.append(int(line))
            except ValueError:
                raise corrupt(f"bad PAX 1.0 sparse map line {line[:20]!r}") from None
            if count is None:
                count = numbers[0]
    values = numbers[1 : 1 + 2 * count]
    return list(zip(values[0::2], values[1::2])), consumed


def feed_sparse(inp, spans: list[tuple[int, int]], stored: int, realsize: int, sink) -> None:
    """Hash the logical content: stored pieces at their offsets, holes as zeros."""
    if sum(size for _, size in spans) != stored:
        raise corrupt(f"sparse map covers {sum(size for _, size in spans)} bytes, the member stores {stored}")
    cursor = 0
    for offset, size in spans:
        if offset < cursor or offset + size > realsize:
            raise corrupt("sparse map out of order or past the file's size")
        if sink is not None:
            _hash_zeros(sink, offset - cursor)
        inp.feed(size, sink)
        cursor = offset + size
    if sink is not None:
        _hash_zeros(sink, realsize - cursor)


