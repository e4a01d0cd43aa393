"""Who the client is behind a proxy: X-Forwarded-For is believed only from TRUSTED_PROXIES.

The TCP peer is the client unless it is a trusted proxy. Then X-Forwarded-For is walked
from right to left (each proxy appends the address it received the request from) past
every trusted hop; the first untrusted address is the client. Entries a client wrote
itself sit further left and are never reached. An entry that is not an IP address ends
the walk at the last trusted hop, so junk can never choose an identity.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Sequence

from starlette.types import ASGIApp, Receive, Scope, Send

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network
MAX_HOPS = 32  # a longer chain is not ours: stop walking there
FORWARDED_SCHEMES = {"http": ("http", "ws"), "https": ("https", "wss")}


def parse_networks(text: str) -> tuple[Network, ...]:
    """``"10.0.0.0/8, 192.168.1.7"`` → networks; a bad entry fails at start with its text."""
    networks: list[Network] = []
    for item in text.split(","):
        if item.strip():
            try:
                networks.append(ipaddress.ip_network(item.strip(), strict=False))
            except ValueError:
                raise ValueError(f"TRUSTED_PROXIES: {item.strip()!r} is not a CIDR or address") from None
    return tuple(networks)


def parse_address(text: str) -> Address | None:
    """An address as a proxy writes it (``1.2.3.4``, ``1.2.3.4:80``, ``[::1]:80``, ``::1``)."""
    text = text.strip()
    if text.startswith("["):
        text = text[1 : text.find("]")] if "]" in text else ""
    elif text.count(":") == 1:
        text = text.partition(":")[0]
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def _trusted(address: Address, trusted: Sequence[Network]) -> bool:
    return any(address.version == net.version and address in net for net in trusted)


def client_address(peer: str, forwarded_for: Iterable[str], trusted: Sequence[Network]) -> str:
    """The client's address: the TCP peer, or the rightmost untrusted X-Forwarded-For hop."""
    hop = parse_address(peer)
    if hop is None or not trusted or not _trusted(hop, trusted):
        return peer
    entries = [entry for value in forwarded_for for entry in value.split(",")]
    for entry in reversed(entries[-MAX_HOPS:]):
        if not entry.strip():
            continue
        address = parse_address(entry)
        if address is None:
            break
        hop = address
        if not _trusted(hop, trusted):
            break
    return str(hop)


class TrustedProxyMiddleware:
    """Rewrites ``scope["client"]`` (and the scheme) from a trusted proxy's forwarding headers."""

    def __init__(self, app: ASGIApp, trusted: Sequence[Network] = ()) -> None:
        self.app = app
        self.trusted = tuple(trusted)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        peer = scope.get("client") if scope["type"] in ("http", "websocket") else None
        address = parse_address(peer[0]) if self.trusted and peer else None
        if peer and address is not None and _trusted(address, self.trusted):
            headers: list[tuple[bytes, bytes]] = scope.get("headers", [])
            forwarded = [v.decode("latin-1") for k, v in headers if k == b"x-forwarded-for"]
            scope = dict(scope, client=(client_address(peer[0], forwarded, self.trusted), peer[1]))
            protos = [v.decode("latin-1") for k, v in headers if k == b"x-forwarded-proto"]
            proto = protos[-1].split(",")[-1].strip().lower() if protos else ""
            if proto in FORWARDED_SCHEMES:
                http_scheme, ws_scheme = FORWARDED_SCHEMES[proto]
                scope["scheme"] = ws_scheme if scope["type"] == "websocket" else http_scheme
        await self.app(scope, receive, send)
