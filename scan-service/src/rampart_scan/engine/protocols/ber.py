"""A minimal BER (X.690) reader: enough to walk LDAP messages."""

from __future__ import annotations

from collections.abc import Iterator


def read(data: bytes, offset: int = 0) -> tuple[int, bytes, int]:
    """The tag, the contents and the offset after one TLV; ValueError when it runs short."""
    if offset + 2 > len(data):
        raise ValueError("short TLV")
    tag, length = data[offset], data[offset + 1]
    offset += 2
    if length & 0x80:
        size = length & 0x7F
        if size == 0 or size > 4 or offset + size > len(data):
            raise ValueError("bad length")
        length = int.from_bytes(data[offset : offset + size], "big")
        offset += size
    if offset + length > len(data):
        raise ValueError("short contents")
    return tag, data[offset : offset + length], offset + length


def items(data: bytes) -> Iterator[tuple[int, bytes]]:
    """Every TLV of a constructed value's contents, in order."""
    offset = 0
    while offset < len(data):
        tag, contents, offset = read(data, offset)
        yield tag, contents
