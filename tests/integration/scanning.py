"""Helpers for scan tests: local targets, an SSE reader, and waiting for a scan to finish."""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import httpx2 as httpx

FINAL = ("completed", "failed", "cancelled", "timeout")


@dataclass
class Sse:
    id: int | None
    event: str
    data: dict[str, Any]


def read_sse(
    api: httpx.Client, path: str, headers: dict[str, str], limit: int | None = None, deadline: float = 60.0
) -> list[Sse]:
    """Read a stream until it ends (a terminal event closes it) or ``limit`` events arrived."""
    events: list[Sse] = []
    fields: dict[str, str] = {}
    with api.stream("GET", path, headers=headers, timeout=deadline) as reply:
        assert reply.status_code == 200, reply.read().decode()
        assert reply.headers["content-type"].startswith("text/event-stream")
        for line in reply.iter_lines():
            if line == "":
                if "event" in fields:
                    events.append(
                        Sse(
                            int(fields["id"]) if "id" in fields else None,
                            fields["event"],
                            json.loads(fields.get("data", "{}")),
                        )
                    )
                    if limit is not None and len(events) >= limit:
                        break
                fields = {}
            elif not line.startswith(":"):
                name, _, value = line.partition(":")
                fields[name] = value[1:] if value.startswith(" ") else value
    return events


def wait_for(
    api: httpx.Client,
    headers: dict[str, str],
    scan_id: str,
    statuses: tuple[str, ...] = FINAL,
    deadline: float = 60.0,
) -> dict[str, Any]:
    """Follow the scan's own event stream (one request, not a polling loop) to a status."""
    fields: dict[str, str] = {}
    with api.stream("GET", f"/api/v1/scans/{scan_id}/stream", headers=headers, timeout=deadline) as reply:
        assert reply.status_code == 200, reply.read().decode()
        for line in reply.iter_lines():
            if line == "" and "data" in fields:
                if json.loads(fields["data"]).get("status") in statuses:
                    break
                fields = {}
            elif line and not line.startswith(":"):
                name, _, value = line.partition(":")
                fields[name] = value.lstrip(" ")
    scan: dict[str, Any] = api.get(f"/api/v1/scans/{scan_id}", headers=headers).json()["data"]
    return scan


@contextmanager
def silent_server() -> Iterator[int]:
    """Accepts connections and never says a word: service detection tries every probe (slow)."""
    server = socket.create_server(("127.0.0.1", 0))
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        server.settimeout(0.2)
        while not stop.is_set():
            try:
                conn, _ = server.accept()
                held.append(conn)
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield server.getsockname()[1]
    finally:
        stop.set()
        thread.join(2)
        for conn in held:
            conn.close()
        server.close()


@contextmanager
def http_server() -> Iterator[int]:
    """A small real HTTP server (the standard library's) on a free loopback port."""
    import http.server

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Quiet)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()


class BannerServer:
    """A TCP server on a free loopback port that greets with ``banner`` (changeable between scans).

    ``listening`` False: the port is bound without listening, so a scan finds it closed; ``listen()``
    opens it. Each connection gets the banner, and is closed after the client's first words or 2 s.
    """

    def __init__(self, banner: bytes, listening: bool = True) -> None:
        self.banner = banner
        self._server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._server.bind(("127.0.0.1", 0))
        self.port: int = self._server.getsockname()[1]
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        if listening:
            self.listen()

    def listen(self) -> None:
        self._server.listen(16)
        self._server.settimeout(0.2)
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._server.accept()
            except OSError:
                continue
            threading.Thread(target=self._greet, args=(conn,), daemon=True).start()

    def _greet(self, conn: socket.socket) -> None:
        with conn:
            try:
                conn.sendall(self.banner)
                conn.settimeout(2.0)
                conn.recv(4096)
            except OSError:
                pass

    def close(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(2)
        self._server.close()


@contextmanager
def banner_servers(*servers: BannerServer) -> Iterator[tuple[BannerServer, ...]]:
    try:
        yield servers
    finally:
        for server in servers:
            server.close()
