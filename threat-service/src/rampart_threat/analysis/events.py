"""The analysis side's outgoing event: ``AnalysisCompleted`` once an analysis is stored.

The use case speaks to an ``AnalysisPublisher``; the outbox adapter is the only part that
knows the subject and the protobuf (through the incident side's mapper, which also reads it).
"""

from __future__ import annotations

from typing import Protocol

from rampart.lib.catalogue import subjects
from rampart.lib.outbox import Outbox
from rampart_threat.analysis.domain import Analysis
from rampart_threat.incidents.rules import Verdict


class AnalysisPublisher(Protocol):
    async def completed(self, analysis: Analysis) -> None: ...


class NoPublisher:
    """Nothing is announced (unit tests that do not look at events)."""

    async def completed(self, analysis: Analysis) -> None:
        return None


class RecordingPublisher:
    """Keeps what was announced, for tests."""

    def __init__(self) -> None:
        self.published: list[Analysis] = []

    async def completed(self, analysis: Analysis) -> None:
        self.published.append(analysis)


def completed_verdict(analysis: Analysis) -> Verdict:
    """What the incident rules read of a finished analysis; the event id is derived from the
    analysis id, so a retried publish is dropped by the broker as a duplicate."""
    return Verdict(
        event_id=f"{analysis.analysis_id}.completed",
        org_id=analysis.org_id,
        user_id=analysis.user_id,
        analysis_id=analysis.analysis_id,
        indicator=analysis.target.normalized[:2048],
        kind=analysis.target.kind.value,
        classification=analysis.verdict.value,
        risk_score=analysis.risk_score,
    )


class OutboxAnalysisPublisher:
    """``threat.analyses.completed`` through the outbox: stored first, relayed while the broker is away."""

    def __init__(self, outbox: Outbox) -> None:
        self._outbox = outbox

    async def completed(self, analysis: Analysis) -> None:
        from rampart_threat.incidents.mappers import analysis_completed  # protobuf stays in mappers

        found = completed_verdict(analysis)
        await self._outbox.add(
            subjects.ANALYSIS_COMPLETED, analysis_completed(found).SerializeToString(), found.event_id
        )
