"""Scan targets: hostnames, IPv4 and IPv6 addresses, CIDR blocks (expanded up to a cap).

Every address is kept in its canonical form (an IPv4-mapped IPv6 address is the IPv4
address), so scope checks, self-exclusion and the engine all see the host it reaches.
Names are resolved concurrently within a per-request budget (how many names, how long).
"""

from __future__ import annotations

import asyncio
import ipaddress
import re
import socket
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from rampart.lib.errors import InvalidArgument
from rampart_scan.engine.addresses import IPAddress, canonical

LABEL = re.compile(r"^(?!-)[A-Za-z0-9-]{1,63}(?<!-)$")
# Resolves one name to its addresses; an empty list when the name does not exist.
Resolver = Callable[[str], Awaitable[list[IPAddress]]]


class InvalidTarget(InvalidArgument):
    public_code = "INVALID_TARGET"


class TargetUnresolvable(InvalidArgument):
    """A name that did not resolve (or not within the budget); ``names`` lists them."""

    public_code = "INVALID_TARGET"

    def __init__(self, message: str, names: list[str], **details: object) -> None:
        super().__init__(message, **details)
        self.names = names


@dataclass(frozen=True)
class ResolveBudget:
    """How much name resolution one request may cost."""

    max_names: int = 32
    seconds: float = 5.0


@dataclass(frozen=True)
class Host:
    """One address to scan, with the name the caller gave (for TLS hostname checks)."""

    address: IPAddress
    name: str = ""
    typed: str = field(default="", compare=False)  # the target as the caller wrote it

    def __post_init__(self) -> None:
        object.__setattr__(self, "address", canonical(self.address))

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
        return [Host(ipaddress.ip_address(text.strip("[]")), typed=text)]
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
        return [Host(address, typed=text) for address in hosts]
    if not is_hostname(text):
        raise InvalidTarget("target hostname is invalid", field="target", value=value)
    return text.rstrip(".").lower()


async def system_resolver(name: str) -> list[IPAddress]:
    """A and AAAA answers of the system resolver (getaddrinfo runs in the default executor)."""
    loop = asyncio.get_running_loop()
    try:
        infos = await loop.getaddrinfo(name, None, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError):
        return []
    return [ipaddress.ip_address(str(info[4][0]).split("%", 1)[0]) for info in infos]


async def resolve_all(
    names: list[str], resolver: Resolver = system_resolver, budget: ResolveBudget = ResolveBudget()
) -> dict[str, list[Host]]:
    """Resolve names concurrently within the budget; raise naming those that did not resolve."""
    unique = list(dict.fromkeys(names))
    if len(unique) > budget.max_names:
        raise InvalidTarget(
            f"at most {budget.max_names} hostnames per scan", field="targets", value=len(unique)
        )
    tasks = {name: asyncio.ensure_future(resolver(name)) for name in unique}
    if tasks:
        await asyncio.wait(tasks.values(), timeout=budget.seconds)
    found: dict[str, list[Host]] = {}
    missing: list[str] = []
    for name, task in tasks.items():
        if not task.done():
            task.cancel()
        addresses = task.result() if task.done() and not task.cancelled() and not task.exception() else []
        if not addresses:
            missing.append(name)
        found[name] = [Host(address, name, name) for address in dict.fromkeys(map(canonical, addresses))]
    if missing:
        raise TargetUnresolvable(f"{missing[0]} does not resolve", missing, field="target", value=missing[0])
    return found


async def expand_targets(
    values: list[str],
    max_hosts: int,
    resolver: Resolver = system_resolver,
    budget: ResolveBudget = ResolveBudget(),
) -> list[Host]:
    """All hosts of all targets, capped at ``max_hosts`` in total."""
    parsed = [parse_target(value, max_hosts) for value in values]
    literal = sum(len(found) for found in parsed if isinstance(found, list))
    if literal > max_hosts:
        raise InvalidTarget(f"targets expand to more than {max_hosts} hosts", field="targets", value=literal)
    resolved = await resolve_all([p for p in parsed if isinstance(p, str)], resolver, budget)
    hosts: dict[tuple[IPAddress, str], Host] = {}
    for found in parsed:
        for host in resolved[found] if isinstance(found, str) else found:
            hosts.setdefault((host.address, host.name), host)
        if len(hosts) > max_hosts:
            raise InvalidTarget(
                f"targets expand to more than {max_hosts} hosts", field="targets", value=len(hosts)
            )
    return list(hosts.values())
