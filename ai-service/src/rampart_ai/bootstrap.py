"""Wires ai-service from its settings; ``assemble`` takes any sources, so tests pass fakes.

The assistant reads the caller's scans from scan-service and findings, incidents and the
vulnerability catalogue from threat-service over gRPC (mutual TLS with the ``ai`` identity);
it consumes no events. It stores the daily usage counts and the callers' history
(``repository.py``); a background task sweeps history past its retention.
"""

from __future__ import annotations

from typing import Protocol

from rampart.ai.v1 import ai_pb2, ai_pb2_grpc
from rampart.lib.grpcclient import open_channel
from rampart.lib.grpcserver import ServiceBinding
from rampart.lib.runtime import Runtime, connect_infra
from rampart.lib.settings import ServiceSettings
from rampart.lib.tls import tls_files
from rampart_ai.accounting import Accountant, History, Ledger
from rampart_ai.api import AiServicer
from rampart_ai.clients import GrpcFindings, GrpcScans, GrpcThreats
from rampart_ai.knowledge.base import load
from rampart_ai.knowledge.library import Library
from rampart_ai.ports import Findings, Scans, Threats
from rampart_ai.provider import ChatProvider, configured
from rampart_ai.repository import AiRepository
from rampart_ai.service import AssistantService
from rampart_ai.settings import AiSettings

SERVICE_NAME = ai_pb2.DESCRIPTOR.services_by_name["AiService"].full_name


class Store(Ledger, History, Protocol):
    """The ledger and the history: ``AiRepository``, or the in-memory fake in tests."""


def accountant(
    store: Store,
    scans: Scans,
    findings: Findings,
    threats: Threats,
    library: Library | None = None,
    provider: ChatProvider | None = None,
    retention_days: int = 90,
) -> Accountant:
    assistant = AssistantService(scans, findings, threats, library or Library(load()), provider)
    return Accountant(assistant, store, store, retention_days)


def assemble(
    store: Store,
    scans: Scans,
    findings: Findings,
    threats: Threats,
    library: Library | None = None,
    provider: ChatProvider | None = None,
) -> AiServicer:
    return AiServicer(accountant(store, scans, findings, threats, library, provider))


async def bootstrap(settings: ServiceSettings) -> Runtime:
    ai = settings if isinstance(settings, AiSettings) else AiSettings.model_validate(settings.model_dump())
    infra = await connect_infra("ai", settings)
    repository = AiRepository(infra.db)
    await repository.create_indexes()
    tls = tls_files(settings)
    scan_channel, threat_channel = open_channel(ai.scan_addr, tls), open_channel(ai.threat_addr, tls)

    async def close_channels() -> None:
        await scan_channel.close()
        await threat_channel.close()

    provider = configured(
        ai.ai_provider_url, ai.ai_provider_model, ai.ai_provider_key_file, ai.ai_provider_timeout_seconds
    )
    accounts = accountant(
        repository,
        GrpcScans(scan_channel),
        GrpcFindings(threat_channel),
        GrpcThreats(threat_channel),
        provider=provider,
        retention_days=ai.ai_history_retention_days,
    )

    async def sweeper() -> None:
        await accounts.sweep_forever(ai.ai_history_sweep_seconds)

    binding = ServiceBinding(SERVICE_NAME, AiServicer(accounts), ai_pb2_grpc.add_AiServiceServicer_to_server)
    return Runtime(
        "ai", settings, [binding], tasks=[sweeper], closers=[close_channels, infra.close], infra=infra
    )
