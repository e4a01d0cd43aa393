"""The deterministic executive summary: what a report says when the assistant does not answer.

Built from a ``Digest`` of the scans (counts, the worst issues, their remediation), so the same
scans always give the same words, and an executive report never waits on the assistant.
"""

from __future__ import annotations

from dataclasses import dataclass, field

SEVERITIES = ("critical", "high", "medium", "low", "info")


@dataclass(frozen=True)
class Issue:
    """One rule or CVE across the scans: its worst severity, how often, and how to fix it."""

    subject: str
    title: str
    severity: str
    count: int
    remediation: str = ""
    kev: bool = False


@dataclass(frozen=True)
class Digest:
    """What an executive reads about a set of scans; ``severities`` is None when findings are unknown."""

    scans: int
    hosts: int
    open_ports: int
    severities: dict[str, int] | None
    issues: tuple[Issue, ...] = field(default_factory=tuple)  # most severe first

    @property
    def findings(self) -> int:
        return sum((self.severities or {}).values())


def _plural(count: int, word: str) -> str:
    return f"{count:,} {word}{'' if count == 1 else 's'}"


def risk_level(digest: Digest) -> str:
    counts = digest.severities or {}
    if counts.get("critical"):
        return "critical"
    if counts.get("high"):
        return "high"
    if counts.get("medium"):
        return "moderate"
    return "low"


def summary_text(digest: Digest) -> str:
    scope = (
        f"{_plural(digest.scans, 'scan')} covered {_plural(digest.hosts, 'host')} "
        f"with {_plural(digest.open_ports, 'open port')}."
    )
    if digest.severities is None:
        return scope + " Findings could not be read when this report was made."
    counts = ", ".join(f"{digest.severities.get(s, 0)} {s}" for s in SEVERITIES if digest.severities.get(s))
    found = f" {_plural(digest.findings, 'finding')} ({counts})." if digest.findings else " No findings."
    return scope + found + f" Overall risk: {risk_level(digest)}."


def risk_text(digest: Digest) -> str | None:
    if digest.severities is None:
        return None
    if not digest.issues:
        return "No issue was found in these scans."
    lines = []
    for issue in digest.issues[:5]:
        known = " It is known to be exploited in the wild (CISA KEV)." if issue.kev else ""
        lines.append(
            f"{issue.severity.capitalize()}: {issue.title} ({_plural(issue.count, 'finding')}).{known}"
        )
    return "\n".join(lines)


def recommendations_text(digest: Digest) -> str | None:
    if digest.severities is None:
        return None
    steps = [issue for issue in digest.issues if issue.remediation][:5]
    if not steps:
        return "Keep scanning on a schedule; nothing needs fixing in these results."
    return "\n".join(f"{n}. {issue.remediation} ({issue.title})" for n, issue in enumerate(steps, 1))


def summary_section(name: str, digest: Digest) -> str | None:
    """The deterministic body of an executive section; None when the data it needs is missing."""
    if name == "summary":
        return summary_text(digest)
    if name == "risk":
        return risk_text(digest)
    return recommendations_text(digest)
