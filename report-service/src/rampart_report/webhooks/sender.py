"""One HTTP POST to a checked destination: pinned address, timeouts, capped answer, no redirects.

Deliberately small (HTTP/1.1, ``Connection: close``): it connects to the address the URL
policy checked (TLS still verifies the certificate against the URL's host name), sends no
cookies or credentials, follows no redirect, and reads at most ``response_cap`` bytes of the
answer's body.
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
import time
from dataclasses import dataclass

from rampart_report.webhooks.urlguard import Destination

USER_AGENT = "Rampart-Webhooks/1"
MAX_HEAD_BYTES = 16 * 1024


@dataclass(frozen=True)
class Answer:
    """What came back; ``status`` 0 when nothing usable did (``error`` says what happened)."""

    status: int
    latency_ms: int
    body: str = ""
    error: str = ""
    retry_after: float | None = None
    location: str = ""


@dataclass(frozen=True)
class SenderLimits:
    connect_timeout: float = 5.0
    total_timeout: float = 10.0
    response_cap: int = 2048


def _request(destination: Destination, body: bytes, headers: dict[str, str]) -> bytes:
    url = destination.url
    lines = [
        f"POST {url.target} HTTP/1.1",
        f"Host: {url.host_header}",
        f"User-Agent: {USER_AGENT}",
        "Content-Type: application/json",
        f"Content-Length: {len(body)}",
        "Connection: close",
        *(f"{name}: {value}" for name, value in headers.items()),
    ]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


def _retry_after(value: str) -> float | None:
    value = value.strip()
    return float(value) if value.isdigit() else None


def _dechunk(raw: bytes) -> bytes:
    """Best effort on a body cut at the cap: the chunks that are there."""
    out = bytearray()
    while raw:
        size_line, _, rest = raw.partition(b"\r\n")
        try:
            size = int(size_line.split(b";", 1)[0], 16)
        except ValueError:
            break
        if size == 0:
            break
        out += rest[:size]
        raw = rest[size + 2 :]
    return bytes(out)


class Sender:
    """Posts a body to a destination; ``tls`` is the client context (tests add their own CA)."""

    def __init__(self, limits: SenderLimits, tls: ssl.SSLContext | None = None) -> None:
        self._limits = limits
        self._tls = tls or ssl.create_default_context()

    async def post(self, destination: Destination, body: bytes, headers: dict[str, str]) -> Answer:
        started = time.monotonic()
        try:
            async with asyncio.timeout(self._limits.total_timeout):
                return await self._exchange(destination, body, headers, started)
        except TimeoutError:
            return Answer(0, _ms(started), error="timed out")
        except (OSError, ssl.SSLError, asyncio.IncompleteReadError, ValueError) as error:
            return Answer(0, _ms(started), error=f"connection failed: {type(error).__name__}")

    async def _exchange(
        self, destination: Destination, body: bytes, headers: dict[str, str], started: float
    ) -> Answer:
        secure = destination.url.scheme == "https"
        async with asyncio.timeout(self._limits.connect_timeout):
            reader, writer = await asyncio.open_connection(
                str(destination.address),
                destination.url.port,
                ssl=self._tls if secure else None,
                server_hostname=destination.url.host if secure else None,
                limit=MAX_HEAD_BYTES,
            )
        try:
            writer.write(_request(destination, body, headers))
            await writer.drain()
            head = await reader.readuntil(b"\r\n\r\n")
            status, fields = _parse_head(head)
            cap = self._limits.response_cap
            length = fields.get("content-length", "")
            if length.isdigit():
                cap = min(cap, int(length))  # a server keeping the connection open is not waited for
            raw = b""
            while len(raw) < cap:
                chunk = await reader.read(cap - len(raw))
                if not chunk:
                    break
                raw += chunk
            if fields.get("transfer-encoding", "").lower() == "chunked":
                raw = _dechunk(raw)
            text = raw[:cap].decode("utf-8", errors="replace")
            return Answer(
                status,
                _ms(started),
                body=text,
                retry_after=_retry_after(fields.get("retry-after", "")),
                location=fields.get("location", ""),
            )
        finally:
            writer.close()
            with contextlib.suppress(OSError, ssl.SSLError):
                await writer.wait_closed()


def _parse_head(head: bytes) -> tuple[int, dict[str, str]]:
    lines = head.decode("latin-1").split("\r\n")
    parts = lines[0].split(" ", 2)
    if len(parts) < 2 or not parts[0].startswith("HTTP/1.") or not parts[1].isdigit():
        raise ValueError("not an HTTP/1.x answer")
    fields: dict[str, str] = {}
    for line in lines[1:]:
        name, sep, value = line.partition(":")
        if sep:
            fields[name.strip().lower()] = value.strip()
    return int(parts[1]), fields


def _ms(started: float) -> int:
    return int((time.monotonic() - started) * 1000)
