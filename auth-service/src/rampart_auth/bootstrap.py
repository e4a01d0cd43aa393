"""Wires auth-service from its settings."""

from __future__ import annotations

from datetime import timedelta

import structlog

from rampart.auth.v1 import auth_pb2, auth_pb2_grpc
from rampart.lib.grpcserver import ServiceBinding
from rampart.lib.runtime import Runtime, connect_infra
from rampart.lib.settings import ServiceSettings
from rampart_auth.api import AuthServicer
from rampart_auth.credentials import Passwords
from rampart_auth.hashing import HashingPool, derive_concurrency, memory_limit_bytes
from rampart_auth.repository import AuthRepository
from rampart_auth.service import AuthCommands, Secrets
from rampart_auth.settings import AuthSettings
from rampart_auth.tokens import TokenIssuer, load_signing_keys

log = structlog.get_logger(__name__)
SERVICE_NAME = auth_pb2.DESCRIPTOR.services_by_name["AuthService"].full_name


async def bootstrap(settings: ServiceSettings) -> Runtime:
    assert isinstance(settings, AuthSettings)
    tokens = TokenIssuer(
        load_signing_keys(settings.jwt_keys_dir),
        settings.jwt_issuer,
        settings.jwt_audience,
        settings.jwt_ttl_seconds,
        settings.jwt_active_kid,
    )
    infra = await connect_infra("auth", settings)
    repo = AuthRepository(infra.db)
    await repo.create_indexes()
    await repo.seed_plans(settings.plans_file)
    outbox = infra.outbox()
    await outbox.create_indexes()
    secrets_ = Secrets(
        pepper=settings.api_key_pepper.get_secret_value().encode(),
        initial_key_ttl=timedelta(days=settings.initial_key_ttl_days),
        ticket_ttl=timedelta(seconds=settings.stream_ticket_ttl_seconds),
    )
    pool = HashingPool(
        settings.password_hash_concurrency or derive_concurrency(memory_limit_bytes()),
        settings.password_hash_queue,
        settings.password_hash_retry_after_seconds,
    )
    log.info("password hashing pool", concurrency=pool.concurrency, queue=pool.queue)
    commands = AuthCommands(repo, Passwords(pool), tokens, outbox, secrets_)
    binding = ServiceBinding(
        SERVICE_NAME, AuthServicer(commands), auth_pb2_grpc.add_AuthServiceServicer_to_server
    )
    return Runtime(
        "auth", settings, [binding], tasks=[outbox.run], closers=[infra.close, pool.close], infra=infra
    )
