"""gRPC entry point for ai-service: decode, call the service layer, encode."""

from __future__ import annotations

from rampart.ai.v1 import ai_pb2_grpc
from rampart_ai.service import AssistantService


class AiServicer(ai_pb2_grpc.AiServiceServicer):
    """Ask, Explain and GenerateReport answer UNIMPLEMENTED (the generated base class) until built."""

    def __init__(self, assistant: AssistantService) -> None:
        self._assistant = assistant
