"""gRPC entry point for ai-service: decode, call the service layer, encode."""

from __future__ import annotations

import grpc

from rampart.ai.v1 import ai_pb2, ai_pb2_grpc
from rampart_ai import mappers
from rampart_ai.accounting import Accountant

Context = grpc.aio.ServicerContext[object, object]


class AiServicer(ai_pb2_grpc.AiServiceServicer):
    """Ask, Explain and GenerateReport on the offline engine, within quotas; usage and history."""

    def __init__(self, accountant: Accountant) -> None:
        self._accountant = accountant

    async def Ask(self, request: ai_pb2.AskRequest, context: Context) -> ai_pb2.AskResponse:
        caller = mappers.caller(request.owner)
        answer, history_id = await self._accountant.ask(
            caller, mappers.limits(request.limits), request.question, mappers.ask_context(request)
        )
        return mappers.ask_reply(answer, history_id)

    async def Explain(self, request: ai_pb2.ExplainRequest, context: Context) -> ai_pb2.ExplainResponse:
        caller = mappers.caller(request.owner)
        found, _ = await self._accountant.explain(
            caller,
            mappers.limits(request.limits),
            request.concept,
            mappers.level(request.level),
            request.scan_id,
        )
        return mappers.explain_reply(found)

    async def GenerateReport(
        self, request: ai_pb2.GenerateReportRequest, context: Context
    ) -> ai_pb2.GenerateReportResponse:
        caller = mappers.caller(request.owner)
        report, _ = await self._accountant.report(
            caller,
            mappers.limits(request.limits),
            request.scan_id,
            mappers.audience(request.report_type),
            tuple(request.include_sections),
        )
        return mappers.report_reply(report)

    async def GetUsage(self, request: ai_pb2.GetUsageRequest, context: Context) -> ai_pb2.Usage:
        return mappers.usage_reply(await self._accountant.usage(mappers.caller(request.owner)))

    async def ListHistory(
        self, request: ai_pb2.ListHistoryRequest, context: Context
    ) -> ai_pb2.ListHistoryResponse:
        caller = mappers.caller(request.owner)
        page = request.page
        entries, next_cursor, total = await self._accountant.history(caller, page.per_page, page.cursor)
        return mappers.history_page(self._accountant, entries, next_cursor, total, page.per_page)

    async def GetHistoryEntry(
        self, request: ai_pb2.GetHistoryEntryRequest, context: Context
    ) -> ai_pb2.HistoryEntry:
        entry = await self._accountant.entry(mappers.caller(request.owner), request.history_id)
        return mappers.history_entry(entry, self._accountant.expires_at(entry))
