"""Layered decoding of a payload (base64, hex, URL-encoding, gzip/zlib, PowerShell
``-EncodedCommand``), bounded in depth, count and bytes so that hostile input cannot blow up.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import re
import zlib
from collections import deque
from dataclasses import dataclass
from urllib.parse import unquote_to_bytes

BASE64_RUN = re.compile(rb"[A-Za-z0-9+/]{24,}={0,2}|[A-Za-z0-9_-]{24,}={0,2}")
HEX_RUN = re.compile(rb"(?:[0-9a-fA-F]{2}){12,}")
ESCAPED_HEX = re.compile(rb"(?:\\x[0-9a-fA-F]{2}){6,}")
PERCENT = re.compile(rb"%[0-9a-fA-F]{2}")
ENCODED_COMMAND = re.compile(rb"(?i)-e(?:nc|ncodedcommand|ncodedc|c)?\s+([A-Za-z0-9+/]{16,}={0,2})")
RUNS_PER_LAYER = 8


@dataclass(frozen=True)
class Budget:
    depth: int  # layers of decoding below the payload
    layers: int  # decoded texts at most
    total_bytes: int  # decoded bytes at most, all layers together
    inflate_bytes: int  # one decompression's output at most


@dataclass(frozen=True)
class Layer:
    """One decoded form of the payload and how it was reached (``base64 > gzip``)."""

    path: str
    data: bytes
    depth: int


@dataclass
class Decoded:
    layers: list[Layer]
    limits: list[str]
    bomb: str = ""  # a decompression that hit its bound


def decode_layers(payload: bytes, budget: Budget) -> Decoded:
    """The payload and every layer decoded from it, breadth first, within ``budget``."""
    out = Decoded([Layer("payload", payload, 0)], [])
    queue = deque(out.layers)
    seen = {payload}
    spent = 0
    while queue:
        layer = queue.popleft()
        if layer.depth >= budget.depth:
            if _decodable(layer.data):
                out.limits.append(f"decoding stopped at depth {budget.depth}")
            continue
        for how, data in _children(layer.data, budget, out):
            if data in seen or len(data) < 4:
                continue
            if len(out.layers) >= budget.layers or spent + len(data) > budget.total_bytes:
                out.limits.append(f"decoding stopped at {len(out.layers)} layers / {spent} bytes")
                return out
            seen.add(data)
            spent += len(data)
            child = Layer(f"{layer.path} > {how}", data, layer.depth + 1)
            out.layers.append(child)
            queue.append(child)
    return out


def _decodable(data: bytes) -> bool:
    return bool(BASE64_RUN.search(data[:4096]) or data[:2] == b"\x1f\x8b")


def _children(data: bytes, budget: Budget, out: Decoded) -> list[tuple[str, bytes]]:
    found: list[tuple[str, bytes]] = []
    inflated = _inflate(data, budget.inflate_bytes, out)
    if inflated is not None:
        found.append(inflated)
        return found  # compressed bytes hold nothing else worth decoding
    for match in ENCODED_COMMAND.finditer(data, 0, 65536):
        decoded = _b64(match.group(1))
        if decoded is not None:
            with contextlib.suppress(UnicodeDecodeError):
                found.append(("powershell-encodedcommand", decoded.decode("utf-16-le").encode()))
    if PERCENT.search(data):
        found.append(("url-encoding", unquote_to_bytes(data.replace(b"+", b" "))))
    for run in _runs(ESCAPED_HEX, data):
        found.append(("hex-escapes", binascii.unhexlify(run.replace(b"\\x", b""))))
    for run in _runs(HEX_RUN, data):
        found.append(("hex", binascii.unhexlify(run)))
    for run in _runs(BASE64_RUN, data):
        decoded = _b64(run)
        if decoded is not None and _meaningful(decoded):
            found.append(("base64", decoded))
    return found


def _runs(pattern: re.Pattern[bytes], data: bytes) -> list[bytes]:
    runs = []
    for match in pattern.finditer(data):
        runs.append(match.group(0))
        if len(runs) >= RUNS_PER_LAYER:
            break
    return runs


def _b64(run: bytes) -> bytes | None:
    text = run.rstrip(b"=")
    text += b"=" * (-len(text) % 4)
    try:
        if b"-" in text or b"_" in text:
            return base64.urlsafe_b64decode(text)
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        return None


def _meaningful(data: bytes) -> bool:
    """Decoded bytes worth another look: mostly printable text, or compressed data."""
    if data[:2] == b"\x1f\x8b" or data[:1] == b"\x78":
        return True
    sample = data[:512]
    printable = sum(32 <= b < 127 or b in (9, 10, 13) for b in sample)
    if printable / max(1, len(sample)) >= 0.85:
        return True
    return len(sample) > 1 and sample[1::2].count(0) >= len(sample) // 2 * 0.9  # UTF-16LE text


def _inflate(data: bytes, limit: int, out: Decoded) -> tuple[str, bytes] | None:
    """gzip or zlib data, decompressed to at most ``limit`` bytes (a zip bomb stops there)."""
    if data[:2] == b"\x1f\x8b":
        how, wbits = "gzip", 31
    elif len(data) > 2 and data[0] == 0x78 and (data[0] * 256 + data[1]) % 31 == 0:
        how, wbits = "zlib", 15
    else:
        return None
    inflater = zlib.decompressobj(wbits)
    try:
        inflated = inflater.decompress(data, limit)
    except zlib.error:
        return None
    if inflater.unconsumed_tail:
        ratio = limit / max(1, len(data) - len(inflater.unconsumed_tail))
        out.bomb = f"{how} stream expands past {limit} bytes (ratio over {ratio:.0f}:1)"
        out.limits.append(f"decompression stopped at {limit} bytes")
    return how, inflated
