"""Assets: one record per host an organisation's scans have seen, changed only through its methods.

Every method is idempotent (applying the same observation twice changes nothing and says so), so a
redelivered scan event never adds a history entry, a scan or a port; an observation older than what
the record already holds for a port does not move that port back in time.
"""

from __future__ import annotations

import enum
import hashlib
import ipaddress
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime

from rampart.lib.errors import NotFound
from rampart_threat.assets.oshint import OsClue, OsHint, clue, vote

ASSET_PREFIX = "asset_"
MAX_SCANS = 20  # the most recent scans that covered an asset
MAX_HISTORY = 200  # the most recent port and service changes of an asset
MAX_NAMES = 20
SEVERITIES = ("critical", "high", "medium", "low", "info")  # most severe first
SEVERITY_RANK = {name: len(SEVERITIES) - index for index, name in enumerate(SEVERITIES)}  # critical 5


def asset_id(org_id: str, host: str, live: bool = True) -> str:
    """The stable id of a host in one organisation's inventory; test-key (sandbox) assets get their own."""
    key = f"{org_id}\0{host}" if live else f"{org_id}\0test\0{host}"
    return ASSET_PREFIX + hashlib.sha256(key.encode()).hexdigest()[:20]


def normalise_host(value: str) -> str:
    """An address in its canonical form, a name in lower case; "" for nothing usable."""
    text = value.strip()
    try:
        return str(ipaddress.ip_address(text.strip("[]")))
    except ValueError:
        return text.lower().rstrip(".")


def is_address(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


class AssetNotFound(NotFound):
    """No such asset in the caller's organisation (another tenant's is not found either)."""

    public_code = "ASSET_NOT_FOUND"


@dataclass(frozen=True)
class Asset:
    """What incidents and analyses link: a host with its open ports now."""

    asset_id: str
    host: str
    open_ports: tuple[int, ...]
    last_scan_id: str
    last_seen: datetime | None


class PortChange(enum.Enum):
    OPENED = "opened"
    CLOSED = "closed"
    SERVICE = "service"  # the service detected on an open port changed


@dataclass(frozen=True)
class Service:
    """The service detected on a port, as the scan reported it."""

    name: str = ""
    product: str = ""
    version: str = ""
    cpe: str = ""
    tls: bool = False

    def label(self) -> str:
        return " ".join(part for part in (self.name, self.product, self.version) if part)


@dataclass(frozen=True)
class Observation:
    """One port seen by one scan (a port_found or service_detected event)."""

    scan_id: str
    host: str
    port: int
    protocol: str
    is_open: bool
    at: datetime
    service: Service | None = None  # None: this event says nothing about the service
    banner: str = ""  # evidence, extra info: read for an OS clue only
    names: tuple[str, ...] = ()  # names the service presented (TLS certificate subject alt names)


@dataclass(frozen=True)
class PortHistory:
    """One change of one port: opened, closed, or its service changed."""

    at: datetime
    scan_id: str
    port: int
    protocol: str
    change: PortChange
    before: str = ""
    after: str = ""


@dataclass
class PortRecord:
    """A port of the asset: open or closed now, since when, and the service on it."""

    port: int
    protocol: str
    is_open: bool
    since: datetime  # opened at (open) or closed at (closed)
    first_seen: datetime
    last_seen: datetime
    last_scan_id: str
    service: Service = field(default_factory=Service)
    os_clue: OsClue | None = None

    @property
    def key(self) -> tuple[int, str]:
        return self.port, self.protocol


@dataclass(frozen=True)
class ScanSeen:
    scan_id: str
    at: datetime


@dataclass
class AssetRecord:
    """A host of one organisation (live or test), with its ports, services, findings and history."""

    asset_id: str
    org_id: str
    live: bool
    host: str
    names: tuple[str, ...] = ()
    first_seen: datetime | None = None
    last_seen: datetime | None = None
    ports: dict[tuple[int, str], PortRecord] = field(default_factory=dict)
    scans: list[ScanSeen] = field(default_factory=list)  # most recent first, at most MAX_SCANS
    history: list[PortHistory] = field(default_factory=list)  # oldest first, at most MAX_HISTORY
    findings: dict[str, int] = field(default_factory=dict)  # open findings by severity
    version: int = 0  # bumped by every stored change (optimistic concurrency); 0: not stored yet

    @classmethod
    def new(cls, org_id: str, live: bool, host: str) -> AssetRecord:
        return cls(asset_id(org_id, host, live), org_id, live, host)

    # ---- what it is now -------------------------------------------------------------------
    @property
    def addresses(self) -> tuple[str, ...]:
        return (self.host,) if is_address(self.host) else ()

    def open_ports(self) -> list[PortRecord]:
        return sorted((p for p in self.ports.values() if p.is_open), key=lambda p: (p.port, p.protocol))

    def services(self) -> tuple[str, ...]:
        return tuple(sorted({p.service.name.lower() for p in self.open_ports() if p.service.name}))

    @property
    def os(self) -> OsHint:
        return vote(
            (f"{p.port}/{p.protocol} {p.service.name}", p.os_clue) for p in self.open_ports() if p.os_clue
        )

    @property
    def last_scan_id(self) -> str:
        return self.scans[0].scan_id if self.scans else ""

    @property
    def findings_total(self) -> int:
        return sum(self.findings.values())

    @property
    def worst_severity(self) -> str:
        return next((name for name in SEVERITIES if self.findings.get(name, 0) > 0), "")

    def summary(self) -> Asset:
        return Asset(
            self.asset_id,
            self.host,
            tuple(p.port for p in self.open_ports()),
            self.last_scan_id,
            self.last_seen,
        )

    # ---- changes ---------------------------------------------------------------------------
    def observe(self, seen: Observation) -> bool:
        """Apply one port observation; False when it changes nothing (a redelivery)."""
        changed = self._seen_at(seen.scan_id, seen.at)
        changed |= self._add_names(seen.names)
        key = (seen.port, seen.protocol)
        port = self.ports.get(key)
        if port is None:
            if not seen.is_open:
                return changed
            port = PortRecord(seen.port, seen.protocol, True, seen.at, seen.at, seen.at, seen.scan_id)
            self.ports[key] = port
            self._log(PortHistory(seen.at, seen.scan_id, seen.port, seen.protocol, PortChange.OPENED))
            changed = True
        elif seen.at < port.last_seen:
            return changed  # older than what the port holds: it does not move the port back
        else:
            changed |= self._move(port, seen.is_open, seen.scan_id, seen.at)
            if (port.last_seen, port.last_scan_id) != (seen.at, seen.scan_id):
                port.last_seen, port.last_scan_id = seen.at, seen.scan_id
                changed = True
        if seen.is_open and seen.service is not None:
            changed |= self._detect(port, seen)
        return changed

    def close_unseen(self, scan_id: str, covered: frozenset[tuple[int, str]], at: datetime) -> bool:
        """A finished scan covered these ports: each open one it did not see open is now closed."""
        changed = False
        for port in self.open_ports():
            if port.key in covered and port.last_scan_id != scan_id and port.last_seen < at:
                changed |= self._move(port, False, scan_id, at)
                port.last_seen, port.last_scan_id = at, scan_id
        if changed:
            self._seen_at(scan_id, at)
        return changed

    def set_finding_counts(self, counts: Mapping[str, int]) -> bool:
        """The open findings by severity, as the findings ledger counts them now."""
        unknown = set(counts) - set(SEVERITIES)
        if unknown:
            raise ValueError(f"unknown severities: {', '.join(sorted(unknown))}")
        if any(count < 0 for count in counts.values()):
            raise ValueError("a finding count cannot be negative")
        wanted = {
            str(name): int(count) for name, count in counts.items() if count > 0
        }  # str: StrEnum keys too
        if wanted == self.findings:
            return False
        self.findings = wanted
        return True

    # ---- inside ------------------------------------------------------------------------------
    def _seen_at(self, scan_id: str, at: datetime) -> bool:
        changed = False
        if self.first_seen is None or at < self.first_seen:
            self.first_seen, changed = at, True
        if self.last_seen is None or at > self.last_seen:
            self.last_seen, changed = at, True
        if all(scan.scan_id != scan_id for scan in self.scans):
            self.scans.append(ScanSeen(scan_id, at))
            self.scans.sort(key=lambda scan: scan.at, reverse=True)
            del self.scans[MAX_SCANS:]
            changed = True
        return changed

    def _add_names(self, names: tuple[str, ...]) -> bool:
        fresh = [name for name in (normalise_host(n) for n in names) if name and name not in self.names]
        if not fresh or len(self.names) >= MAX_NAMES:
            return False
        self.names = tuple(sorted({*self.names, *fresh}))[:MAX_NAMES]
        return True

    def _move(self, port: PortRecord, is_open: bool, scan_id: str, at: datetime) -> bool:
        if port.is_open == is_open:
            return False
        port.is_open, port.since = is_open, at
        change = PortChange.OPENED if is_open else PortChange.CLOSED
        self._log(PortHistory(at, scan_id, port.port, port.protocol, change))
        return True

    def _detect(self, port: PortRecord, seen: Observation) -> bool:
        service = seen.service or Service()
        found = clue(seen.banner, service.product)
        changed = False
        if service != port.service:
            before = port.service.label()
            port.service = service
            if before or service.label():
                self._log(
                    PortHistory(
                        seen.at,
                        seen.scan_id,
                        port.port,
                        port.protocol,
                        PortChange.SERVICE,
                        before,
                        service.label(),
                    )
                )
            changed = True
        if found != port.os_clue:
            port.os_clue, changed = found, True
        return changed

    def _log(self, entry: PortHistory) -> None:
        self.history.append(entry)
        self.history.sort(key=lambda item: item.at)
        del self.history[: max(0, len(self.history) - MAX_HISTORY)]
