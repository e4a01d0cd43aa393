"""Stream connections for probes: IPv6 sockets are IPv6-only, so no IPv4 host is reached by them."""

from __future__ import annotations

import asyncio
import socket
import ssl as _ssl

from rampart_scan.engine.targets import Host


def new_socket(host: Host) -> socket.socket:
    """A non-blocking TCP socket for this host; AF_INET6 ones with IPV6_V6ONLY set."""
    sock = socket.socket(host.family, socket.SOCK_STREAM)
    try:
        if host.family == socket.AF_INET6:
            sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
        sock.setblocking(False)
    except OSError:
        sock.close()
        raise
    return sock


async def open_stream(
    host: Host, port: int, ssl: _ssl.SSLContext | None = None, server_hostname: str | None = None
) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    """``asyncio.open_connection`` to the checked address only, on a socket made by ``new_socket``."""
    sock = new_socket(host)
    try:
        await asyncio.get_running_loop().sock_connect(sock, (str(host.address), port))
    except BaseException:
        sock.close()
        raise
    # server_hostname "" sends no SNI, as connecting to an address literal does.
    name = (server_hostname or "") if ssl is not None else None
    return await asyncio.open_connection(sock=sock, ssl=ssl, server_hostname=name)
