"""Wires ai-service from its settings.

The contract is defined; the offline assistant is built by a later issue, so every
AiService RPC answers UNIMPLEMENTED until then.
"""

from __future__ import annotations

from rampart.ai.v1 import ai_pb2, ai_pb2_grpc
from rampart.lib.grpcserver import ServiceBinding
from rampart.lib.runtime import Runtime, connect_infra
from rampart.lib.settings import ServiceSettings

SERVICE_NAME = ai_pb2.DESCRIPTOR.services_by_name["AiService"].full_name


async def bootstrap(settings: ServiceSettings) -> Runtime:
    infra = await connect_infra("ai", settings)
    servicer = ai_pb2_grpc.AiServiceServicer()
    binding = ServiceBinding(SERVICE_NAME, servicer, ai_pb2_grpc.add_AiServiceServicer_to_server)
    return Runtime("ai", settings, [binding], closers=[infra.close], infra=infra)
