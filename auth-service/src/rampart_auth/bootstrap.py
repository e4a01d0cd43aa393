"""Wires auth-service from its settings; unit tests pass fakes for the adapters."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

import structlog

from rampart.auth.v1 import auth_pb2, auth_pb2_grpc
from rampart.lib.grpcserver import ServiceBinding
from rampart.lib.ids import utcnow
from rampart.lib.runtime import Runtime, connect_infra
from rampart.lib.settings import ServiceSettings
from rampart_auth.accounts import AccountService
from rampart_auth.api import AuthServicer, AuthServices
from rampart_auth.credentials import Passwords
from rampart_auth.domain import Clock
from rampart_auth.events import OutboxEvents
from rampart_auth.hashing import HashingPool, derive_concurrency, memory_limit_bytes
from rampart_auth.keys import KeyService
from rampart_auth.ports import AccountStore, AuthEvents, KeyStore, PasswordHashing, TicketStore
from rampart_auth.repository import AccountRepository, KeyRepository, TicketRepository
from rampart_auth.settings import AuthSettings
from rampart_auth.tickets import TicketService
from rampart_auth.tokens import TokenIssuer, load_signing_keys

log = structlog.get_logger(__name__)
SERVICE_NAME = auth_pb2.DESCRIPTOR.services_by_name["AuthService"].full_name


@dataclass(frozen=True)
class Adapters:
    """What the use cases depend on: Mongo, the outbox and Argon2 in production, fakes in tests."""

    accounts: AccountStore
    keys: KeyStore
    tickets: TicketStore
    events: AuthEvents
    passwords: PasswordHashing
    clock: Clock = field(default=utcnow)


@dataclass(frozen=True)
class Policy:
    """The secrets and lifetimes the use cases apply."""

    pepper: bytes
    initial_key_ttl: timedelta
    ticket_ttl: timedelta

    @classmethod
    def of(cls, settings: AuthSettings) -> Policy:
        return cls(
            pepper=settings.api_key_pepper.get_secret_value().encode(),
            initial_key_ttl=timedelta(days=settings.initial_key_ttl_days),
            ticket_ttl=timedelta(seconds=settings.stream_ticket_ttl_seconds),
        )


def build_services(adapters: Adapters, tokens: TokenIssuer, policy: Policy) -> AuthServices:
    """The use cases, wired to ``adapters``."""
    clock = adapters.clock
    keys = KeyService(adapters.keys, adapters.accounts, adapters.events, policy.pepper, clock)
    accounts = AccountService(
        adapters.accounts, keys, adapters.passwords, tokens, policy.initial_key_ttl, clock
    )
    tickets = TicketService(adapters.tickets, adapters.keys, adapters.accounts, policy.ticket_ttl, clock)
    return AuthServices(accounts, keys, tickets)


async def bootstrap(settings: ServiceSettings, adapters: Adapters | None = None) -> Runtime:
    """The auth-service runtime; without ``adapters``, connects to the store and the broker."""
    assert isinstance(settings, AuthSettings)
    tokens = TokenIssuer(
        load_signing_keys(settings.jwt_keys_dir),
        settings.jwt_issuer,
        settings.jwt_audience,
        settings.jwt_ttl_seconds,
        settings.jwt_active_kid,
    )
    runtime = Runtime("auth", settings, [])
    if adapters is None:
        adapters = await _connect(settings, runtime)
    servicer = AuthServicer(build_services(adapters, tokens, Policy.of(settings)))
    binding = ServiceBinding(SERVICE_NAME, servicer, auth_pb2_grpc.add_AuthServiceServicer_to_server)
    runtime.bindings = [binding]
    return runtime


async def _connect(settings: AuthSettings, runtime: Runtime) -> Adapters:
    """The production adapters; their background tasks and closers go on ``runtime``."""
    infra = await connect_infra("auth", settings)
    accounts, keys = AccountRepository(infra.db), KeyRepository(infra.db)
    await accounts.create_indexes()
    await keys.create_indexes()
    await accounts.seed_plans(settings.plans_file)
    outbox = infra.outbox()
    await outbox.create_indexes()
    pool = HashingPool(
        settings.password_hash_concurrency or derive_concurrency(memory_limit_bytes()),
        settings.password_hash_queue,
        settings.password_hash_retry_after_seconds,
    )
    log.info("password hashing pool", concurrency=pool.concurrency, queue=pool.queue)
    runtime.infra = infra
    runtime.tasks = [outbox.run]
    runtime.closers = [infra.close, pool.close]
    return Adapters(accounts, keys, TicketRepository(infra.db), OutboxEvents(outbox), Passwords(pool))
