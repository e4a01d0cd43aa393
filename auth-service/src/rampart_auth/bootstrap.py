"""Wires auth-service from its settings.

The contract is defined; accounts, keys and tokens are built by the front-door issue,
so every AuthService RPC answers UNIMPLEMENTED until then.
"""

from __future__ import annotations

from rampart.auth.v1 import auth_pb2, auth_pb2_grpc
from rampart.lib.grpcserver import ServiceBinding
from rampart.lib.runtime import Runtime, connect_infra
from rampart.lib.settings import ServiceSettings

SERVICE_NAME = auth_pb2.DESCRIPTOR.services_by_name["AuthService"].full_name


async def bootstrap(settings: ServiceSettings) -> Runtime:
    infra = await connect_infra("auth", settings)
    await infra.db["users"].create_index("email", unique=True)
    await infra.db["api_keys"].create_index("key_hash", unique=True)
    servicer = auth_pb2_grpc.AuthServiceServicer()
    binding = ServiceBinding(
        SERVICE_NAME, servicer, auth_pb2_grpc.add_AuthServiceServicer_to_server
    )
    return Runtime("auth", settings, [binding], closers=[infra.close])
