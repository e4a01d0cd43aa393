"""Which URLs a webhook may call, checked at creation and again before every delivery.

A webhook is a request the platform makes to an address a customer chose, so it is checked
like a scan target: the name is resolved and every address (in every form it reaches, see
``rampart.lib.addresses``) must be globally routable, unless it lies in the operator's
WEBHOOK_ALLOW_NETWORKS (off by default; tests and development list 127.0.0.0/8 there).
WEBHOOK_DENY_NETWORKS (e.g. the platform's own public addresses) wins over everything. The
delivery then connects to the address that was checked (``Destination.address``): there is no
second lookup a rebinding name could answer differently.

Also refused: any scheme but https (http only to allow-listed networks), credentials in the
URL, a fragment, and ports other than 443 unless in WEBHOOK_ALLOW_PORTS (any port is accepted
on an allow-listed network). Refusals tell the caller which rule, never which address.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote, urlsplit

import structlog

from rampart.lib.addresses import IPAddress, canonical, forms, is_global
from rampart_report.webhooks.domain import UrlNotAllowed, UrlUnresolvable

log = structlog.get_logger(__name__)

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
Resolver = Callable[[str, int], Awaitable[list[IPAddress]]]
MAX_URL_LENGTH = 2048
DEFAULT_PORTS = {"https": 443, "http": 80}
URL_SAFE = "/%:@!$&'()*+,;=-._~?"  # kept as written; anything else in path and query is percent-encoded


async def system_resolver(host: str, port: int) -> list[IPAddress]:
    """Every address the system resolver gives for ``host`` (TCP), in its order."""
    infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return [ipaddress.ip_address(str(info[4][0]).split("%", 1)[0]) for info in infos]


HOSTS_FILE = Path("/etc/hosts")


async def hosts_resolver(host: str, port: int, hosts_file: Path = HOSTS_FILE) -> list[IPAddress]:
    """Names from the hosts file only (WEBHOOK_RESOLVER=hosts): tests never send a DNS query."""
    found: list[IPAddress] = []
    text = await asyncio.to_thread(hosts_file.read_text)
    for line in text.splitlines():
        fields = line.split("#", 1)[0].split()
        if len(fields) > 1 and host in (name.lower().rstrip(".") for name in fields[1:]):
            found.append(ipaddress.ip_address(fields[0].split("%", 1)[0]))
    if not found:
        raise OSError(f"{host} is not in {hosts_file}")
    return found


@dataclass(frozen=True)
class ParsedUrl:
    scheme: str
    host: str  # lower case, IDNA-encoded, no brackets
    port: int
    target: str  # path and query, "/" when empty
    literal: IPAddress | None  # the host when it is an address

    @property
    def host_header(self) -> str:
        host = f"[{self.host}]" if isinstance(self.literal, ipaddress.IPv6Address) else self.host
        return host if self.port == DEFAULT_PORTS[self.scheme] else f"{host}:{self.port}"


@dataclass(frozen=True)
class Destination:
    """A checked URL and the address to connect to (its name is kept for TLS and Host)."""

    url: ParsedUrl
    address: IPAddress


def parse_url(url: str) -> ParsedUrl:
    """The URL's parts, or ``UrlNotAllowed`` for what no webhook may have, whatever it resolves to."""
    if len(url) > MAX_URL_LENGTH or any(ch.isspace() or ord(ch) < 32 for ch in url):
        raise refuse(url, "the URL is too long or has whitespace or control characters")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as error:
        raise refuse(url, "the URL cannot be read") from error
    scheme = parts.scheme.lower()
    if scheme not in DEFAULT_PORTS:
        raise refuse(url, "the URL must be https")
    if parts.username is not None or parts.password is not None or "@" in parts.netloc:
        raise refuse(url, "the URL must not carry credentials")
    if parts.fragment or url.endswith("#"):
        raise refuse(url, "the URL must not have a fragment")
    host = (parts.hostname or "").rstrip(".")
    if not host:
        raise refuse(url, "the URL has no host")
    try:
        literal: IPAddress | None = ipaddress.ip_address(host)
    except ValueError:
        literal = None
        try:
            host = host.encode("idna").decode("ascii").lower()
        except UnicodeError as error:
            raise refuse(url, "the host name is not valid") from error
    target = quote(parts.path or "/", safe=URL_SAFE)
    if parts.query:
        target += "?" + quote(parts.query, safe=URL_SAFE)
    return ParsedUrl(scheme, host, port or DEFAULT_PORTS[scheme], target, literal)


def refuse(url: str, reason: str, **detail: object) -> UrlNotAllowed:
    log.info("webhook url refused", reason=reason, **detail)
    return UrlNotAllowed(f"webhook URL refused: {reason}", field="url")


def unresolvable(error: str) -> UrlUnresolvable:
    log.info("webhook url refused", reason="the host name does not resolve", error=error)
    return UrlUnresolvable("webhook URL refused: the host name does not resolve", field="url")


@dataclass(frozen=True)
class UrlPolicy:
    """The operator's rules for webhook destinations (see the module docstring)."""

    allow_networks: tuple[Network, ...] = ()
    deny_networks: tuple[Network, ...] = ()
    allow_ports: frozenset[int] = frozenset({443})
    resolver: Resolver = system_resolver

    def _allowed(self, address: IPAddress) -> bool:
        return all(any(form in net for net in self.allow_networks) for form in forms(address))

    def _refusal(self, address: IPAddress) -> str:
        every = forms(address)
        if any(form in net for form in every for net in self.deny_networks):
            return "the host reaches a denied network"
        if self._allowed(address):
            return ""
        if not all(is_global(form) for form in every):
            return "the host reaches a loopback, private, link-local or other non-public address"
        return ""

    async def check(self, url: str) -> Destination:
        """Resolve and check every address; the destination pins the first one."""
        parsed = parse_url(url)
        if parsed.literal is not None:
            addresses = [parsed.literal]
        else:
            try:
                addresses = await self.resolver(parsed.host, parsed.port)
            except (OSError, UnicodeError) as error:
                raise unresolvable(str(error)) from error
            if not addresses:
                raise unresolvable("no address")
        for address in addresses:
            reason = self._refusal(address)
            if reason:
                raise refuse(url, reason, host=parsed.host, address=str(address))
        allow_listed = all(self._allowed(address) for address in addresses)
        if parsed.scheme != "https" and not allow_listed:
            raise refuse(url, "the URL must be https")
        if parsed.port not in self.allow_ports and parsed.port != 443 and not allow_listed:
            raise refuse(url, f"port {parsed.port} is not allowed (443 or WEBHOOK_ALLOW_PORTS)")
        return Destination(parsed, canonical(addresses[0]))
