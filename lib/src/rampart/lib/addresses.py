"""What an address really reaches: IPv4 spelt as IPv6, translated forms, and global reach.

Shared by scan-service (scope checks, self-exclusion) and report-service (webhook URLs).
An IPv6 address can carry an IPv4 address that the packets end up at: IPv4-mapped
(``::ffff:0:0/96``) and IPv4-compatible (``::/96``) addresses are IPv4 itself for a dual-stack
socket; NAT64 (``64:ff9b::/96``), 6to4 (``2002::/16``) and Teredo (``2001::/32``) are
translated or tunnelled to the embedded IPv4 host. Every scope and self-exclusion check looks
at all of these forms, and the engine connects to the IPv4 address for mapped ones.
"""

from __future__ import annotations

import ipaddress

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

NAT64 = ipaddress.IPv6Network("64:ff9b::/96")
COMPATIBLE = ipaddress.IPv6Network("::/96")
GLOBAL_UNICAST = ipaddress.IPv6Network("2000::/3")

# Not globally routable (IANA special-purpose registries): a name admitted by allow_domains may
# not resolve into these; an operator who means it lists the network under ``allow``.
NON_GLOBAL = tuple(
    ipaddress.ip_network(block)
    for block in (
        "0.0.0.0/8",  # "this network"
        "10.0.0.0/8",  # private
        "100.64.0.0/10",  # carrier-grade NAT
        "127.0.0.0/8",  # loopback
        "169.254.0.0/16",  # link-local
        "172.16.0.0/12",  # private
        "192.0.0.0/24",  # IETF protocol assignments
        "192.0.2.0/24",  # documentation (TEST-NET-1)
        "192.88.99.0/24",  # 6to4 relay anycast (deprecated)
        "192.168.0.0/16",  # private
        "198.18.0.0/15",  # benchmarking
        "198.51.100.0/24",  # documentation (TEST-NET-2)
        "203.0.113.0/24",  # documentation (TEST-NET-3)
        "224.0.0.0/4",  # multicast
        "240.0.0.0/4",  # reserved, and the limited broadcast
        "::/128",  # unspecified
        "::1/128",  # loopback
        "64:ff9b:1::/48",  # local-use NAT64
        "100::/64",  # discard-only
        "2001::/23",  # IETF protocol assignments, Teredo included
        "2001:db8::/32",  # documentation
        "3fff::/20",  # documentation
        "5f00::/16",  # SRv6 SIDs
        "fc00::/7",  # unique local
        "fe80::/10",  # link-local
        "fec0::/10",  # site-local (deprecated)
        "ff00::/8",  # multicast
    )
)


def canonical(address: IPAddress) -> IPAddress:
    """The IPv4 address a mapped or compatible IPv6 spelling is; any other address itself."""
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return address.ipv4_mapped
        if address in COMPATIBLE and int(address) > 1:  # ::a.b.c.d, but not :: or ::1
            return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return address


def embedded(address: IPAddress) -> tuple[ipaddress.IPv4Address, ...]:
    """IPv4 addresses an IPv6 address translates or tunnels to (NAT64, 6to4, Teredo)."""
    if isinstance(address, ipaddress.IPv4Address):
        return ()
    if address in NAT64:
        return (ipaddress.IPv4Address(int(address) & 0xFFFFFFFF),)
    if address.sixtofour is not None:
        return (address.sixtofour,)
    if address.teredo is not None:
        server, client = address.teredo
        return (client, server)
    return ()


def forms(address: IPAddress) -> tuple[IPAddress, ...]:
    """The address as reached (canonical) and every IPv4 address it embeds: all must pass."""
    reached = canonical(address)
    return (reached, *embedded(reached))


def is_global(address: IPAddress) -> bool:
    """Globally routable: outside every special-purpose block (IPv6: inside 2000::/3 or NAT64)."""
    address = canonical(address)
    if any(address in network for network in NON_GLOBAL):
        return False
    if isinstance(address, ipaddress.IPv6Address):
        return address in GLOBAL_UNICAST or address in NAT64
    return True
