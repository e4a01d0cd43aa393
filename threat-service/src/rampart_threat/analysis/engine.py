"""Runs the analyzers a mode asks for on one target; pure computation, no I/O.

Feed lookups need the store, so the engine only names what to look up (``Lookup``); the
service asks the feeds and adds their reasons. That keeps the engine runnable in the
sandbox process, which has no network and no store.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from rampart_threat.analysis.decode import Budget
from rampart_threat.analysis.domain import Extracted, Findings, Kind, Mode, Target
from rampart_threat.analysis.ips import GeoReader, analyze_ip
from rampart_threat.analysis.payloads import PayloadPolicy, analyze_payload
from rampart_threat.analysis.reference import reference, rule_files
from rampart_threat.analysis.urls import analyze_host, analyze_url

KiB = 1024
BUDGETS = {
    Mode.QUICK: Budget(depth=2, layers=16, total_bytes=512 * KiB, inflate_bytes=256 * KiB),
    Mode.DEEP: Budget(depth=8, layers=64, total_bytes=8192 * KiB, inflate_bytes=4096 * KiB),
}
SCAN_BYTES = {Mode.QUICK: 256 * KiB, Mode.DEEP: 1024 * KiB}
EMBEDDED_URLS = 20  # deep mode analyses this many URLs found in a payload


@dataclass(frozen=True)
class EngineConfig:
    """Operator settings the analyzers read (all optional)."""

    brands: str = ""  # label:domain,domain;label:domain
    rules_dir: str = ""  # extra YARA rules (*.yar)
    maxmind_asn: str = ""  # GeoLite2-ASN.mmdb-style file
    maxmind_city: str = ""  # GeoLite2-City/Country.mmdb-style file


@dataclass(frozen=True)
class Lookup:
    """One value to look up in the feeds and the points a hit adds."""

    kind: str
    value: str
    weight: int
    role: str  # the target, its registrable domain, an embedded indicator


@dataclass
class EngineResult:
    findings: Findings
    lookups: list[Lookup] = field(default_factory=list)
    extracted: list[Extracted] = field(default_factory=list)


def run(target: Target, mode: Mode, config: EngineConfig) -> EngineResult:
    depth = Mode.QUICK if mode is Mode.QUICK else Mode.DEEP
    ref = reference(config.brands)
    if target.kind is Kind.URL:
        found, hosts = analyze_url(target.normalized, ref)
        return EngineResult(found, [Lookup("url", target.normalized, 90, "the URL"), *_host_lookups(hosts)])
    if target.kind is Kind.DOMAIN:
        found, hosts = analyze_host(target.normalized, ref)
        return EngineResult(found, _host_lookups(hosts, own=target.normalized))
    if target.kind is Kind.IP:
        found = analyze_ip(target.normalized, *_geo(config.maxmind_asn, config.maxmind_city))
        return EngineResult(found, [Lookup(target.subtype, target.normalized, 90, "the address")])
    if target.kind is Kind.HASH:
        return EngineResult(Findings(), [Lookup(target.subtype, target.normalized, 95, "the hash")])
    policy = PayloadPolicy(
        BUDGETS[depth], tuple(rule_files(config.rules_dir)[depth.value]), SCAN_BYTES[depth]
    )
    found, extracted = analyze_payload(target.normalized, policy)
    lookups = []
    for item in extracted:
        lookups.append(Lookup(item.type, item.value, 60, f"found in {item.where}"))
        if item.type == "url":
            host = _host_of(item.value)
            lookups.extend(
                replace(found, weight=60, role=f"host of a URL in {item.where}")
                for found in _host_lookups([host])
                if host
            )
    if depth is Mode.DEEP:
        _embedded_urls(extracted, config, found)
    return EngineResult(found, lookups, extracted)


def _host_of(url: str) -> str:
    try:
        return (urlsplit(url).hostname or "").lower()
    except ValueError:
        return ""


def _host_lookups(hosts: list[str], own: str = "") -> list[Lookup]:
    lookups = []
    for i, host in enumerate(hosts):
        kind = "ipv6" if ":" in host else "ipv4" if host.replace(".", "").isdigit() else "domain"
        exact = host == own or (not own and i == 0)
        lookups.append(
            Lookup(kind, host, 90 if exact else 70, "the host" if exact else "its registrable domain")
        )
    return lookups


def _embedded_urls(extracted: list[Extracted], config: EngineConfig, found: Findings) -> None:
    ref = reference(config.brands)
    worst: tuple[int, str] = (0, "")
    for item in [e for e in extracted if e.type == "url"][:EMBEDDED_URLS]:
        try:
            sub, _ = analyze_url(item.value, ref)
        except ValueError:
            continue
        points = sum(reason.weight for reason in sub.reasons)
        worst = max(worst, (points, item.defanged))
    if worst[0] >= 70:
        found.add(
            "embedded_malicious_url", 40, f"{worst[1]} scores {min(100, worst[0])} on its own", "T1566.002"
        )
    elif worst[0] >= 30:
        found.add("embedded_suspicious_url", 15, f"{worst[1]} scores {worst[0]} on its own")


@functools.cache
def _geo(asn: str, city: str) -> tuple[GeoReader | None, GeoReader | None]:
    return _open(asn), _open(city)


def _open(path: str) -> Any:
    if not path or not Path(path).is_file():
        return None
    import maxminddb  # imported only when the operator supplies a database

    return maxminddb.open_database(path)
