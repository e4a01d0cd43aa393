"""DNS over TCP: the answer to a ``version.bind`` CHAOS TXT query (RFC 1035, RFC 7766)."""

from __future__ import annotations

import struct

QUERY_ID = 0x5241  # "RA", the id our probe sends
RCODES = {0: "NOERROR", 1: "FORMERR", 2: "SERVFAIL", 3: "NXDOMAIN", 4: "NOTIMP", 5: "REFUSED"}
TXT = 16


def _skip_name(message: bytes, offset: int) -> int:
    while offset < len(message):
        length = message[offset]
        if length == 0:
            return offset + 1
        if length & 0xC0 == 0xC0:  # a compression pointer ends the name
            return offset + 2
        offset += 1 + length
    raise ValueError("name runs past the message")


def _strings(rdata: bytes) -> str:
    parts, offset = [], 0
    while offset < len(rdata):
        length = rdata[offset]
        parts.append(rdata[offset + 1 : offset + 1 + length].decode("utf-8", "replace"))
        offset += 1 + length
    return "".join(parts)


def parse(data: bytes) -> str | None:
    """``dns rcode=NOERROR`` then one ``txt=...`` line per TXT answer."""
    if len(data) < 14:
        return None
    message = data[2 : 2 + int.from_bytes(data[:2], "big")]
    if len(message) < 12:
        return None
    ident, flags, questions, answers, _, _ = struct.unpack(">6H", message[:12])
    if ident != QUERY_ID or not flags & 0x8000:  # not the response to our query
        return None
    lines = [f"dns rcode={RCODES.get(flags & 0xF, str(flags & 0xF))}"]
    try:
        offset = 12
        for _ in range(questions):
            offset = _skip_name(message, offset) + 4
        for _ in range(answers):
            offset = _skip_name(message, offset)
            rtype, _, _, length = struct.unpack(">HHIH", message[offset : offset + 10])
            offset += 10
            if rtype == TXT:
                lines.append("txt=" + _strings(message[offset : offset + length]))
            offset += length
    except (ValueError, struct.error):
        lines.append("truncated")
    return "\n".join(lines)
