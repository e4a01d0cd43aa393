"""A gateway app on stub services, with fixed credentials instead of auth-service.

``StubPlatform.client()`` starts the real app (middleware, front door, guarded operations,
error handlers) on ``StubAuth`` and ``StubScan`` (``stub_services.py``); ``token(*scopes)``
makes the headers of a caller holding those scopes.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any

from starlette.testclient import TestClient

from gateway.tests.stub_ai import StubAi
from gateway.tests.stub_alerts import StubAlerts
from gateway.tests.stub_exports import StubExports
from gateway.tests.stub_incidents import StubThreat
from gateway.tests.stub_report import StubCompliance
from gateway.tests.stub_reports import StubReports
from gateway.tests.stub_services import PLAN, StubAuth, StubScan, rpc_error
from gateway.tests.stub_webhooks import StubWebhooks
from rampart.common.v1 import common_pb2
from rampart.lib.tls import TlsFiles
from rampart_gateway.app import create_app
from rampart_gateway.clients import Connections
from rampart_gateway.principal import NotAuthenticated, Principal
from rampart_gateway.settings import GatewaySettings

__all__ = ["StubAuth", "StubPlatform", "StubReport", "StubScan", "StubThreat", "principal", "rpc_error"]


def principal(
    *scopes: str, mode: str = "live", org: str = "org_1", key_id: str = "key_1", via: str = "api_key"
) -> Principal:
    """A caller holding ``scopes`` (none given: every scope)."""
    owner = common_pb2.Owner(
        user_id="usr_1",
        org_id=org,
        key_id=key_id,
        mode=common_pb2.KEY_MODE_TEST if mode == "test" else common_pb2.KEY_MODE_LIVE,
        scopes=list(scopes) or ["*"],
    )
    return Principal(owner, PLAN, via)


class StubAuthenticator:
    """Credentials fixed in advance: a known token is its principal, anything else is refused."""

    def __init__(self, principals: dict[str, Principal]) -> None:
        self.principals = principals

    async def authenticate(self, credential: str, allow_ticket: bool = False) -> Principal:
        if credential not in self.principals:
            raise NotAuthenticated("API key is missing or invalid")
        return self.principals[credential]

    def evict_key(self, key_id: str) -> None:
        self.principals = {k: p for k, p in self.principals.items() if p.owner.key_id != key_id}

    def forget_all_keys(self) -> None:
        pass


class StubReport(StubExports, StubWebhooks, StubCompliance, StubReports, StubAlerts):
    """report-service in memory: exports (of ``scan``'s scans), webhooks, compliance controls, reports."""


@dataclass
class StubPlatform:
    """The gateway on stub services: register credentials in ``principals``, then ``client()``."""

    auth: StubAuth = field(default_factory=StubAuth)
    scan: StubScan = field(default_factory=StubScan)
    threat: StubThreat = field(default_factory=StubThreat)
    report: StubReport = field(init=False)  # exports (of ``scan``'s scans), webhooks, compliance
    ai: StubAi = field(default_factory=StubAi)
    principals: dict[str, Principal] = field(default_factory=dict)
    broker: Any = None  # a stand-in for the broker (streams); None: no broker, streams answer 503

    def __post_init__(self) -> None:
        self.report = StubReport(self.scan)

    def calls(self) -> int:
        """How many calls the stub services received."""
        return sum(
            len(calls)
            for stub in (self.auth, self.scan, self.threat, self.report, self.ai)
            for calls in stub.requests.values()
        )

    def credential(self, *scopes: str, **caller: Any) -> str:
        """A credential the front door reads as a caller holding ``scopes`` (see ``principal``)."""
        token = f"tok_{len(self.principals)}"
        self.principals[token] = principal(*scopes, **caller)
        return token

    def token(self, *scopes: str, **caller: Any) -> dict[str, str]:
        """The headers of a caller holding ``scopes``."""
        return {"Authorization": f"Bearer {self.credential(*scopes, **caller)}"}

    @asynccontextmanager
    async def connect(self, settings: GatewaySettings, tls: TlsFiles | None) -> AsyncIterator[Connections]:
        clients = SimpleNamespace(
            auth=self.auth,
            scan=self.scan,
            threat=self.threat,
            report=self.report,
            ai=self.ai,
            health={},
            channels={},
        )
        broker = self.broker or SimpleNamespace(nc=None, live_workers=list)
        yield Connections(clients, StubAuthenticator(self.principals), broker, None)  # type: ignore[arg-type]

    @contextmanager
    def client(self, **overrides: Any) -> Iterator[TestClient]:
        settings = GatewaySettings(mongodb_url="mongodb://stub", nats_url="nats://stub", **overrides)
        with TestClient(create_app(settings, connections=self.connect)) as client:
            yield client
