"""One short conversation with a service for the fact probes: bounded in time and in bytes."""

from __future__ import annotations

import asyncio
import contextlib
import ssl
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass

from rampart_scan.engine.connect import open_stream
from rampart_scan.engine.targets import Host
from rampart_scan.engine.tls import client_context

MAX_READ = 16 * 1024  # the size cap of service detection's replies


class Unanswered(Exception):
    """The service closed, went silent or said too much before answering what was asked."""


@dataclass(frozen=True)
class Endpoint:
    """Where a fact probe talks, inside TLS when the service was found there, and until when."""

    host: Host
    port: int
    tls: bool
    deadline: float  # time.monotonic() by which every exchange on this port is over

    def remaining(self) -> float:
        return self.deadline - time.monotonic()


class Session:
    """Send a line, read until a reply is complete; everything stops at the endpoint's deadline."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, deadline: float):
        self._reader, self._writer, self._deadline = reader, writer, deadline
        self.received = b""  # everything read so far, for observers that read the greeting first

    async def send(self, data: bytes) -> None:
        self._writer.write(data)
        await asyncio.wait_for(self._writer.drain(), timeout=max(0.01, self._deadline - time.monotonic()))

    async def read_until(self, complete: Callable[[bytes], bool], limit: int = MAX_READ) -> bytes:
        """Bytes from now on until ``complete`` says the reply is whole; Unanswered otherwise."""
        data = b""
        while not complete(data):
            remaining = self._deadline - time.monotonic()
            if remaining <= 0 or len(data) >= limit:
                raise Unanswered("no complete reply in time" if remaining <= 0 else "reply too long")
            try:
                chunk = await asyncio.wait_for(self._reader.read(4096), timeout=remaining)
            except TimeoutError as silent:
                raise Unanswered("silent") from silent
            if not chunk:
                if complete(data + b"\n"):  # a last line the server closed without ending
                    return data
                raise Unanswered("closed")
            data += chunk
            self.received += chunk
        return data

    async def line(self) -> bytes:
        return await self.read_until(lambda data: b"\n" in data)


@contextlib.asynccontextmanager
async def session(endpoint: Endpoint) -> AsyncIterator[Session]:
    """A connection to the endpoint (TLS when it speaks TLS); Unanswered when none can be made."""
    wait = endpoint.remaining()
    if wait <= 0:
        raise Unanswered("no time left on this port")
    try:
        reader, writer = await asyncio.wait_for(
            open_stream(
                endpoint.host,
                endpoint.port,
                ssl=client_context() if endpoint.tls else None,
                server_hostname=(endpoint.host.name or None) if endpoint.tls else None,
            ),
            timeout=wait,
        )
    except (OSError, TimeoutError, ssl.SSLError, ValueError) as failed:
        raise Unanswered(f"no connection: {failed!r}") from failed
    try:
        yield Session(reader, writer, endpoint.deadline)
    except (OSError, ssl.SSLError) as broken:
        raise Unanswered(f"connection broken: {broken!r}") from broken
    finally:
        writer.close()
        with contextlib.suppress(OSError, ssl.SSLError, TimeoutError):
            await asyncio.wait_for(writer.wait_closed(), timeout=0.5)


def lines_of(data: bytes) -> list[str]:
    return data.decode("latin-1").splitlines()


def final_reply(data: bytes) -> bool:
    """An FTP/SMTP reply is whole once a complete line reads ``NNN `` (a multi-line one ends so)."""
    whole = data[: data.rfind(b"\n") + 1]
    return any(line[:3].isdigit() and line[3:4] in (b" ", b"") for line in whole.splitlines())
