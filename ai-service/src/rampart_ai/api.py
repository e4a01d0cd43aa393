"""gRPC entry point for ai-service: decode, call the service layer, encode."""

from __future__ import annotations

import grpc

from rampart.ai.v1 import ai_pb2, ai_pb2_grpc
from rampart_ai import mappers
from rampart_ai.service import AssistantService

Context = grpc.aio.ServicerContext[object, object]


class AiServicer(ai_pb2_grpc.AiServiceServicer):
    """Ask, Explain and GenerateReport on the offline engine."""

    def __init__(self, assistant: AssistantService) -> None:
        self._assistant = assistant

    async def Ask(self, request: ai_pb2.AskRequest, context: Context) -> ai_pb2.AskResponse:
        caller = mappers.caller(request.owner)
        answer = await self._assistant.ask(caller, request.question, mappers.ask_context(request))
        return mappers.ask_reply(answer)

    async def Explain(self, request: ai_pb2.ExplainRequest, context: Context) -> ai_pb2.ExplainResponse:
        caller = mappers.caller(request.owner)
        found = await self._assistant.explain(
            caller, request.concept, mappers.level(request.level), request.scan_id
        )
        return mappers.explain_reply(found)

    async def GenerateReport(
        self, request: ai_pb2.GenerateReportRequest, context: Context
    ) -> ai_pb2.GenerateReportResponse:
        caller = mappers.caller(request.owner)
        report = await self._assistant.report(
            caller, request.scan_id, mappers.audience(request.report_type), tuple(request.include_sections)
        )
        return mappers.report_reply(report)
