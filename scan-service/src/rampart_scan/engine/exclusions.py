"""The platform never scans itself: its own endpoints, and a worker's own listeners anywhere.

PLATFORM_ENDPOINTS names (address, port) pairs. A worker also leaves out every port it listens
on (its metrics port, say, on 0.0.0.0:9100) on every address of its own machine: a listener on
a wildcard address answers on all of them, and 127.0.0.0/8 always reaches the machine itself.
Addresses are compared in all their forms, so ``::ffff:7f00:1`` is 127.0.0.1.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from rampart_scan.engine.addresses import IPAddress, canonical, forms

LISTEN = "0A"  # TCP_LISTEN in /proc/net/tcp


def is_local_address(address: IPAddress) -> bool:
    """An address of this machine: binding to it works (no packet is sent)."""
    address = canonical(address)
    family = socket.AF_INET6 if address.version == 6 else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        try:
            sock.bind((str(address), 0))
        except OSError:
            return False
    return True


def own_listening_ports(proc: Path = Path("/proc/self")) -> frozenset[int]:
    """TCP ports this process listens on (Linux /proc); empty where /proc is not available."""
    inodes = set()
    try:
        descriptors = list((proc / "fd").iterdir())
    except OSError:
        return frozenset()
    for descriptor in descriptors:
        try:
            target = os.readlink(descriptor)
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(target[len("socket:[") : -1])
    ports = set()
    for table in ("tcp", "tcp6"):
        try:
            lines = (proc / "net" / table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            if len(fields) > 9 and fields[3] == LISTEN and fields[9] in inodes:
                ports.add(int(fields[1].rsplit(":", 1)[1], 16))
    return frozenset(ports)


@dataclass(frozen=True)
class Exclusions:
    """(address, port) pairs a scan leaves out."""

    endpoints: frozenset[tuple[IPAddress, int]] = frozenset()
    local_ports: frozenset[int] = frozenset()  # own listeners: left out on every local address
    is_local: Callable[[IPAddress], bool] = field(default=is_local_address, compare=False)

    def ports_of(self, address: IPAddress) -> frozenset[int]:
        every = forms(address)
        ports = {port for endpoint, port in self.endpoints if canonical(endpoint) in every}
        if self.local_ports and any(self.is_local(form) for form in every):
            ports |= self.local_ports
        return frozenset(ports)

    def listed(self, addresses: Iterable[IPAddress], ports: Iterable[int]) -> list[str]:
        """The excluded endpoints among these, as ``address:port`` (``[v6]:port``) strings."""
        wanted = set(ports)
        found = set()
        for address in set(map(canonical, addresses)):
            shown = f"[{address}]" if address.version == 6 else str(address)
            found |= {(shown, port) for port in self.ports_of(address) & wanted}
        return [f"{shown}:{port}" for shown, port in sorted(found)]


NO_EXCLUSIONS = Exclusions()
