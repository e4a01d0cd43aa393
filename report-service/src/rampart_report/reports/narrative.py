"""Executive sections: the assistant's narrative when ai-service answers in time, the deterministic
summary otherwise. A report never waits longer than the timeout, and says which source it used."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Protocol

import grpc
import structlog

from rampart.ai.v1 import ai_pb2, ai_pb2_grpc
from rampart_report.reports.mappers import owner
from rampart_report.reports.model import Section, Tenant
from rampart_report.reports.summary import Digest, summary_section

log = structlog.get_logger(__name__)
# The assistant's section names for ours (ai.proto: summary, vulnerabilities, recommendations).
AI_SECTION = {"summary": "summary", "risk": "vulnerabilities", "recommendations": "recommendations"}
TITLES = {"summary": "Summary", "risk": "Risk", "recommendations": "Recommendations"}


class NarrativeUnavailable(Exception):
    """The assistant did not give a narrative (down, refused, or nothing to say)."""


class Narrator(Protocol):
    async def narrate(self, tenant: Tenant, scan_id: str, sections: tuple[str, ...]) -> Mapping[str, str]:
        """Section name (ours) -> body; raises NarrativeUnavailable."""
        ...


class GrpcNarrator:
    """``Narrator`` over ai-service's GenerateReport (report -> ai is allowed for this one method)."""

    def __init__(self, stub: ai_pb2_grpc.AiServiceStub, timeout: float) -> None:
        self._stub = stub
        self._timeout = timeout

    async def narrate(self, tenant: Tenant, scan_id: str, sections: tuple[str, ...]) -> Mapping[str, str]:
        request = ai_pb2.GenerateReportRequest(
            owner=owner(tenant),
            scan_id=scan_id,
            report_type=ai_pb2.REPORT_TYPE_EXECUTIVE,
            include_sections=[AI_SECTION[name] for name in sections],
        )
        try:
            reply: ai_pb2.GenerateReportResponse = await self._stub.GenerateReport(
                request, timeout=self._timeout
            )
        except grpc.aio.AioRpcError as error:
            raise NarrativeUnavailable(f"ai-service answered {error.code().name}") from error
        theirs = {section.name: section.body for section in reply.sections if section.body.strip()}
        return {name: theirs[AI_SECTION[name]] for name in sections if AI_SECTION[name] in theirs}


@dataclass(frozen=True)
class Written:
    """An executive section as the report shows it."""

    section: Section
    title: str
    body: str  # "" when unavailable


async def _narratives(
    narrator: Narrator, tenant: Tenant, scan_ids: tuple[str, ...], sections: tuple[str, ...], wait: float
) -> tuple[list[Mapping[str, str]] | None, str]:
    try:
        async with asyncio.timeout(wait):
            found = await asyncio.gather(
                *(narrator.narrate(tenant, scan_id, sections) for scan_id in scan_ids)
            )
    except TimeoutError:
        return None, f"the assistant did not answer within {wait:g} s"
    except NarrativeUnavailable as error:
        return None, f"the assistant is unavailable ({error})"
    return list(found), ""


async def executive_sections(
    narrator: Narrator,
    tenant: Tenant,
    scan_ids: tuple[str, ...],
    sections: tuple[str, ...],
    digest: Digest,
    wait: float,
) -> list[Written]:
    """The sections, waiting at most ``wait`` seconds for the assistant."""
    narratives, why = await _narratives(narrator, tenant, scan_ids, sections, wait)
    written = []
    for name in sections:
        bodies = [n[name] for n in narratives or () if name in n]
        if narratives is not None and len(bodies) == len(scan_ids):
            body = "\n\n".join(bodies)
            written.append(Written(Section(name, True, "", "assistant"), TITLES[name], body))
            continue
        fallback = summary_section(name, digest)
        note = why or "the assistant had nothing to say on it"
        if fallback is None:
            unavailable = Section(name, False, f"section unavailable: {note}; findings could not be read")
            written.append(Written(unavailable, TITLES[name], ""))
        else:
            stand_in = Section(name, True, f"{note}: deterministic summary", "summary")
            written.append(Written(stand_in, TITLES[name], fallback))
    if why:
        log.info("executive_summary_without_assistant", reason=why)
    return written
