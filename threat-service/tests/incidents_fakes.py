"""In-memory incident and asset repositories, a recording notifier and a fixed clock."""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from assets_fakes import T0, FakeAssets

from rampart_threat.incidents.domain import Incident
from rampart_threat.incidents.notify import Notice
from rampart_threat.incidents.repository import (
    SORT_FIELDS,
    STATUS_RANK,
    IncidentFilter,
    IncidentOrder,
    micros,
)
from rampart_threat.incidents.service import IncidentService
from rampart_threat.incidents.triage import SlaTable

__all__ = ["T0", "Clock", "FakeAssets", "FakeIncidents", "RecordingNotifier", "service"]


class FakeIncidents:
    """The incident repository's contract in memory: copies in and out, version-guarded saves."""

    def __init__(self) -> None:
        self.rows: dict[str, tuple[Incident, int]] = {}
        self.lose_next_saves = 0  # simulate another writer winning the version race

    async def add(self, incident: Incident, sort_key: int) -> bool:
        if incident.incident_id in self.rows:
            return False
        self.rows[incident.incident_id] = (copy.deepcopy(incident), sort_key)
        return True

    async def get(self, org_id: str, incident_id: str) -> Incident | None:
        row = self.rows.get(incident_id)
        return copy.deepcopy(row[0]) if row and row[0].org_id == org_id else None

    async def save(self, incident: Incident) -> bool:
        stored, key = self.rows[incident.incident_id]
        if self.lose_next_saves:
            self.lose_next_saves -= 1
            stored.version += 1  # someone else's change
            return False
        if stored.version != incident.version:
            return False
        incident.version += 1
        self.rows[incident.incident_id] = (copy.deepcopy(incident), key)
        return True

    async def find(
        self, where: IncidentFilter, order: IncidentOrder, skip: int, limit: int, after_key: int | None = None
    ) -> tuple[list[tuple[Incident, int]], int]:
        def keep(incident: Incident, key: int) -> bool:
            return (
                incident.org_id == where.org_id
                and (where.status is None or incident.status is where.status)
                and (where.severity is None or incident.severity is where.severity)
                and (not where.assignee or incident.assignee == where.assignee)
                and (where.min_key is None or key >= where.min_key)
                and (where.max_key is None or key < where.max_key)
            )

        rows = [(copy.deepcopy(i), k) for i, k in self.rows.values() if keep(i, k)]
        total = len(rows)
        if after_key is not None:
            rows = [(i, k) for i, k in rows if (k < after_key if order.descending else k > after_key)]

        def value(row: tuple[Incident, int]) -> tuple[int, int]:
            incident, key = row
            field_values = {
                "sort_key": key,
                "severity_rank": incident.severity.rank,
                "status_rank": STATUS_RANK[incident.status],
                "due_key": micros(incident.triage.due_at) if incident.triage.due_at else 0,
            }
            return field_values[SORT_FIELDS[order.field]], key

        rows.sort(key=value, reverse=order.descending)
        return rows[skip : skip + limit], total


@dataclass
class RecordingNotifier:
    notices: list[Notice] = field(default_factory=list)

    async def notify(self, notice: Notice) -> None:
        self.notices.append(notice)


@dataclass
class Clock:
    now: datetime = T0

    def __call__(self) -> datetime:
        self.now += timedelta(seconds=1)
        return self.now


def service(
    incidents: FakeIncidents | None = None,
    assets: FakeAssets | None = None,
    notifier: RecordingNotifier | None = None,
    sla: SlaTable | None = None,
) -> IncidentService:
    return IncidentService(
        incidents or FakeIncidents(),
        assets or FakeAssets(),
        sla or SlaTable.load(),
        notifier or RecordingNotifier(),
        Clock(),
    )
