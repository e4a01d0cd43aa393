"""Compliance use cases: posture, controls, manual status, evidence, history, change events."""

from __future__ import annotations

import asyncio
import hashlib
import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from rampart.lib.errors import InvalidArgument
from rampart_report.compliance.catalogue import Catalogue
from rampart_report.compliance.domain import (
    Attestation,
    ControlChange,
    ControlNotFound,
    ControlPosture,
    EvidenceFile,
    EvidenceMalicious,
    Posture,
    Snapshot,
    Status,
    Tenant,
)
from rampart_report.compliance.evidence import MAX_EVIDENCE_BYTES, sniff
from rampart_report.compliance.ports import (
    ComplianceEvents,
    ComplianceRepository,
    PayloadScanner,
    PostureSources,
)
from rampart_report.compliance.posture import compute

MAX_PER_PAGE = 100
MAX_NOTE = 2000
MAX_HISTORY_DAYS = 366
SETTABLE = {"passing": Status.PASSING, "failing": Status.FAILING}


@dataclass(frozen=True)
class ControlDetail:
    posture: ControlPosture
    history: list[ControlChange]
    evidence: list[EvidenceFile]


@dataclass(frozen=True)
class ControlFilter:
    framework: str = ""
    status: str = ""
    search: str = ""  # in the id or the name, case-insensitive


class ComplianceService:
    def __init__(
        self,
        catalogue: Catalogue,
        repository: ComplianceRepository,
        sources: PostureSources,
        scanner: PayloadScanner,
        events: ComplianceEvents,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        evidence_limit: int = MAX_EVIDENCE_BYTES,
    ) -> None:
        self._catalogue = catalogue
        self._repository = repository
        self._sources = sources
        self._scanner = scanner
        self._events = events
        self._clock = clock
        self._evidence_limit = evidence_limit

    @property
    def catalogue(self) -> Catalogue:
        return self._catalogue

    async def posture(self, tenant: Tenant, frameworks: Sequence[str] = ()) -> Posture:
        """Computed now from the current records; changed statuses are recorded and announced."""
        for key in frameworks:
            self._catalogue.framework(key)  # FrameworkNotFound for an unknown one
        findings, scans = await asyncio.gather(self._sources.findings(tenant), self._sources.scans(tenant))
        attestations = await self._repository.attestations(tenant)
        counts = await self._repository.evidence_counts(tenant)
        now = self._clock()
        posture = compute(self._catalogue, findings, scans, attestations, counts, now)
        await self._record(tenant, posture)
        if frameworks:
            posture.frameworks = [f for f in posture.frameworks if f.key in frameworks]
        return posture

    async def _record(self, tenant: Tenant, posture: Posture) -> None:
        previous = await self._repository.latest_snapshot(tenant)
        at = posture.evaluated_at
        statuses = {c.control.control_id: c.status.value for c in posture.controls()}
        scores = {f.key: f.score for f in posture.frameworks}
        if previous is not None:
            by_key = {f.key: f for f in posture.frameworks}
            for control in posture.controls():
                control_id = control.control.control_id
                before = previous.statuses.get(control_id)
                if before is None or before == control.status.value:
                    continue
                change_id = _change_id(tenant, control_id, previous.at, control.status.value)
                change = ControlChange(
                    control_id, at, "rampart", before, control.status.value, change_id=change_id
                )
                if not await self._repository.add_change(tenant, change):
                    continue  # a concurrent computation recorded and announced it
                framework = by_key[control.control.framework]
                await self._events.control_changed(tenant, control_id, framework.key, change, framework.score)
        if (
            previous is None
            or previous.statuses != statuses
            or previous.scores != scores
            or previous.day != _day(at)
        ):
            await self._repository.save_snapshot(tenant, Snapshot(_day(at), at, scores, statuses))

    async def controls(
        self, tenant: Tenant, where: ControlFilter, page: int, per_page: int
    ) -> tuple[list[ControlPosture], int]:
        """One page of controls (and the total matching), in catalogue order."""
        per_page = MAX_PER_PAGE if per_page <= 0 else min(per_page, MAX_PER_PAGE)
        page = max(page, 1)
        if where.status and where.status not in {s.value for s in Status}:
            raise InvalidArgument(
                f"status must be one of {[s.value for s in Status]}", field="status", value=where.status
            )
        posture = await self.posture(tenant, (where.framework,) if where.framework else ())
        needle = where.search.lower()
        chosen = [
            c
            for c in posture.controls()
            if (not where.status or c.status.value == where.status)
            and (not needle or needle in c.control.control_id.lower() or needle in c.control.name.lower())
        ]
        start = (page - 1) * per_page
        return chosen[start : start + per_page], len(chosen)

    async def control(self, tenant: Tenant, control_id: str) -> ControlDetail:
        control = self._catalogue.control(control_id)
        if control is None:
            raise ControlNotFound(f"no control {control_id!r}", control_id=control_id)
        posture = await self.posture(tenant, (control.framework,))
        found = next(c for c in posture.controls() if c.control.control_id == control_id)
        history = await self._repository.changes(tenant, control_id, 100)
        evidence = await self._repository.evidence(tenant, control_id)
        return ControlDetail(found, history, evidence)

    async def update_control(
        self, tenant: Tenant, control_id: str, status: str | None, note: str, owner: str | None
    ) -> ControlDetail:
        """A person's manual status (passing / failing / "manual" to clear it), note and owner."""
        control = self._catalogue.control(control_id)
        if control is None:
            raise ControlNotFound(f"no control {control_id!r}", control_id=control_id)
        if len(note) > MAX_NOTE:
            raise InvalidArgument(f"note is longer than {MAX_NOTE} characters", field="note")
        attestations = await self._repository.attestations(tenant)
        current = attestations.get(control_id)
        new_status = current.status if current else None
        if status is not None:
            if status not in (*SETTABLE, "manual"):
                raise InvalidArgument(
                    "status must be passing, failing or manual", field="status", value=status
                )
            if not control.manual:
                raise InvalidArgument(
                    "this control is evidenced by scans only; its status cannot be set by hand",
                    field="status",
                    control_id=control_id,
                )
            if status != "manual" and not note.strip():
                raise InvalidArgument("a note saying why is required with a manual status", field="note")
            new_status = SETTABLE.get(status)
        new_owner = owner if owner is not None else (current.owner if current else "")
        now = self._clock()
        attestation = Attestation(
            control_id, new_status, note or (current.note if current else ""), new_owner, tenant.user_id, now
        )
        await self._repository.attest(tenant, attestation)
        before = current.status.value if current and current.status else "manual"
        after = new_status.value if new_status else "manual"
        await self._repository.add_change(
            tenant,
            ControlChange(control_id, now, tenant.user_id or "unknown", before, after, note, new_owner),
        )
        return await self.control(tenant, control_id)

    async def add_evidence(
        self, tenant: Tenant, control_id: str, filename: str, content: bytes
    ) -> EvidenceFile:
        """Stored only after its type, size and payload analysis pass; a malicious file is refused."""
        if self._catalogue.control(control_id) is None:
            raise ControlNotFound(f"no control {control_id!r}", control_id=control_id)
        sniffed = sniff(content, self._evidence_limit)
        verdict = await self._scanner.scan(tenant, content, sniffed.text, filename)
        if verdict.verdict == "malicious":
            raise EvidenceMalicious(
                "the evidence file was judged malicious by the payload analysis and was not stored",
                analysis_id=verdict.analysis_id,
                risk_score=verdict.risk_score,
                reasons=list(verdict.reasons),
                sha256=sniffed.sha256,
            )
        evidence = EvidenceFile(
            f"evd_{secrets.token_hex(12)}",
            control_id,
            _safe_name(filename),
            sniffed.content_type,
            sniffed.size,
            sniffed.sha256,
            verdict.verdict,
            verdict.analysis_id,
            tenant.user_id,
            self._clock(),
        )
        await self._repository.add_evidence(tenant, evidence, content)
        return evidence

    async def history(self, tenant: Tenant, days: int) -> list[Snapshot]:
        """One snapshot per day over the last ``days`` days, oldest first."""
        if not 1 <= days <= MAX_HISTORY_DAYS:
            raise InvalidArgument(f"period must be 1-{MAX_HISTORY_DAYS} days", field="days", value=days)
        until = self._clock()
        return list(await self._repository.snapshots(tenant, until - timedelta(days=days), until))


def _change_id(tenant: Tenant, control_id: str, after: datetime, status: str) -> str:
    """The same change seen by two computations (from the same snapshot) gets the same id."""
    basis = f"{tenant.org_id}|{tenant.mode}|{control_id}|{after.isoformat()}|{status}"
    return "chg_" + hashlib.sha256(basis.encode()).hexdigest()[:32]


def _day(at: datetime) -> str:
    return at.astimezone(UTC).strftime("%Y-%m-%d")


def _safe_name(filename: str) -> str:
    name = filename.replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(ch for ch in name if ch.isprintable())[:200]
    return name or "evidence"
