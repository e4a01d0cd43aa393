"""A real HTTP receiver for webhook tests on 127.0.0.1: records each request, answers from a script."""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass(frozen=True)
class Received:
    path: str
    headers: dict[str, str]
    body: bytes
    at: float = 0.0  # time.monotonic() when it arrived


@dataclass
class Reply:
    status: int = 200
    body: bytes = b"ok"
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0  # seconds before answering


class Receiver:
    """A real HTTP server on 127.0.0.1: records each request, answers from a script (then 200)."""

    def __init__(self) -> None:
        self.received: list[Received] = []
        self.script: queue.Queue[Reply] = queue.Queue()
        self.default = Reply()  # the answer once the script is used up
        self.port = 0

    def then(self, *replies: Reply) -> Receiver:
        for reply in replies:
            self.script.put(reply)
        return self

    def url(self, path: str = "/hook") -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def handler(self) -> type[BaseHTTPRequestHandler]:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                receiver.received.append(
                    Received(self.path, dict(self.headers.items()), body, time.monotonic())
                )
                try:
                    reply = receiver.script.get_nowait()
                except queue.Empty:
                    reply = receiver.default
                if reply.delay:
                    time.sleep(reply.delay)
                try:
                    self.send_response(reply.status)
                    for name, value in reply.headers.items():
                        self.send_header(name, value)
                    self.send_header("Content-Length", str(len(reply.body)))
                    self.end_headers()
                    self.wfile.write(reply.body)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the sender gave up (timeout) before the answer

            def log_message(self, format: str, *args: object) -> None:
                pass

        return Handler


@contextmanager
def receiving(receiver: Receiver | None = None, wrap=None) -> Iterator[Receiver]:  # type: ignore[no-untyped-def]
    """Serve ``receiver`` on a free loopback port for the block (``wrap`` adds TLS to the socket)."""
    receiver = receiver or Receiver()
    server = ThreadingHTTPServer(("127.0.0.1", 0), receiver.handler())
    if wrap is not None:
        server.socket = wrap(server.socket)
    receiver.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield receiver
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
