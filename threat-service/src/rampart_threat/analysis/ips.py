"""Signals of an IP address: special-purpose ranges, and ASN/geo from MaxMind-format files."""

from __future__ import annotations

import ipaddress
from typing import Any, Protocol

from rampart_threat.analysis.domain import Findings

# IANA special-purpose registries (RFC 6890 and successors) and documentation ranges
# (RFC 5737, RFC 3849, RFC 9637). An address here is not a public host on the internet.
SPECIAL = (
    ("0.0.0.0/8", "this network (RFC 791)"),
    ("10.0.0.0/8", "private (RFC 1918)"),
    ("100.64.0.0/10", "carrier-grade NAT (RFC 6598)"),
    ("127.0.0.0/8", "loopback (RFC 1122)"),
    ("169.254.0.0/16", "link-local (RFC 3927)"),
    ("172.16.0.0/12", "private (RFC 1918)"),
    ("192.0.0.0/24", "IETF protocol assignments (RFC 6890)"),
    ("192.0.2.0/24", "documentation TEST-NET-1 (RFC 5737)"),
    ("192.88.99.0/24", "6to4 relay anycast, deprecated (RFC 7526)"),
    ("192.168.0.0/16", "private (RFC 1918)"),
    ("198.18.0.0/15", "benchmarking (RFC 2544)"),
    ("198.51.100.0/24", "documentation TEST-NET-2 (RFC 5737)"),
    ("203.0.113.0/24", "documentation TEST-NET-3 (RFC 5737)"),
    ("224.0.0.0/4", "multicast (RFC 5771)"),
    ("240.0.0.0/4", "reserved (RFC 1112)"),
    ("255.255.255.255/32", "limited broadcast (RFC 919)"),
    ("::/128", "unspecified (RFC 4291)"),
    ("::1/128", "loopback (RFC 4291)"),
    ("::ffff:0:0/96", "IPv4-mapped (RFC 4291)"),
    ("64:ff9b::/96", "IPv4/IPv6 translation (RFC 6052)"),
    ("100::/64", "discard-only (RFC 6666)"),
    ("2001:db8::/32", "documentation (RFC 3849)"),
    ("3fff::/20", "documentation (RFC 9637)"),
    ("fc00::/7", "unique local (RFC 4193)"),
    ("fe80::/10", "link-local (RFC 4291)"),
    ("ff00::/8", "multicast (RFC 4291)"),
)
RANGES = tuple((ipaddress.ip_network(cidr), why) for cidr, why in SPECIAL)


class GeoReader(Protocol):
    """What is used of ``maxminddb.Reader``: one record per address, or None."""

    def get(self, address: str) -> Any: ...


def special_range(address: str) -> str:
    """Why the address is not a public internet host, or ""."""
    ip = ipaddress.ip_address(address)
    for network, why in RANGES:
        if ip.version == network.version and ip in network:
            return f"{network} {why}"
    return ""


def analyze_ip(address: str, asn: GeoReader | None, city: GeoReader | None) -> Findings:
    found = Findings()
    why = special_range(address)
    if why:
        found.add("special_range", 0, f"{address} is in {why}: not a host on the internet")
        found.benign_evidence = True
        return found
    found.add("public_address", 0, f"{address} is a public address")
    if asn is not None:
        record = asn.get(address) or {}
        if isinstance(record, dict) and record.get("autonomous_system_number"):
            org = record.get("autonomous_system_organization", "")
            found.add("asn", 0, f"AS{record['autonomous_system_number']} {org}".strip())
    if city is not None:
        record = city.get(address) or {}
        country = record.get("country", {}) if isinstance(record, dict) else {}
        if isinstance(country, dict) and country.get("iso_code"):
            found.add("country", 0, f"located in {country['iso_code']}")
    return found
