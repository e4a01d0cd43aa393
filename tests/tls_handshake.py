"""The server side of a TLS handshake for the test servers, on the plain socket.

``SSLContext.wrap_socket`` on an accepted connection the client already reset (the sweep closes an
open port with a reset) fails inside the wrap after taking over the descriptor, and the half-made
``SSLSocket`` is only closed by the garbage collector, as a ResourceWarning in whatever test runs
then. Driving the handshake through memory buffers keeps the socket ours to close.
"""

from __future__ import annotations

import contextlib
import socket
import ssl


def serve_handshake(context: ssl.SSLContext, conn: socket.socket, timeout: float = 0.5) -> None:
    """Complete (or fail) the handshake on ``conn``, wait for one byte or the timeout, close it."""
    incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
    tls = context.wrap_bio(incoming, outgoing, server_side=True)
    with conn, contextlib.suppress(TimeoutError, OSError, ssl.SSLError):
        conn.settimeout(timeout)
        while True:
            try:
                tls.do_handshake()
                break
            except ssl.SSLWantReadError:
                if outgoing.pending:
                    conn.sendall(outgoing.read())
                data = conn.recv(65536)
                if not data:
                    return
                incoming.write(data)
        if outgoing.pending:
            conn.sendall(outgoing.read())
        conn.recv(1)
