"""Readers for the threat-feed formats operators get; each yields indicators and counts what it skipped.

Formats: plain lists (one indicator per line), abuse.ch CSV exports (URLhaus URLs,
MalwareBazaar hashes, Feodo Tracker C2 IPs), Spamhaus DROP-style CIDR lists, STIX 2.1 bundles
(parsed with the ``stix2`` library, patterns with ``stix2-patterns``) and MISP feed events.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import stix2  # type: ignore[import-untyped]
from stix2patterns.pattern import Pattern  # type: ignore[import-untyped]

from rampart_threat.intel.model import BadIndicator, Indicator, indicator


@dataclass
class Read:
    """What a reader found: the indicators, and how many entries it could not use."""

    indicators: list[Indicator] = field(default_factory=list)
    skipped: int = 0

    def add(self, value: str, kind: str = "", threat: str = "", first_seen: datetime | None = None) -> None:
        """Keep the indicator, or count it as skipped when it is not one."""
        try:
            self.indicators.append(indicator(value, kind, threat, first_seen))
        except BadIndicator:
            self.skipped += 1


def _when(text: str) -> datetime | None:
    text = text.strip().replace("Z", "+00:00")
    if not text:
        return None
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        return None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def read_plain(text: str, kind: str = "", threat: str = "") -> Read:
    """One indicator per line; ``#`` and ``;`` start comments (whole-line or trailing)."""
    found = Read()
    for line in text.splitlines():
        value = line.split("#", 1)[0].split(";", 1)[0].strip()
        if value:
            found.add(value, kind, threat)
    return found


def _csv_rows(text: str) -> Iterator[list[str]]:
    """Rows of an abuse.ch export: ``#`` lines (header included) are comments."""
    body = "\n".join(line for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#"))
    yield from csv.reader(io.StringIO(body), skipinitialspace=True)


def read_urlhaus_csv(text: str) -> Read:
    """URLhaus ``csv_recent``: id, dateadded, url, url_status, last_online, threat, tags, …"""
    found = Read()
    for row in _csv_rows(text):
        if len(row) < 6:
            found.skipped += 1
            continue
        found.add(row[2], "url", row[5], _when(row[1]))
    return found


def read_malwarebazaar_csv(text: str) -> Read:
    """MalwareBazaar export: first_seen_utc, sha256_hash, md5_hash, sha1_hash, reporter, file_name,
    file_type_guess, mime_type, signature, …; each hash becomes an indicator."""
    found = Read()
    for row in _csv_rows(text):
        if len(row) < 9:
            found.skipped += 1
            continue
        first, signature = _when(row[0]), row[8] if row[8] != "n/a" else ""
        for position, kind in ((1, "sha256"), (2, "md5"), (3, "sha1")):
            found.add(row[position], kind, signature, first)
    return found


def read_feodo_csv(text: str) -> Read:
    """Feodo Tracker ``ipblocklist.csv``: first_seen_utc, dst_ip, dst_port, c2_status, last_online,
    malware."""
    found = Read()
    for row in _csv_rows(text):
        if len(row) < 6:
            found.skipped += 1
            continue
        found.add(row[1], "", f"{row[5]} C2".strip(), _when(row[0]))
    return found


def read_drop(text: str, threat: str = "drop") -> Read:
    """Spamhaus DROP / EDROP text: ``1.10.16.0/20 ; SBL256894``, ``;`` comment lines."""
    found = Read()
    for line in text.splitlines():
        network, _, reference = line.partition(";")
        if network.strip():
            label = f"{threat} {reference.strip()}".strip()
            found.add(network.strip(), "cidr", label)
    return found


STIX_PATHS = {
    ("ipv4-addr", ("value",)): "",
    ("ipv6-addr", ("value",)): "",
    ("domain-name", ("value",)): "domain",
    ("url", ("value",)): "url",
    ("email-addr", ("value",)): "email",
    ("file", ("hashes", "MD5")): "md5",
    ("file", ("hashes", "SHA-1")): "sha1",
    ("file", ("hashes", "SHA-256")): "sha256",
}


def read_stix(text: str) -> Read:
    """STIX 2.1 bundle: every ``indicator`` whose pattern is equality comparisons on known observables.

    A comparison other than ``=`` (``MATCHES``, ``LIKE``, ``ISSUBSET``…) cannot be indexed
    exactly; that indicator is skipped and counted.
    """
    found = Read()
    bundle = stix2.parse(text, allow_custom=True)
    for obj in getattr(bundle, "objects", None) or []:
        if obj.get("type") != "indicator" or obj.get("pattern_type", "stix") != "stix":
            continue
        threat = str(obj.get("name", "")) or ", ".join(obj.get("indicator_types", []) or [])
        first = obj.get("valid_from")
        try:
            comparisons = Pattern(obj["pattern"]).inspect().comparisons
        except Exception:  # the pattern library raises its own parse errors
            found.skipped += 1
            continue
        for object_type, items in comparisons.items():
            for path, operator, value in items:
                kind = STIX_PATHS.get((object_type, tuple(path)))
                if operator != "=" or kind is None:
                    found.skipped += 1
                    continue
                raw = value.strip("'")
                found.add(raw, kind, threat, first)
    return found


MISP_TYPES = {
    "ip-src": "",
    "ip-dst": "",
    "domain": "domain",
    "hostname": "domain",
    "url": "url",
    "uri": "url",
    "md5": "md5",
    "sha1": "sha1",
    "sha256": "sha256",
    "email-src": "email",
    "email-dst": "email",
}


def _misp_attribute(found: Read, attribute: dict[str, Any], threat: str, first: datetime | None) -> None:
    kinds, values = str(attribute.get("type", "")).split("|"), str(attribute.get("value", "")).split("|")
    usable = False
    for kind, value in zip(kinds, values, strict=False):
        if kind in MISP_TYPES:
            usable = True
            found.add(value, MISP_TYPES[kind], threat, first)
    if not usable:
        found.skipped += 1


def read_misp(text: str) -> Read:
    """A MISP feed event, ``{uuid}.json``: ``{"Event": {"Attribute": [...], "Object": [...]}}``.

    Only attributes marked ``to_ids`` count (MISP's own export rule); composite types
    (``ip-dst|port``, ``domain|ip``, ``filename|sha256``) give their indicator parts.
    """
    found = Read()
    event = json.loads(text).get("Event", {})
    threat = str(event.get("info", ""))
    first = _when(str(event.get("date", "")))
    attributes = list(event.get("Attribute", []))
    for obj in event.get("Object", []):
        attributes += obj.get("Attribute", [])
    for attribute in attributes:
        if attribute.get("to_ids", True) in (True, "1", 1):
            _misp_attribute(found, attribute, threat, first)
    return found


READERS: dict[str, Callable[[str], Read]] = {
    "plain": read_plain,
    "urlhaus": read_urlhaus_csv,
    "malwarebazaar": read_malwarebazaar_csv,
    "feodo": read_feodo_csv,
    "drop": read_drop,
    "stix": read_stix,
    "misp": read_misp,
}
