"""Wires ai-service from its settings; ``assemble`` takes any repository, so tests pass a fake.

The contract is defined; the offline assistant is built by a later issue, so every AiService
RPC answers UNIMPLEMENTED until then. ai-service consumes no events yet (no consumers.py).
"""

from __future__ import annotations

from rampart.ai.v1 import ai_pb2, ai_pb2_grpc
from rampart.lib.grpcserver import ServiceBinding
from rampart.lib.runtime import Runtime, connect_infra
from rampart.lib.settings import ServiceSettings
from rampart_ai.api import AiServicer
from rampart_ai.repository import AiRepository
from rampart_ai.service import AssistantService

SERVICE_NAME = ai_pb2.DESCRIPTOR.services_by_name["AiService"].full_name


def assemble(repository: AiRepository) -> AiServicer:
    return AiServicer(AssistantService(repository))


async def bootstrap(settings: ServiceSettings) -> Runtime:
    infra = await connect_infra("ai", settings)
    repository = AiRepository(infra.db)
    await repository.create_indexes()
    binding = ServiceBinding(SERVICE_NAME, assemble(repository), ai_pb2_grpc.add_AiServiceServicer_to_server)
    return Runtime("ai", settings, [binding], closers=[infra.close], infra=infra)
