"""MongoDB OP_MSG (opcode 2013): build a command, read the reply document."""

from __future__ import annotations

import struct
from typing import Any

import bson
import bson.errors

OP_MSG = 2013
HEADER = struct.Struct("<iiii")  # messageLength, requestID, responseTo, opCode
MAX_REPLY = 64 * 1024  # listDatabases with names only; a refusal is a few hundred bytes
UNAUTHORIZED = 13  # the server's error code for a command that needs authentication


def op_msg(request_id: int, command: dict[str, Any]) -> bytes:
    body = struct.pack("<I", 0) + b"\x00" + bson.encode(command)  # flagBits, section kind 0 (body)
    return HEADER.pack(HEADER.size + len(body), request_id, 0, OP_MSG) + body


def reply_length(data: bytes) -> int | None:
    """The full length of the reply that ``data`` begins, once its header is in."""
    if len(data) < HEADER.size:
        return None
    return int(HEADER.unpack_from(data)[0])


def reply_document(data: bytes) -> dict[str, Any]:
    """The body document of a complete OP_MSG reply."""
    length, _request, _response_to, opcode = HEADER.unpack_from(data)
    if opcode != OP_MSG or len(data) < length or data[HEADER.size + 4] != 0:
        raise ValueError("not an OP_MSG reply")
    try:
        document: dict[str, Any] = bson.decode(data[HEADER.size + 5 : length])
    except bson.errors.BSONError as garbled:
        raise ValueError(f"not a BSON document: {garbled}") from garbled
    return document


def auth(reply: dict[str, Any]) -> str | None:
    """``none`` when listDatabases answered, ``required`` when refused as unauthorized."""
    if reply.get("ok") == 1:
        return "none"
    if reply.get("code") == UNAUTHORIZED or reply.get("codeName") == "Unauthorized":
        return "required"
    return None
