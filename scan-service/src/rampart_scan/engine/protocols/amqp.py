"""AMQP 0-9-1: the broker's Connection.Start (server properties: product, version, platform)."""

from __future__ import annotations

import struct

FRAME_METHOD, CONNECTION_START = 1, (10, 10)
HEADER = b"AMQP"


def _shortstr(data: bytes, offset: int) -> tuple[str, int]:
    length = data[offset]
    return data[offset + 1 : offset + 1 + length].decode("utf-8", "replace"), offset + 1 + length


def _longstr(data: bytes, offset: int) -> tuple[bytes, int]:
    (length,) = struct.unpack_from(">I", data, offset)
    return data[offset + 4 : offset + 4 + length], offset + 4 + length


def _table(data: bytes) -> list[tuple[str, str]]:
    """String, boolean and integer fields of a field table; nested tables are skipped."""
    fields, offset = [], 0
    while offset < len(data):
        name, offset = _shortstr(data, offset)
        kind = chr(data[offset])
        offset += 1
        if kind == "S":
            value, offset = _longstr(data, offset)
            fields.append((name, value.decode("utf-8", "replace")))
        elif kind in "Ft":
            if kind == "t":
                fields.append((name, str(bool(data[offset]))))
                offset += 1
            else:
                _, offset = _longstr(data, offset)
        elif kind in "IlT":
            size = 4 if kind == "I" else 8
            fields.append((name, str(int.from_bytes(data[offset : offset + size], "big", signed=True))))
            offset += size
        else:
            break  # a type we do not read: stop rather than misparse
    return fields


def parse(data: bytes) -> str | None:
    """``amqp 0-9-1 start`` with ``name=value`` per server property, or the broker's protocol header."""
    if data.startswith(HEADER) and len(data) >= 8:
        return f"amqp protocol-header {data[4]}-{data[5]}-{data[6]}-{data[7]}"
    if len(data) < 12 or data[0] != FRAME_METHOD:
        return None
    try:
        _, size = struct.unpack_from(">HI", data, 1)
        payload = data[7 : 7 + size]
        if struct.unpack_from(">HH", payload, 0) != CONNECTION_START:
            return None
        major, minor = payload[4], payload[5]
        table, offset = _longstr(payload, 6)
        mechanisms, _ = _longstr(payload, offset)
        lines = [f"amqp {major}-{minor} start", f"mechanisms={mechanisms.decode('latin-1')}"]
        lines += [f"{name}={value[:200]}" for name, value in _table(table)]
    except (struct.error, IndexError):
        return None
    return "\n".join(lines)
