"""CVE JSON 5 ``affected`` data evaluated for one version: what the CNA (or an ADP) says."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from rampart_threat.knowledge.model import Affected, AffectedVersion
from rampart_threat.knowledge.ranges import parse_comparators, versions_in_text
from rampart_threat.knowledge.versions import compare, is_version

_OPEN_START = {"0", "*", "", "unspecified", "n/a", "all"}


class Say(Enum):
    """One source's answer for one version."""

    AFFECTED = "affected"
    NOT_AFFECTED = "not_affected"
    NOT_LISTED = "not_listed"  # has version data, none covers this version, no defaultStatus
    NO_DATA = "no_data"  # nothing usable ("n/a", ranges that start at a word)

    @property
    def polarity(self) -> bool | None:
        if self is Say.AFFECTED:
            return True
        if self in (Say.NOT_AFFECTED, Say.NOT_LISTED):
            return False
        return None


@dataclass(frozen=True, slots=True)
class Answer:
    say: Say
    detail: str = ""


def evaluate_affected(entries: list[Affected], version: str) -> Answer:
    """The answer of one container's entries (already filtered to the product) for ``version``."""
    usable = False
    negative: str | None = None
    default: str | None = None
    for entry in entries:
        name = f"{entry.vendor or entry.package_name or ''} {entry.product}".strip()
        who = f"{entry.provider} {entry.origin.value.upper()}: {name}"
        for item in entry.versions:
            status, detail, decidable = _item(item, version)
            usable = usable or decidable
            if status == "affected":
                return Answer(Say.AFFECTED, f"{who} {detail}")
            if status == "unaffected" and negative is None:
                negative = f"{who} {detail}"
        if entry.default_status in ("affected", "unaffected") and default is None:
            default = entry.default_status
            if negative is None:
                negative = f"{who} defaultStatus {entry.default_status}"
    if negative is not None and default != "affected":
        return Answer(Say.NOT_AFFECTED, negative)
    if default == "affected":
        return Answer(Say.AFFECTED, f"defaultStatus affected ({entries[0].provider})")
    if usable:
        return Answer(
            Say.NOT_LISTED, f"{entries[0].provider}: version {version} is not in the listed versions"
        )
    return Answer(Say.NO_DATA, f"{entries[0].provider if entries else 'CVE 5'}: no version data")


def _item(item: AffectedVersion, version: str) -> tuple[str | None, str, bool]:
    """(status if the item covers ``version``, how it reads, whether the item was usable at all)."""
    upper = item.less_than or item.less_than_or_equal
    if upper is not None:
        start = item.version.strip()
        open_start = start.lower() in _OPEN_START
        if not open_start and not is_version(start):
            return None, "", False  # "Mainline", "Stable": no version to compare
        if upper != "*" and not is_version(upper):
            return None, "", False
        if not open_start and upper != "*" and compare(start, upper) > 0:
            return None, "", True  # inverted range ("4.22.0 lessThan 4.21.5"): covers nothing
        if not open_start and compare(version, start) < 0:
            return None, "", True
        if upper != "*":
            c = compare(version, upper)
            if c > 0 or (c == 0 and item.less_than is not None):
                return None, "", True
        op = "<" if item.less_than is not None else "<="
        status = item.status
        for change in sorted(item.changes, key=lambda ch: _Key(ch.at)):
            if is_version(change.at) and compare(version, change.at) >= 0:
                status = change.status
        text = f"{start or '0'} <= v {op} {upper}" + (" (with status changes)" if item.changes else "")
        return status, text, True
    text = item.version.strip()
    if text.lower() in _OPEN_START:
        return None, "", False
    bound = parse_comparators(text)
    if bound is not None:
        return (item.status if bound.contains(version) else None), f"'{text}'", True
    listed = versions_in_text(text)
    if not listed:
        return None, "", False
    if any(compare(version, v) == 0 for v in listed):
        return item.status, f"'{text}'", True
    return None, "", True


class _Key:
    """Sort helper ordering change points by version."""

    def __init__(self, v: str) -> None:
        self.v = v

    def __lt__(self, other: _Key) -> bool:
        return (
            compare(self.v, other.v) < 0 if is_version(self.v) and is_version(other.v) else self.v < other.v
        )
