"""uvicorn's WebSocket protocol, made to answer a handshake it cannot parse.

When the upgrade request is malformed or too long (a request line over 8 KiB, e.g. a
9,000-character ``?ticket=``), the websockets library prepares an HTTP error answer
(414, 400, ...), but uvicorn's sans-I/O protocol never sends it: the client waits with the
connection held open. Here the prepared answer is written and the connection closed at once.
"""

from __future__ import annotations

from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol


class WebSocketProtocol(WebSocketsSansIOProtocol):
    """Sends the handshake refusal the websockets parser made, then closes."""

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        if not self.handshake_initiated and self.conn.handshake_exc is not None and not self.close_sent:
            self.close_sent = True
            self.transport.write(b"".join(self.conn.data_to_send()))
            self.transport.close()
