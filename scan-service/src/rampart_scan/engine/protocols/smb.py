"""SMB (MS-SMB2 2.2.4): the server's NEGOTIATE response, over direct TCP (NetBIOS framing)."""

from __future__ import annotations

import struct
import uuid

SMB2, SMB1 = b"\xfeSMB", b"\xffSMB"
DIALECTS = {0x0202: "2.0.2", 0x0210: "2.1", 0x0300: "3.0", 0x0302: "3.0.2", 0x0311: "3.1.1", 0x02FF: "2.x"}
SIGNING_REQUIRED = 0x02


def parse(data: bytes) -> str | None:
    """``smb2 negotiate dialect=3.1.1 signing=required guid=...`` (or ``smb1 negotiate``)."""
    if len(data) < 8 or data[0] != 0:  # a NetBIOS session message carries the SMB packet
        return None
    packet = data[4 : 4 + int.from_bytes(data[1:4], "big")]
    if packet.startswith(SMB1):
        return "smb1 negotiate"
    if not packet.startswith(SMB2) or len(packet) < 64 + 24:
        return None
    (status,) = struct.unpack_from("<I", packet, 8)
    (command,) = struct.unpack_from("<H", packet, 12)
    if command != 0:
        return None
    if status != 0:
        return f"smb2 negotiate status={status:#010x}"
    security_mode, dialect = struct.unpack_from("<HH", packet, 64 + 2)
    guid = uuid.UUID(bytes_le=packet[64 + 8 : 64 + 24])
    signing = "required" if security_mode & SIGNING_REQUIRED else "enabled"
    name = DIALECTS.get(dialect, f"{dialect:#06x}")
    return f"smb2 negotiate dialect={name} signing={signing} guid={guid}"
