"""Recognises what a question asks (``Intent``) and the things it names (CVEs, hosts, ports).

Deterministic keyword and pattern rules, checked in a fixed order; the first that matches wins.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass

from rampart_ai.domain import Intent

CVE = re.compile(r"\bCVE-\d{4}-\d{4,}\b", re.IGNORECASE)
CWE = re.compile(r"\bCWE-\d{1,5}\b", re.IGNORECASE)
PORT = re.compile(
    r"\bports?\s+(?:on\s+|number\s+)?(\d{1,5})\b(?!:)|\b(\d{1,5})/(?:tcp|udp)\b|(?<=[\w\]]):(\d{1,5})\b(?!:)",
    re.IGNORECASE,
)
IPV4 = re.compile(r"\b(?:\d{1,3}\.){3}\d{1,3}\b")
IPV6 = re.compile(r"\[?([0-9a-f]*:[0-9a-f:]+)\]?", re.IGNORECASE)
HOSTNAME = re.compile(r"\b(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}\b", re.IGNORECASE)

RULES: tuple[tuple[Intent, re.Pattern[str]], ...] = (
    (
        Intent.CHANGES,
        re.compile(
            r"\b(chang\w*|differ\w*|diff|new since|since (the )?(last|previous)|compared?|"
            r"appeared|disappeared|went away|anything new|what'?s new)\b",
            re.I,
        ),
    ),
    (
        Intent.URGENT,
        re.compile(
            r"\b(urgent\w*|priorit\w*|(fix|address|tackle|do|patch|handle)\w* \w*\s?first|first fix|"
            r"most (critical|important|severe|dangerous)|worst|"
            r"riskiest|biggest (risk|problem)|top (risk|issue|finding)s?|critical|fix next)\b",
            re.I,
        ),
    ),
    (
        Intent.REMEDIATE,
        re.compile(
            r"\b(fix\w*|remediat\w*|mitigat\w*|patch\w*|harden\w*|secur(e|ing)|resolv\w*|"
            r"how (do|can|should) (i|we)|how to|steps to|close|disable|lock down)\b",
            re.I,
        ),
    ),
    (Intent.EXPLAIN, re.compile(r"\b(explain\w*|mean\w*|defin\w*|stand for)\b", re.I)),
    (
        Intent.EXPOSURE,
        re.compile(
            r"\b(expos\w*|open|listening|reachabl\w*|attack surface|running|services?|ports?|"
            r"visible|accessible|internet[- ]facing)\b",
            re.I,
        ),
    ),
    (Intent.EXPLAIN, re.compile(r"^\s*(what|who|why)\s+(is|are|was|does)\b", re.I)),
)


@dataclass(frozen=True)
class Parsed:
    """A question's intent and what it names."""

    intent: Intent
    cves: tuple[str, ...] = ()
    cwes: tuple[str, ...] = ()
    hosts: tuple[str, ...] = ()
    ports: tuple[int, ...] = ()


def _hosts(question: str) -> tuple[str, ...]:
    found: list[str] = []
    for match in IPV4.finditer(question):
        try:
            found.append(str(ipaddress.IPv4Address(match.group(0))))
        except ValueError:
            continue
    for match in IPV6.finditer(question):
        candidate = match.group(1)
        if candidate.count(":") >= 2:
            try:
                found.append(str(ipaddress.IPv6Address(candidate)))
            except ValueError:
                continue
    for match in HOSTNAME.finditer(question):
        name = match.group(0).lower()
        if not IPV4.fullmatch(name) and not CVE.fullmatch(name):
            found.append(name)
    return tuple(dict.fromkeys(found))


def _ports(question: str) -> tuple[int, ...]:
    ports = []
    for match in PORT.finditer(question):
        value = int(next(g for g in match.groups() if g))
        if 0 < value < 65536:
            ports.append(value)
    return tuple(dict.fromkeys(ports))


def parse(question: str) -> Parsed:
    """The intent of ``question`` and the CVEs, CWEs, hosts and ports it names."""
    cves = tuple(dict.fromkeys(m.group(0).upper() for m in CVE.finditer(question)))
    cwes = tuple(dict.fromkeys(m.group(0).upper() for m in CWE.finditer(question)))
    hosts, ports = _hosts(question), _ports(question)
    if cves and not re.match(r"^\s*(what|explain)\b(?!.*\b(vulnerable|affected)\b)", question, re.I):
        return Parsed(Intent.CVE_CHECK, cves, cwes, hosts, ports)
    if cves and (hosts or re.search(r"\b(vulnerable|affected|impacted|patched)\b", question, re.I)):
        return Parsed(Intent.CVE_CHECK, cves, cwes, hosts, ports)
    for intent, pattern in RULES:
        if pattern.search(question):
            return Parsed(intent, cves, cwes, hosts, ports)
    return Parsed(Intent.SUMMARY, cves, cwes, hosts, ports)
