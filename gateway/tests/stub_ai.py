"""ai-service in memory for the gateway's handlers: scripted answers, scans owned per organisation."""

from __future__ import annotations

import grpc

from gateway.tests.stub_services import Call, StubService, rpc_error, scan_not_found
from rampart.ai.v1 import ai_pb2
from rampart.common.v1 import common_pb2

SOURCES = [
    ai_pb2.Source(kind="scan", ref="scan_1", excerpt="10.0.0.0/29 (completed)", label="1", scan_id="scan_1"),
    ai_pb2.Source(
        kind="port",
        ref="10.0.0.7:6379",
        excerpt="6379/tcp open redis",
        label="2",
        scan_id="scan_1",
        host="10.0.0.7",
        port=6379,
        protocol="tcp",
    ),
]
ANSWER = "Scan scan_1 of 10.0.0.0/29 [1] found 1 open port.\n- 10.0.0.7:6379/tcp: redis [2]"


class StubAi(StubService):
    """Answers about the scans in ``owners`` (scan id -> org) and nothing else."""

    def __init__(self) -> None:
        super().__init__()
        self.owners: dict[str, str] = {"scan_1": "org_1"}
        first = ai_pb2.HistoryEntry(
            history_id="aih_0001", kind="ask", question="What is exposed?", answer=ANSWER, sources=SOURCES
        )
        live = (("org_1", "usr_1", common_pb2.KEY_MODE_LIVE), [first])
        self.history: dict[tuple[str, str, int], list[ai_pb2.HistoryEntry]] = dict([live])
        self.requests_today = 3

    def _check(self, org: str, scan_id: str) -> None:
        if scan_id and self.owners.get(scan_id) != org:
            raise scan_not_found(scan_id)

    def Ask(self, request: ai_pb2.AskRequest, timeout: float) -> Call:
        def reply() -> ai_pb2.AskResponse:
            self._check(request.owner.org_id, request.scan_id)
            return ai_pb2.AskResponse(
                answer=ANSWER,
                sources=SOURCES,
                confidence=90,
                provider="offline",
                intent=ai_pb2.INTENT_EXPOSURE,
            )

        return self._call("Ask", request, reply)

    def Explain(self, request: ai_pb2.ExplainRequest, timeout: float) -> Call:
        def reply() -> ai_pb2.ExplainResponse:
            self._check(request.owner.org_id, request.scan_id)
            return ai_pb2.ExplainResponse(
                concept="Port scanning",
                level=request.level,
                explanation="Knocking on each door. [1]",
                related=["T1046"],
                related_ids=[ai_pb2.RelatedId(id="T1046", kind="attack", name="Network Service Discovery")],
                provider="offline",
                sources=[ai_pb2.Source(kind="knowledge", ref="concept/port-scanning", label="1")],
                found=True,
            )

        return self._call("Explain", request, reply)

    def GenerateReport(self, request: ai_pb2.GenerateReportRequest, timeout: float) -> Call:
        def reply() -> ai_pb2.GenerateReportResponse:
            self._check(request.owner.org_id, request.scan_id)
            names = list(request.include_sections) or ["summary", "vulnerabilities", "recommendations"]
            return ai_pb2.GenerateReportResponse(
                scan_id=request.scan_id,
                report_type=request.report_type,
                provider="offline",
                sections=[
                    ai_pb2.ReportSection(
                        name=n, title=n.title(), body=f"{n} of scan_1 [1]", sources=SOURCES[:1]
                    )
                    for n in names
                ],
            )

        return self._call("GenerateReport", request, reply)

    # ---- usage and history: entries per (org, user, mode), as ai-service keeps them ------------

    def GetUsage(self, request: ai_pb2.GetUsageRequest, timeout: float) -> Call:
        def reply() -> ai_pb2.Usage:
            return ai_pb2.Usage(day="2026-11-21", requests_today=self.requests_today, tokens_today=1234)

        return self._call("GetUsage", request, reply)

    def _mine(self, owner: common_pb2.Owner) -> list[ai_pb2.HistoryEntry]:
        return self.history.get((owner.org_id, owner.user_id, owner.mode), [])

    def ListHistory(self, request: ai_pb2.ListHistoryRequest, timeout: float) -> Call:
        def reply() -> ai_pb2.ListHistoryResponse:
            entries = self._mine(request.owner)
            return ai_pb2.ListHistoryResponse(
                entries=entries[: request.page.per_page],
                page=common_pb2.PageInfo(total=len(entries), next_cursor="123" if len(entries) > 1 else ""),
            )

        return self._call("ListHistory", request, reply)

    def GetHistoryEntry(self, request: ai_pb2.GetHistoryEntryRequest, timeout: float) -> Call:
        def reply() -> ai_pb2.HistoryEntry:
            for entry in self._mine(request.owner):
                if entry.history_id == request.history_id:
                    return entry
            raise rpc_error(grpc.StatusCode.NOT_FOUND, "history entry not found", "AI_HISTORY_NOT_FOUND")

        return self._call("GetHistoryEntry", request, reply)
