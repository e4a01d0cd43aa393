"""RDP (MS-RDPBCGR 2.2.1.2): the X.224 Connection Confirm and its negotiation response."""

from __future__ import annotations

import struct

CONNECTION_CONFIRM = 0xD0
NEG_RESPONSE, NEG_FAILURE = 0x02, 0x03
PROTOCOLS = {0: "rdp", 1: "ssl", 2: "hybrid", 4: "rdstls", 8: "hybrid-ex", 16: "rdsaad"}
FAILURES = {
    1: "ssl-required",
    2: "ssl-not-allowed",
    3: "cert-not-on-server",
    4: "bad-flags",
    5: "hybrid-required",
}


def parse(data: bytes) -> str | None:
    """``rdp x224-confirm selected=ssl flags=0x1f`` (or ``failure=...``, or no negotiation)."""
    if len(data) < 11 or data[:2] != b"\x03\x00":  # TPKT version 3
        return None
    length = int.from_bytes(data[2:4], "big")
    tpdu = data[4:length]
    if len(tpdu) < 7 or tpdu[1] & 0xF0 != CONNECTION_CONFIRM:
        return None
    source_ref = int.from_bytes(tpdu[4:6], "big")
    line = f"rdp x224-confirm source-ref={source_ref:#06x}"
    negotiation = tpdu[7:]
    if len(negotiation) >= 8:
        kind, flags, _, value = struct.unpack("<BBHI", negotiation[:8])
        if kind == NEG_RESPONSE:
            line += f" selected={PROTOCOLS.get(value, hex(value))} flags={flags:#04x}"
        elif kind == NEG_FAILURE:
            line += f" failure={FAILURES.get(value, hex(value))}"
    return line
