"""Operating-system clues in what a service says about itself: evidence, not guesses.

scan-service publishes port and service events but not its per-host results, so the inventory
draws its own hint from the services it records (the same kind of clues as the scan engine's
``oshints``). The asset's hint is the vote of its open ports' clues, across every scan.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

# (pattern over banner/product/extra info, OS name); the first that matches a service counts once.
CLUES = (
    (re.compile(r"Debian-\S*deb(\d+)"), "Linux (Debian {0})"),
    (re.compile(r"\bDebian\b"), "Linux (Debian)"),
    (re.compile(r"\bUbuntu\b"), "Linux (Ubuntu)"),
    (re.compile(r"\bRaspbian\b"), "Linux (Raspbian)"),
    (re.compile(r"\b(?:Red Hat|CentOS|Rocky|AlmaLinux)\b|\bel[789]\b"), "Linux (Red Hat family)"),
    (re.compile(r"\bAlpine\b"), "Linux (Alpine)"),
    (re.compile(r"\bFreeBSD\b"), "FreeBSD"),
    (re.compile(r"\bOpenBSD\b"), "OpenBSD"),
    (re.compile(r"OpenSSH_for_Windows|Microsoft-IIS|Microsoft-HTTPAPI|\bWin(?:32|64|dows)\b"), "Windows"),
)
MAX_TEXT = 4096  # of a banner read for clues


@dataclass(frozen=True)
class OsClue:
    """One service's hint: the OS it names and the text that named it."""

    name: str
    evidence: str


@dataclass(frozen=True)
class OsHint:
    name: str  # "" when no service gave a clue
    confidence: int  # 0-100
    evidence: tuple[str, ...]


UNKNOWN = OsHint("", 0, ())


def clue(*texts: str) -> OsClue | None:
    """The first clue in a service's banner, product or extra information."""
    text = " ".join(texts)[:MAX_TEXT]
    for pattern, name in CLUES:
        found = pattern.search(text)
        if found:
            return OsClue(name.format(*found.groups()), found.group(0))
    return None


def vote(clues: Iterable[tuple[str, OsClue]]) -> OsHint:
    """The OS most open ports point to; confidence drops when ports disagree."""
    votes: Counter[str] = Counter()
    evidence: dict[str, list[str]] = {}
    for where, found in clues:
        votes[found.name] += 1
        evidence.setdefault(found.name, []).append(f"{where}: {found.evidence}")
    if not votes:
        return UNKNOWN
    name, count = sorted(votes.items(), key=lambda item: (-item[1], item[0]))[0]
    confidence = min(40 + 20 * count, 90) if count == sum(votes.values()) else 30
    return OsHint(name, confidence, tuple(evidence[name]))
