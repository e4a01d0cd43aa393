"""Scan targets: hostnames, IPv4 and IPv6 addresses, CIDR blocks (expanded up to a cap)."""

from __future__ import annotations

import asyncio
import ipaddress
import re
import socket
from dataclasses import dataclass

from rampart.lib.errors import InvalidArgument

LABEL = re.compile(r"^(?!-)[A-Za-z0-9-]{1,63}(?<!-)$")
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


class InvalidTarget(InvalidArgument):
    public_code = "INVALID_TARGET"


class TargetUnresolvable(InvalidArgument):
    public_code = "INVALID_TARGET"


@dataclass(frozen=True)
class Host:
    """One address to scan, with the name the caller gave (for TLS hostname checks)."""

    address: IPAddress
    name: str = ""

    @property
    def family(self) -> socket.AddressFamily:
        return socket.AF_INET6 if self.address.version == 6 else socket.AF_INET

    @property
    def label(self) -> str:
        return self.name or str(self.address)


def is_hostname(value: str) -> bool:
    name = value[:-1] if value.endswith(".") else value
    return 0 < len(name) <= 253 and all(LABEL.match(label) for label in name.split("."))


def parse_target(value: str, max_hosts: int) -> list[Host] | str:
    """Addresses for an IP or CIDR; the name itself (to resolve) for a hostname."""
    text = value.strip()
    try:
        return [Host(ipaddress.ip_address(text.strip("[]")))]
    except ValueError:
        pass
    if "/" in text:
        try:
            network = ipaddress.ip_network(text, strict=False)
        except ValueError:
            raise InvalidTarget("target is not a valid CIDR block", field="target", value=value) from None
        if network.num_addresses > max_hosts:
            raise InvalidTarget(
                f"{text} holds {network.num_addresses} addresses; the limit is {max_hosts}",
                field="target",
                value=value,
            )
        hosts: list[IPAddress] = list(network.hosts()) if network.num_addresses > 2 else list(network)
        return [Host(address) for address in hosts]
    if not is_hostname(text):
        raise InvalidTarget("target hostname is invalid", field="target", value=value)
    return text.rstrip(".").lower()


async def resolve(name: str) -> list[Host]:
    """Every address a name resolves to (A and AAAA), in resolver order, without duplicates."""
    loop = asyncio.get_running_loop()
    try:
        infos = await loop.getaddrinfo(name, None, type=socket.SOCK_STREAM)
    except socket.gaierror:
        raise TargetUnresolvable(f"{name} does not resolve", field="target", value=name) from None
    addresses = dict.fromkeys(ipaddress.ip_address(info[4][0]) for info in infos)
    return [Host(address, name) for address in addresses]


async def expand_targets(values: list[str], max_hosts: int) -> list[Host]:
    """All hosts of all targets, capped at ``max_hosts`` in total."""
    hosts: dict[tuple[IPAddress, str], Host] = {}
    for value in values:
        parsed = parse_target(value, max_hosts)
        found = await resolve(parsed) if isinstance(parsed, str) else parsed
        for host in found:
            hosts[(host.address, host.name)] = host
        if len(hosts) > max_hosts:
            raise InvalidTarget(
                f"targets expand to more than {max_hosts} hosts", field="targets", value=len(hosts)
            )
    return list(hosts.values())
