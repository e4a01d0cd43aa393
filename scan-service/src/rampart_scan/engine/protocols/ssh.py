"""SSH: the server's SSH_MSG_KEXINIT (RFC 4253 §7.1), read after the version exchange, never answered."""

from __future__ import annotations

import struct

CLIENT_VERSION = b"SSH-2.0-rampart_scan\r\n"
MAX_PACKET = 35000  # RFC 4253 §6.1: the largest packet an implementation must accept
MSG_KEXINIT = 20
# The first name-lists of KEXINIT, in order, and the fact each one becomes.
NAME_LISTS = ("ssh.kex", "ssh.hostkey", "ssh.ciphers", "", "ssh.macs")


def kexinit_packet(data: bytes) -> bytes | None:
    """The KEXINIT payload once ``data`` (the server's bytes) holds it; None while incomplete."""
    end = _version_end(data)
    if end is None or len(data) < end + 5:
        return None
    length, padding = struct.unpack_from(">IB", data, end)
    if not 0 < length <= MAX_PACKET or padding >= length:
        raise ValueError("not an SSH binary packet")
    if len(data) < end + 4 + length:
        return None
    return data[end + 5 : end + 4 + length - padding]


def _version_end(data: bytes) -> int | None:
    """Where the binary protocol starts: after the ``SSH-`` line (lines before it are allowed)."""
    start = 0
    while True:
        newline = data.find(b"\n", start)
        if newline < 0:
            return None
        if data.startswith(b"SSH-", start):
            return newline + 1
        start = newline + 1


def parse_kexinit(payload: bytes) -> dict[str, str]:
    """Facts from a KEXINIT payload: key exchange, host key, client-to-server cipher and MAC lists."""
    if not payload or payload[0] != MSG_KEXINIT:
        raise ValueError("not SSH_MSG_KEXINIT")
    facts, offset = {}, 17  # message number and the 16-byte cookie
    for key in NAME_LISTS:
        if offset + 4 > len(payload):
            raise ValueError("KEXINIT truncated")
        (size,) = struct.unpack_from(">I", payload, offset)
        names = payload[offset + 4 : offset + 4 + size]
        if len(names) != size:
            raise ValueError("KEXINIT truncated")
        if key:
            facts[key] = names.decode("ascii", "replace")
        offset += 4 + size
    return facts
