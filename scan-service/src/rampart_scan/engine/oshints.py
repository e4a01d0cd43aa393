"""Operating-system hints from what services say about themselves: evidence, not guesses."""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass

from rampart_scan.engine.services import ServiceInfo

# (pattern over banner/product/info, OS name); the first that matches a service counts once.
CLUES = (
    (re.compile(r"Debian-\S*deb(\d+)"), "Linux (Debian {0})"),
    (re.compile(r"\bDebian\b"), "Linux (Debian)"),
    (re.compile(r"Ubuntu-(\d+ubuntu[\d.]+)"), "Linux (Ubuntu)"),
    (re.compile(r"\bUbuntu\b"), "Linux (Ubuntu)"),
    (re.compile(r"\bRaspbian\b"), "Linux (Raspbian)"),
    (re.compile(r"\b(?:Red Hat|CentOS|Rocky|AlmaLinux)\b|\bel[789]\b"), "Linux (Red Hat family)"),
    (re.compile(r"\bAlpine\b"), "Linux (Alpine)"),
    (re.compile(r"\bFreeBSD\b"), "FreeBSD"),
    (re.compile(r"\bOpenBSD\b"), "OpenBSD"),
    (re.compile(r"OpenSSH_for_Windows|Microsoft-IIS|Microsoft-HTTPAPI|\bWin(?:32|64|dows)\b"), "Windows"),
)


@dataclass
class OsHint:
    name: str
    confidence: int
    evidence: list[str]


def os_hint(services: list[tuple[int, ServiceInfo]]) -> OsHint:
    """The OS most services point to, with each clue as evidence; "unknown" without clues."""
    votes: Counter[str] = Counter()
    evidence: dict[str, list[str]] = {}
    for port, info in services:
        text = " ".join((info.evidence, info.product, info.extra_info))
        for pattern, name in CLUES:
            found = pattern.search(text)
            if found:
                label = name.format(*found.groups())
                votes[label] += 1
                evidence.setdefault(label, []).append(f"{port}/tcp {info.name}: {found.group(0)}")
                break
    if not votes:
        return OsHint("unknown", 0, [])
    name, count = votes.most_common(1)[0]
    confidence = min(40 + 20 * count, 90) if count == sum(votes.values()) else 30
    return OsHint(name, confidence, evidence[name])
